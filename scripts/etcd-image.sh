#!/usr/bin/env bash
# Builds an etcd release from the Go module proxy into a local image laid out like the official one
# (gcr.io/etcd-development/etcd:v<version>): static /usr/local/bin/etcd, etcdctl and etcdutl, CMD etcd,
# /var/lib/etcd as the working directory. No registry is reachable on the test machines, so this is how
# they get the etcd versions users deploy.
#
#   bash scripts/etcd-image.sh 3.5.21          # -> cdktf-etcd-cluster/etcd:3.5.21-local
#   bash scripts/etcd-image.sh 3.5.21 --official-tag
#                                              # also tags gcr.io/etcd-development/etcd:v3.5.21 when no
#                                              # image of that name is on the engine (never replaces one)
#
# etcd's modules (server, etcdctl, etcdutl) carry local replace directives, so they are built from a small
# wrapper module: the server through etcdmain.Main (the same entry point etcd's own main calls), etcdctl
# and etcdutl as the main packages of their modules. Idempotent: an existing image is kept.
set -euo pipefail

VERSION="${1:?usage: etcd-image.sh <version, e.g. 3.5.21> [--official-tag]}"
OFFICIAL_TAG=0
[ "${2:-}" = "--official-tag" ] && OFFICIAL_TAG=1
[[ "$VERSION" =~ ^3\.[5-9]\.[0-9]+$ ]] || { echo "etcd-image: version must be 3.5.x or later (3.4 comes from Debian; got \"$VERSION\")" >&2; exit 2; }
IMAGE="cdktf-etcd-cluster/etcd:${VERSION}-local"
OFFICIAL="gcr.io/etcd-development/etcd:v${VERSION}"
say() { printf 'etcd-image: %s\n' "$*" >&2; }

tag_official() {
  if [ "$OFFICIAL_TAG" = 1 ] && ! docker image inspect "$OFFICIAL" >/dev/null 2>&1; then
    docker tag "$IMAGE" "$OFFICIAL"
    say "tagged $IMAGE as $OFFICIAL (a local build of the same release; the registry is out of reach)"
  fi
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "image $IMAGE is ready"
  tag_official
  exit 0
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/etcd" "$work/root/usr/local/bin" "$work/root/etc" "$work/root/tmp" "$work/root/var/lib/etcd"
cat >"$work/src/go.mod" <<EOF
module etcdimage

go 1.23
EOF
cat >"$work/src/etcd/main.go" <<'EOF'
// The etcd server, through the entry point etcd's own main package calls.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
say "building etcd $VERSION (server, etcdctl, etcdutl) from the Go module proxy"
(
  cd "$work/src"
  "$GO" get "go.etcd.io/etcd/server/v3@v${VERSION}" "go.etcd.io/etcd/etcdctl/v3@v${VERSION}" "go.etcd.io/etcd/etcdutl/v3@v${VERSION}" >"$work/get.log" 2>&1 \
    || { tail -20 "$work/get.log" >&2; exit 1; }
  ldflags="-s -w"
  "$GO" build -trimpath -ldflags "$ldflags" -o "$work/root/usr/local/bin/etcd" ./etcd
  "$GO" build -trimpath -ldflags "$ldflags" -o "$work/root/usr/local/bin/etcdctl" go.etcd.io/etcd/etcdctl/v3
  "$GO" build -trimpath -ldflags "$ldflags" -o "$work/root/usr/local/bin/etcdutl" go.etcd.io/etcd/etcdutl/v3
)
# Read whole before matching: `etcd --version | grep -q` under pipefail fails at random (grep exits at its
# first match and etcd, still writing, dies of SIGPIPE).
reported="$("$work/root/usr/local/bin/etcd" --version)"
[[ "$reported" == *"etcd Version: ${VERSION}"* ]] || { say "the built etcd does not report version $VERSION: $reported"; exit 1; }
# Static binaries; a hosts/nsswitch pair lets the resolver use Docker's embedded DNS.
printf 'hosts: files dns\n' >"$work/root/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/usr/local/bin/etcd\n' >"$work/root/etc/passwd"
tar -C "$work/root" -c . | docker import \
  -c 'CMD ["/usr/local/bin/etcd"]' \
  -c 'ENV PATH=/usr/local/bin' \
  -c 'WORKDIR /var/lib/etcd' \
  -c 'EXPOSE 2379 2380' \
  -c "LABEL org.opencontainers.image.version=${VERSION} org.opencontainers.image.description=etcd-${VERSION}-built-from-the-Go-module-proxy" \
  - "$IMAGE" >/dev/null
say "image $IMAGE is ready"
tag_official
