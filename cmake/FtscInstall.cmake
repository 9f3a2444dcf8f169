# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` puts in place besides the targets' own install()
# rules (the ftsc binary in bin/, the preload library in its private
# directory, the man pages, the bash completion), and the Debian packages
# `cpack -G DEB` makes of it. Every path is relative to CMAKE_INSTALL_PREFIX
# (GNUInstallDirs), so DESTDIR and CPack's staging work the same way.
#
# Two components, two packages:
#   ftsc       (package ftsc)      the binary, the preload library, man pages,
#              completion, docs and examples, the systemd unit
#   dkms       (package ftsc-dkms) the module's source as src/ftsc-VERSION with
#              a dkms.conf; DKMS builds it for each kernel with headers

# Docs and examples, under share/doc/ftsc.
install(FILES README.md ARCHITECTURE.md LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(DIRECTORY LICENSES DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY examples DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The unit that loads a policy into the kernel at boot (docs/systemd.md).
set(FTSC_INSTALL_SYSTEMDUNITDIR "lib/systemd/system" CACHE STRING
  "Where the systemd units are installed (relative to the prefix)")
if(EXISTS ${PROJECT_SOURCE_DIR}/dist/systemd/ftsc-kmod.service)
  install(FILES dist/systemd/ftsc-kmod.service DESTINATION ${FTSC_INSTALL_SYSTEMDUNITDIR})
endif()

# The module's source for DKMS, self-contained: kmod/ with the ABI headers and
# the decision code it compiles in, in the layout Kbuild expects (src/ beside
# kmod/), the licences, and dkms.conf at the top.
set(FTSC_INSTALL_DKMSDIR "src/ftsc-${PROJECT_VERSION}" CACHE STRING
  "Where the module's source is installed for DKMS (relative to the prefix)")
configure_file(dist/dkms/dkms.conf.in ${PROJECT_BINARY_DIR}/dist/dkms/dkms.conf @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dist/dkms/dkms.conf DESTINATION ${FTSC_INSTALL_DKMSDIR}
  COMPONENT dkms)
file(GLOB ftsc_kmod_files CONFIGURE_DEPENDS kmod/*.c kmod/*.h)
install(FILES ${ftsc_kmod_files} kmod/Kbuild kmod/Makefile kmod/README.md
  DESTINATION ${FTSC_INSTALL_DKMSDIR}/kmod COMPONENT dkms)
file(GLOB ftsc_abi_headers CONFIGURE_DEPENDS src/abi/*.h)
install(FILES ${ftsc_abi_headers} DESTINATION ${FTSC_INSTALL_DKMSDIR}/src/abi COMPONENT dkms)
install(FILES src/decide/decide.c src/decide/decide.h
  DESTINATION ${FTSC_INSTALL_DKMSDIR}/src/decide COMPONENT dkms)
install(FILES LICENSES/GPL-2.0-only.txt LICENSES/MIT.txt
  DESTINATION ${FTSC_INSTALL_DKMSDIR}/LICENSES COMPONENT dkms)

# The Debian packages: cpack -G DEB in the build directory.
set(FTSC_PACKAGE_MAINTAINER "The ftsc authors <ftsc@invalid>" CACHE STRING
  "The Maintainer field of the Debian packages")
set(CPACK_PACKAGE_NAME ftsc)
set(CPACK_PACKAGE_VENDOR "The ftsc authors")
set(CPACK_GENERATOR DEB)
# Debian packages install under /usr (configure with -DCMAKE_INSTALL_PREFIX=/usr
# for Debian's multiarch library directory).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL ftsc dkms)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${FTSC_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Stripped binaries (Debian would ship the debug information in a -dbgsym package).
set(CPACK_STRIP_FILES ON)
set(ftsc_deb_version "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")

set(CPACK_DEBIAN_FTSC_PACKAGE_NAME ftsc)
set(CPACK_DEBIAN_FTSC_PACKAGE_SECTION utils)
# The shared libraries the binary links, as dpkg-shlibdeps finds them.
set(CPACK_DEBIAN_FTSC_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FTSC_PACKAGE_SUGGESTS "ftsc-dkms (= ${ftsc_deb_version})")
set(CPACK_DEBIAN_FTSC_DESCRIPTION
 "fault-tolerant system calls: retries transient syscall failures
ftsc re-executes the system calls of unmodified programs that fail with
errors an explicit policy marks as transient (a retry matrix of syscall and
errno), so that the program never sees the failure. It profiles which calls
fail (eBPF or ptrace), checks policies against man-page facts, injects
faults, and runs a command under a ptrace, LD_PRELOAD or combined engine.
The system-wide kernel engine's module is in ftsc-dkms.")

set(CPACK_DEBIAN_DKMS_PACKAGE_NAME ftsc-dkms)
set(CPACK_DEBIAN_DKMS_PACKAGE_SECTION kernel)
set(CPACK_DEBIAN_DKMS_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DKMS_PACKAGE_DEPENDS "dkms (>= 2.1.0.0)")
set(CPACK_DEBIAN_DKMS_PACKAGE_RECOMMENDS "ftsc (= ${ftsc_deb_version})")
set(CPACK_DEBIAN_DKMS_DESCRIPTION
 "fault-tolerant system calls: the kernel module, built by DKMS
The ftsc module retries transient syscall failures system-wide, for the
processes a policy targets (a cgroup, a uid, a process name), loaded with
`ftsc kmod load`. This package holds its source; DKMS builds and installs
it for every kernel whose headers are installed (linux-headers-amd64).")
foreach(script postinst prerm)
  configure_file(dist/debian/ftsc-dkms.${script}.in ${PROJECT_BINARY_DIR}/dist/ftsc-dkms/${script}
    @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_DKMS_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/dist/ftsc-dkms/postinst
  ${PROJECT_BINARY_DIR}/dist/ftsc-dkms/prerm)
set(CPACK_DEBIAN_DKMS_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
