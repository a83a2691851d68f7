#!/usr/bin/env bash
# Cold build of the same Foo controller in the three stacks (`just bench-cold-build`): ours and
# kube-rs 5 with the deploy profile, each a crate of its own (benches/size/ours, benches/size/kube-rs)
# in a fresh, empty target dir; the controller-runtime one (tools/peer-client-go/foo-controller)
# with an empty GOCACHE. Sources are downloaded beforehand and not timed (cargo's registry,
# GOMODCACHE); everything else is compiled, including Go's standard library, which Go keeps in
# GOCACHE (Rust's comes precompiled). Prints wall time, user+sys CPU and the binary's size.
# Heavy: run it alone on the machine. Outputs go under ~/.cache/kube-dev/cold-build.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
base=${XDG_CACHE_HOME:-$HOME/.cache}/kube-dev/cold-build
mkdir -p "$base"
results="$base/results"
: > "$results"

# One build: "$name" then the command; appends name, wall, cpu, binary size, load before.
measure() {
  local name=$1 bin=$2; shift 2
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  echo "building $name (load $load)" >&2
  /usr/bin/time -f "%e %U %S" -o "$base/time" "$@"
  read -r wall user sys < "$base/time"
  echo "$name $wall $(echo "$user + $sys" | bc) $(stat -c %s "$bin") $load" >> "$results"
}

export K8S_OPENAPI_ENABLED_VERSION=1.37
for crate in ours kube-rs; do
  manifest="$root/benches/size/$crate/Cargo.toml"
  cargo fetch -q --locked --manifest-path "$manifest"
  rm -rf "${base:?}/target-$crate"
done
measure ours "$base/target-ours/deploy/foo_controller" \
  cargo build -q --locked --profile deploy --manifest-path "$root/benches/size/ours/Cargo.toml" --target-dir "$base/target-ours"
measure kube-rs "$base/target-kube-rs/deploy/kube_rs_foo_controller" \
  cargo build -q --locked --profile deploy --manifest-path "$root/benches/size/kube-rs/Cargo.toml" --target-dir "$base/target-kube-rs"

cd "$root/tools/peer-client-go"
go mod download
rm -rf "$base/gocache"
measure controller-runtime "$base/foo-controller-go" \
  env GOCACHE="$base/gocache" CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$base/foo-controller-go" ./foo-controller

awk '
  { wall[$1] = $2; cpu[$1] = $3; size[$1] = $4; load[$1] = $5 }
  END {
    printf "| Foo controller, cold build | wall | user+sys CPU | binary | load before |\n|---|---|---|---|---|\n"
    n = split("ours kube-rs controller-runtime", names, " ")
    for (i = 1; i <= n; i++) { k = names[i]
      printf "| %s | %.1f s | %.1f s | %.2f MB | %s |\n", k, wall[k], cpu[k], size[k] / 1e6, load[k] }
    printf "| ours / kube-rs | %.2f | %.2f | %.2f | |\n", wall["ours"] / wall["kube-rs"], cpu["ours"] / cpu["kube-rs"], size["ours"] / size["kube-rs"]
    printf "| ours / controller-runtime | %.2f | %.2f | %.2f | |\n", wall["ours"] / wall["controller-runtime"], cpu["ours"] / cpu["controller-runtime"], size["ours"] / size["controller-runtime"]
  }' "$results"
