#!/usr/bin/env bash
# Runs vg's benchmark suite and prints every figure of docs/benchmarks.md, each as a ratio against a
# baseline measured in the same run (medians over several rounds).
#
#   benches/run.sh            # everything (about 15 minutes on 2 cores)
#   ROUNDS=5 benches/run.sh   # more rounds per figure
#   SKIP_INSTALL=1 benches/run.sh
#
# Installs its peers (jq, wrk, hyperfine, lnav from Debian; tailspin from crates.io) unless
# SKIP_INSTALL is set. Data is generated into a temporary directory and removed at the end. Every
# server binds 127.0.0.1 and stops by itself. The Redis fan-out figures need redis-server, which is not
# installed here: without it they are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
LINES="${LINES:-1000000}"
PORT="${PORT:-3917}"
export VG_BENCH_ROUNDS="$ROUNDS"
DATA="$(mktemp -d)"
trap 'rm -rf "$DATA"' EXIT

if [ -z "${SKIP_INSTALL:-}" ]; then
    if ! command -v jq >/dev/null || ! command -v wrk >/dev/null || ! command -v hyperfine >/dev/null \
        || ! command -v lnav >/dev/null; then
        sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq && $sudo apt-get install -y -qq jq wrk hyperfine lnav
    fi
    command -v tspin >/dev/null || cargo install tailspin --locked
fi

echo "== build (release)"
cargo build --release --features server --bins --examples
VG=target/release/vg
export VG_BIN="$PWD/$VG"

# hl (pamburus/hl), the fastest Rust log formatter we know, is not on crates.io: it is built from a
# checkout of its source named by HL_SRC (tag v0.36.3 was measured). Its man-page dependency is a git
# fork of clap_mangen; the build swaps in crates.io's clap_mangen and drops the one call that version
# lacks (`.verbatim(true)`), in the checkout itself. Its toolchain pin is overridden with stable.
HL=""
if [ -n "${HL_SRC:-}" ] && [ -f "$HL_SRC/Cargo.toml" ]; then
    echo "== build hl from $HL_SRC"
    sed -i 's|^clap_mangen = { git = .*|clap_mangen = "0.2"|' "$HL_SRC/Cargo.toml"
    sed -i 's|clap_mangen::Man::new(cli::Opt::command()).verbatim(true)|clap_mangen::Man::new(cli::Opt::command())|' \
        "$HL_SRC/src/main.rs"
    HL_TARGET="${HL_TARGET:-$DATA/hl-target}"
    if (cd "$HL_SRC" && RUSTUP_TOOLCHAIN=stable CARGO_TARGET_DIR="$HL_TARGET" cargo build --release); then
        HL="$HL_TARGET/release/hl"
        "$HL" --version
    else
        echo "hl: the build failed; skipping hl"
    fi
else
    echo "hl: skipped (set HL_SRC to a checkout of github.com/pamburus/hl, e.g. tag v0.36.3)"
fi

echo "== data: $LINES NDJSON lines"
target/release/examples/gen_ndjson "$LINES" > "$DATA/app.ndjson"
ls -l "$DATA/app.ndjson"

echo "== vg logs --file formatting vs jq -c ., tailspin and lnav (hyperfine, $ROUNDS runs each)"
hyperfine --warmup 1 --runs "$ROUNDS" --export-json "$DATA/file.json" \
    -n vg "$VG logs --file $DATA/app.ndjson --color never > /dev/null" \
    -n jq "jq -c . $DATA/app.ndjson > /dev/null" \
    -n tailspin "tspin --print $DATA/app.ndjson > /dev/null" \
    -n lnav "lnav -n $DATA/app.ndjson > /dev/null"
jq -r --argjson n "$LINES" '.results as $r | ($r[] | select(.command=="vg") | .median) as $vg
    | $r[] | "file \(.command) median=\(.median | .*1000 | round)ms lines_per_s=\($n / .median | round) vg_speedup=\(.median / $vg * 100 | round / 100)"' "$DATA/file.json"

echo "== vg logs --file vs hl: time (hyperfine, vg and hl alternating, $ROUNDS rounds) and peak RSS"
if [ -n "$HL" ]; then
    # Each case: a name, vg's flags, hl's flags for the same output. `--grep` is a regex on the
    # message; hl's nearest is a substring query on it (the pattern is a plain word).
    cases=(
        "plain|--color never|--color never"
        "colour|--color always|--color always"
        "level|--color never --level warn|--color never --level warn"
        "grep|--color never --grep sync-invoices|--color never -q 'message contains \"sync-invoices\"'"
    )
    for case in "${cases[@]}"; do
        IFS='|' read -r name vg_flags hl_flags <<< "$case"
        rm -f "$DATA"/cmp-*.json
        # One hyperfine per round with both commands, so vg and hl alternate instead of running
        # all of one and then all of the other while the machine's load moves.
        for round in $(seq "$ROUNDS"); do
            hyperfine --runs 1 --export-json "$DATA/cmp-$round.json" \
                -n vg "$VG logs --file $DATA/app.ndjson $vg_flags > /dev/null" \
                -n hl "$HL -P $hl_flags $DATA/app.ndjson > /dev/null" >/dev/null
        done
        jq -s -r --arg case "$name" '[.[].results[]] | group_by(.command)
            | map({c: .[0].command, t: (map(.median) | sort | .[length / 2 | floor])})
            | (map(select(.c == "vg"))[0].t) as $vg | (map(select(.c == "hl"))[0].t) as $hl
            | "hl_cmp \($case) vg=\($vg * 1000 | round)ms hl=\($hl * 1000 | round)ms vg_speedup=\($hl / $vg * 100 | round / 100)"' \
            "$DATA"/cmp-*.json
        rss() { /usr/bin/time -f %M sh -c "$1 > /dev/null" 2>&1 >/dev/null | tail -1; }
        vg_kb=$(rss "$VG logs --file $DATA/app.ndjson $vg_flags")
        hl_kb=$(rss "$HL -P $hl_flags $DATA/app.ndjson")
        echo "hl_cmp $name peak_rss vg=${vg_kb}KiB hl=${hl_kb}KiB ratio=$(awk -v a="$vg_kb" -v b="$hl_kb" 'BEGIN {printf "%.2f", a/b}')"
    done
    vg_kb=$(/usr/bin/time -f %M sh -c "$VG logs --file - --color never < $DATA/app.ndjson > /dev/null" 2>&1 | tail -1)
    hl_kb=$(/usr/bin/time -f %M sh -c "$HL -P --color never < $DATA/app.ndjson > /dev/null" 2>&1 | tail -1)
    echo "hl_cmp stdin peak_rss vg=${vg_kb}KiB hl=${hl_kb}KiB"
    hyperfine --warmup 1 --runs "$ROUNDS" \
        -n vg-stdin "$VG logs --file - --color never < $DATA/app.ndjson > /dev/null" \
        -n hl-stdin "$HL -P --color never < $DATA/app.ndjson > /dev/null"
fi

echo "== request-logging layer: hello world under wrk, alternating without/with, $ROUNDS rounds"
# The server on one core and wrk on another, when there are two: otherwise they trade cores and the
# rounds scatter by +-10%.
server_cpu=(); client_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    server_cpu=(taskset -c 0); client_cpu=(taskset -c 1)
fi
rps() { # $1: extra flag for hello_bench
    "${server_cpu[@]}" target/release/examples/hello_bench "$PORT" 8 $1 2>/dev/null &
    local pid=$!
    sleep 0.5
    "${client_cpu[@]}" wrk -t1 -c32 -d5s "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ {print $2}'
    wait "$pid"
}
plain=(); layered=()
for _ in $(seq "$ROUNDS"); do plain+=("$(rps "")"); layered+=("$(rps --layer)"); done
printf '%s\n' "${plain[@]}" | sort -n > "$DATA/plain"; printf '%s\n' "${layered[@]}" | sort -n > "$DATA/layered"
p=$(sed -n "$(( (ROUNDS + 1) / 2 ))p" "$DATA/plain"); l=$(sed -n "$(( (ROUNDS + 1) / 2 ))p" "$DATA/layered")
echo "request_layer plain=${p}/s layer=${l}/s ratio=$(awk -v a="$l" -v b="$p" 'BEGIN {printf "%.3f", a/b}') (limit 0.95)"

echo "== in-process figures (criterion)"
cargo bench --features server --bench pipeline -- --noplot 2>&1 | grep -E "^pipeline|time:|thrpt:"
cargo bench --features server --bench emitter -- --noplot 2>&1 | grep -E "^emit|time:"
cargo bench --features server --bench request_layer -- --noplot 2>&1 | grep -E "^request|time:"
cargo bench --features server --bench request_allocs 2>&1 | grep "^allocations"
cargo bench --bench tui -- --noplot 2>&1 | grep -E "^tui|time:"
cargo bench --bench tui_memory

echo "== durable history: ingest, emit(), SQLite and NDJSON peers, windows, replay, 10M stored"
ROUNDS="$ROUNDS" cargo bench --features server --bench disk

echo "== end to end (servers on 127.0.0.1:0, $ROUNDS rounds each)"
cargo bench --features server --bench e2e

echo "== the floor under the emit() targets: keep and hand over one block, no vg code"
cargo bench --bench floor
cargo bench --no-default-features --bench floor

echo "== three instances through one Redis (fan-out, emit() with the Redis sink, latency)"
if command -v redis-server >/dev/null; then
    cargo bench --features server --bench cluster
else
    echo "cluster: skipped (needs redis-server; Debian: apt-get install redis-server)"
fi
