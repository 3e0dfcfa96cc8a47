# lwtdump: make build | generate | test | test-kernels | demo | bench | lint | install-wireshark | deb
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

# The version from git (scripts/package/version.sh), which lwtdump --version
# prints and the package carries.
VERSION := $(shell scripts/package/version.sh)
LDFLAGS := -X main.version=$(VERSION)
DEB_ARCHES := amd64 arm64
DIST ?= dist

.PHONY: all build generate check-generate test test-kernels test-package lint demo bench deps clean install-wireshark install-extcap deb

all: build

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o lwtdump ./cmd/lwtdump

# $(DIST)/lwtdump_VERSION_ARCH.deb (default dist/) for each of DEB_ARCHES: a static binary,
# the unit lwtdump@.service, /etc/lwtdump/example.conf, the Wireshark
# dissector, built with nfpm (scripts/package, a module of its own).
deb:
	@for arch in $(DEB_ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(DIST)/$$arch/lwtdump ./cmd/lwtdump && \
		(cd scripts/package && $(GO) run . -root ../.. -binary $(abspath $(DIST))/$$arch/lwtdump -arch $$arch -version $(VERSION) -out $(abspath $(DIST))) || exit 1; \
	done

deps:
	scripts/deps.sh

# Rebuild the eBPF object and its Go bindings with clang (bpf2go).
generate: deps
	$(GO) generate ./bpf/...

# The committed eBPF object must be what the C source builds to.
check-generate: generate
	@git diff --exit-code --stat -- bpf/ || { echo "generated eBPF files are out of date: run make generate and commit" >&2; exit 1; }

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting" >&2; exit 1; }
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	cd scripts/package && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Every test: unit tests, and as root the end-to-end tests in network
# namespaces on this machine's kernel and, under qemu, on Debian 12's
# (TestKernels; LWTDUMP_TEST_KERNELS="6.1 6.12" adds kernels).
test: deps check-generate lint
	$(GO) test -race -count=1 -timeout 40m ./...
	$(MAKE) test-package

# The unit (systemd-analyze verify and security) and, as root, the package
# installed, checked, removed and purged with dpkg, and lintian.
test-package:
	cd scripts/package && $(GO) test -count=1 -timeout 20m ./...

# The kernel matrix alone (as root).
test-kernels: deps
	$(GO) test -count=1 -v -run 'TestKernels$$' ./cmd/lwtdump

# As the user who runs Wireshark: the dissector into the personal Lua
# plugin folder (~/.local/lib/wireshark/plugins), and a link to the built
# lwtdump into the personal extcap folders (4.0: ~/.config/wireshark/extcap,
# 4.2 and later: ~/.local/lib/wireshark/extcap). lwtdump wireshark uninstall
# removes them.
install-wireshark: build
	./lwtdump wireshark install

install-extcap: install-wireshark

demo: deps build
	scripts/demo.sh

bench: deps build
	scripts/bench.sh

clean:
	rm -rf lwtdump demo.pcapng dist
