#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The module validates every blob written to it (kmod_blob_test says how).
. /ftsc/tests/lib.sh
unload_module
insmod /ftsc/ftsc.ko || fail "insmod failed"
kmod_blob_test
status=$?
ftsc kmod unload || fail "cannot remove the module after the test"
exit $status
