// SPDX-License-Identifier: Apache-2.0
module ftsc.test/go_connect

go 1.19
