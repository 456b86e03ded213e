/* A real library: zstd, compiled from the source the zstd-sys crate ships
 * (build.sh says where it comes from). Compresses a few MB of generated
 * log-like text at level 3, decompresses it, checks the round trip, and
 * changes a few bytes for the next round. Hashing and match finding, Huffman
 * and FSE coding, literal and match copies: library code as written for
 * speed, vectorised only where clang finds loops to vectorise. */
#include "common.h"
#include <string.h>
#include "zstd.h"

#define DATA_SIZE (4 * 1024 * 1024)
#define LEVEL 3

static const char *const words[] = {
    "GET", "PUT", "POST", "/api/v1/items", "/api/v1/users", "/static/app.js", "200", "404",
    "500", "ok", "timeout", "cache", "hit", "miss", "user", "session", "kiln", "engine",
};

/* Lines of words and numbers, a tenth of them followed by a run of random
 * letters: compressible about four to one, as logs are. */
static void generate(uint8_t *p, size_t n, rng_t *rng) {
    size_t at = 0;
    uint32_t time = 1000000;
    while (at < n) {
        char line[160];
        int len = 0;
        time += rng_below(rng, 50);
        for (uint32_t v = time; v; v /= 10)
            line[len++] = (char)('0' + v % 10);
        uint32_t count = 3 + rng_below(rng, 6);
        for (uint32_t w = 0; w < count; w++) {
            const char *s = words[rng_below(rng, sizeof words / sizeof *words)];
            line[len++] = ' ';
            while (*s)
                line[len++] = *s++;
        }
        if (rng_below(rng, 10) == 0) {
            line[len++] = ' ';
            uint32_t letters = 8 + rng_below(rng, 24);
            for (uint32_t i = 0; i < letters; i++)
                line[len++] = (char)('a' + rng_below(rng, 26));
        }
        line[len++] = '\n';
        for (int i = 0; i < len && at < n; i++)
            p[at++] = (uint8_t)line[i];
    }
}

/* FNV-1a over 8-byte words: a cheap checksum of a buffer. */
static uint64_t checksum(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 6);
    rng_t rng = rng_new(0x7a737464); /* "zstd" */
    size_t bound = ZSTD_compressBound(DATA_SIZE);
    uint8_t *data = malloc(DATA_SIZE);
    uint8_t *compressed = malloc(bound);
    uint8_t *restored = malloc(DATA_SIZE);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!data || !compressed || !restored || !cctx || !dctx) {
        printf("out of memory\n");
        return 1;
    }
    generate(data, DATA_SIZE, &rng);
    uint64_t h = 0;
    size_t size = 0;
    for (int round = 0; round < scale; round++) {
        size = ZSTD_compressCCtx(cctx, compressed, bound, data, DATA_SIZE, LEVEL);
        if (ZSTD_isError(size)) {
            printf("compression failed: %s\n", ZSTD_getErrorName(size));
            return 1;
        }
        size_t back = ZSTD_decompressDCtx(dctx, restored, DATA_SIZE, compressed, size);
        if (ZSTD_isError(back) || back != DATA_SIZE || memcmp(restored, data, DATA_SIZE) != 0) {
            printf("round %d: the round trip lost data\n", round);
            return 1;
        }
        h = mix(h, size);
        h = mix(h, checksum(compressed, size));
        /* A few changed bytes, so that no round repeats the last. */
        for (int k = 0; k < 16; k++)
            data[rng_below(&rng, DATA_SIZE)] = (uint8_t)('a' + rng_below(&rng, 26));
    }
    printf("%d bytes to %zu at level %d\n", DATA_SIZE, size, LEVEL);
    print_checksum("zstd", h);
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
    free(data);
    free(compressed);
    free(restored);
    return 0;
}
