#!/usr/bin/env bash
# Runs Kiln's fuzz targets with cargo-fuzz, prints per target the executions,
# time, coverage (libFuzzer's final `cov`/`ft`) and findings, and appends one
# line per target to the campaign log, fuzz/campaigns.tsv, whose table and
# totals it then writes into fuzz/README.md.
#
#   fuzz/run.sh [TARGET|all] [SECONDS] [-- LIBFUZZER_FLAGS...]
#   fuzz/run.sh merge TARGET      # add fuzz/work/TARGET's new coverage to the corpus
#   fuzz/run.sh log               # rewrite the README's campaign log from the TSV
#
#   fuzz/run.sh differential 1500 -- -jobs=1    # 25 minutes, one worker
#   fuzz/run.sh all 60                          # every target for a minute
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Built optimised without a sanitizer and, outside Kiln's own crates, without
# debug assertions (`cargo fuzz build -O -s none`; fuzz/Cargo.toml keeps
# Kiln's debug assertions and overflow checks): Kiln's unsafe code is in the
# runtime and the JIT, whose mistakes the differential sees as wrong results,
# and AddressSanitizer costs a third of the speed. SANITIZER=address (or any
# `cargo fuzz -s` value) builds and runs with one.
#
# New inputs go to fuzz/work/<target>/ (not committed); the committed corpus
# fuzz/corpus/<target>/ seeds every run and is only read (`merge` adds to it
# on request). Crashes land in fuzz/artifacts/<target>/; the full libFuzzer
# output in fuzz/logs/. To keep a finding: `cargo +nightly fuzz tmin -O -s none
# TARGET CRASH`, copy the minimised input into fuzz/corpus/<target>/, and
# `cargo test -p kiln-fuzz-replay` replays it.
set -euo pipefail

FUZZ="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGETS=(parse_validate differential wat node_input gc_validate)
LOG="$FUZZ/campaigns.tsv"
README="$FUZZ/README.md"
# `cargo fuzz build`/`run` flags: the same for both, or `run` rebuilds.
SANITIZER="${SANITIZER:-none}"
BUILD=(-O -s "$SANITIZER")
# A merge adds at most this many inputs, or this many bytes, to the corpus.
MERGE_MAX_INPUTS=200
MERGE_MAX_BYTES=$((2 << 20))

usage() {
    echo "usage: $0 [${TARGETS[*]// /|}|all] [SECONDS] [-- LIBFUZZER_FLAGS...]" >&2
    echo "       $0 merge TARGET | $0 log" >&2
    exit 2
}

is_target() {
    [[ " ${TARGETS[*]} " == *" $1 "* ]]
}

# Rewrites the README's campaign log (between its two markers) from the TSV:
# every campaign, then the totals per target.
write_log() {
    [[ -f "$LOG" && -f "$README" ]] || return 0
    local table
    table=$(awk -F'\t' '
        NR == 1 { next }
        {
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8
            runs[$2]++; execs[$2] += $3; secs[$2] += $4; news[$2] += $6; finds[$2] += $7
            if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
        }
        END {
            print ""
            print "| target | campaigns | executions | seconds | exec/s | new corpus | findings |"
            print "|---|---:|---:|---:|---:|---:|---:|"
            for (i = 1; i <= n; i++) {
                t = order[i]
                printf "| %s | %d | %d | %d | %d | %d | %d |\n", t, runs[t], execs[t], secs[t],
                    secs[t] ? execs[t] / secs[t] : 0, news[t], finds[t]
            }
        }' "$LOG")
    local header="| date (UTC) | target | executions | seconds | exec/s | new corpus | findings | sanitizer |
|---|---|---:|---:|---:|---:|---:|---|"
    awk -v table="$header
$table" '
        /^<!-- campaign log: begin/ { print; print table; skip = 1; next }
        /^<!-- campaign log: end/ { skip = 0 }
        !skip { print }' "$README" >"$README.tmp"
    mv "$README.tmp" "$README"
}

# Merges fuzz/work/TARGET into the committed corpus: libFuzzer's `-merge=1`
# keeps only the inputs that add coverage to it, preferring small ones. Into
# a copy first; the corpus gets them only if they are few and small.
merge() {
    local t="$1"
    is_target "$t" || usage
    # shellcheck disable=SC2046
    cargo +nightly fuzz build "${BUILD[@]}" $(build_flags "$t") --fuzz-dir "$FUZZ" "$t"
    local tmp
    tmp=$(mktemp -d)
    cp "$FUZZ/corpus/$t/." "$tmp/" -r
    # shellcheck disable=SC2046
    cargo +nightly fuzz run "${BUILD[@]}" $(build_flags "$t") --fuzz-dir "$FUZZ" "$t" \
        "$tmp" "$FUZZ/work/$t" -- \
        -merge=1 -timeout=20 $(target_flags "$t") >"$tmp.log" 2>&1 || {
        tail -n 20 "$tmp.log" >&2
        exit 1
    }
    local new=() f
    for f in "$tmp"/*; do
        [[ -e "$FUZZ/corpus/$t/$(basename "$f")" ]] || new+=("$f")
    done
    local bytes=0
    if ((${#new[@]} > 0)); then
        bytes=$(cat "${new[@]}" | wc -c)
    fi
    if ((${#new[@]} > MERGE_MAX_INPUTS || bytes > MERGE_MAX_BYTES)); then
        echo "$t: the merge would add ${#new[@]} inputs ($bytes bytes), more than" \
            "$MERGE_MAX_INPUTS inputs or $MERGE_MAX_BYTES bytes: not merged (see $tmp)" >&2
        exit 1
    fi
    if ((${#new[@]} > 0)); then
        cp "${new[@]}" "$FUZZ/corpus/$t/"
    fi
    rm -rf "$tmp" "$tmp.log"
    echo "$t: merged ${#new[@]} inputs ($bytes bytes) into fuzz/corpus/$t/"
}

# `cargo fuzz build` flags per target (`run` needs the same). The
# differential's input drives wasm-smith, whose choices comparisons of input
# bytes with constants do not steer: it is built without
# `-sanitizer-coverage-trace-compares`, whose callbacks took half its time,
# into a target folder of its own (other flags, other builds).
build_flags() {
    case "$1" in
        differential) echo "--no-trace-compares --target-dir $FUZZ/target/no-trace-compares" ;;
        *) ;;
    esac
}

# Flags per target: a longer input for wasm-smith, without Entropic (its
# bookkeeping of every feature's frequency took 86% of the differential's
# time: its inputs reach some 200,000 features of four compilers); a longer
# input for gc_validate's wasm-smith too; keywords for the text.
target_flags() {
    case "$1" in
        differential) echo "-max_len=16384 -entropic=0" ;;
        gc_validate) echo "-max_len=16384" ;;
        wat) echo "-dict=$FUZZ/wat.dict" ;;
        *) ;;
    esac
}

case "${1:-}" in
    merge)
        merge "${2:-}"
        exit 0
        ;;
    log)
        write_log
        exit 0
        ;;
esac

target="${1:-all}"
seconds="${2:-60}"
shift $(($# < 2 ? $# : 2))
if [[ "${1:-}" == "--" ]]; then
    shift
fi
extra=("$@")

if [[ "$target" == all ]]; then
    run_targets=("${TARGETS[@]}")
elif is_target "$target"; then
    run_targets=("$target")
else
    usage
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
    echo "SECONDS must be a whole number, not \`$seconds\`" >&2
    exit 2
fi

echo "==> building ${run_targets[*]} (sanitizer: $SANITIZER)"
for t in "${run_targets[@]}"; do
    # shellcheck disable=SC2046
    cargo +nightly fuzz build "${BUILD[@]}" $(build_flags "$t") --fuzz-dir "$FUZZ" "$t"
done

if [[ ! -f "$LOG" ]]; then
    printf 'date\ttarget\texecutions\tseconds\texec/s\tnew corpus\tfindings\tsanitizer\n' >"$LOG"
fi
summaries=()
for t in "${run_targets[@]}"; do
    stamp="$(date -u +%Y%m%d-%H%M%S)"
    logdir="$FUZZ/logs/$t-$stamp"
    mkdir -p "$logdir" "$FUZZ/work/$t" "$FUZZ/corpus/$t" "$FUZZ/artifacts/$t"
    marker="$logdir/.start"
    touch "$marker"
    before=$(find "$FUZZ/work/$t" -type f | wc -l)
    echo "==> fuzzing $t for ${seconds}s (log: ${logdir#"$FUZZ"/})"
    start=$(date +%s)
    # libFuzzer's -jobs/-workers write each worker's output to fuzz-N.log in
    # the current directory: run from the log folder so they land there.
    # A finding makes libFuzzer exit non-zero; the summary below reports it.
    # shellcheck disable=SC2046
    (cd "$logdir" && cargo +nightly fuzz run "${BUILD[@]}" $(build_flags "$t") --fuzz-dir "$FUZZ" "$t" \
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
    rate=$((elapsed > 0 ? execs / elapsed : 0))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u -d "@$start" '+%Y-%m-%d %H:%M')" \
        "$t" "$execs" "$elapsed" "$rate" "$((corpus - before))" "${#found[@]}" \
        "$SANITIZER" >>"$LOG"
    summary="$t: ${execs} executions in ${elapsed}s (${rate}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corpus} inputs ($((corpus - before)) new), ${#found[@]} findings"
    summaries+=("$summary")
    for f in "${found[@]}"; do
        summaries+=("    ${f#"$FUZZ"/}")
    done
done
write_log

echo
echo "==> summary"
printf '%s\n' "${summaries[@]}"
