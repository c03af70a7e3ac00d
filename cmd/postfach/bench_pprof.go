//go:build pprof

// Profiling builds: `go build -tags pprof ./cmd/postfach`, then run any
// command with POSTFACH_PPROF=127.0.0.1:6060 and read the profiles with
// `go tool pprof http://127.0.0.1:6060/debug/pprof/heap` (or profile,
// goroutine, allocs). Release builds do not contain this file. It starts
// from init because it must work for `serve` without changing it; the
// address must be loopback.

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("POSTFACH_PPROF")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "postfach: POSTFACH_PPROF=%q: want a loopback IP and port\n", addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "postfach: pprof: %v\n", err)
		return
	}
	fmt.Fprintf(os.Stderr, "postfach: pprof on http://%s/debug/pprof/\n", ln.Addr())
	go http.Serve(ln, nil)
}
