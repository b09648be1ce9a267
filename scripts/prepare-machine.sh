#!/usr/bin/env bash
# Prepares this machine for the integration suite: a running Docker engine and a local etcd image.
# Idempotent: installs only what is missing, starts dockerd only when it does not answer.
# The image is built from Debian's etcd 3.4.23 binaries and laid out like the official image
# (/usr/local/bin/etcd, /usr/local/bin/etcdctl), so one synthesized config runs on both.
set -euo pipefail

IMAGE="${ETCD_TEST_IMAGE:-cdktf-etcd-cluster/etcd:3.4.23-local}"
LOG_DIR="${PREPARE_LOG_DIR:-/tmp/cdktf-etcd-cluster}"
mkdir -p "$LOG_DIR"

say() { printf 'prepare-machine: %s\n' "$*"; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || need_pkgs+=(docker.io)
[ -x /usr/bin/etcd ] || need_pkgs+=(etcd-server)
[ -x /usr/bin/etcdctl ] || need_pkgs+=(etcd-client)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$LOG_DIR/apt-update.log" 2>&1
  apt-get install -y -qq "${need_pkgs[@]}" >"$LOG_DIR/apt-install.log" 2>&1 \
    || { say "apt-get install failed, see $LOG_DIR/apt-install.log"; tail -20 "$LOG_DIR/apt-install.log"; exit 1; }
fi

DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $LOG_DIR/dockerd.log)"
  # setsid: the engine must not die with the shell that started it.
  setsid "$DOCKERD" >"$LOG_DIR/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 60 s"; tail -20 "$LOG_DIR/dockerd.log"; exit 1
  fi
fi
say "docker engine $(docker version --format '{{.Server.Version}}') is up"

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "building $IMAGE from Debian's etcd binaries"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc" "$root/var/lib/etcd"
  cp /usr/bin/etcd /usr/bin/etcdctl "$root/usr/local/bin/"
  # Static Go binaries; a hosts/nsswitch pair lets the resolver use Docker's embedded DNS.
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/usr/local/bin/etcd\n' >"$root/etc/passwd"
  for lib in $(ldd /usr/bin/etcd /usr/bin/etcdctl 2>/dev/null | awk '/=>/ {print $3} /ld-linux/ {print $1}' | sort -u); do
    [ -f "$lib" ] && { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
  done
  tar -C "$root" -c . | docker import \
    -c 'CMD ["/usr/local/bin/etcd"]' \
    -c 'ENV PATH=/usr/local/bin' \
    -c 'EXPOSE 2379 2380' \
    - "$IMAGE" >/dev/null
fi
say "image $IMAGE is ready"
