#!/usr/bin/env bash
# Runs the libFuzzer targets built in BIN_DIR, each for SECONDS seconds, on a working corpus
# in a temporary directory seeded from Fuzz/Corpus/<Target> and Fuzz/Regressions/<Target>.
# Prints each target's executions and coverage from libFuzzer's final stats, and the path of
# any crash artifact. Exits 1 if any target crashed (or timed out, or ran out of memory). Used
# by `make fuzz` and `make fuzz-smoke`; see Fuzz/README.md.
#
#   Fuzz/run.sh BIN_DIR SECONDS [TARGET...]
#
# Environment: FUZZ_JOBS (targets run at once, default 1), FUZZ_WORK_DIR (where the temporary
# directories go, default $TMPDIR or /tmp), FUZZ_ARGS (more libFuzzer flags),
# FUZZ_KEEP=0 (remove the working directory when every target passed; a failed run always
# keeps it, with its crash artifacts; default 1), FUZZ_SKIP_KNOWN=1 (the harnesses let the bugs listed in Fuzz/RESULTS.md pass, so a run can
# look for new ones while those are open).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="$1"
seconds="$2"
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(FuzzPDU FuzzLoginText FuzzCDB FuzzConfig FuzzConnection); fi
jobs="${FUZZ_JOBS:-1}"
work="$(mktemp -d "${FUZZ_WORK_DIR:-${TMPDIR:-/tmp}}/targe-fuzz.XXXXXX")"

# The Swift runtime's own crash handler would symbolicate the crash for many seconds before
# libFuzzer saw it; libFuzzer and ASan print the stack themselves.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"

max_len() {
    case "$1" in
        FuzzPDU) echo 4096 ;;
        FuzzLoginText) echo 4096 ;;
        FuzzCDB) echo 512 ;;
        FuzzConfig) echo 8192 ;;
        FuzzConnection) echo 2048 ;;
        *) echo 4096 ;;
    esac
}

dict() {
    case "$1" in
        FuzzPDU | FuzzLoginText) echo "-dict=$here/Dictionaries/iscsi.dict" ;;
        FuzzConfig) echo "-dict=$here/Dictionaries/config.dict" ;;
        *) ;;
    esac
}

run_one() {
    local target="$1"
    local dir="$work/$target"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp "$here/Corpus/$target/"* "$dir/corpus/" 2>/dev/null || true
    # Inputs that once crashed run first of all, so a regression fails even a short run.
    cp "$here/Regressions/$target/"* "$dir/corpus/" 2>/dev/null || true
    # shellcheck disable=SC2046,SC2086
    nice -n 10 "$bin_dir/$target" "$dir/corpus" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -max_len="$(max_len "$target")" \
        -artifact_prefix="$dir/artifacts/" $(dict "$target") ${FUZZ_ARGS:-} >"$dir/log" 2>&1
    echo $? >"$dir/status"
}

summary() {
    local target="$1"
    local dir="$work/$target"
    local status execs rate cov ft corpus
    status="$(cat "$dir/status")"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)"
    cov="$(grep -E '^#[0-9]+' "$dir/log" | grep -o 'cov: [0-9]*' | tail -1 | cut -d' ' -f2)"
    ft="$(grep -E '^#[0-9]+' "$dir/log" | grep -o 'ft: [0-9]*' | tail -1 | cut -d' ' -f2)"
    corpus="$(find "$dir/corpus" -type f | wc -l)"
    printf '%-14s execs %-10s exec/s %-7s cov %-6s ft %-7s corpus %-6s %s\n' "$target" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$corpus" "$([ "$status" = 0 ] && echo ok || echo "FAILED (exit $status)")"
    if [ "$status" != 0 ]; then
        grep -E 'FUZZ INVARIANT FAILED|ERROR: (libFuzzer|AddressSanitizer)|Fatal error|SUMMARY' "$dir/log" | head -5 \
            | cut -c1-400 | sed 's/^/    /'
        local artifact
        for artifact in "$dir/artifacts/"*; do
            [ -e "$artifact" ] || continue
            echo "    artifact: $artifact"
            echo "    reproduce: SWIFT_BACKTRACE=enable=no $bin_dir/$target $artifact"
            echo "    minimize:  SWIFT_BACKTRACE=enable=no $bin_dir/$target -minimize_crash=1 -runs=100000 $artifact"
        done
        echo "    log: $dir/log"
    fi
}

echo "fuzzing ${targets[*]} for ${seconds}s each ($jobs at a time); work directory $work"
running=0
for target in "${targets[@]}"; do
    if [ ! -x "$bin_dir/$target" ]; then
        echo "$target: no binary in $bin_dir" >&2
        exit 2
    fi
    run_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

failed=0
for target in "${targets[@]}"; do
    summary "$target"
    [ "$(cat "$work/$target/status")" = 0 ] || failed=1
done
if [ "$failed" = 0 ] && [ "${FUZZ_KEEP:-1}" = 0 ]; then
    rm -rf "$work"
    echo "every target passed; working directory removed (FUZZ_KEEP=1 keeps it)"
else
    echo "working corpora and logs: $work (new seeds: $bin_dir/<Target> -merge=1 Fuzz/Corpus/<Target> $work/<Target>/corpus)"
fi
exit "$failed"
