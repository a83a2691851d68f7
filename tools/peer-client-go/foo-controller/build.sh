#!/usr/bin/env bash
# Builds the controller-runtime Foo controller of `just size` (stripped, static) into a cache
# directory outside the clone (once per change of its sources) and prints the binary's path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${XDG_CACHE_HOME:-$HOME/.cache}/kube-dev/peers
bin="$out/foo-controller-go"
stamp="$out/.foo-controller-go-built-from"
want=$(cat "$here/../go.mod" "$here/../go.sum" "$here"/*.go | sha256sum | cut -d' ' -f1)

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "error: go is not installed; the Go Foo controller is built from Go modules" >&2; exit 1; }
mkdir -p "$out"
cd "$here"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin" . >&2
echo "$want" > "$stamp"
echo "$bin"
