#!/usr/bin/env bash
# Runs a zombienet test (zndsl) on 4 local PoT validators (alice, bob, charlie,
# dave) with zombienet's native provider:
#   bash scripts/zombienet-test.sh [ZNDSL]
#   - zombienet/smoke.zndsl (default): every node is up, produces blocks and
#     finalizes them;
#   - zombienet/demo-order.zndsl: the validators' verifier services and three
#     providers train a consumer's order until it completes
#     (zombienet/pot-demo-order.sh starts them).
#
# Prerequisites:
#   - built binaries (cargo build --workspace: pot-node, pot-trainer)
#   - zombienet installed: (cd zombienet && npm ci)
#
# Environment:
#   POT_NODE_BIN       node binary
#                      (default: ${CARGO_TARGET_DIR:-$HOME/.cache/pot/target}/debug/pot-node)
#   POT_CHAIN_SPEC     RAW chain spec to use. If unset, a fresh one is made with
#                      `pot-node build-spec --chain local --raw`, so the test
#                      runs the runtime that is built into the binary.
#                      Example: POT_CHAIN_SPEC=chain-spec/local-raw.json
#   ZOMBIENET_BIN      zombienet CLI (default: zombienet/node_modules/.bin/zombienet)
#   POT_TRAINER_BIN    trainer binary for the test's scripts
#                      (default: ${CARGO_TARGET_DIR:-$HOME/.cache/pot/target}/debug/pot-trainer)
#   POT_ZOMBIENET_TEST zndsl file to run when no argument is given
#                      (default: zombienet/smoke.zndsl)
#   POT_ZOMBIENET_TIMEOUT  hard limit for the whole run in seconds (default 2400)
#   POT_ZOMBIENET_KEEP=1   keep the work dir (node logs, specs) even on success
#
# Exits non-zero if the network fails to start or any assertion fails.
# Leaves no node processes running.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# zombienet resolves chain_spec_path against the current directory.
cd "$REPO_ROOT"
# Shared defaults (CARGO_TARGET_DIR, POT_NODE_BIN), if present.
if [[ -f scripts/env.sh ]]; then
    # shellcheck source=/dev/null
    source scripts/env.sh
fi

NODE_BIN="${POT_NODE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/pot/target}/debug/pot-node}"
ZOMBIENET_BIN="${ZOMBIENET_BIN:-$REPO_ROOT/zombienet/node_modules/.bin/zombienet}"
RUN_TIMEOUT="${POT_ZOMBIENET_TIMEOUT:-2400}"
KEEP="${POT_ZOMBIENET_KEEP:-0}"
TRAINER_BIN="${POT_TRAINER_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/pot/target}/debug/pot-trainer}"
ZNDSL="${1:-${POT_ZOMBIENET_TEST:-zombienet/smoke.zndsl}}"

log() { printf '[zombienet-test] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[[ -x "$NODE_BIN" ]] || die "node binary not found or not executable: $NODE_BIN (build it with: cargo build -p pot-node)"
[[ -f "$ZNDSL" ]] || die "test file not found: $ZNDSL"
[[ -x "$ZOMBIENET_BIN" ]] || die "zombienet not found: $ZOMBIENET_BIN (install it with: (cd zombienet && npm ci))"
command -v node >/dev/null 2>&1 || die "node.js is required by zombienet"
# zombienet's native provider checks node processes with `ps`. Without it, every
# node looks dead and the launch fails. pgrep is used by our cleanup (procps).
for tool in ps pgrep timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required (apt-get install procps coreutils)"
done

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pot-zombienet.XXXXXX")"
NET_DIR="$WORK_DIR/network" # zombienet -d: must not exist yet, zombienet creates it
BIN_DIR="$WORK_DIR/bin"
mkdir -p "$BIN_DIR"

ZN_PID=""
RC=1

# Kill whatever is left of the zombienet run:
#  1. the zombienet process group (nodes are spawned by zombienet with
#     child_process.spawn and stay in its process group);
#  2. anything still running with our unique work dir on its command line
#     (every node gets --base-path/--chain under $NET_DIR).
# shellcheck disable=SC2329 # invoked via trap
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$ZN_PID" ]]; then
        kill -TERM -- "-$ZN_PID" 2>/dev/null || true
        for _ in 1 2 3 4 5; do
            kill -0 -- "-$ZN_PID" 2>/dev/null || break
            sleep 1
        done
        kill -KILL -- "-$ZN_PID" 2>/dev/null || true
    fi
    local leftovers
    leftovers="$(pgrep -f -- "$NET_DIR/" 2>/dev/null || true)"
    if [[ -n "$leftovers" ]]; then
        log "killing leftover node processes: $(echo "$leftovers" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        kill -KILL $leftovers 2>/dev/null || true
    fi
    if [[ "$RC" -eq 0 && "$KEEP" != "1" ]]; then
        rm -rf "$WORK_DIR"
    else
        log "work dir kept: $WORK_DIR (node logs: $NET_DIR/logs, $NET_DIR/*.log)"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# zombienet starts nodes by the command name from the network config
# (default_command = "pot-node"). A symlink lets any binary name/location work.
ln -s "$(cd "$(dirname "$NODE_BIN")" && pwd)/$(basename "$NODE_BIN")" "$BIN_DIR/pot-node"
export PATH="$BIN_DIR:$PATH"
# For the test's scripts (zombienet runs them with this environment).
export POT_NODE_BIN="$NODE_BIN"
export POT_TRAINER_BIN="$TRAINER_BIN"

if [[ -n "${POT_CHAIN_SPEC:-}" ]]; then
    [[ -f "$POT_CHAIN_SPEC" ]] || die "POT_CHAIN_SPEC does not exist: $POT_CHAIN_SPEC"
    POT_CHAIN_SPEC="$(cd "$(dirname "$POT_CHAIN_SPEC")" && pwd)/$(basename "$POT_CHAIN_SPEC")"
    grep -q '"raw"' "$POT_CHAIN_SPEC" \
        || log "WARNING: $POT_CHAIN_SPEC looks like a plain spec; zombienet will rewrite its genesis"
else
    POT_CHAIN_SPEC="$WORK_DIR/local-raw.json"
    log "generating raw chain spec: pot-node build-spec --chain local --raw"
    pot-node build-spec --chain local --raw --disable-default-bootnode \
        >"$POT_CHAIN_SPEC" 2>"$WORK_DIR/build-spec.log" \
        || { cat "$WORK_DIR/build-spec.log" >&2; die "build-spec failed"; }
fi
export POT_CHAIN_SPEC

log "node binary: $NODE_BIN"
log "zombienet:   $("$ZOMBIENET_BIN" version 2>/dev/null | tail -n1)"
log "chain spec:  $POT_CHAIN_SPEC"
log "test:        $ZNDSL"
log "work dir:    $WORK_DIR"

# Job control puts the background job in its own process group
# (pgid == $!), so cleanup() can kill zombienet and all its nodes together.
# `timeout` is a hard limit in case something hangs.
set -m
timeout -k 30 "$RUN_TIMEOUT" \
    "$ZOMBIENET_BIN" -p native -l text -f -d "$NET_DIR" test "$ZNDSL" &
ZN_PID=$!
set +m
RC=0
wait "$ZN_PID" || RC=$?

if [[ "$RC" -eq 0 ]]; then
    log "PASS"
else
    [[ "$RC" -eq 124 ]] && log "zombienet timed out after ${RUN_TIMEOUT}s"
    log "FAIL (exit code $RC)"
    # Node logs, then the logs of the services a test script started (pot-demo/*.log).
    for f in "$NET_DIR"/*.log "$NET_DIR"/*/pot-demo/*.log; do
        [[ -f "$f" ]] || continue
        log "---- last 40 lines of ${f#"$NET_DIR"/} ----"
        tail -n 40 "$f" >&2 || true
    done
fi
exit "$RC"
