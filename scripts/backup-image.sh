#!/usr/bin/env bash
# Builds the backup container's image (spec `backup`): tools/etcd-backup, a small Go program that takes
# etcd snapshots on a schedule into a directory and keeps the newest few. Built from the Go module proxy
# (go.mod and go.sum are in tools/etcd-backup), statically, into an image of its own:
#
#   bash scripts/backup-image.sh                 # -> cdktf-etcd-cluster/etcd-backup:3 on this Docker engine
#   DOCKER_HOST=ssh://me@host bash scripts/backup-image.sh   # on another engine
#
# Every Docker host that runs a cluster's backup container needs the image: build it there, or push it to
# a registry of yours and set `backup.image`. Idempotent: an existing image built from the same sources
# (its label cdktf-etcd-cluster.source is their SHA-256) is kept; one built from other sources is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${BACKUP_IMAGE:-cdktf-etcd-cluster/etcd-backup:3}"
say() { printf 'backup-image: %s\n' "$*" >&2; }
SOURCE="$(cd tools/etcd-backup && find . \( -name '*.go' ! -name '*_test.go' \) -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)"
if have="$(docker image inspect -f '{{index .Config.Labels "cdktf-etcd-cluster.source"}}' "$IMAGE" 2>/dev/null)"; then
  if [ "$have" = "$SOURCE" ]; then say "image $IMAGE is ready"; exit 0; fi
  say "image $IMAGE was built from other sources of tools/etcd-backup: rebuilding"
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/usr/local/bin" "$work/root/etc" "$work/root/tmp" "$work/root/backups"
say "building tools/etcd-backup"
(cd tools/etcd-backup && "$GO" build -trimpath -ldflags "-s -w" -o "$work/root/usr/local/bin/etcd-backup" .)
printf 'hosts: files dns\n' >"$work/root/etc/nsswitch.conf"
tar -C "$work/root" -c . | docker import \
  -c 'ENTRYPOINT ["/usr/local/bin/etcd-backup"]' \
  -c 'CMD ["run"]' \
  -c 'VOLUME /backups' \
  -c 'LABEL org.opencontainers.image.description=cdktf-etcd-cluster-backup-container' \
  -c "LABEL cdktf-etcd-cluster.source=$SOURCE" \
  - "$IMAGE" >/dev/null
say "image $IMAGE is ready"
