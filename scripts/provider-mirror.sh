#!/usr/bin/env bash
# Builds the kreuzwerker/docker Terraform provider from the Go module proxy and installs it where
# `terraform init` (or `tofu init`) finds it with no registry: for air-gapped machines, and for this
# project's test machines, which cannot reach registry.terraform.io.
#
#   bash scripts/provider-mirror.sh                 # into Terraform's implied local mirror (~/.terraform.d/plugins)
#   bash scripts/provider-mirror.sh --mirror DIR    # into a filesystem mirror DIR (see README: "The Docker provider")
#   bash scripts/provider-mirror.sh --print-version # only print the version it would install
#
# Which source: release 3.6.2 (the version @cdktf/provider-docker 12.0.3 binds) when the module proxy serves
# its tag commit; otherwise the one commit of kreuzwerker/terraform-provider-docker the proxy serves here,
# 96d331c98ff4 (2026-09-16, the v4.6.0 release plus later fixes), installed as 4.6.0. The module declares
# the path github.com/terraform-providers/terraform-provider-docker without a /v3 or /v4 suffix, so `go
# install` refuses it; it is downloaded as a module (`go mod download`, checksums verified by the Go
# checksum database) and built as the main module. Idempotent: an installed binary is kept.
set -euo pipefail

say() { printf 'provider-mirror: %s\n' "$*" >&2; }

MIRROR="${HOME}/.terraform.d/plugins"
PRINT_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mirror) MIRROR="$2"; shift 2 ;;
    --print-version) PRINT_ONLY=1; shift ;;
    *) say "unknown argument $1 (use --mirror DIR or --print-version)"; exit 2 ;;
  esac
done

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[ -x "$GO" ] || { say "needs Go (the go kind of machine has it at /usr/local/go/bin/go)"; exit 1; }

# Candidates, best first: module path, version as the proxy knows it, release number to install as.
CANDIDATES=(
  "github.com/terraform-providers/terraform-provider-docker v0.0.0-20250613214648-2f20f8c3ce82 3.6.2"
  "github.com/kreuzwerker/terraform-provider-docker v0.0.0-20250613214648-2f20f8c3ce82 3.6.2"
  "github.com/kreuzwerker/terraform-provider-docker v0.0.0-20260916201441-96d331c98ff4 4.6.0"
)

arch="$("$GO" env GOOS)_$("$GO" env GOARCH)"
installed_at() { printf '%s/%s/kreuzwerker/docker/%s/%s/terraform-provider-docker_v%s' "$MIRROR" "$1" "$2" "$arch" "$2"; }

chosen=""
for c in "${CANDIDATES[@]}"; do
  read -r module version release <<<"$c"
  if [ -x "$(installed_at registry.terraform.io "$release")" ]; then chosen="$c"; break; fi
  if "$GO" mod download -json "$module@$version" >/tmp/provider-mirror-download.json 2>/tmp/provider-mirror-download.err; then
    chosen="$c"; break
  fi
  say "the module proxy does not serve $module@$version (release $release)"
done
[ -n "$chosen" ] || { say "the Go module proxy serves none of the candidate versions"; exit 1; }
read -r module version release <<<"$chosen"
if [ "$PRINT_ONLY" = 1 ]; then echo "$release"; exit 0; fi

for host in registry.terraform.io registry.opentofu.org; do
  target="$(installed_at "$host" "$release")"
  if [ -x "$target" ]; then continue; fi
  if [ -z "${built:-}" ]; then
    src="$("$GO" mod download -json "$module@$version" | sed -n 's/.*"Dir": *"\(.*\)".*/\1/p')"
    [ -d "$src" ] || { say "download of $module@$version gave no source directory"; exit 1; }
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cp -r "$src/." "$work/"
    chmod -R u+w "$work"
    say "building kreuzwerker/docker $release from $module@$version (a few minutes the first time)"
    (cd "$work" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -X main.version=$release" -o "$work/provider" .)
    built="$work/provider"
  fi
  mkdir -p "$(dirname "$target")"
  cp "$built" "$target.tmp" && mv "$target.tmp" "$target"
  say "installed $target"
done
say "kreuzwerker/docker $release is in $MIRROR"
echo "$release"
