/* Floating point: the Mandelbrot set on a grid, escape-time iteration with
 * double-precision multiply and add and a data-dependent loop exit. The
 * checksum covers every point's iteration count. */
#include "common.h"

#define MAX_ITER 200

int main(int argc, char **argv) {
    int size = scale_arg(argc, argv, 1000);
    uint64_t h = 0;
    uint32_t inside = 0;
    for (int py = 0; py < size; py++) {
        double ci = -1.25 + 2.5 * py / size;
        uint32_t row = 0;
        for (int px = 0; px < size; px++) {
            double cr = -2.1 + 2.8 * px / size;
            double zr = 0, zi = 0, zr2 = 0, zi2 = 0;
            int iter = 0;
            while (iter < MAX_ITER && zr2 + zi2 <= 4.0) {
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                zr2 = zr * zr;
                zi2 = zi * zi;
                iter++;
            }
            inside += iter == MAX_ITER;
            row = row * 31 + (uint32_t)iter;
        }
        h = mix(h, row);
    }
    printf("points inside: %" PRIu32 "\n", inside);
    print_checksum("mandelbrot", h);
    return 0;
}
