/* Sorting pseudo-random integers: a quicksort (median of
 * three, insertion sort below a cutoff), a top-down merge sort and a heap
 * sort, each checked for order. Compares, swaps, indexed loads and stores,
 * recursion and unpredictable branches. */
#include "common.h"
#include <string.h>

#define N 60000

static uint32_t input[N];
static uint32_t work[N];
static uint32_t scratch[N];

static void insertion_sort(uint32_t *a, int32_t n) {
    for (int32_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        int32_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap(uint32_t *a, uint32_t *b) {
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

static void quick_sort(uint32_t *a, int32_t n) {
    while (n > 16) {
        int32_t mid = n / 2;
        if (a[mid] < a[0])
            swap(&a[mid], &a[0]);
        if (a[n - 1] < a[0])
            swap(&a[n - 1], &a[0]);
        if (a[n - 1] < a[mid])
            swap(&a[n - 1], &a[mid]);
        uint32_t pivot = a[mid];
        int32_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            swap(&a[i], &a[j]);
            i++;
            j--;
        }
        /* Recurse into the smaller side, loop on the larger. */
        int32_t left = j + 1;
        if (left < n - left) {
            quick_sort(a, left);
            a += left;
            n -= left;
        } else {
            quick_sort(a + left, n - left);
            n = left;
        }
    }
    insertion_sort(a, n);
}

static void merge_sort(uint32_t *a, uint32_t *tmp, int32_t n) {
    if (n <= 24) {
        insertion_sort(a, n);
        return;
    }
    int32_t half = n / 2;
    merge_sort(a, tmp, half);
    merge_sort(a + half, tmp, n - half);
    int32_t i = 0, j = half, k = 0;
    while (i < half && j < n)
        tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < half)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

static void sift_down(uint32_t *a, int32_t root, int32_t n) {
    for (;;) {
        int32_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[root] >= a[child])
            return;
        swap(&a[root], &a[child]);
        root = child;
    }
}

static void heap_sort(uint32_t *a, int32_t n) {
    for (int32_t i = n / 2 - 1; i >= 0; i--)
        sift_down(a, i, n);
    for (int32_t end = n - 1; end > 0; end--) {
        swap(&a[0], &a[end]);
        sift_down(a, 0, end);
    }
}

/* The position-weighted sum of a sorted array, or a loud failure. */
static uint64_t check(const uint32_t *a, int32_t n, const char *name) {
    uint64_t h = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i]) {
            printf("%s: not sorted at %" PRId32 "\n", name, i);
            exit(1);
        }
        h += (uint64_t)a[i] * (uint64_t)(i + 1);
    }
    return h;
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 6);
    rng_t rng = rng_new(99);
    uint64_t h = 0;
    for (int round = 0; round < scale; round++) {
        /* Alternate between all-distinct-ish values and many duplicates. */
        uint32_t range = round % 2 ? 1000 : 0xffffffffu;
        for (int32_t i = 0; i < N; i++)
            input[i] = rng_below(&rng, range);
        memcpy(work, input, sizeof work);
        quick_sort(work, N);
        h = mix(h, check(work, N, "quick_sort"));
        memcpy(work, input, sizeof work);
        merge_sort(work, scratch, N);
        h = mix(h, check(work, N, "merge_sort"));
        memcpy(work, input, sizeof work);
        heap_sort(work, N);
        h = mix(h, check(work, N, "heap_sort"));
    }
    print_checksum("sort", h);
    return 0;
}
