#!/usr/bin/env bash
# Builds the benchmark programs: regenerates large.c, compiles every NAME.c
# here to wasm/NAME.wasm with clang for wasm32-wasi (-O2), the programs in
# SIMD_PROGRAMS also to wasm/NAME-simd.wasm (-O3 -msimd128, clang's
# auto-vectoriser on; see SIMD_FLAGS), and records what the native build
# prints in expected/NAME.out, which the SIMD build must print too.
#
# The .wasm files and expected outputs are committed, so the benchmarks run
# without clang; run this after changing a program. The benchmarks build the
# native binaries themselves (`cc -O2`, or `-O3` for a SIMD build's) and
# check every engine against them. Debian: apt-get install -y clang lld
# wasi-libc libclang-rt-dev-wasm32.
#
# zstd.c is linked with the zstd library's C source as the zstd-sys crate
# ships it, pinned to ZSTD_SYS_VERSION (programs.rs holds the same pin, for
# the native build). The script finds it in cargo's registry, downloading
# the crate there with cargo if it is missing, or takes $ZSTD_LIB (the
# crate's zstd/lib directory). Nothing of it is copied into the repository.
#
# Usage: build.sh [NAME...]   (default: every program; NAME builds its SIMD
# variant too, if it has one)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

CLANG=${CLANG:-clang}
CC=${CC:-cc}
WARNINGS=(-Wall -Wextra -Werror)
WASM_FLAGS=(--target=wasm32-wasi -O2 "${WARNINGS[@]}")
# -ffp-contract=off: with clang's default (on), clang 14's -O3 pipeline
# rounds nbody's step differently from the native and -O2 builds (an ulp
# here and there, though wasm has no fused multiply-add), and the SIMD build
# must print what they print.
SIMD_FLAGS=(--target=wasm32-wasi -O3 -msimd128 -ffp-contract=off "${WARNINGS[@]}")
NATIVE_FLAGS=(-O2 "${WARNINGS[@]}")

# The programs with a SIMD build; programs.rs lists the same.
SIMD_PROGRAMS=(hash matmul memops nbody zstd)
ZSTD_SYS_VERSION=2.2.0+zstd.1.6.0

# Prints the zstd-sys crate's zstd/lib directory, fetching the crate into
# cargo's registry if needed: `cargo metadata` on a throwaway manifest that
# depends on it resolves, downloads and unpacks it, and says where it is.
zstd_lib() {
    if [[ -n ${ZSTD_LIB:-} ]]; then
        echo "$ZSTD_LIB"
        return
    fi
    local dir
    dir=$(mktemp -d)
    mkdir "$dir/src"
    touch "$dir/src/lib.rs"
    cat > "$dir/Cargo.toml" <<EOF
[package]
name = "zstd-source"
version = "0.0.0"
edition = "2021"
[dependencies]
zstd-sys = { version = "=$ZSTD_SYS_VERSION", default-features = false }
[workspace]
EOF
    local metadata
    metadata=$(cargo metadata --quiet --offline --format-version 1 --manifest-path "$dir/Cargo.toml" 2>/dev/null ||
        cargo metadata --quiet --format-version 1 --manifest-path "$dir/Cargo.toml")
    rm -rf "$dir"
    python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "zstd-sys":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "zstd", "lib"))
' <<< "$metadata"
}

# The sources and flags a program needs beside NAME.c.
LIB_ARGS=()
library_args() {
    LIB_ARGS=()
    if [[ $1 == zstd ]]; then
        local lib
        lib=$(zstd_lib)
        [[ -f $lib/zstd.h ]] || { echo "no zstd source at '$lib'" >&2; exit 1; }
        # ZSTD_DISABLE_ASM: the x86-64 assembly decoder is not portable C.
        LIB_ARGS=(-DZSTD_DISABLE_ASM -I"$lib" "$lib"/common/*.c "$lib"/compress/*.c "$lib"/decompress/*.c)
    fi
}

python3 gen_large.py > large.c.tmp
mv large.c.tmp large.c

if (($# == 0)); then
    set -- $(ls *.c | sed 's/\.c$//')
fi

mkdir -p wasm expected
native_dir=$(mktemp -d)
trap 'rm -rf "$native_dir"' EXIT

for name in "$@"; do
    echo "building $name" >&2
    library_args "$name"
    "$CLANG" "${WASM_FLAGS[@]}" -o "wasm/$name.wasm" "$name.c" "${LIB_ARGS[@]}"
    if [[ " ${SIMD_PROGRAMS[*]} " == *" $name "* ]]; then
        echo "building $name-simd" >&2
        "$CLANG" "${SIMD_FLAGS[@]}" -o "wasm/$name-simd.wasm" "$name.c" "${LIB_ARGS[@]}"
    fi
    "$CC" "${NATIVE_FLAGS[@]}" -o "$native_dir/$name" "$name.c" "${LIB_ARGS[@]}" -lm
    "$native_dir/$name" > "expected/$name.out"
done
