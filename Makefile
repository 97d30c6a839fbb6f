# Forescale — build, test and run. See README.md.
SHELL := /bin/bash
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
# Debian packages the build and the tests need. `make deps` installs only what is missing.
APT_PACKAGES := libcurl4-openssl-dev libssl-dev pkg-config openssl curl python3 python3-venv ca-certificates chromium prometheus

.PHONY: all deps build release test demo bench clean image-binaries images lint format fuzz

all: build

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@test -x "$(SWIFT)" || { echo "make deps: no Swift 6 toolchain found (looked for 'swift' on PATH and /opt/swift/usr/bin/swift)"; exit 1; }
	@# The AWS tests' peers: moto (an AWS emulator) and botocore (a signing oracle), from PyPI.
	@python3 -c "import moto.server, botocore" 2>/dev/null || { echo "make deps: installing moto[server] (PyPI)"; python3 -m pip install -q 'moto[server]==5.2.1'; }
	@# The manifests' checker: the Kubernetes OpenAPI schemas of each release, from PyPI ...
	@# ... and a real CEL implementation for the CRD's x-kubernetes-validations rules.
	@python3 -c 'import kubernetes_validate' 2>/dev/null || { echo "make deps: installing kubernetes-validate (PyPI)"; python3 -m pip install -q 'kubernetes-validate==1.37.0'; }
	@python3 -c 'import celpy' 2>/dev/null || { echo "make deps: installing cel-python (PyPI)"; python3 -m pip install -q 'cel-python==0.5.0'; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# What the container images build (Dockerfile, targets controller and trainer): static Swift runtime, so the
# runtime image needs only libcurl, OpenSSL, libxml2, CA certificates and tzdata. `make test` runs it first and
# ContainerImageTests checks its products against the Dockerfile.
image-binaries:
	$(SWIFT) build -c release --static-swift-stdlib --product forescale-controller
	$(SWIFT) build -c release --static-swift-stdlib --product forescale-trainer

# The images themselves, with podman (installed when missing) or a running docker; the Dockerfile's bases are made
# locally when no registry answers (scripts/images.sh). ImageTests runs them.
images:
	SWIFT=$(SWIFT) scripts/images.sh

# make test builds the images too (ImageTests runs them), unless no container engine can run here.
test: deps image-binaries
	SWIFT=$(SWIFT) IMAGES_IF_POSSIBLE=1 scripts/images.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# House style (.swift-format: 4-space indent, 120 columns): `make format` rewrites, `make lint`
# fails on any difference or rule violation. CI runs lint before the tests.
SWIFT_FORMAT_PATHS := Package.swift Sources Tests
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(SWIFT_FORMAT_PATHS)

format:
	$(SWIFT) format --in-place --recursive --parallel $(SWIFT_FORMAT_PATHS)

# libFuzzer on every parser of outside input, FUZZ_SECONDS each (default 600); crashes land in
# Tests/Fuzz/regressions/<target>/, which `make test` replays. Not part of `make test`.
fuzz:
	Tests/Fuzz/run.sh $(FUZZ_SECONDS)

# Runs until Ctrl-C; DEMO_ARGS passes options (e.g. DEMO_ARGS="--duration 60 --speed 600").
demo: deps release
	.build/release/forescale demo $(DEMO_ARGS)

bench: release
	.build/release/forescale bench http --json

clean:
	rm -rf .build
