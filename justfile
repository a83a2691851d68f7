# Tasks for developers and CI. `just` lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Build caches live outside the clone, so a fresh clone on a warm machine builds fast.
export CARGO_TARGET_DIR := env("CARGO_TARGET_DIR", env("HOME") / ".cache/kube-dev/target")

# List the tasks.
default:
    @just --list

# Build kube-apiserver, etcd and kubectl from Go modules (once) and print their directory.
control-plane:
    @tools/controlplane/build.sh

# Run every test: unit, doc and integration tests against a real control plane.
test: control-plane
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo test --workspace --no-fail-fast

# The main demo, against a local control plane it starts itself.
demo: control-plane
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo run -p examples --example demo

# Formatting and clippy, warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
    # kube-core stays free of IO and async runtimes.
    ! cargo tree -p kube-core -e normal --prefix none | grep -E '^(tokio|hyper|mio|futures|async-|reqwest|socket2) '

# Start a control plane in the foreground to play with; Ctrl-C stops and cleans up.
cluster: control-plane
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo run -q -p kube-test --bin kube-test-cluster

# Benchmarks (criterion).
bench:
    cargo bench --workspace

# Build time of 10 derived kinds, ours beside kube-rs 5 (clean debug and release builds).
bench-derive-compile:
    benches/derive-compile/bench.sh

# Rustdoc for the workspace.
doc:
    cargo doc --workspace --no-deps
