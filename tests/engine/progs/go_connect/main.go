// SPDX-License-Identifier: Apache-2.0

// go_connect PORT: dials 127.0.0.1:PORT with Go's net package, as every Go
// client does (a non-blocking connect, the netpoller's edge-triggered epoll,
// then SO_ERROR), reads one byte and prints "connected MS BYTE"; otherwise it
// prints "failed MS ERRNO-NAME" and exits 1. MS: milliseconds since the dial
// began. Built static (CGO_ENABLED=0) by the engine tests, with the standard
// library only.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go_connect PORT")
		os.Exit(2)
	}
	start := time.Now()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+os.Args[1], 10*time.Second)
	ms := time.Since(start).Milliseconds()
	if err != nil {
		name := err.Error()
		var errno syscall.Errno
		if errors.As(err, &errno) && errno == syscall.ECONNREFUSED {
			name = "ECONNREFUSED"
		}
		fmt.Printf("failed %d %s\n", ms, name)
		os.Exit(1)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1)
	if _, err := conn.Read(b); err != nil {
		fmt.Fprintln(os.Stderr, "connected, but no byte came from the server:", err)
		os.Exit(2)
	}
	fmt.Printf("connected %d %s\n", ms, b)
}
