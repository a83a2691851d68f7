#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from Go modules into a cache directory outside the clone
# and prints that directory. The layout (three binaries side by side) works as KUBEBUILDER_ASSETS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/go.mod")
out=${KUBE_CONTROL_PLANE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-dev/control-plane/$version}
stamp="$out/.built-from"
want=$(cat "$here/go.mod" "$here/go.sum" "$here/etcd/main.go" | sha256sum | cut -d' ' -f1)

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$out/kube-apiserver" && -x "$out/etcd" && -x "$out/kubectl" ]]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "error: go is not installed; the control plane is built from Go modules" >&2; exit 1; }
mkdir -p "$out"
cd "$here"
export CGO_ENABLED=0
flags=(-trimpath -ldflags "-s -w")
echo "building kube-apiserver, etcd and kubectl $version into $out (first time takes several minutes)" >&2
go build "${flags[@]}" -o "$out/etcd" ./etcd >&2
go build "${flags[@]}" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
go build "${flags[@]}" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl >&2
echo "$want" > "$stamp"
echo "$out"
