/* Indirect calls: a table of sixteen small functions picked by a generated
 * stream of indices, "objects" with a table of methods (four shapes with
 * area, perimeter and scale), and a callback-driven fold. Each call is a
 * WebAssembly call_indirect with its signature check. */
#include "common.h"

typedef uint32_t (*op_fn)(uint32_t acc, uint32_t x);

static uint32_t op_add(uint32_t a, uint32_t x) { return a + x; }
static uint32_t op_sub(uint32_t a, uint32_t x) { return a - x; }
static uint32_t op_xor(uint32_t a, uint32_t x) { return a ^ x; }
static uint32_t op_mul(uint32_t a, uint32_t x) { return a * (x | 1); }
static uint32_t op_rotl(uint32_t a, uint32_t x) { return (a << (x & 31)) | (a >> ((32 - x) & 31)); }
static uint32_t op_shr(uint32_t a, uint32_t x) { return a ^ (a >> (1 + x % 15)); }
static uint32_t op_or_hi(uint32_t a, uint32_t x) { return a | (x << 16); }
static uint32_t op_and_not(uint32_t a, uint32_t x) { return a & ~(x & 0xff); }
static uint32_t op_min(uint32_t a, uint32_t x) { return a < x ? a : x + 1; }
static uint32_t op_max(uint32_t a, uint32_t x) { return a > x ? a : x - 1; }
static uint32_t op_avg(uint32_t a, uint32_t x) { return (a >> 1) + (x >> 1) + (a & x & 1); }
static uint32_t op_neg(uint32_t a, uint32_t x) { return (0u - a) + x; }
static uint32_t op_swap(uint32_t a, uint32_t x) { return (a >> 16) | (a << 16) | (x & 1); }
static uint32_t op_popc(uint32_t a, uint32_t x) {
    uint32_t v = a ^ x, n = 0;
    while (v) {
        v &= v - 1;
        n++;
    }
    return a + n;
}
static uint32_t op_div(uint32_t a, uint32_t x) { return a / (x % 7 + 1) + x; }
static uint32_t op_mix(uint32_t a, uint32_t x) { return (a ^ x) * 0x9e3779b1u; }

static op_fn const ops[16] = {
    op_add, op_sub, op_xor, op_mul, op_rotl, op_shr, op_or_hi, op_and_not,
    op_min, op_max, op_avg, op_neg, op_swap, op_popc, op_div, op_mix,
};

/* Shapes with integer geometry (coordinates in millimetres) and a method
 * table each, as C++ virtual calls compile. */
typedef struct shape shape_t;
typedef struct {
    uint32_t (*area)(const shape_t *);
    uint32_t (*perimeter)(const shape_t *);
    void (*scale)(shape_t *, uint32_t num, uint32_t den);
} shape_vtable_t;

struct shape {
    const shape_vtable_t *vtable;
    uint32_t a, b, c;
};

static uint32_t rect_area(const shape_t *s) { return s->a * s->b; }
static uint32_t rect_perimeter(const shape_t *s) { return 2 * (s->a + s->b); }
static uint32_t square_area(const shape_t *s) { return s->a * s->a; }
static uint32_t square_perimeter(const shape_t *s) { return 4 * s->a; }
static uint32_t tri_area(const shape_t *s) { return s->a * s->b / 2; }
static uint32_t tri_perimeter(const shape_t *s) { return s->a + s->b + s->c; }
/* A circle of radius a, with pi as 355/113. */
static uint32_t circle_area(const shape_t *s) { return s->a * s->a * 355 / 113; }
static uint32_t circle_perimeter(const shape_t *s) { return 2 * s->a * 355 / 113; }

static void scale_all(shape_t *s, uint32_t num, uint32_t den) {
    s->a = s->a * num / den + 1;
    s->b = s->b * num / den + 1;
    s->c = s->c * num / den + 1;
}
static void scale_first(shape_t *s, uint32_t num, uint32_t den) { s->a = s->a * num / den + 1; }

static const shape_vtable_t shape_vtables[4] = {
    {rect_area, rect_perimeter, scale_all},
    {square_area, square_perimeter, scale_first},
    {tri_area, tri_perimeter, scale_all},
    {circle_area, circle_perimeter, scale_first},
};

#define SHAPES 512
static shape_t shapes[SHAPES];

/* A fold over generated values with the combining function as a
 * parameter, called through a pointer once per element. */
static uint32_t fold(const uint32_t *xs, int32_t n, uint32_t init, op_fn f) {
    uint32_t acc = init;
    for (int32_t i = 0; i < n; i++)
        acc = f(acc, xs[i]);
    return acc;
}

#define STREAM 4096
static uint8_t choices[STREAM];
static uint32_t values[STREAM];

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 10);
    rng_t rng = rng_new(2024);
    for (int32_t i = 0; i < STREAM; i++) {
        choices[i] = (uint8_t)rng_below(&rng, 16);
        values[i] = rng_u32(&rng);
    }
    for (int32_t i = 0; i < SHAPES; i++) {
        shapes[i].vtable = &shape_vtables[rng_below(&rng, 4)];
        shapes[i].a = 1 + rng_below(&rng, 100);
        shapes[i].b = 1 + rng_below(&rng, 100);
        shapes[i].c = 1 + rng_below(&rng, 100);
    }
    uint64_t h = 0;
    for (int round = 0; round < scale; round++) {
        /* Table dispatch. */
        uint32_t acc = (uint32_t)round;
        for (int rep = 0; rep < 200; rep++)
            for (int32_t i = 0; i < STREAM; i++)
                acc = ops[choices[i]](acc, values[i] + (uint32_t)rep);
        h = mix(h, acc);
        /* Method calls. */
        uint64_t total = 0;
        for (int rep = 0; rep < 400; rep++) {
            for (int32_t i = 0; i < SHAPES; i++) {
                shape_t *s = &shapes[i];
                total += s->vtable->area(s) + s->vtable->perimeter(s);
                if (s->a > 1000 || s->b > 1000)
                    s->vtable->scale(s, 1, 3);
                else
                    s->vtable->scale(s, 9, 8);
            }
        }
        h = mix(h, total);
        /* Folds with every function. */
        for (int32_t k = 0; k < 16 * 20; k++)
            h = mix(h, fold(values, STREAM, (uint32_t)k, ops[k % 16]));
    }
    print_checksum("dispatch", h);
    return 0;
}
