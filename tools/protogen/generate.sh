#!/usr/bin/env bash
# Writes kube-core/src/protobuf/generated.rs from the Go API types (see main.go), and the
# protobuf fixtures (kube-core/tests/fixtures/*.pb, *.pb.json) from the JSON ones; with --check,
# fails when a checked-in file differs from what the generator writes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root="$here/../.."
target="$root/kube-core/src/protobuf/generated.rs"
fixtures="$root/kube-core/tests/fixtures"
command -v go >/dev/null || { echo "error: go is not installed; protogen reads the Go API types" >&2; exit 1; }
cd "$here"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/protogen" .
"$work/protogen" > "$work/generated.rs"
mkdir "$work/fixtures"
cp "$fixtures"/*.json "$work/fixtures/"
rm -f "$work/fixtures/"*.pb.json
"$work/protogen" -fixtures "$work/fixtures"
if [[ "${1:-}" == "--check" ]]; then
  stale=0
  diff -q "$work/generated.rs" "$target" >/dev/null || { echo "stale: kube-core/src/protobuf/generated.rs" >&2; stale=1; }
  for f in "$work/fixtures/"*.pb "$work/fixtures/"*.pb.json; do
    cmp -s "$f" "$fixtures/$(basename "$f")" || { echo "stale: kube-core/tests/fixtures/$(basename "$f")" >&2; stale=1; }
  done
  [[ $stale == 0 ]] || { echo "run tools/protogen/generate.sh" >&2; exit 1; }
  exit 0
fi
cp "$work/generated.rs" "$target"
cp "$work/fixtures/"*.pb "$work/fixtures/"*.pb.json "$fixtures/"
