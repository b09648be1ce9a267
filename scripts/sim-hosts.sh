#!/usr/bin/env bash
# Simulated Docker hosts for the multi-host tests, all on this machine.
#
# Each host is a network namespace on a shared bridge, with its own address and its own dockerd. The
# daemon is started with `nsenter --net` (not `ip netns exec`, whose private /sys hides the cgroup mounts
# dockerd needs). The machine's own engine sets the FORWARD policy to DROP and bridged frames pass through
# iptables, so traffic between the hosts gets an explicit ACCEPT for this bridge only. The hosts have no
# default route: they reach each other and the deploying machine (the bridge address), nothing else.
#
#   sim-hosts.sh up <tag> <count> <prefix> [<ssh-hosts>]
#                                            e.g. up t1 3 10.213.7 -> hosts 10.213.7.11, .12, .13
#                                            prints one line per host: <name> <address> unix://<socket>
#                                            <ssh-hosts>: comma-separated host numbers also reached over
#                                            ssh (an sshd in the host's namespace; its sessions get
#                                            DOCKER_HOST of that host's daemon, as a real host's docker
#                                            CLI would find its own); their line is
#                                            <name> <address> ssh://root@<address> <private key file>
#   sim-hosts.sh link <tag> <i> up|down      cut host i off the network, or bring it back
#   sim-hosts.sh load <tag> <image>          load an image of this machine's engine into every host
#   sim-hosts.sh s3 <tag> <i> <key id> <secret> <bucket>
#                                            an S3-compatible store on host i (scripts/s3-store.sh's
#                                            SeaweedFS) at http://<address>:8333, with one identity and
#                                            one bucket; prints that URL
#   sim-hosts.sh down <tag>                  remove everything `up` made (containers, volumes, daemons,
#                                            namespaces, bridge, the FORWARD rule, state directories)
#   sim-hosts.sh sweep                       `down` for every tag left by an earlier run (not those whose
#                                            owner, SIM_OWNER_PID at `up`, still runs)
#
# <tag>: 1 to 8 lowercase letters or digits (interface names are limited to 15 characters).
set -euo pipefail

STATE_ROOT=/run/cdktf-etcd-sim
DATA_ROOT=/var/lib/cdktf-etcd-sim
IMAGE="${ETCD_TEST_IMAGE:-cdktf-etcd-cluster/etcd:3.6.16-local}"

die() { printf 'sim-hosts: %s\n' "$*" >&2; exit 2; }
say() { printf 'sim-hosts: %s\n' "$*" >&2; }

check_tag() { [[ "$1" =~ ^[a-z0-9]{1,8}$ ]] || die "tag: must be 1 to 8 lowercase letters or digits (got \"$1\")"; }
bridge_of() { echo "sb-$1"; }
veth_of() { echo "sv$1h$2"; }
ns_of() { echo "sim-$1-h$2"; }

up() {
  local tag=$1 count=$2 prefix=$3 ssh_hosts=${4:-}
  check_tag "$tag"
  [[ -z "$ssh_hosts" || "$ssh_hosts" =~ ^[1-9](,[1-9])*$ ]] || die "ssh-hosts: must be host numbers like 2 or 1,3 (got \"$ssh_hosts\")"
  if [ -n "$ssh_hosts" ] && [ ! -x /usr/sbin/sshd ]; then die "ssh-hosts: /usr/sbin/sshd is missing (run scripts/prepare-machine.sh)"; fi
  [[ "$count" =~ ^[1-9]$ ]] || die "count: must be 1 to 9 (got \"$count\")"
  [[ "$prefix" =~ ^10\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || die "prefix: must be the first three octets of a 10.x.y.0/24 subnet (got \"$prefix\")"
  [ -e "$STATE_ROOT/$tag" ] && die "tag $tag is in use; run: sim-hosts.sh down $tag"
  mkdir -p "$STATE_ROOT/$tag"
  echo "$count" >"$STATE_ROOT/$tag/count"
  # The process that owns these hosts: a sweep leaves them alone while it lives.
  echo "${SIM_OWNER_PID:-$PPID}" >"$STATE_ROOT/$tag/owner"
  echo "$prefix" >"$STATE_ROOT/$tag/prefix"

  local br; br=$(bridge_of "$tag")
  ip link add "$br" type bridge
  ip addr add "$prefix.1/24" dev "$br"
  ip link set "$br" up
  iptables -I FORWARD -i "$br" -o "$br" -j ACCEPT

  local i
  for i in $(seq 1 "$count"); do
    local ns veth dir addr
    ns=$(ns_of "$tag" "$i"); veth=$(veth_of "$tag" "$i"); dir="$STATE_ROOT/$tag/h$i"; addr="$prefix.$((10 + i))"
    mkdir -p "$dir" "$DATA_ROOT/$tag/h$i"
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$br" up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    # setsid: the daemon must outlive this script. Its bridge gets a subnet of its own, away from the
    # machine's engine, so that addresses in logs say which host they belong to.
    nsenter --net="/run/netns/$ns" setsid dockerd \
      --host "unix://$dir/docker.sock" \
      --data-root "$DATA_ROOT/$tag/h$i" \
      --exec-root "$dir/exec" \
      --pidfile "$dir/dockerd.pid" \
      --cgroup-parent "/cdktf-etcd-sim-$tag-h$i" \
      --bip "172.31.$((200 + i)).1/24" \
      >"$dir/dockerd.log" 2>&1 </dev/null &
  done
  for i in $(seq 1 "$count"); do
    local dir="$STATE_ROOT/$tag/h$i" ok=""
    for _ in $(seq 1 120); do
      if docker -H "unix://$dir/docker.sock" info >/dev/null 2>&1; then ok=1; break; fi
      sleep 0.5
    done
    [ -n "$ok" ] || { tail -20 "$dir/dockerd.log" >&2; die "host $i: dockerd did not answer within 60 s (log: $dir/dockerd.log)"; }
  done
  # Every host gets the image, as a registry would give it: save once, load into each daemon.
  local tarball="$STATE_ROOT/$tag/image.tar"
  docker save "$IMAGE" -o "$tarball"
  for i in $(seq 1 "$count"); do
    docker -H "unix://$STATE_ROOT/$tag/h$i/docker.sock" load -q -i "$tarball" >/dev/null
  done
  rm -f "$tarball"
  if [ -n "$ssh_hosts" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "sim-hosts-$tag" -f "$STATE_ROOT/$tag/id_ed25519"
    mkdir -p /run/sshd
    for i in ${ssh_hosts//,/ }; do start_sshd "$tag" "$i" "$prefix.$((10 + i))"; done
  fi
  for i in $(seq 1 "$count"); do
    if [[ ",$ssh_hosts," == *",$i,"* ]]; then
      echo "h$i $prefix.$((10 + i)) ssh://root@$prefix.$((10 + i)) $STATE_ROOT/$tag/id_ed25519"
    else
      echo "h$i $prefix.$((10 + i)) unix://$STATE_ROOT/$tag/h$i/docker.sock"
    fi
  done
}

# An sshd inside host i's namespace, on its address only: key login for root with the tag's key, sessions
# that find the host's own daemon through DOCKER_HOST.
start_sshd() {
  local tag=$1 i=$2 addr=$3 dir="$STATE_ROOT/$1/h$2"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
  cp "$STATE_ROOT/$tag/id_ed25519.pub" "$dir/authorized_keys"
  printf '%s\n' \
    "ListenAddress $addr" \
    "Port 22" \
    "HostKey $dir/ssh_host_ed25519_key" \
    "PidFile $dir/sshd.pid" \
    "AuthorizedKeysFile $dir/authorized_keys" \
    "PermitRootLogin prohibit-password" \
    "PasswordAuthentication no" \
    "KbdInteractiveAuthentication no" \
    "UsePAM no" \
    "StrictModes no" \
    "SetEnv DOCKER_HOST=unix://$dir/docker.sock" >"$dir/sshd_config"
  nsenter --net="/run/netns/$(ns_of "$tag" "$i")" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  local ok=""
  for _ in $(seq 1 40); do
    if ssh -i "$STATE_ROOT/$tag/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
      -o ConnectTimeout=2 -o BatchMode=yes "root@$addr" docker info >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.25
  done
  [ -n "$ok" ] || { tail -20 "$dir/sshd.log" >&2; die "host $i: ssh root@$addr docker info does not answer (log: $dir/sshd.log)"; }
}

link() {
  local tag=$1 i=$2 state=$3
  check_tag "$tag"
  [[ "$state" == up || "$state" == down ]] || die "state: must be up or down (got \"$state\")"
  [ -e "$STATE_ROOT/$tag/h$i" ] || die "host $i of $tag does not exist"
  ip link set "$(veth_of "$tag" "$i")" "$state"
}

load() {
  local tag=$1 image=$2
  check_tag "$tag"
  [ -f "$STATE_ROOT/$tag/count" ] || die "tag $tag has no hosts"
  local tarball="$STATE_ROOT/$tag/load.tar" i
  docker save "$image" -o "$tarball"
  for i in $(seq 1 "$(cat "$STATE_ROOT/$tag/count")"); do
    docker -H "unix://$STATE_ROOT/$tag/h$i/docker.sock" load -q -i "$tarball" >/dev/null
  done
  rm -f "$tarball"
}

s3() {
  local tag=$1 i=$2 key=$3 secret=$4 bucket=$5
  check_tag "$tag"
  local dir="$STATE_ROOT/$tag/h$i" weed
  [ -e "$dir" ] || die "host $i of $tag does not exist"
  weed="$(bash "$(dirname "$0")/s3-store.sh" path)"
  [ -x "$weed" ] || die "s3: $weed is missing (run scripts/prepare-machine.sh)"
  local addr; addr="$(cat "$STATE_ROOT/$tag/prefix").$((10 + i))"
  mkdir -p "$DATA_ROOT/$tag/h$i/s3"
  printf '{"identities":[{"name":"backup","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
    "$key" "$secret" >"$dir/s3.json"
  # Its own namespace: the ports are the host's own, nothing of this machine's.
  # Every descriptor away from this script's output (the caller reads it to its end).
  (cd "$DATA_ROOT/$tag/h$i/s3" && exec nsenter --net="/run/netns/$(ns_of "$tag" "$i")" setsid "$weed" server \
    -dir="$DATA_ROOT/$tag/h$i/s3" -ip="$addr" -ip.bind="$addr" -volume.max=8 \
    -s3 -s3.port=8333 -s3.config="$dir/s3.json") >"$dir/s3.log" 2>&1 </dev/null &
  echo $! >"$dir/s3.pid"
  local ok=""
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" -X PUT "http://$addr:8333/$bucket" \
      && curl -s -f -o /dev/null --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" "http://$addr:8333/$bucket?list-type=2"; then ok=1; break; fi
    sleep 0.5
  done
  [ -n "$ok" ] || { tail -20 "$dir/s3.log" >&2; die "host $i: the S3 store did not answer within 60 s (log: $dir/s3.log)"; }
  echo "http://$addr:8333"
}

down() {
  local tag=$1
  check_tag "$tag"
  local dir="$STATE_ROOT/$tag" count=0
  [ -f "$dir/count" ] && count=$(cat "$dir/count")
  local i
  for i in $(seq 1 9); do
    local h="$dir/h$i" sock="unix://$dir/h$i/docker.sock"
    if [ -S "$h/docker.sock" ] && docker -H "$sock" info >/dev/null 2>&1; then
      local ids
      ids=$(docker -H "$sock" ps -aq)
      [ -n "$ids" ] && docker -H "$sock" rm -f -v $ids >/dev/null 2>&1 || true
      docker -H "$sock" volume prune -af >/dev/null 2>&1 || docker -H "$sock" volume prune -f >/dev/null 2>&1 || true
      docker -H "$sock" network prune -f >/dev/null 2>&1 || true
    fi
    if [ -f "$h/sshd.pid" ]; then kill "$(cat "$h/sshd.pid")" 2>/dev/null || true; fi
    if [ -f "$h/s3.pid" ]; then
      local spid; spid=$(cat "$h/s3.pid")
      kill "$spid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$spid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$spid" 2>/dev/null || true
    fi
    if [ -f "$h/dockerd.pid" ]; then
      local pid; pid=$(cat "$h/dockerd.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    # Whatever else still runs in the host's namespace (a store whose pid file was lost) goes with it.
    ip netns pids "$(ns_of "$tag" "$i")" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$(ns_of "$tag" "$i")" 2>/dev/null || true
    ip link del "$(veth_of "$tag" "$i")" 2>/dev/null || true
  done
  local br; br=$(bridge_of "$tag")
  while iptables -D FORWARD -i "$br" -o "$br" -j ACCEPT 2>/dev/null; do :; done
  ip link del "$br" 2>/dev/null || true
  # Anything a daemon left mounted below its directories goes before the directories do.
  if [ -d "$DATA_ROOT/$tag" ] || [ -d "$dir" ]; then
    awk -v a="$DATA_ROOT/$tag" -v b="$dir" '$2 ~ "^"a || $2 ~ "^"b {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  rm -rf "$DATA_ROOT/$tag" "$dir"
  # The daemons' (now empty) cgroup parents, deepest first.
  find /sys/fs/cgroup -maxdepth 3 -type d -name "cdktf-etcd-sim-$tag-h*" 2>/dev/null | sort -r | while read -r c; do
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  [ "$count" -gt 0 ] && say "removed $count simulated hosts of $tag" || true
}

sweep() {
  [ -d "$STATE_ROOT" ] || return 0
  local t owner
  for t in $(ls "$STATE_ROOT"); do
    owner=$(cat "$STATE_ROOT/$t/owner" 2>/dev/null || true)
    # Hosts of a run that is still going (another checkout's tests, say) are not leftovers.
    if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then continue; fi
    down "$t"
  done
}

case "${1:-}" in
  up) [ $# -eq 4 ] || [ $# -eq 5 ] || die "usage: sim-hosts.sh up <tag> <count> <prefix> [<ssh-hosts>]"; up "$2" "$3" "$4" "${5:-}" ;;
  link) [ $# -eq 4 ] || die "usage: sim-hosts.sh link <tag> <i> up|down"; link "$2" "$3" "$4" ;;
  load) [ $# -eq 3 ] || die "usage: sim-hosts.sh load <tag> <image>"; load "$2" "$3" ;;
  s3) [ $# -eq 6 ] || die "usage: sim-hosts.sh s3 <tag> <i> <key id> <secret> <bucket>"; s3 "$2" "$3" "$4" "$5" "$6" ;;
  down) [ $# -eq 2 ] || die "usage: sim-hosts.sh down <tag>"; down "$2" ;;
  sweep) sweep ;;
  *) die "usage: sim-hosts.sh up|link|down|sweep ..." ;;
esac
