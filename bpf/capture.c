//go:build ignore

// The capture program of lwtdump. One copy is loaded per attachment (route x
// hook), with its own constants; all copies share the event and counter maps.
// Each packet that reaches the hook is sent to user space as a struct
// sample_hdr followed by the first snaplen bytes of the packet, which start at
// the network header (LWT programs see no link-layer header). The program
// never changes the packet and always returns BPF_OK, so forwarding is
// exactly what it would be without the capture.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char __license[] SEC("license") = "Dual MIT/GPL";

#define MAX_ATTACHMENTS 256

/* The largest snaplen, as in tcpdump: a ring buffer record holds that much
 * of a packet, so GSO and GRO super-packets (BIG TCP: up to 512 KiB) are
 * copied up to it. */
#define MAX_SNAPLEN 262144

/* A perf sample's size is a u16 in the record header; keep the copy well
 * below it. With the perf buffer, longer packets are cut there; orig_len
 * still tells their length. */
#define PERF_MAX_CAPLEN (65535 - 256)

/* The hooks, as written into sample_hdr.hook. */
enum hook {
	HOOK_LWT_IN = 1,
	HOOK_LWT_OUT = 2,
	HOOK_LWT_XMIT = 3,
	HOOK_LWT_SEG6LOCAL = 4,
};

/* Sent before the packet bytes of every sample. Shared with Go by bpf2go. */
struct sample_hdr {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cookie;
	__u32 attachment;
	__u32 ifindex; /* skb->dev: the input device at lwt_in and (for forwarded packets) lwt_out, the output device at lwt_xmit */
	__u32 mark;
	__u32 orig_len;
	__u32 cap_len;
	__u32 cpu;
	__u16 protocol; /* skb->protocol, network byte order */
	__u8 hook; /* enum hook */
	__u8 pad[5];
};

/* Per attachment and CPU: what the hook saw and what could not be sent. */
struct attach_counters {
	__u64 seen;
	__u64 dropped;  /* the event buffer was full */
	__u64 filtered; /* did not match the filter expression */
	__u64 pad;
};

/* Emit BTF for the header so that bpf2go -type finds it (read-only, no map of its own). */
const struct sample_hdr *const sample_hdr_btf __attribute__((unused));

/* Set by user space before loading. */
volatile const __u32 attachment = 0;
volatile const __u64 cookie = 0;
volatile const __u32 snaplen = 262144;
volatile const __u8 has_filter = 0; /* lwtdump_filter holds a filter expression */
/* 0: send samples through the perf event array; 1: through the BPF ring buffer. */
volatile const __u8 use_ringbuf = 0;
/* With the ring buffer: wake user space once this many bytes wait in it. */
volatile const __u32 wakeup_bytes = 65536;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* One buffer for all CPUs, samples in the order they were taken. Its size
 * is set by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_ATTACHMENTS);
	__type(key, __u32);
	__type(value, struct attach_counters);
} counters SEC(".maps");

/* The consumer position of the ring buffer when user space was last woken
 * up, with its low bit set (positions are multiples of 8, so the 0 it starts
 * with matches none). One for all attachments (see ring_wakeup). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ring_woken SEC(".maps");


/*
 * Whether the packet matches the filter expression: non-zero for a match.
 *
 * User space replaces the body of this function, before loading, with the
 * expression compiled to classic BPF by bpf/filter and translated to eBPF
 * (filter.ToEBPF), and sets has_filter. Without a filter it is never called.
 * It is not inlined, so that user space finds its instructions by name, and
 * its result depends on the packet, so that the compiler cannot assume it;
 * as written it matches every packet.
 */
static __noinline int lwtdump_filter(struct __sk_buff *skb)
{
	return skb->len != 0xffffffff;
}

/* ring_wakeup returns the flags of a ring buffer submission: wake user space
 * once wakeup_bytes wait in the ring, and only once until user space has
 * moved the consumer position. A wake-up raises an irq_work on the
 * forwarding CPU (an interrupt it sends itself: several microseconds in a
 * virtual machine, more than forwarding the packet), and until the woken
 * reader runs and publishes its position the ring stays above the threshold;
 * waking at every submission in that time made forwarding pay one per packet
 * for as long as the reader took to run. A reader woken up reads all there
 * is and publishes its position, so the next time the ring fills up the
 * position differs and the wake-up is sent again. Two CPUs may both wake
 * user space for the same position, which is harmless. It is not inlined
 * into every size class: inlined, it made the program half again as long,
 * and loading it took 6 MiB more of lwtdump's memory at its peak. */
static __noinline __u64 ring_wakeup(void)
{
	if (bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	__u32 key = 0;
	__u64 *woken = bpf_map_lookup_elem(&ring_woken, &key);
	if (!woken)
		return BPF_RB_FORCE_WAKEUP;
	__u64 consumer = bpf_ringbuf_query(&ring, BPF_RB_CONS_POS) | 1;
	if (*woken == consumer)
		return BPF_RB_NO_WAKEUP;
	*woken = consumer;
	return BPF_RB_FORCE_WAKEUP;
}

/* ring_output reserves a ring buffer record of the constant size HDR + SIZE
 * (the verifier wants a constant), fills it and submits it. User space
 * reads cap_len from the header and ignores the slack after the packet. */
#define RING_OUTPUT(SIZE)                                                                        \
	static __always_inline int ring_output_##SIZE(struct __sk_buff *skb, struct sample_hdr *hdr, \
						      __u64 caplen)                                  \
	{                                                                                            \
		struct sample_hdr *rec = bpf_ringbuf_reserve(&ring, sizeof(*hdr) + SIZE, 0);         \
		if (!rec)                                                                            \
			return -1;                                                                   \
		*rec = *hdr;                                                                         \
		/* Stamped after the reservation, which is serialized: ring order is \
		 * time order, but for a CPU stopped between the two. */            \
		rec->ts_ns = bpf_ktime_get_ns();                                                     \
		/* bpf_skb_load_bytes wants a length the verifier knows is 1 to    \
		 * SIZE. 6.1's verifier learns no lower bound from caplen != 0, so \
		 * the check is on len = caplen - 1 (0 to SIZE - 1; caplen 0 wraps \
		 * far above) and the helper gets len + 1. The barrier keeps clang \
		 * from folding len back into caplen and the caller's checks. */   \
		__u64 len = caplen - 1;                                                              \
		asm volatile("" : "+r"(len));                                                        \
		if (len > SIZE - 1 || bpf_skb_load_bytes(skb, 0, rec + 1, len + 1) < 0) {            \
			bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);                                  \
			return -1;                                                                   \
		}                                                                                    \
		bpf_ringbuf_submit(rec, ring_wakeup());                                              \
		return 0;                                                                            \
	}

/* Small packets, the most frequent, get size classes 32 bytes apart up to
 * 256 bytes and 64 apart up to 512, so that a record wastes at most 31 (63)
 * bytes of the ring: a 129-byte packet takes 48 + 160 bytes, not 48 + 256. */
RING_OUTPUT(64)
RING_OUTPUT(96)
RING_OUTPUT(128)
RING_OUTPUT(160)
RING_OUTPUT(192)
RING_OUTPUT(224)
RING_OUTPUT(256)
RING_OUTPUT(320)
RING_OUTPUT(384)
RING_OUTPUT(448)
RING_OUTPUT(512)
RING_OUTPUT(1024)
RING_OUTPUT(1536)
RING_OUTPUT(2048)
RING_OUTPUT(4096)
RING_OUTPUT(9216)
RING_OUTPUT(16384)
RING_OUTPUT(32768)
RING_OUTPUT(65536)
RING_OUTPUT(131072)
RING_OUTPUT(MAX_SNAPLEN)

/* ring_output sends the sample through the ring buffer in the smallest
 * record that holds it. */
static __always_inline int ring_output(struct __sk_buff *skb, struct sample_hdr *hdr, __u64 caplen)
{
	if (caplen <= 64)
		return ring_output_64(skb, hdr, caplen);
	if (caplen <= 96)
		return ring_output_96(skb, hdr, caplen);
	if (caplen <= 128)
		return ring_output_128(skb, hdr, caplen);
	if (caplen <= 160)
		return ring_output_160(skb, hdr, caplen);
	if (caplen <= 192)
		return ring_output_192(skb, hdr, caplen);
	if (caplen <= 224)
		return ring_output_224(skb, hdr, caplen);
	if (caplen <= 256)
		return ring_output_256(skb, hdr, caplen);
	if (caplen <= 320)
		return ring_output_320(skb, hdr, caplen);
	if (caplen <= 384)
		return ring_output_384(skb, hdr, caplen);
	if (caplen <= 448)
		return ring_output_448(skb, hdr, caplen);
	if (caplen <= 512)
		return ring_output_512(skb, hdr, caplen);
	if (caplen <= 1024)
		return ring_output_1024(skb, hdr, caplen);
	if (caplen <= 1536)
		return ring_output_1536(skb, hdr, caplen);
	if (caplen <= 2048)
		return ring_output_2048(skb, hdr, caplen);
	if (caplen <= 4096)
		return ring_output_4096(skb, hdr, caplen);
	if (caplen <= 9216)
		return ring_output_9216(skb, hdr, caplen);
	if (caplen <= 16384)
		return ring_output_16384(skb, hdr, caplen);
	if (caplen <= 32768)
		return ring_output_32768(skb, hdr, caplen);
	if (caplen <= 65536)
		return ring_output_65536(skb, hdr, caplen);
	if (caplen <= 131072)
		return ring_output_131072(skb, hdr, caplen);
	return ring_output_MAX_SNAPLEN(skb, hdr, caplen);
}

static __always_inline int capture(struct __sk_buff *skb, __u8 hook)
{
	__u32 key = attachment;
	struct attach_counters *c = bpf_map_lookup_elem(&counters, &key);
	if (!c)
		return BPF_OK;
	c->seen++;

	/* A packet the expression rejects is counted, and not copied. */
	if (has_filter && !lwtdump_filter(skb)) {
		c->filtered++;
		return BPF_OK;
	}

	__u64 caplen = skb->len;
	if (caplen > snaplen)
		caplen = snaplen;
	if (caplen > MAX_SNAPLEN)
		caplen = MAX_SNAPLEN;
	if (!use_ringbuf && caplen > PERF_MAX_CAPLEN)
		caplen = PERF_MAX_CAPLEN;

	struct sample_hdr hdr = {
		.cookie = cookie,
		.attachment = attachment,
		.ifindex = skb->ifindex,
		.mark = skb->mark,
		.orig_len = skb->len,
		.cap_len = caplen,
		.cpu = bpf_get_smp_processor_id(),
		.protocol = skb->protocol,
		.hook = hook,
	};
	int err;
	if (use_ringbuf) {
		err = ring_output(skb, &hdr, caplen);
	} else {
		hdr.ts_ns = bpf_ktime_get_ns();
		err = bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU | (caplen << 32), &hdr, sizeof(hdr));
	}
	if (err < 0)
		c->dropped++;
	return BPF_OK;
}

SEC("lwt_in")
int lwtdump_in(struct __sk_buff *skb)
{
	return capture(skb, HOOK_LWT_IN);
}

SEC("lwt_out")
int lwtdump_out(struct __sk_buff *skb)
{
	return capture(skb, HOOK_LWT_OUT);
}

SEC("lwt_xmit")
int lwtdump_xmit(struct __sk_buff *skb)
{
	return capture(skb, HOOK_LWT_XMIT);
}

SEC("lwt_seg6local")
int lwtdump_seg6(struct __sk_buff *skb)
{
	return capture(skb, HOOK_LWT_SEG6LOCAL);
}
