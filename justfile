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
    # The fuzz targets (their own workspace) keep compiling on stable.
    cargo fmt --manifest-path fuzz/Cargo.toml -- --check
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR}-fuzz" cargo clippy --manifest-path fuzz/Cargo.toml -- -D warnings

# Start a control plane in the foreground to play with; Ctrl-C stops and cleans up.
cluster: control-plane
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo run -q -p kube-test --bin kube-test-cluster

# Benchmarks (criterion).
bench:
    cargo bench --workspace

# Rustdoc for the workspace.
doc:
    cargo doc --workspace --no-deps

# Fuzz every target for `seconds` each (cargo-fuzz on the nightly toolchain; installed if missing).
# The corpora start from fuzz/seeds and the test fixtures; a crash is saved under fuzz/artifacts.
fuzz seconds="60":
    #!/usr/bin/env bash
    set -euo pipefail
    cd fuzz
    command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR}-fuzz"
    fixtures=../kube-core/tests/fixtures
    for target in kubeconfig watch_line list managed_fields selectors; do
        mkdir -p "corpus/$target"
        [ -d "seeds/$target" ] && cp seeds/$target/* "corpus/$target/"
        case "$target" in
            watch_line) i=0; cat $fixtures/*.jsonl | while IFS= read -r line; do i=$((i+1)); printf '%s' "$line" > "corpus/$target/fixture-$i"; done ;;
            list) for f in $fixtures/*list*.json; do { printf '\x40'; cat "$f"; } > "corpus/$target/$(basename "$f")"; done ;;
            managed_fields) cp $fixtures/*.json "corpus/$target/" ;;
        esac
        echo "fuzzing $target for {{seconds}} s"
        cargo +nightly fuzz run --sanitizer none "$target" "corpus/$target" -- -max_total_time={{seconds}} -rss_limit_mb=2048 -timeout=10 2>&1 | tail -n 3
    done
