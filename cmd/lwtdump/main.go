// Command lwtdump captures packets at the lightweight-tunnel hooks of Linux
// routes (lwt_in, lwt_out, lwt_xmit and SRv6 End.BPF) and writes them as
// pcapng, the way tcpdump captures at an interface.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
