/* Matrix multiply: double-precision products of square matrices, naive
 * i-k-j order and cache-blocked, plus a 32-bit integer product. Nested
 * loops of loads, multiplies and adds over row-major arrays. */
#include "common.h"
#include <string.h>

#define N 96
#define BLOCK 16

static double a[N][N], b[N][N], c[N][N], d[N][N];
static int32_t ia[N][N], ib[N][N], ic[N][N];

static void matmul_ikj(double (*x)[N], double (*y)[N], double (*z)[N]) {
    memset(z, 0, sizeof(double) * N * N);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++) {
            double xik = x[i][k];
            for (int j = 0; j < N; j++)
                z[i][j] += xik * y[k][j];
        }
}

static void matmul_blocked(double (*x)[N], double (*y)[N], double (*z)[N]) {
    memset(z, 0, sizeof(double) * N * N);
    for (int ii = 0; ii < N; ii += BLOCK)
        for (int kk = 0; kk < N; kk += BLOCK)
            for (int jj = 0; jj < N; jj += BLOCK)
                for (int i = ii; i < ii + BLOCK; i++)
                    for (int k = kk; k < kk + BLOCK; k++) {
                        double xik = x[i][k];
                        for (int j = jj; j < jj + BLOCK; j++)
                            z[i][j] += xik * y[k][j];
                    }
}

static void matmul_int(int32_t (*x)[N], int32_t (*y)[N], int32_t (*z)[N]) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            uint32_t sum = 0;
            for (int k = 0; k < N; k++)
                sum += (uint32_t)x[i][k] * (uint32_t)y[k][j];
            z[i][j] = (int32_t)sum;
        }
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 32);
    rng_t rng = rng_new(5);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = rng_unit(&rng) - 0.5;
            b[i][j] = rng_unit(&rng) - 0.5;
            ia[i][j] = (int32_t)rng_below(&rng, 2001) - 1000;
            ib[i][j] = (int32_t)rng_below(&rng, 2001) - 1000;
        }
    uint64_t h = 0;
    double trace = 0;
    for (int round = 0; round < scale; round++) {
        matmul_ikj(a, b, c);
        matmul_blocked(a, b, d);
        /* Both orders add the same terms in the same order per element. */
        if (memcmp(c, d, sizeof c) != 0) {
            printf("blocked and naive products differ\n");
            return 1;
        }
        /* Feed the product back in, divided by its largest magnitude so
         * that the values stay bounded however many rounds run. */
        double largest = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double v = c[i][j] < 0 ? -c[i][j] : c[i][j];
                largest = v > largest ? v : largest;
            }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                a[i][j] = c[i][j] / largest + (i == j ? 0.5 : 0.0);
        matmul_int(ia, ib, ic);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                ia[i][j] = (ic[i][j] >> 12) % 1000;
        trace = 0;
        for (int i = 0; i < N; i++) {
            trace += c[i][i];
            h = mix(h, (uint32_t)ic[i][i]);
        }
    }
    printf("trace: %.9f\n", trace);
    print_checksum("matmul", h);
    return 0;
}
