//go:build ignore

// The floor of the benchmark's configurations: an LWT program that returns at
// once, attached with iproute2 (ip route ... encap bpf xmit obj noop.o section
// lwt_xmit). What it costs forwarding is the cost of running any program at
// the hook; everything a capture costs beyond it is the capture's own. The
// benchmark builds it with clang when it starts. No header is included, so
// that it builds wherever clang can target bpf.

struct __sk_buff;

__attribute__((section("lwt_xmit"), used)) int noop(struct __sk_buff *skb)
{
	return 0; /* BPF_OK */
}

char __license[] __attribute__((section("license"), used)) = "GPL";
