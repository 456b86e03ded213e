#!/usr/bin/env bash
# Runs Kiln's fuzz targets with cargo-fuzz and prints, per target, the
# executions, time, coverage (libFuzzer's final `cov`/`ft`) and findings.
#
#   fuzz/run.sh [TARGET|all] [SECONDS] [-- LIBFUZZER_FLAGS...]
#
#   fuzz/run.sh differential 1500 -- -jobs=1    # 25 minutes, one worker
#   fuzz/run.sh all 60                          # every target for a minute
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# New inputs go to fuzz/work/<target>/ (not committed); the committed corpus
# fuzz/corpus/<target>/ seeds every run and is only read. Crashes land in
# fuzz/artifacts/<target>/; the full libFuzzer output in fuzz/logs/. To keep a
# finding: `cargo +nightly fuzz tmin TARGET CRASH`, copy the minimised input
# into fuzz/corpus/<target>/, and `cargo test -p kiln-fuzz-replay` replays it.
set -euo pipefail

FUZZ="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGETS=(parse_validate differential wat node_input)

target="${1:-all}"
seconds="${2:-60}"
shift $(($# < 2 ? $# : 2))
if [[ "${1:-}" == "--" ]]; then
    shift
fi
extra=("$@")

if [[ "$target" == all ]]; then
    run_targets=("${TARGETS[@]}")
elif [[ " ${TARGETS[*]} " == *" $target "* ]]; then
    run_targets=("$target")
else
    echo "usage: $0 [${TARGETS[*]// /|}|all] [SECONDS] [-- LIBFUZZER_FLAGS...]" >&2
    exit 2
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
    echo "SECONDS must be a whole number, not \`$seconds\`" >&2
    exit 2
fi

# Flags per target: a longer input for wasm-smith, keywords for the text.
target_flags() {
    case "$1" in
        differential) echo "-max_len=16384" ;;
        wat) echo "-dict=$FUZZ/wat.dict" ;;
        *) ;;
    esac
}

echo "==> building ${run_targets[*]}"
for t in "${run_targets[@]}"; do
    cargo +nightly fuzz build --fuzz-dir "$FUZZ" "$t"
done

summaries=()
for t in "${run_targets[@]}"; do
    stamp="$(date +%Y%m%d-%H%M%S)"
    logdir="$FUZZ/logs/$t-$stamp"
    mkdir -p "$logdir" "$FUZZ/work/$t" "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
    marker="$logdir/.start"
    touch "$marker"
    echo "==> fuzzing $t for ${seconds}s (log: ${logdir#"$FUZZ"/})"
    start=$(date +%s)
    # libFuzzer's -jobs/-workers write each worker's output to fuzz-N.log in
    # the current directory: run from the log folder so they land there.
    # A finding makes libFuzzer exit non-zero; the summary below reports it.
    # shellcheck disable=SC2046
    (cd "$logdir" && cargo +nightly fuzz run --fuzz-dir "$FUZZ" "$t" \
        "$FUZZ/work/$t" "$FUZZ/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=20 -print_final_stats=1 -print_funcs=0 \
        -artifact_prefix="$FUZZ/artifacts/$t/" \
        $(target_flags "$t") "${extra[@]}") >"$logdir/run.log" 2>&1 || true
    elapsed=$(($(date +%s) - start))

    # With -jobs/-workers each worker's log holds its output (the main
    # process repeats it in run.log at the end); otherwise run.log does.
    shopt -s nullglob
    logs=("$logdir"/fuzz-*.log)
    shopt -u nullglob
    if ((${#logs[@]} == 0)); then
        logs=("$logdir/run.log")
    fi
    # Executions: the sum of every worker's final count.
    execs=$(cat "${logs[@]}" | sed -n 's/^stat::number_of_executed_units: *//p' |
        awk '{ s += $1 } END { print s + 0 }')
    # Coverage: the last status line's `cov:` and `ft:` of any worker.
    last=$(cat "${logs[@]}" | grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' | tail -n 1 || true)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    corpus=$(find "$FUZZ/work/$t" -type f | wc -l)
    mapfile -t found < <(find "$FUZZ/artifacts/$t" -type f -newer "$marker" | sort)
    summary="$t: ${execs} executions in ${elapsed}s, cov ${cov:-?} ft ${ft:-?}, corpus ${corpus} inputs, ${#found[@]} findings"
    summaries+=("$summary")
    for f in "${found[@]}"; do
        summaries+=("    ${f#"$FUZZ"/}")
    done
done

echo
echo "==> summary"
printf '%s\n' "${summaries[@]}"
