#!/usr/bin/env bash
# One command from a clone to a running cluster: brings up the cluster of ./cluster.yaml (or the file
# ETCD_CLUSTER_CONFIG names) on this machine's Docker engine and prints its members.
#
#   bash scripts/up.sh            # says what it will do and asks before anything changes
#   bash scripts/up.sh --yes      # the same without asking (scripts, CI); also -y, --auto-approve
#   npm run up [-- --yes]
#
# What it does, in order:
#   1. `npm ci` when node_modules is missing (it installs into this checkout only);
#   2. makes cdktf-cli's terminal module load on this Node (scripts/cdktf-pty.js: built from source on Node 24);
#   3. synthesizes the stack into a scratch directory and shows what it puts on the engine, and what this
#      machine lacks: a Docker engine that answers, Terraform >= 1.9 (or OpenTofu >= 1.10);
#   4. asks (unless --yes); answers other than y/yes, or none, leave everything as it was;
#   5. when something is missing, prepares the machine with scripts/prepare-machine.sh (root; idempotent:
#      Debian's docker.io, build tools and what the test suites use, dockerd, the local etcd images,
#      OpenTofu and the kreuzwerker/docker provider built from the Go module proxy; `npm test` passes on
#      the machine afterwards); a machine with Docker and Terraform already set up skips this step;
#   6. `cdktf deploy <stack> --auto-approve` (with --skip-provider-lock when the provider comes from the local
#      mirror, as on machines without the Terraform registry): Terraform creates what is missing, changes
#      what differs, and the verify hook checks the live membership;
#   7. `etcd-cluster members`.
# Running it again deploys nothing new and prints the members. `npx cdktf destroy <stack>` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'up: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

YES=0
for arg in "$@"; do
  case "$arg" in
    -y | --yes | --auto-approve) YES=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) say "unknown argument $arg (use --yes to deploy without asking)"; exit 2 ;;
  esac
done

export CHECKPOINT_DISABLE=1
SPEC="${ETCD_CLUSTER_CONFIG:-cluster.yaml}"
[ -f "$SPEC" ] || die "no spec file $SPEC (set ETCD_CLUSTER_CONFIG to another)"

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
  || die "needs Node 20, 22 or 24 with npm on the PATH (Debian: apt-get install nodejs npm)"

# 1. Dependencies of this checkout.
if [ ! -d node_modules ]; then
  say "node_modules is missing: npm ci"
  npm ci --no-audit --no-fund >&2
fi

# 2. cdktf-cli on this Node. Without a compiler it waits for the machine to be prepared; any other failure stops here.
pty_ok=1
pty_out="$(node scripts/cdktf-pty.js 2>&1)" || pty_ok=0
no_compiler=0
for tool in c++ make python3; do command -v "$tool" >/dev/null 2>&1 || no_compiler=1; done
[ "$pty_ok" = 1 ] || [ "$no_compiler" = 1 ] || { printf '%s\n' "$pty_out" >&2; die "cdktf-cli cannot run on Node $(node --version) here (above); nothing was changed"; }

# 3. What the stack holds, synthesized by the app cdktf.json names (as `cdktf synth` runs it), into scratch.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
app="$(node -p 'require("./cdktf.json").app')"
CDKTF_OUTDIR="$scratch" sh -c "$app" >&2 || die "synthesizing $SPEC failed (above); nothing was changed"
stack="$(ls "$scratch/stacks")"
[ "$(printf '%s\n' "$stack" | wc -l)" = 1 ] || die "the app synthesized several stacks ($(echo $stack)); deploy one with npx cdktf deploy <stack>"

tf_version() { "$1" version 2>/dev/null | head -1 | sed -n 's/^[A-Za-z]* v\{0,1\}\([0-9][0-9.]*\).*/\1/p'; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
terraform_bin() {
  if [ -n "${TERRAFORM_BINARY_NAME:-}" ]; then
    command -v "$TERRAFORM_BINARY_NAME" >/dev/null 2>&1 && echo "$TERRAFORM_BINARY_NAME"
  elif command -v terraform >/dev/null 2>&1 && version_ge "$(tf_version terraform)" 1.9.0; then
    echo terraform
  elif command -v tofu >/dev/null 2>&1 && version_ge "$(tf_version tofu)" 1.10.0; then
    echo tofu
  fi
}
missing=()
docker info >/dev/null 2>&1 || missing+=("a Docker engine that answers")
[ -n "$(terraform_bin)" ] || missing+=("Terraform >= 1.9 or OpenTofu >= 1.10")
[ "$pty_ok" = 1 ] || missing+=("a C++ compiler, make and python3 to build cdktf-cli's terminal module for Node $(node --version)")

state="terraform.${stack}.tfstate"
{
  echo
  echo "The stack $stack (from $SPEC) puts this on the Docker engine${DOCKER_HOST:+ at $DOCKER_HOST}:"
  node scripts/describe-stack.js "$scratch/stacks/$stack/cdk.tf.json" | sed 's/^/  /'
  echo
  echo "up will:"
  n=1
  if [ ${#missing[@]} -gt 0 ]; then
    echo "  $n. prepare this machine, which lacks $(printf '%s; ' "${missing[@]}" | sed 's/; $//'): bash scripts/prepare-machine.sh"
    echo "     (as root: apt-get installs what is missing, starts dockerd, builds the local etcd images, OpenTofu and the"
    echo "     kreuzwerker/docker provider from the Go module proxy, all the test suites need too; ten minutes or more)"
    n=$((n + 1))
  fi
  if [ -f "$state" ]; then
    echo "  $n. npx cdktf deploy $stack: it is deployed already ($state); Terraform changes only what differs from $SPEC"
  else
    echo "  $n. npx cdktf deploy $stack: Terraform creates the above; the verify hook checks the live membership"
  fi
  echo "  $((n + 1)). npx etcd-cluster members"
  echo
} >&2

# 4. Ask.
if [ "$YES" = 0 ]; then
  printf 'Proceed? [y/N] ' >&2
  answer=""
  if ! IFS= read -r answer; then
    echo >&2
    die "no answer (standard input closed): nothing was changed; pass --yes to deploy without asking"
  fi
  case "$(printf '%s' "$answer" | tr '[:upper:]' '[:lower:]' | tr -d '[:space:]')" in
    y | yes) ;;
    *) die "not confirmed (answer: '${answer}'): nothing was changed" ;;
  esac
fi

# 5. The machine.
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "preparing this machine needs root; run this as root, or install what it lacks yourself"
  say "preparing this machine: bash scripts/prepare-machine.sh"
  bash scripts/prepare-machine.sh >&2
  node scripts/cdktf-pty.js || die "cdktf-cli cannot run on Node $(node --version) here (above)"
  [ -n "$(terraform_bin)" ] || die "still no Terraform >= 1.9 or OpenTofu >= 1.10 on the PATH after preparing"
fi
[ "$pty_ok" = 1 ] || node scripts/cdktf-pty.js || die "cdktf-cli cannot run on Node $(node --version) here (above)"

# 6. Deploy.
tf="$(terraform_bin)"
export TERRAFORM_BINARY_NAME="$tf"
host=registry.terraform.io
[ "$(basename "$tf")" = tofu ] && host=registry.opentofu.org
# --migrate-state: a stack deployed by release 0.2.0 or before named its state file by an absolute path, now by
# one relative to the stack directory; both are the same file, and Terraform re-initializes the changed backend
# only when told to (it finds the same state and copies nothing). On a stack already initialized this way it
# does nothing.
deploy=(npx --no-install cdktf deploy "$stack" --auto-approve --migrate-state)
if [ -d "${HOME}/.terraform.d/plugins/$host/kreuzwerker/docker" ]; then
  # The provider comes from the local mirror: cdktf's own lock step would ask the registry.
  deploy+=(--skip-provider-lock)
fi
say "${deploy[*]:2} (Terraform: $tf $(tf_version "$tf"))"
log="$scratch/deploy.log"
if ! FORCE_COLOR=0 "${deploy[@]}" 2>&1 | tee "$log" >&2; then
  if grep -qiE 'provider.*(registry|could not connect|failed to query)|failed to install provider' "$log"; then
    say "Terraform could not get the kreuzwerker/docker provider: without the registry, build it with bash scripts/provider-mirror.sh"
  fi
  die "cdktf deploy $stack failed (above)"
fi

# 7. The members.
npx --no-install etcd-cluster members
