/* Memory copies and byte loops: memcpy, memmove and memset of many sizes
 * and alignments (as the C library implements them for the target), a byte
 * histogram, an in-place byte reversal, a run-length scan and Adler-32.
 * Load and store bound, mostly single bytes. */
#include "common.h"
#include <string.h>

#define BUF_SIZE (128 * 1024)

static uint8_t src[BUF_SIZE];
static uint8_t dst[BUF_SIZE];

static uint32_t adler32(const uint8_t *p, size_t n) {
    uint32_t a = 1, b = 0;
    while (n > 0) {
        size_t chunk = n < 5552 ? n : 5552;
        n -= chunk;
        while (chunk--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return (b << 16) | a;
}

static uint64_t histogram(const uint8_t *p, size_t n) {
    uint32_t counts[256] = {0};
    for (size_t i = 0; i < n; i++)
        counts[p[i]]++;
    uint64_t h = 0;
    for (int i = 0; i < 256; i++)
        h = h * 1000003 + counts[i];
    return h;
}

static void reverse(uint8_t *p, size_t n) {
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        uint8_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

/* The number of maximal runs of equal bytes. */
static uint32_t runs(const uint8_t *p, size_t n) {
    uint32_t count = 1;
    for (size_t i = 1; i < n; i++)
        count += p[i] != p[i - 1];
    return count;
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 60);
    rng_t rng = rng_new(7);
    /* Bytes with long runs, so that runs() and the histogram see structure. */
    for (size_t i = 0; i < BUF_SIZE;) {
        uint8_t byte = (uint8_t)rng_below(&rng, 64);
        size_t len = 1 + rng_below(&rng, 12);
        while (len-- && i < BUF_SIZE)
            src[i++] = byte;
    }
    uint64_t h = 0;
    for (int round = 0; round < scale; round++) {
        /* Copies of every size from 1 to 512 bytes at scattered offsets. */
        for (int k = 0; k < 4000; k++) {
            size_t len = 1 + rng_below(&rng, 512);
            size_t from = rng_below(&rng, BUF_SIZE - (uint32_t)len);
            size_t to = rng_below(&rng, BUF_SIZE - (uint32_t)len);
            memcpy(dst + to, src + from, len);
        }
        /* Large copies, overlapping moves and fills. */
        memcpy(dst, src, BUF_SIZE / 2);
        memmove(dst + 3, dst, BUF_SIZE / 2);
        memmove(dst + BUF_SIZE / 4, dst + BUF_SIZE / 4 + 17, BUF_SIZE / 2);
        for (int k = 0; k < 400; k++) {
            size_t len = 1 + rng_below(&rng, 2048);
            size_t at = rng_below(&rng, BUF_SIZE - (uint32_t)len);
            memset(dst + at, (int)rng_below(&rng, 256), len);
        }
        h = mix(h, histogram(dst, BUF_SIZE));
        reverse(dst, BUF_SIZE);
        h = mix(h, runs(dst, BUF_SIZE));
        h = mix(h, adler32(dst, BUF_SIZE));
        /* A byte-at-a-time transform back into the source. */
        for (size_t i = 0; i < BUF_SIZE; i++)
            src[i] = (uint8_t)((src[i] + dst[i]) & 63);
        h = mix(h, adler32(src, BUF_SIZE));
    }
    print_checksum("memops", h);
    return 0;
}
