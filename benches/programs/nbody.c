/* Floating point: a gravitational n-body simulation (semi-implicit Euler
 * steps) of a heavy central body and a few generated
 * orbiters. Double-precision multiply, add, divide and sqrt in nested loops
 * over small arrays of structs. Prints the energy before and after. */
#include "common.h"
#include <math.h>

#define BODIES 9
#define DT 0.001

typedef struct {
    double x, y, z, vx, vy, vz, mass;
} body_t;

static body_t bodies[BODIES];

/* A central mass of 1000 at rest and orbiters on near-circular orbits with
 * generated radii, inclinations and masses; total momentum is zeroed by the
 * central body. */
static void setup(void) {
    rng_t rng = rng_new(42);
    bodies[0] = (body_t){0, 0, 0, 0, 0, 0, 1000.0};
    double px = 0, py = 0, pz = 0;
    for (int i = 1; i < BODIES; i++) {
        double r = 5.0 + 40.0 * rng_unit(&rng);
        /* The cosine and sine of a generated angle from the rational
         * parametrisation of the circle (t = tan(angle / 2)), so that no
         * libm trigonometry is needed. */
        double t = 2.0 * rng_unit(&rng) - 1.0;
        double c = (1 - t * t) / (1 + t * t), s = 2 * t / (1 + t * t);
        double v = sqrt(1000.0 / r);
        double tilt = 0.05 * (rng_unit(&rng) - 0.5);
        body_t *b = &bodies[i];
        b->x = r * c;
        b->y = r * s;
        b->z = r * tilt;
        b->vx = -v * s;
        b->vy = v * c;
        b->vz = v * tilt * 0.1;
        b->mass = 0.01 + rng_unit(&rng);
        px += b->vx * b->mass;
        py += b->vy * b->mass;
        pz += b->vz * b->mass;
    }
    bodies[0].vx = -px / bodies[0].mass;
    bodies[0].vy = -py / bodies[0].mass;
    bodies[0].vz = -pz / bodies[0].mass;
}

static void advance(int steps) {
    for (int step = 0; step < steps; step++) {
        for (int i = 0; i < BODIES; i++) {
            body_t *a = &bodies[i];
            for (int j = i + 1; j < BODIES; j++) {
                body_t *b = &bodies[j];
                double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = DT / (d2 * sqrt(d2));
                a->vx -= dx * b->mass * mag;
                a->vy -= dy * b->mass * mag;
                a->vz -= dz * b->mass * mag;
                b->vx += dx * a->mass * mag;
                b->vy += dy * a->mass * mag;
                b->vz += dz * a->mass * mag;
            }
        }
        for (int i = 0; i < BODIES; i++) {
            body_t *b = &bodies[i];
            b->x += DT * b->vx;
            b->y += DT * b->vy;
            b->z += DT * b->vz;
        }
    }
}

static double energy(void) {
    double e = 0;
    for (int i = 0; i < BODIES; i++) {
        body_t *a = &bodies[i];
        e += 0.5 * a->mass * (a->vx * a->vx + a->vy * a->vy + a->vz * a->vz);
        for (int j = i + 1; j < BODIES; j++) {
            body_t *b = &bodies[j];
            double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
            e -= a->mass * b->mass / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

int main(int argc, char **argv) {
    int steps = scale_arg(argc, argv, 200000);
    setup();
    printf("energy before: %.9f\n", energy());
    advance(steps);
    printf("energy after: %.9f\n", energy());
    uint64_t h = 0;
    for (int i = 0; i < BODIES; i++) {
        /* The positions' bits, rounded to 1e-6 so the checksum reads as a
         * number rather than as the last ulp. */
        h = mix(h, (uint64_t)(int64_t)(bodies[i].x * 1e6));
        h = mix(h, (uint64_t)(int64_t)(bodies[i].y * 1e6));
        h = mix(h, (uint64_t)(int64_t)(bodies[i].z * 1e6));
    }
    print_checksum("nbody", h);
    return 0;
}
