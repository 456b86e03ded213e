/* Integer hashing over generated data: FNV-1a (32 and 64 bit), a four-lane
 * multiply-rotate hash in the style of xxHash, a 64-bit finaliser applied to
 * every word, and a table-driven CRC-32. Byte and word loads, multiplies,
 * rotates and xors in tight loops. */
#include "common.h"
#include <string.h>

#define DATA_SIZE (256 * 1024)

static uint8_t data[DATA_SIZE];
static uint32_t crc_table[256];

static uint32_t fnv1a32(const uint8_t *p, size_t n) {
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Four independent lanes over 16-byte stripes, then a tail and an avalanche,
 * with the usual odd 32-bit multipliers. */
#define M1 0x9e3779b1u
#define M2 0x85ebca77u
#define M3 0xc2b2ae3du
#define M4 0x27d4eb2fu
#define M5 0x165667b1u

static uint32_t lanes_hash(const uint8_t *p, size_t n, uint32_t seed) {
    const uint8_t *end = p + n;
    uint32_t h;
    if (n >= 16) {
        /* The lanes as an array, updated by one loop, so that clang's SLP
         * vectoriser makes the stripe one i32x4 operation (-msimd128). */
        uint32_t lane[4] = {seed + M1 + M2, seed + M2, seed, seed - M1};
        const uint8_t *limit = end - 16;
        do {
            for (int l = 0; l < 4; l++)
                lane[l] = rotl32(lane[l] + load32(p + 4 * l) * M2, 13) * M1;
            p += 16;
        } while (p <= limit);
        h = rotl32(lane[0], 1) + rotl32(lane[1], 7) + rotl32(lane[2], 12) + rotl32(lane[3], 18);
    } else {
        h = seed + M5;
    }
    h += (uint32_t)n;
    while (p + 4 <= end) {
        h = rotl32(h + load32(p) * M3, 17) * M4;
        p += 4;
    }
    while (p < end) {
        h = rotl32(h + *p * M5, 11) * M1;
        p++;
    }
    h ^= h >> 15;
    h *= M2;
    h ^= h >> 13;
    h *= M3;
    h ^= h >> 16;
    return h;
}

static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

/* The words' finalised values are independent of each other; only the
 * chain through h is serial. So a block of them is finalised first, in a
 * loop clang vectorises (i64x2 with -msimd128), then chained. */
#define WORDS_BLOCK 64

static uint64_t words_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0;
    uint64_t mixed[WORDS_BLOCK];
    for (size_t i = 0; i + 8 <= n;) {
        size_t words = (n - i) / 8 < WORDS_BLOCK ? (n - i) / 8 : WORDS_BLOCK;
        for (size_t k = 0; k < words; k++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * k, 8);
            mixed[k] = fmix64(w + i + 8 * k);
        }
        for (size_t k = 0; k < words; k++)
            h = (h ^ mixed[k]) * 0x9e3779b97f4a7c15ull;
        i += 8 * words;
    }
    return h;
}

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 100);
    rng_t rng = rng_new(0x1234);
    for (size_t i = 0; i < DATA_SIZE; i += 8) {
        uint64_t v = rng_next(&rng);
        memcpy(data + i, &v, 8);
    }
    crc_init();
    uint64_t h = 0;
    for (int round = 0; round < scale; round++) {
        h = mix(h, fnv1a32(data, DATA_SIZE));
        h = mix(h, fnv1a64(data, DATA_SIZE));
        /* Many short keys as well as one long one. */
        for (size_t off = 0; off + 64 <= DATA_SIZE; off += 64)
            h = mix(h, lanes_hash(data + off, 1 + (off / 64) % 64, (uint32_t)round));
        h = mix(h, lanes_hash(data, DATA_SIZE, (uint32_t)round));
        h = mix(h, words_hash(data, DATA_SIZE));
        h = mix(h, crc32(data, DATA_SIZE));
        /* Change the data so no round repeats the last. */
        data[(uint32_t)h % DATA_SIZE] ^= (uint8_t)(h >> 8);
    }
    print_checksum("hash", h);
    return 0;
}
