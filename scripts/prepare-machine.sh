#!/usr/bin/env bash
# Prepares this machine for the integration suite and for a real `cdktf deploy`: a running Docker engine,
# local etcd images, Terraform >= 1.9 (or OpenTofu, built from the Go module proxy when neither is here),
# OpenTofu for the suite that runs under it, the kreuzwerker/docker provider in Terraform's local mirror
# (scripts/provider-mirror.sh), a C++ toolchain for cdktf-cli's terminal module on Node 24
# (scripts/cdktf-pty.js), and sshd for the simulated host reached over ssh. Idempotent: installs only what
# is missing, starts dockerd only when it does not answer, builds nothing twice. scripts/up.sh runs it on
# a machine that lacks a Docker engine or Terraform, so that `npm test` passes there afterwards too.
# The image is built from Debian's etcd 3.4.23 binaries and laid out like the official image
# (/usr/local/bin/etcd, /usr/local/bin/etcdctl), so one synthesized config runs on both.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${ETCD_TEST_IMAGE:-cdktf-etcd-cluster/etcd:3.4.23-local}"
LOG_DIR="${PREPARE_LOG_DIR:-/tmp/cdktf-etcd-cluster}"
mkdir -p "$LOG_DIR"

say() { printf 'prepare-machine: %s\n' "$*"; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || need_pkgs+=(docker.io)
# cdktf-cli's terminal module has no binary for Node 24: scripts/cdktf-pty.js compiles it (node-gyp).
command -v c++ >/dev/null 2>&1 || need_pkgs+=(g++)
command -v make >/dev/null 2>&1 || need_pkgs+=(make)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
[ -x /usr/bin/etcd ] || need_pkgs+=(etcd-server)
[ -x /usr/bin/etcdctl ] || need_pkgs+=(etcd-client)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
# scripts/sim-hosts.sh s3 makes the store's bucket with curl's --aws-sigv4.
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
[ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_pkgs+=(openssh-client)
# Only `npm run bench` uses it: the real deploy is measured against Docker Compose (Debian's docker-compose).
command -v docker-compose >/dev/null 2>&1 || need_pkgs+=(docker-compose)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No service may start from a package's install script: sshd would listen on the machine's port 22.
  # (The simulated hosts start their own sshd inside their namespaces.)
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq >"$LOG_DIR/apt-update.log" 2>&1
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >"$LOG_DIR/apt-install.log" 2>&1 \
    || { say "apt-get install failed, see $LOG_DIR/apt-install.log"; tail -20 "$LOG_DIR/apt-install.log"; exit 1; }
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi

# Terraform >= 1.9 runs provisioners in `removed` blocks, which shrinking the primaries needs.
tf_version() { "$1" version 2>/dev/null | head -1 | sed -n 's/^[A-Za-z]* v\{0,1\}\([0-9][0-9.]*\).*/\1/p'; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
if command -v terraform >/dev/null 2>&1 && version_ge "$(tf_version terraform)" 1.9.0; then
  say "terraform $(tf_version terraform) is installed"
elif command -v tofu >/dev/null 2>&1 && version_ge "$(tf_version tofu)" 1.10.0; then
  say "OpenTofu $(tf_version tofu) is installed; run the suites with TERRAFORM_BINARY_NAME=tofu"
else
  say "no Terraform >= 1.9 and no OpenTofu >= 1.10 on the PATH: building OpenTofu from the Go module proxy"
  bash scripts/opentofu.sh
  say "OpenTofu is installed; run the suites with TERRAFORM_BINARY_NAME=tofu"
fi
# The suites also run a cluster through OpenTofu (test/integration/opentofu.test.ts).
bash scripts/opentofu.sh

# The Docker provider, where `terraform init` finds it without the registry.
bash scripts/provider-mirror.sh >/dev/null

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

# Hundreds of containers on one host (a 3+200 cluster): the kernel's neighbour (ARP) table is one for every
# network namespace, 1024 entries at most by default, and each container's namespace keeps entries of its
# own. Past it, the kernel logs "neighbor table overflow" and new connections through published ports hang
# (docker-proxy's SYN to the container never leaves): 147 of 200 grpc-proxies did not answer a read. Raised
# here, never lowered (README, "Hundreds of secondaries").
for k in 1:4096 2:8192 3:16384; do
  key=net.ipv4.neigh.default.gc_thresh${k%%:*}
  if [ "$(sysctl -n "$key" 2>/dev/null || echo 0)" -lt "${k#*:}" ]; then sysctl -qw "$key=${k#*:}" || say "could not raise $key"; fi
done

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

# etcd releases users deploy, built from the Go module proxy into images laid out like the official ones,
# each also tagged with its official name (only when no image of that name is here), so that a spec naming
# it deploys on this machine as it would anywhere else:
# - 3.6.16, the spec's default image (the newest 3.6 patch the proxy serves);
# - 3.5.35, the newest 3.5 patch the proxy serves (it builds here): etcd's documented hop before 3.6
#   (3.5 -> 3.6 needs 3.5.26 or later), for the upgrade walk 3.4 -> 3.5 -> 3.6;
# - 3.5.21, the default image of 0.2.0 and earlier, which deployed clusters still run (and a 3.5 below the
#   3.6 floor, for the rollout's refusal).
bash scripts/etcd-image.sh 3.6.16 --official-tag
bash scripts/etcd-image.sh 3.5.35 --official-tag
bash scripts/etcd-image.sh 3.5.21 --official-tag

# A toolbox image for the tests (busybox: nslookup, wget) on a cluster's network.
TOOLBOX="cdktf-etcd-cluster/toolbox:local"
if ! docker image inspect "$TOOLBOX" >/dev/null 2>&1; then
  if [ ! -x /bin/busybox ]; then
    say "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >"$LOG_DIR/apt-busybox.log" 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >"$LOG_DIR/apt-busybox.log" 2>&1; }
  fi
  box=$(mktemp -d)
  mkdir -p "$box/bin" "$box/etc"
  cp /bin/busybox "$box/bin/busybox"
  for tool in sh nslookup wget sleep cat ls; do ln -s busybox "$box/bin/$tool"; done
  printf 'hosts: files dns\n' >"$box/etc/nsswitch.conf"
  tar -C "$box" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$TOOLBOX" >/dev/null
  rm -rf "$box"
fi
say "image $TOOLBOX is ready"

# The backup container's image (spec `backup`), built from tools/etcd-backup.
bash scripts/backup-image.sh

# The S3-compatible store of the backup suite (spec backup.store), SeaweedFS built from the module proxy.
bash scripts/s3-store.sh build
