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
# Three programs are linked with a C library, built from the source a
# crates.io crate ships, each crate pinned here (programs.rs holds the same
# pins and lists, for the native build; a unit test keeps the two in step):
#   zstd.c    zstd: the zstd-sys crate's zstd/lib ($ZSTD_LIB).
#   sqlite.c  SQLite's amalgamation: libsqlite3-sys's sqlite3/ ($SQLITE_LIB),
#             built with SQLITE_FLAGS: no threads, no OS layer (sqlite.c
#             brings a VFS of its own), nothing WASI lacks.
#   lua.c     Lua 5.4: lua-src's LUA_DIR ($LUA_LIB), LUA_SOURCES (the core
#             and the base, string, table and math libraries), with
#             lua-nojmp/ on the include path (nojmp.h says why).
# The script finds each in cargo's registry, downloading the crate there
# with cargo if it is missing, or takes the directory from the variable
# named. Nothing of them is copied into the repository. SQLite's and Lua's
# sources are compiled on their own without warnings (-w): they are not
# ours to fix. Every NAME.c is compiled with -Werror.
#
# Usage: build.sh [NAME...]   (default: every program; NAME builds its SIMD
# variant too, if it has one)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

CLANG=${CLANG:-clang}
CC=${CC:-cc}
WARNINGS=(-Wall -Wextra -Werror)
WASM_FLAGS=(--target=wasm32-wasi -O2)
# -ffp-contract=off: with clang's default (on), clang 14's -O3 pipeline
# rounds nbody's step differently from the native and -O2 builds (an ulp
# here and there, though wasm has no fused multiply-add), and the SIMD build
# must print what they print.
SIMD_FLAGS=(--target=wasm32-wasi -O3 -msimd128 -ffp-contract=off)
NATIVE_FLAGS=(-O2)

# The programs with a SIMD build; programs.rs lists the same.
SIMD_PROGRAMS=(hash matmul memops nbody zstd)
ZSTD_SYS_VERSION=2.2.0+zstd.1.6.0
LIBSQLITE3_SYS_VERSION=0.40.0
LUA_SRC_VERSION=551.1.0
LUA_DIR=lua-5.4.9
SQLITE_FLAGS=(-DSQLITE_OS_OTHER=1 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_WAL -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_TEMP_STORE=3)
LUA_SOURCES=(lapi lauxlib lbaselib lcode lctype ldebug ldo ldump lfunc lgc llex lmathlib lmem lobject lopcodes lparser lstate lstring lstrlib ltable ltablib ltm lundump lvm lzio)

# Prints the directory of crate $1 at version $2, fetching the crate into
# cargo's registry if needed: `cargo metadata` on a throwaway manifest that
# depends on it resolves, downloads and unpacks it, and says where it is.
crate_dir() {
    local dir
    dir=$(mktemp -d)
    mkdir "$dir/src"
    touch "$dir/src/lib.rs"
    cat > "$dir/Cargo.toml" <<EOF
[package]
name = "library-source"
version = "0.0.0"
edition = "2021"
[dependencies]
$1 = { version = "=$2", default-features = false }
[workspace]
EOF
    local metadata
    metadata=$(cargo metadata --quiet --offline --format-version 1 --manifest-path "$dir/Cargo.toml" 2>/dev/null ||
        cargo metadata --quiet --format-version 1 --manifest-path "$dir/Cargo.toml")
    rm -rf "$dir"
    python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == sys.argv[1]:
        print(os.path.dirname(p["manifest_path"]))
' "$1" <<< "$metadata"
}

# What a program needs beside NAME.c: LIB_FLAGS, for it and its library;
# LIB_SOURCES, the library's C files; LIB_CLEAN, 1 if those build under
# WARNINGS (so they are compiled in one go with NAME.c), else 0.
LIB_FLAGS=()
LIB_SOURCES=()
LIB_CLEAN=1
library_args() {
    LIB_FLAGS=()
    LIB_SOURCES=()
    LIB_CLEAN=1
    local lib source
    case $1 in
    zstd)
        lib=${ZSTD_LIB:-$(crate_dir zstd-sys "$ZSTD_SYS_VERSION")/zstd/lib}
        [[ -f $lib/zstd.h ]] || { echo "no zstd source at '$lib'" >&2; exit 1; }
        # ZSTD_DISABLE_ASM: the x86-64 assembly decoder is not portable C.
        LIB_FLAGS=(-DZSTD_DISABLE_ASM -I"$lib")
        LIB_SOURCES=("$lib"/common/*.c "$lib"/compress/*.c "$lib"/decompress/*.c)
        ;;
    sqlite)
        lib=${SQLITE_LIB:-$(crate_dir libsqlite3-sys "$LIBSQLITE3_SYS_VERSION")/sqlite3}
        [[ -f $lib/sqlite3.h ]] || { echo "no SQLite source at '$lib'" >&2; exit 1; }
        LIB_FLAGS=("${SQLITE_FLAGS[@]}" -I"$lib")
        LIB_SOURCES=("$lib/sqlite3.c")
        LIB_CLEAN=0
        ;;
    lua)
        lib=${LUA_LIB:-$(crate_dir lua-src "$LUA_SRC_VERSION")/$LUA_DIR}
        [[ -f $lib/lua.h ]] || { echo "no Lua source at '$lib'" >&2; exit 1; }
        LIB_FLAGS=(-Ilua-nojmp -include lua-nojmp/nojmp.h -I"$lib")
        for source in "${LUA_SOURCES[@]}"; do
            LIB_SOURCES+=("$lib/$source.c")
        done
        LIB_CLEAN=0
        ;;
    esac
}

# compile KIND OUTPUT: NAME.c and its library for KIND (wasm, simd or
# native) into OUTPUT. NAME.c always gets WARNINGS; a library that is not
# clean under them is first compiled to objects with -w.
compile() {
    local kind=$1 out=$2 compiler=$CLANG flags=() link=()
    case $kind in
    wasm) flags=("${WASM_FLAGS[@]}") ;;
    simd) flags=("${SIMD_FLAGS[@]}") ;;
    native)
        compiler=$CC
        flags=("${NATIVE_FLAGS[@]}")
        link=(-lm)
        ;;
    esac
    local sources=("${LIB_SOURCES[@]}") source object
    if ((!LIB_CLEAN)); then
        sources=()
        for source in "${LIB_SOURCES[@]}"; do
            object="$work_dir/$kind-$(basename "$source" .c).o"
            "$compiler" "${flags[@]}" -w "${LIB_FLAGS[@]}" -c -o "$object" "$source"
            sources+=("$object")
        done
    fi
    "$compiler" "${flags[@]}" "${WARNINGS[@]}" "${LIB_FLAGS[@]}" -o "$out" "$name.c" "${sources[@]}" "${link[@]}"
}

python3 gen_large.py > large.c.tmp
mv large.c.tmp large.c

if (($# == 0)); then
    set -- $(ls *.c | sed 's/\.c$//')
fi

mkdir -p wasm expected
work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

for name in "$@"; do
    echo "building $name" >&2
    library_args "$name"
    compile wasm "wasm/$name.wasm"
    if [[ " ${SIMD_PROGRAMS[*]} " == *" $name "* ]]; then
        echo "building $name-simd" >&2
        compile simd "wasm/$name-simd.wasm"
    fi
    compile native "$work_dir/$name"
    "$work_dir/$name" > "expected/$name.out"
done
