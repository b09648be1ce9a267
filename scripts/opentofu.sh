#!/usr/bin/env bash
# Builds OpenTofu from the Go module proxy, for a machine without Terraform >= 1.9 (Terraform itself does
# not build from the proxy: its go.mod replaces internal modules with local directories). OpenTofu's go.mod
# has one replace directive, which a plain `go install` refuses, so it is built from a small wrapper module
# that repeats it. Installs `tofu` into BIN_DIR (default /usr/local/bin); idempotent.
#
#   bash scripts/opentofu.sh            # then: TERRAFORM_BINARY_NAME=tofu (cdktf and the test harness read it)
set -euo pipefail

VERSION="${OPENTOFU_VERSION:-v1.10.10}"
BIN_DIR="${BIN_DIR:-/usr/local/bin}"
say() { printf 'opentofu: %s\n' "$*" >&2; }

if [ -x "$BIN_DIR/tofu" ] && [ "$("$BIN_DIR/tofu" version 2>/dev/null | head -1)" = "OpenTofu ${VERSION}" ]; then
  say "$("$BIN_DIR/tofu" version | head -1) is installed"; exit 0
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The replace directive OpenTofu's own go.mod carries, read from the module proxy's copy of it.
replace="$(curl -fsS "https://proxy.golang.org/github.com/opentofu/opentofu/@v/${VERSION}.mod" | sed -n 's/^replace \(github.com\/hashicorp\/hcl\/v2.*\)$/\1/p')"
[ -n "$replace" ] || { say "could not read OpenTofu ${VERSION}'s replace directive from the module proxy"; exit 1; }
cat >"$work/go.mod" <<EOF
module tofuwrapper

go 1.24

require github.com/opentofu/opentofu ${VERSION}

replace ${replace}
EOF
say "building OpenTofu ${VERSION} (several minutes the first time)"
# version.dev=no: the release builds' flag, so that it reports v1.10.10 as a release does (not v1.10.10-dev).
(cd "$work" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$work/tofu" github.com/opentofu/opentofu/cmd/tofu)
install -m 0755 "$work/tofu" "$BIN_DIR/tofu"
say "installed $("$BIN_DIR/tofu" version | head -1) at $BIN_DIR/tofu"
