#!/usr/bin/env bash
# Writes kube-core/src/protobuf/generated.rs from the Go API types (see main.go); with --check,
# fails when the checked-in file differs from what the generator writes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target="$here/../../kube-core/src/protobuf/generated.rs"
command -v go >/dev/null || { echo "error: go is not installed; protogen reads the Go API types" >&2; exit 1; }
cd "$here"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go run . > "$out"
if [[ "${1:-}" == "--check" ]]; then
  if ! diff -q "$out" "$target" >/dev/null; then
    echo "kube-core/src/protobuf/generated.rs is out of date: run tools/protogen/generate.sh" >&2
    exit 1
  fi
  exit 0
fi
cp "$out" "$target"
