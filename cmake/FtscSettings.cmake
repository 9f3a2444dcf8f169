# SPDX-License-Identifier: Apache-2.0
# Compile settings live on INTERFACE targets that components link to, not in global flags.

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

add_library(ftsc_warnings INTERFACE)
add_library(ftsc::warnings ALIAS ftsc_warnings)
target_compile_options(ftsc_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Woverloaded-virtual>
  $<$<BOOL:${FTSC_WERROR}>:-Werror>)

add_library(ftsc_settings INTERFACE)
add_library(ftsc::settings ALIAS ftsc_settings)
target_include_directories(ftsc_settings INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(ftsc_settings INTERFACE _GNU_SOURCE)
if(FTSC_SANITIZE)
  target_compile_options(ftsc_settings INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(ftsc_settings INTERFACE -fsanitize=address,undefined)
endif()
