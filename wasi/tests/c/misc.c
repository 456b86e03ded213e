// Clocks, sleeping (poll_oneoff), randomness and sched_yield.
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec real, before, after, res;
    if (clock_gettime(CLOCK_REALTIME, &real) != 0 || real.tv_sec < 1600000000) {
        printf("bad realtime\n");
        return 1;
    }
    if (clock_getres(CLOCK_MONOTONIC, &res) != 0 || ns(res) <= 0) {
        printf("bad resolution\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &before);
    struct timespec nap = {0, 20 * 1000 * 1000};
    if (nanosleep(&nap, NULL) != 0) {
        printf("nanosleep failed\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &after);
    long long slept = ns(after) - ns(before);
    printf("slept at least 20ms: %s\n", slept >= 20000000LL ? "yes" : "no");

    unsigned char a[32], b[32];
    if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) {
        printf("getentropy failed\n");
        return 1;
    }
    printf("random differs: %s\n", memcmp(a, b, sizeof a) != 0 ? "yes" : "no");
    printf("sched_yield: %d\n", sched_yield());
    return 0;
}
