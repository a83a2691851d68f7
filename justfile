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
    # The generated protobuf schema and fixtures match the Go API types (tools/protogen).
    tools/protogen/generate.sh --check
    # kube-core stays free of IO and async runtimes.
    ! cargo tree -p kube-core -e normal --prefix none | grep -E '^(tokio|hyper|mio|futures|async-|reqwest|socket2) '
    # The aws-lc-rs TLS provider builds through the facade, and then alone: ring is not linked.
    cargo check -p kube --no-default-features --features client,runtime,aws-lc-rs --quiet
    ! cargo tree -p kube --no-default-features --features client,runtime,aws-lc-rs -e normal --prefix none | grep -E '^ring '
    # The fuzz targets (their own workspace) keep compiling on stable.
    cargo fmt --manifest-path fuzz/Cargo.toml -- --check
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR}-fuzz" cargo clippy --manifest-path fuzz/Cargo.toml -- -D warnings

# Start a control plane in the foreground to play with; Ctrl-C stops and cleans up.
cluster: control-plane
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo run -q -p kube-test --bin kube-test-cluster

# Benchmarks: the criterion micro-benchmarks, then the peers against a real API server.
bench: && bench-peers bench-shard bench-webhook bench-remote
    cargo bench --workspace

# Our client beside kube-rs 5 and client-go against a local control plane, each scenario in
# separate processes measured from outside (see benches/src/bin/bench_peers.rs); the table goes
# to stdout, the figures to bench-peers/latest.json in the target directory.
# A shorter run: `just bench-peers --pods 2000 --runs 3 --only list`.
bench-peers *args: control-plane
    cargo build -q --release -p kube-benches --bin peer_ours --bin peer_kube_rs --bin bench_peers
    tools/peer-client-go/build.sh > /dev/null
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo run -q --release -p kube-benches --bin bench_peers -- {{args}}

# Sharding scale-out: per-replica memory and reconcile throughput with 1, 2 and 4 replica
# processes over 10,000 custom resources (see benches/src/bin/shard_scale.rs). `--objects 2000` for a
# shorter run.
bench-shard *args: control-plane
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo run -q --release -p kube-benches --bin shard_scale -- {{args}}

# Admission requests/s, latency, server CPU and memory of a trivial validating webhook over TLS,
# ours beside a controller-runtime webhook server, driven by the same Rust load generator over
# HTTP/2 and HTTP/1.1 (see benches/src/bin/webhook_bench.rs); the JSON goes to
# bench-webhook/latest.json in the target directory. `--duration 5 --runs 1` for a shorter run.
bench-webhook *args:
    tools/webhook-peer/build.sh > /dev/null
    cargo run -q --release -p kube-benches --bin webhook_bench -- {{args}}

# exec round trips and stdout throughput, port-forward throughput and setup latency through the
# API server and kube-test's fake kubelet, ours beside the real kubectl (see
# benches/src/bin/remote_bench.rs); the JSON goes to bench-remote/latest.json in the target
# directory. `--execs 20 --mb 20 --runs 1` for a shorter run.
bench-remote *args: control-plane
    KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)" cargo run -q --release -p kube-benches --bin remote_bench -- {{args}}

# Build time of 10 derived kinds, ours beside kube-rs 5 (clean debug and release builds).
bench-derive-compile:
    benches/derive-compile/bench.sh

# Rustdoc for the workspace.
doc:
    cargo doc --workspace --no-deps

# Fuzz every target for `seconds` each (cargo-fuzz on the nightly toolchain; installed if missing).
# The corpora start from fuzz/seeds and the test fixtures; a crash is saved under fuzz/artifacts.
fuzz seconds="60":
    #!/usr/bin/env bash
    set -euo pipefail
    cd fuzz
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        echo "no nightly toolchain here: the fuzz targets are only compiled on stable (just lint)"
        exit 0
    fi
    command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR}-fuzz"
    fixtures=../kube-core/tests/fixtures
    for target in kubeconfig watch_line list managed_fields selectors protobuf_frames protobuf_envelope; do
        mkdir -p "corpus/$target"
        [ -d "seeds/$target" ] && cp seeds/$target/* "corpus/$target/"
        case "$target" in
            watch_line) i=0; cat $fixtures/*.jsonl | while IFS= read -r line; do i=$((i+1)); printf '%s' "$line" > "corpus/$target/fixture-$i"; done ;;
            list) for f in $fixtures/*list*.json; do { printf '\x40'; cat "$f"; } > "corpus/$target/$(basename "$f")"; done ;;
            managed_fields) cp $fixtures/*.json "corpus/$target/" ;;
            protobuf_envelope) cp $fixtures/*.pb "corpus/$target/" ;;
            protobuf_frames) for f in $fixtures/*.pb; do { perl -e 'print pack("CN", 7, -s $ARGV[0])' "$f"; cat "$f"; } > "corpus/$target/$(basename "$f")"; done ;;
        esac
        echo "fuzzing $target for {{seconds}} s"
        if ! cargo +nightly fuzz run --sanitizer none "$target" "corpus/$target" -- -max_total_time={{seconds}} -rss_limit_mb=2048 -timeout=10 > "corpus/$target.log" 2>&1; then
            grep -v -E '^#[0-9]+|^INFO' "corpus/$target.log" | tail -n 60
            echo "fuzz target $target failed; the input is under fuzz/artifacts/$target"
            exit 1
        fi
        grep -E '^Done' "corpus/$target.log"
    done

# Run every example that needs no person against a fresh local control plane (CI calls this).
examples: control-plane
    #!/usr/bin/env bash
    set -euo pipefail
    export KUBEBUILDER_ASSETS="$(tools/controlplane/build.sh)"
    cargo build -q -p examples --examples
    cargo build -q -p kube-test --bin kube-test-cluster
    dir=$(mktemp -d)
    "$CARGO_TARGET_DIR/debug/kube-test-cluster" > "$dir/cluster.out" 2> "$dir/cluster.err" &
    cluster=$!
    trap 'kill $cluster 2>/dev/null || true; wait $cluster 2>/dev/null || true; rm -rf "$dir"' EXIT
    for _ in $(seq 1 240); do grep -q '^kubeconfig: ' "$dir/cluster.out" && break; sleep 0.5; done
    export KUBECONFIG="$(sed -n 's/^kubeconfig: //p' "$dir/cluster.out")"
    [ -n "$KUBECONFIG" ] || { cat "$dir/cluster.err"; exit 1; }
    ex="$CARGO_TARGET_DIR/debug/examples"
    run() { echo; echo "== $*"; timeout 120 "$@"; }
    run "$ex/pod_api"
    run "$ex/exec" --demo | tee "$dir/exec"; grep -q "exit code 3" "$dir/exec" && grep -q "5 bytes echoed" "$dir/exec"
    run "$ex/dynamic_api" > "$dir/table"; head -4 "$dir/table"; grep -q '^configmaps  *cm ' "$dir/table"
    run "$ex/dynamic_api" ns default
    run "$ex/node_informer" --demo
    run "$ex/pod_reflector_http" --demo
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-flags}\ndata: {debug: "false"}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: apply-example}\n' > "$dir/m.yaml"
    run "$ex/apply" "$dir/m.yaml"
    sed -i 's/debug: "false"/debug: "true"/' "$dir/m.yaml"
    run "$ex/apply" --dry-run "$dir/m.yaml" | tee "$dir/plan"
    grep -q "configured (dry run)" "$dir/plan" && grep -q '+ *debug: .true.' "$dir/plan"
    run "$ex/apply" "$dir/m.yaml"
    run "$ex/apply" "$dir/m.yaml" | tee "$dir/again"; grep -q "app-flags (default): unchanged" "$dir/again"
    echo; echo "== namespace_defaults (in the background; its ConfigMap deleted, then recreated)"
    kubectl="$KUBEBUILDER_ASSETS/kubectl"
    has_defaults() { for _ in $(seq 1 120); do "$kubectl" get cm defaults -n default >/dev/null 2>&1 && return; sleep 0.5; done; return 1; }
    "$ex/namespace_defaults" > "$dir/nsd.out" 2>&1 &
    nsd=$!
    has_defaults && "$kubectl" delete cm defaults -n default && has_defaults
    "$kubectl" get cm defaults -n default -o jsonpath='{.metadata.ownerReferences[0].kind}' | grep -qx Namespace
    kill -INT $nsd; wait $nsd
    grep -m 2 'reconciled Namespace' "$dir/nsd.out"
    echo; echo "== foo_controller: refuses to start without its CRD, then runs once foo_crd is applied"
    ! "$ex/foo_controller" 2> "$dir/foo.err" && grep -q "the Foo CRD (foos.clux.dev) is not installed" "$dir/foo.err"
    "$ex/foo_crd" | "$kubectl" apply -f -
    "$kubectl" wait --for condition=established --timeout=60s crd/foos.clux.dev
    "$ex/foo_controller" > "$dir/foo.out" 2>&1 &
    foo=$!
    echo '{"apiVersion":"clux.dev/v1","kind":"Foo","metadata":{"name":"hello","namespace":"default"},"spec":{"name":"hello","info":"hi"}}' | "$kubectl" apply -f -
    "$kubectl" wait --for condition=Ready --timeout=60s foo/hello -n default
    "$kubectl" get cm foo-hello -n default -o jsonpath='{.data}'; echo
    "$kubectl" delete foo hello -n default --timeout=60s
    kill -INT $foo; wait $foo
    run "$ex/admission_webhook" --demo | tee "$dir/webhook"; grep -q "^refused cm/secrets: .*must not hold passwords" "$dir/webhook"
    echo; echo "examples: all ran"

# Build the Foo controller with the deployment profile, the same controller written with
# kube-rs 5, and with controller-runtime (Go, stripped and static), and print the three sizes.
size:
    cargo build -q --profile deploy -p examples --example foo_controller
    cargo build -q --profile deploy -p kube-benches --bin kube_rs_foo_controller
    @ours=$(stat -c %s "$CARGO_TARGET_DIR/deploy/examples/foo_controller"); \
     peer=$(stat -c %s "$CARGO_TARGET_DIR/deploy/kube_rs_foo_controller"); \
     go=$(stat -c %s "$(tools/peer-client-go/foo-controller/build.sh)"); \
     awk -v o=$ours -v p=$peer -v g=$go 'BEGIN { \
       printf "Foo controller (Rust: deploy profile; Go: CGO_ENABLED=0 -trimpath -ldflags \"-s -w\")\n"; \
       printf "  ours                        %6.2f MB  (%d bytes)\n", o/1e6, o; \
       printf "  kube-rs 5                   %6.2f MB  (%d bytes)\n", p/1e6, p; \
       printf "  controller-runtime v0.25.3  %6.2f MB  (%d bytes)\n", g/1e6, g; \
       printf "  ours / kube-rs %.2f, ours / controller-runtime %.2f\n", o/p, o/g }'

# Cold build time of the same Foo controller in the three stacks: ours and kube-rs 5 with the
# deploy profile in fresh target dirs, controller-runtime with an empty GOCACHE (downloaded
# sources kept); see benches/size/cold_build.sh. Heavy: run it alone.
bench-cold-build:
    benches/size/cold_build.sh
