# gorae — daemonless container image builder.
GO      ?= go
BIN     := bin/gorae
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Where the demo keeps its images; tests use their own temporary roots.
DEMO_ROOT ?= $(CURDIR)/.gorae-demo

.PHONY: help build demo test test-short bench lint deps clean image fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# Static, without cgo: a dynamically linked binary starts about 5 ms slower
# (the loader and libc), and start-up is most of a warm rebuild.
build: ## build bin/gorae
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/gorae

deps: ## install what tests and the demo need (busybox-static, docker-registry, uidmap, libcap2-bin, git, apache2-utils, qemu-user-static, binfmt-support; arm64 emulation registered) when missing
	@missing=""; \
	[ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v newuidmap >/dev/null || missing="$$missing uidmap"; \
	command -v setcap >/dev/null || missing="$$missing libcap2-bin"; \
	command -v git >/dev/null || missing="$$missing git"; \
	command -v htpasswd >/dev/null || missing="$$missing apache2-utils"; \
	[ -x /usr/bin/qemu-aarch64-static ] || missing="$$missing qemu-user-static"; \
	command -v update-binfmts >/dev/null || missing="$$missing binfmt-support"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@# RUN steps for linux/arm64 run through qemu, registered with the F flag
	@# (Debian's qemu-user-static format has it) so that it works inside the
	@# sandbox; the arm64 busybox fixture comes from Debian's arm64 archive.
	@if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then \
		echo "registering qemu-aarch64 (binfmt_misc)"; \
		mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; \
		update-binfmts --enable qemu-aarch64; \
	fi
	@dpkg --print-foreign-architectures | grep -qx arm64 || { \
		echo "adding the arm64 dpkg architecture"; \
		dpkg --add-architecture arm64 && apt-get update -qq; }

demo: deps build ## import a busybox base offline, build examples/hello, show and run the image
	@bash testdata/busybox-rootfs.sh bin/busybox-rootfs.tar
	GORAE_ROOT=$(DEMO_ROOT) $(BIN) import -c 'CMD ["sh"]' bin/busybox-rootfs.tar busybox
	GORAE_ROOT=$(DEMO_ROOT) $(BIN) build --progress=plain -t hello examples/hello
	GORAE_ROOT=$(DEMO_ROOT) $(BIN) images
	@rm -rf bin/hello-rootfs
	GORAE_ROOT=$(DEMO_ROOT) $(BIN) build -q --output type=local,dest=bin/hello-rootfs examples/hello
	@echo "--- the image's /app, as files:"; ls -l bin/hello-rootfs/app
	@echo "--- its config:"; GORAE_ROOT=$(DEMO_ROOT) $(BIN) inspect hello | grep -A12 '"config"'
	@echo "--- running it, as docker run does (its CMD, as user app, in a sandbox):"
	GORAE_ROOT=$(DEMO_ROOT) $(BIN) run --rm hello
	@echo "--- again, with a command and an environment variable of our own:"
	GORAE_ROOT=$(DEMO_ROOT) $(BIN) run --rm -e GREETING=annyeong hello sh -c 'echo "$$GREETING, $$(id -un) in $$(pwd) on $$(hostname)"; cat /app/data/lines'

image: deps build ## build gorae's own container image (gorae:latest in the local store) with gorae itself
	@bash deploy/image/context.sh bin/image-context $(BIN)
	SOURCE_DATE_EPOCH=1700000000 $(BIN) build --progress=plain -t gorae:$(VERSION) -t gorae:latest bin/image-context
	@echo "--- push it with: $(BIN) tag gorae:latest REGISTRY/gorae:latest && $(BIN) push REGISTRY/gorae:latest"

test: deps ## run every test with the race detector (unit, golden, end-to-end)
	$(GO) test -race -count=1 -timeout 20m ./...
	@bash testdata/check-leaks.sh

test-short: ## unit tests only (no registry, no binary)
	$(GO) test -short -count=1 ./...

# Every Go fuzz target, as PACKAGE:TARGET; each runs for FUZZTIME.
FUZZTIME ?= 20s
FUZZ_TARGETS := frontend:FuzzConvert archive:FuzzApply archive:FuzzApplyRaw \
	exporter:FuzzParse remotecache:FuzzParseSpec registry:FuzzNormalize cmd/gorae:FuzzParseSecret \
	sbom:FuzzSQLite sbom:FuzzRPMHeader

fuzz: ## run each fuzz target for FUZZTIME (default 20s); a crash is saved in PACKAGE/testdata/fuzz/TARGET
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "--- $$name (./$$pkg, $(FUZZTIME))"; \
		$(GO) test -short -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done

bench: build ## Go benchmarks, then the BuildKit comparison if ../shared/bench is set up
	$(GO) test -run '^$$' -bench . -benchtime 3x ./archive/
	$(GO) test -run '^$$' -bench . -benchtime 100x ./bench/
	@echo "side by side with BuildKit (after ../shared/bench/setup.sh): bench/compare.sh"

lint: ## gofmt, go vet, go mod tidy check
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

clean: ## remove build outputs and the demo root
	@# A rootless root holds files of subordinate ids that only gorae can remove.
	@[ ! -d $(DEMO_ROOT) ] || [ ! -x $(BIN) ] || GORAE_ROOT=$(DEMO_ROOT) $(BIN) prune --all -f >/dev/null || true
	rm -rf bin $(DEMO_ROOT)
