package bpf

//go:generate go tool bpf2go -tags linux -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type sample_hdr -type attach_counters capture capture.c -- -I/usr/include/x86_64-linux-gnu
