// Go echo server: the Go peer of weft's echo benchmark (bench/echo/run.sh).
//
// The classic Go echo: an accept loop and one goroutine per connection that
// reads into its own 64 KiB buffer and writes back what it read (an explicit
// loop rather than io.Copy, whose TCPConn.ReadFrom may take the splice path).
// Run it with GOMAXPROCS=1 for the comparison with single-threaded servers;
// the Go runtime still keeps a few threads of its own (sysmon, an idle M).
// Go sets TCP_NODELAY on accepted connections by default; the other servers
// keep the kernel default (irrelevant for a closed-loop client).
//
// usage: go_echo [--port P] (default 0: any free port)
// Listens on 127.0.0.1 only, prints "listening on PORT", serves until
// SIGINT/SIGTERM (default action: the process ends).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any free port)")
	flag.Parse()
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_echo:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}
