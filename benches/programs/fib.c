/* Recursion and calls: doubly recursive Fibonacci, Ackermann and Takeuchi.
 * Almost nothing but call, return, compare and add, so it measures the cost
 * of a direct call and of a function's entry and exit. Recursion stays a few
 * hundred frames deep, well inside every engine's call-depth limit. */
#include "common.h"

static uint32_t fib(uint32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint32_t ackermann(uint32_t m, uint32_t n) {
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static int32_t tak(int32_t x, int32_t y, int32_t z) {
    if (y >= x)
        return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 100);
    uint64_t h = 0;
    for (int round = 0; round < scale; round++) {
        /* Arguments depend on `round`, so none is a compile-time constant;
         * Ackermann's recursion stays under 700 frames (wasmi allows 1000). */
        h = mix(h, fib(24 + (uint32_t)(round % 3)));
        h = mix(h, ackermann(2, 300 + (uint32_t)(round % 40)));
        h = mix(h, ackermann(3, 5 + (uint32_t)(round % 2)));
        h = mix(h, (uint64_t)tak(18 + round % 2, 12, 6));
    }
    printf("fib(26) = %" PRIu32 "\n", fib(26));
    print_checksum("fib", h);
    return 0;
}
