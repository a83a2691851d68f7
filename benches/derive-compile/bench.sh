#!/usr/bin/env bash
# Build time of a crate with 10 derived kinds, ours beside kube-rs 5's derive: a clean build of
# everything (debug and release), then a rebuild of the crate alone
# (its dependencies built, the crate itself cleaned).
# Each crate has its own target dir under $HOME/.cache/kube-dev/derive-compile.
# Usage: bench.sh [ours|kube-rs ...] (both by default).
set -euo pipefail
cd "$(dirname "$0")"
export K8S_OPENAPI_ENABLED_VERSION=1.37
base="$HOME/.cache/kube-dev/derive-compile"
crates=("$@"); [ ${#crates[@]} -gt 0 ] || crates=(ours kube-rs)
for crate in "${crates[@]}"; do
  for profile in dev release; do
    target="$base/$crate-$profile"
    rm -rf "$target"
    flags=(--manifest-path "$crate/Cargo.toml" --target-dir "$target" --profile "$profile" -q)
    cargo fetch --manifest-path "$crate/Cargo.toml" -q
    start=$(date +%s.%N); cargo build "${flags[@]}"; clean=$(echo "$(date +%s.%N) - $start" | bc)
    cargo clean -q --manifest-path "$crate/Cargo.toml" --target-dir "$target" --profile "$profile" -p "derive-compile-$crate"
    start=$(date +%s.%N); cargo build "${flags[@]}"; crate_only=$(echo "$(date +%s.%N) - $start" | bc)
    printf '%-8s %-8s clean %6.1fs  crate only %5.1fs\n' "$crate" "$profile" "$clean" "$crate_only"
  done
done
