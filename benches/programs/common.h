/* Shared by the benchmark programs: a deterministic generator, the work
 * scale taken from the command line, and checksum printing.
 *
 * Every program must print the same bytes natively (x86-64, glibc) and on
 * wasm32-wasi (wasi-libc), so: fixed-width integer types only (`long` is
 * 64-bit natively but 32-bit on wasm32), no transcendental libm functions
 * (glibc and wasi-libc round them differently; sqrt is exact everywhere),
 * and no reliance on unspecified orders (such as qsort's on equal keys). */
#ifndef KILN_BENCH_COMMON_H
#define KILN_BENCH_COMMON_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* xorshift64*: small, fast, and the same sequence on every target. */
typedef struct {
    uint64_t state;
} rng_t;

static inline rng_t rng_new(uint64_t seed) {
    rng_t r = {seed ? seed : 0x9e3779b97f4a7c15ull};
    return r;
}

static inline uint64_t rng_next(rng_t *r) {
    uint64_t x = r->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static inline uint32_t rng_u32(rng_t *r) { return (uint32_t)(rng_next(r) >> 32); }

/* A uniform-enough value in [0, n). */
static inline uint32_t rng_below(rng_t *r, uint32_t n) {
    return (uint32_t)(((uint64_t)rng_u32(r) * n) >> 32);
}

/* A double in [0, 1). */
static inline double rng_unit(rng_t *r) {
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* The work scale: argv[1] if given (so a size can be tried without
 * rebuilding), otherwise the default the benchmark suite was tuned with.
 * Read at run time, so the compiler cannot fold the work away. */
static inline int scale_arg(int argc, char **argv, int dflt) {
    if (argc > 1) {
        int n = atoi(argv[1]);
        if (n > 0)
            return n;
    }
    return dflt;
}

/* Mixes a value into a running checksum. */
static inline uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static inline void print_checksum(const char *what, uint64_t h) {
    printf("%s: %016" PRIx64 "\n", what, h);
}

#endif
