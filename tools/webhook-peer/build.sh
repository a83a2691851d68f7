#!/usr/bin/env bash
# Builds the controller-runtime webhook peer of `just bench-webhook` from Go modules into the
# project cache (once; rebuilt when its sources change) and prints the binary's path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${XDG_CACHE_HOME:-$HOME/.cache}/kube-dev/webhook-peer
bin="$out/webhook-peer"
stamp="$out/.built-from"
want=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -d' ' -f1)

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "error: go is not installed; the webhook peer is built from Go modules" >&2; exit 1; }
mkdir -p "$out"
echo "building the controller-runtime webhook peer into $out (first time takes minutes)" >&2
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin" .) >&2
echo "$want" > "$stamp"
echo "$bin"
