// SPDX-License-Identifier: GPL-2.0-only
/*
 * The retry decision, compiled into the module: src/decide/decide.c is the
 * one implementation of ftsc's retry algorithm, shared with the userspace
 * engines (it builds as kernel C and as C11).
 */
#include "decide/decide.c"
