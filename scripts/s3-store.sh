#!/usr/bin/env bash
# The S3-compatible object store of the backup tests (spec `backup.store`): SeaweedFS's `weed`, built from
# the Go module proxy. SeaweedFS rather than MinIO: it is Apache-2.0 licensed (MinIO's server is AGPL), and
# one `weed server -s3` process is the whole store (master, volume, filer, S3 gateway) with identities from
# a JSON file. The tests run it on a simulated host of its own (scripts/sim-hosts.sh s3), not beside the
# cluster. Idempotent: a binary of this version is kept.
#
#   bash scripts/s3-store.sh build      # -> /usr/local/lib/cdktf-etcd-cluster/seaweedfs-<version>/weed
#   bash scripts/s3-store.sh path       # prints that path
set -euo pipefail

VERSION="v0.0.0-20261109003541-7506e5f91cd6"
DIR="${S3_STORE_DIR:-/usr/local/lib/cdktf-etcd-cluster/seaweedfs-$VERSION}"
say() { printf 's3-store: %s\n' "$*" >&2; }

build() {
  if [ -x "$DIR/weed" ]; then say "weed $VERSION is ready"; return; fi
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod
  local go
  go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  say "building SeaweedFS $VERSION from the Go module proxy (about 6 minutes the first time)"
  # Its go.mod has replace directives, so `go install pkg@version` refuses it: build from its module's tree.
  GOPATH="$work/gopath" "$go" mod download -json "github.com/seaweedfs/seaweedfs@$VERSION" >"$work/module.json"
  local src
  src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$work/module.json")"
  cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
  mkdir -p "$DIR.part"
  (cd "$work/src" && GOPATH="$work/gopath" "$go" build -trimpath -ldflags "-s -w" -o "$DIR.part/weed" ./weed)
  rm -rf "$DIR" && mv "$DIR.part" "$DIR"
  say "weed $VERSION is ready"
}

case "${1:-}" in
  build) build ;;
  path) echo "$DIR/weed" ;;
  *) printf 'usage: s3-store.sh build|path\n' >&2; exit 2 ;;
esac
