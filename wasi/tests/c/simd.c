/* Vector kernels whose output does not depend on how they are compiled:
 * built with `-msimd128` the explicit kernels use WebAssembly SIMD
 * intrinsics (and clang auto-vectorises the plain loops), built for the host
 * they run the scalar code below each intrinsic kernel. Every result is
 * exact (integers, or floats computed lane by lane in the same order), so
 * the two builds must print the same lines. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define N 4096

static uint8_t bytes[N];
static int16_t a16[N], b16[N];
static float fa[N], fb[N], fc[N];
static uint32_t u32s[N];

static uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Sum of bytes, auto-vectorised under -O3 -msimd128. */
static uint32_t byte_sum(void) {
    uint32_t s = 0;
    for (int i = 0; i < N; i++) s += bytes[i];
    return s;
}

/* How many bytes equal `c`: a byte-scanning kernel. */
static int count_byte(uint8_t c) {
    int n = 0;
#ifdef __wasm_simd128__
    v128_t needle = wasm_i8x16_splat((int8_t)c);
    for (int i = 0; i < N; i += 16) {
        v128_t eq = wasm_i8x16_eq(wasm_v128_load(bytes + i), needle);
        n += __builtin_popcount(wasm_i8x16_bitmask(eq));
    }
#else
    for (int i = 0; i < N; i++) n += bytes[i] == c;
#endif
    return n;
}

/* Saturating adds, min/max and averages of i16 lanes, folded into a checksum. */
static uint32_t saturating(void) {
    uint32_t h = 2166136261u;
#ifdef __wasm_simd128__
    for (int i = 0; i < N; i += 8) {
        v128_t x = wasm_v128_load(a16 + i), y = wasm_v128_load(b16 + i);
        int16_t out[8 * 4];
        wasm_v128_store(out, wasm_i16x8_add_sat(x, y));
        wasm_v128_store(out + 8, wasm_i16x8_sub_sat(x, y));
        wasm_v128_store(out + 16, wasm_i16x8_max(x, y));
        wasm_v128_store(out + 24, wasm_u16x8_avgr(x, y));
        for (int k = 0; k < 32; k++) h = (h ^ (uint16_t)out[k]) * 16777619u;
    }
#else
    for (int i = 0; i < N; i += 8) {
        int16_t out[8 * 4];
        for (int k = 0; k < 8; k++) {
            int x = a16[i + k], y = b16[i + k];
            int s = x + y, d = x - y;
            out[k] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
            out[8 + k] = d > 32767 ? 32767 : d < -32768 ? -32768 : d;
            out[16 + k] = x > y ? x : y;
            out[24 + k] = (int16_t)(((uint16_t)x + (uint16_t)y + 1) >> 1);
        }
        for (int k = 0; k < 32; k++) h = (h ^ (uint16_t)out[k]) * 16777619u;
    }
#endif
    return h;
}

/* i32x4.dot_i16x8_s, summed. */
static int64_t dot(void) {
    int64_t s = 0;
#ifdef __wasm_simd128__
    for (int i = 0; i < N; i += 8) {
        v128_t d = wasm_i32x4_dot_i16x8(wasm_v128_load(a16 + i), wasm_v128_load(b16 + i));
        s += (int64_t)wasm_i32x4_extract_lane(d, 0) + wasm_i32x4_extract_lane(d, 1) +
             wasm_i32x4_extract_lane(d, 2) + wasm_i32x4_extract_lane(d, 3);
    }
#else
    for (int i = 0; i < N; i += 2) {
        int32_t pair = (int32_t)((uint32_t)(a16[i] * b16[i]) + (uint32_t)(a16[i + 1] * b16[i + 1]));
        s += pair;
    }
#endif
    return s;
}

/* Lane-wise float arithmetic (each lane on its own: same results either way). */
static double floats(void) {
    for (int i = 0; i < N; i++) fc[i] = sqrtf(fa[i] * fb[i] + 1.0f) - fminf(fa[i], fb[i]);
    double s = 0;
    for (int i = 0; i < N; i++) s += fc[i];
    return s;
}

/* Byte shuffles: reverse each 16-byte block, then hash. */
static uint32_t shuffled(void) {
    uint8_t out[N];
#ifdef __wasm_simd128__
    for (int i = 0; i < N; i += 16) {
        v128_t v = wasm_v128_load(bytes + i);
        v128_t r = wasm_i8x16_shuffle(v, v, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        wasm_v128_store(out + i, r);
    }
#else
    for (int i = 0; i < N; i += 16)
        for (int k = 0; k < 16; k++) out[i + k] = bytes[i + 15 - k];
#endif
    uint32_t h = 0;
    for (int i = 0; i < N; i++) h = h * 31 + out[i] * (uint32_t)(i + 1);
    return h;
}

/* Integer multiply-add over u32 lanes (auto-vectorised), and shifts. */
static uint32_t mix(void) {
    uint32_t s = 0;
    for (int i = 0; i < N; i++) u32s[i] = (u32s[i] * 2654435761u) ^ (u32s[i] >> 7);
    for (int i = 0; i < N; i++) s += u32s[i];
    return s;
}

int main(void) {
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        bytes[i] = (uint8_t)(next(&seed) % 7 == 0 ? 'e' : next(&seed));
        a16[i] = (int16_t)next(&seed);
        b16[i] = (int16_t)next(&seed);
        fa[i] = (float)(next(&seed) % 1000) / 7.0f;
        fb[i] = (float)(next(&seed) % 1000) / 13.0f;
        u32s[i] = next(&seed);
    }
    printf("byte sum %u\n", byte_sum());
    printf("count of 'e' %d\n", count_byte('e'));
    printf("saturating %u\n", saturating());
    printf("dot %lld\n", (long long)dot());
    printf("floats %.3f\n", floats());
    printf("shuffled %u\n", shuffled());
    printf("mix %u\n", mix());
    return 0;
}
