# lwtdump: make build | generate | test | test-kernels | test-package | demo | bench | lint
#               | man | completions | install | uninstall | install-wireshark | deb
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

# The version from git (scripts/package/version.sh), which lwtdump --version
# prints and the package carries.
VERSION := $(shell scripts/package/version.sh)
LDFLAGS := -X main.version=$(VERSION)
DEB_ARCHES := amd64 arm64
DIST ?= dist

# make install: PREFIX for the place, DESTDIR for a staging root (packages).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
DATADIR ?= $(PREFIX)/share/lwtdump

.PHONY: all build check-go generate check-generate test test-kernels test-package lint demo bench deps clean man completions install uninstall install-wireshark install-extcap deb

all: build

# One line, and a stop, when $(GO) is too old to build lwtdump or to fetch
# the Go that go.mod asks for (make's $(error) says it in one line).
go_problem = $(shell GO="$(GO)" scripts/check-go.sh 2>&1)
check-go:
	@$(if $(go_problem),$(error $(go_problem)))true

build: check-go
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o lwtdump ./cmd/lwtdump

# $(DIST)/lwtdump_VERSION_ARCH.deb (default dist/) for each of DEB_ARCHES: a static binary,
# the unit lwtdump@.service, /etc/lwtdump/example.conf, the Wireshark
# dissector, the man page and completions, built with nfpm
# (scripts/package, a module of its own).
deb: check-go
	$(MAKE) man completions PREFIX=/usr
	@for arch in $(DEB_ARCHES); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(DIST)/$$arch/lwtdump ./cmd/lwtdump && \
		(cd scripts/package && $(GO) run . -root ../.. -binary $(abspath $(DIST))/$$arch/lwtdump -arch $$arch -version $(VERSION) -docs $(abspath build) -out $(abspath $(DIST))) || exit 1; \
	done

# The man page lwtdump(8) and the bash and zsh completion, made by lwtdump
# from its flag definitions, into build/.
man: build
	@mkdir -p build
	./lwtdump man --prefix $(PREFIX) >build/lwtdump.8

completions: build
	@mkdir -p build
	./lwtdump completion bash >build/lwtdump.bash
	./lwtdump completion zsh >build/_lwtdump

# The binary, the man page, the completions and the Wireshark dissector
# (for Wireshark's plugin folders: lwtdump wireshark install puts it into
# the user's own).
install: build man completions
	install -D -m 0755 lwtdump $(DESTDIR)$(BINDIR)/lwtdump
	install -D -m 0644 build/lwtdump.8 $(DESTDIR)$(MANDIR)/man8/lwtdump.8
	install -D -m 0644 build/lwtdump.bash $(DESTDIR)$(BASHCOMPDIR)/lwtdump
	install -D -m 0644 build/_lwtdump $(DESTDIR)$(ZSHCOMPDIR)/_lwtdump
	install -D -m 0644 cmd/internal/wireshark/lwtdump.lua $(DESTDIR)$(DATADIR)/lwtdump.lua

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/lwtdump $(DESTDIR)$(MANDIR)/man8/lwtdump.8 \
		$(DESTDIR)$(BASHCOMPDIR)/lwtdump $(DESTDIR)$(ZSHCOMPDIR)/_lwtdump \
		$(DESTDIR)$(DATADIR)/lwtdump.lua
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null

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
test: check-go deps check-generate lint
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

demo: check-go deps build
	GO="$(GO)" scripts/demo.sh

bench: deps build
	scripts/bench.sh

clean:
	rm -rf lwtdump demo.pcapng lwtdump.manifest.jsonl dist build
