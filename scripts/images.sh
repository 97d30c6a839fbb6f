#!/usr/bin/env bash
# make images: builds forescale-controller and forescale-trainer from ./Dockerfile (targets controller and trainer)
# with docker when its daemon answers, else podman (installed from Debian when missing). Where the bases the
# Dockerfile names cannot be pulled (no registry reachable), they are made here under those exact names, so the
# Dockerfile is the one users run:
#   docker.io/library/debian:bookworm-slim  mmdebstrap --variant=minbase bookworm (from the Debian mirror)
#   docker.io/library/swift:V-bookworm      the same base with the Swift toolchain the tests use (swift on PATH,
#                                           which must be version V) and the packages Swift's own image adds
# Environment: IMAGES_IF_POSSIBLE=1 (make test: skip where no engine can run), TAG (default dev), ENGINE (docker|podman), PULL_TIMEOUT (seconds, default 20), BASES_ONLY=1 (make
# or pull the bases and stop).
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${TAG:-dev}
PULL_TIMEOUT=${PULL_TIMEOUT:-20}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

say() { echo "make images: $*" >&2; }

install_missing() {
  local missing=""
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    say "installing$missing"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
}

# The engine, and the flags this machine needs: podman's default runtime (crun) refuses hybrid cgroups and its
# default rlimits are refused, so runc and explicit limits.
if [ -z "${ENGINE:-}" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
RUN_FLAGS=()
if [ "$ENGINE" = podman ]; then
  install_missing podman buildah runc mmdebstrap uidmap
  RUN_FLAGS=(--runtime /usr/sbin/runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
fi
# From make test (IMAGES_IF_POSSIBLE=1): where no engine can run containers, say why and let the tests skip.
if ! reason=$($ENGINE info 2>&1 >/dev/null); then
  if [ -n "${IMAGES_IF_POSSIBLE:-}" ]; then say "skipped: $ENGINE cannot run here: $reason"; exit 0; fi
  say "$ENGINE cannot run here: $reason"; exit 1
fi

# The Swift version: the one place that states it is the Dockerfile's build stage.
swift_image=$(sed -n 's/^FROM \([^ ]*swift:[^ ]*\) AS build$/\1/p' Dockerfile)
runtime_image=$(sed -n 's/^FROM \([^ ]*debian:[^ ]*\) AS runtime$/\1/p' Dockerfile)
want=$(echo "$swift_image" | sed 's/.*swift:\([0-9.]*\)-.*/\1/')
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}
have=$("$SWIFT" --version 2>&1 | sed -n 's/^Swift version \([0-9.]*\).*/\1/p' | head -1)
[ "$want" = "$have" ] || { say "the Dockerfile builds with Swift $want but the tests use $have ($SWIFT): change its FROM line"; exit 1; }

have_image() { $ENGINE image inspect "$1" >/dev/null 2>&1; }
pull() { timeout "$PULL_TIMEOUT" $ENGINE pull -q "$1" >/dev/null 2>&1; }

# A Debian bookworm root filesystem as an image named $1, with extra packages $2 and a customize hook $3.
make_base() {
  local name=$1 include=$2 hook=${3:-true}
  install_missing mmdebstrap
  local tar; tar=$(mktemp --suffix=.tar)
  say "making $name locally (mmdebstrap bookworm${include:+ with $include})"
  # As Debian's own slim images: no documentation, manuals or translations (licences kept), no package cache.
  mmdebstrap --quiet --variant=minbase ${include:+--include="$include"} \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb' \
    --customize-hook='echo "APT::Keep-Downloaded-Packages \"false\";" > "$1"/etc/apt/apt.conf.d/docker-clean' \
    --customize-hook="$hook" bookworm "$tar"
  $ENGINE import --change 'CMD ["/bin/bash"]' "$tar" "$name" >/dev/null
  rm -f "$tar"
}

if ! have_image "$runtime_image" && ! pull "$runtime_image"; then
  make_base "$runtime_image" ""
fi
if ! have_image "$swift_image" && ! pull "$swift_image"; then
  # What Swift's own bookworm image installs beside the toolchain, then the toolchain itself under /usr.
  toolchain=$(dirname "$(dirname "$(readlink -f "$SWIFT")")")
  make_base "$swift_image" \
    "binutils,git,libc6-dev,libcurl4-openssl-dev,libedit2,libgcc-12-dev,libpython3-dev,libsqlite3-0,libstdc++-12-dev,libxml2-dev,libncurses-dev,libz3-dev,pkg-config,tzdata,zlib1g-dev,ca-certificates" \
    "cp -a '$toolchain'/. \"\$1\"/usr/"
fi

[ -z "${BASES_ONLY:-}" ] || exit 0
for target in controller trainer; do
  say "building forescale-$target:$TAG ($ENGINE)"
  start=$(date +%s)
  if [ "$ENGINE" = podman ]; then
    podman build --quiet --layers --network host "${RUN_FLAGS[@]}" --target "$target" -t "forescale-$target:$TAG" . >/dev/null
  else
    docker build --quiet --target "$target" -t "forescale-$target:$TAG" . >/dev/null
  fi
  size=$($ENGINE image inspect --format '{{.Size}}' "forescale-$target:$TAG")
  say "forescale-$target:$TAG built in $(( $(date +%s) - start )) s, $(( size / 1048576 )) MiB"
done
