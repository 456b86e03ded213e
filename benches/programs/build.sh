#!/usr/bin/env bash
# Builds the benchmark programs: regenerates large.c, compiles every NAME.c
# here to wasm/NAME.wasm with clang for wasm32-wasi, and records what the
# native build prints in expected/NAME.out.
#
# The .wasm files and expected outputs are committed, so the benchmarks run
# without clang; run this after changing a program. The benchmarks build the
# native binaries themselves (with `cc -O2`) and check every engine against
# them. Debian: apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32.
#
# No -msimd128: Kiln's interpreter does not execute SIMD yet.
#
# Usage: build.sh [NAME...]   (default: every program)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

CLANG=${CLANG:-clang}
CC=${CC:-cc}
WASM_FLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -Werror)
NATIVE_FLAGS=(-O2 -Wall -Wextra -Werror)

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
    "$CLANG" "${WASM_FLAGS[@]}" -o "wasm/$name.wasm" "$name.c"
    "$CC" "${NATIVE_FLAGS[@]}" -o "$native_dir/$name" "$name.c" -lm
    "$native_dir/$name" > "expected/$name.out"
done
