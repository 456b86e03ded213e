/* Strings and parsing: generates CSV text of records, then tokenises it
 * line by line, parses integers and fixed-point decimals, counts names in
 * an open-addressing hash table keyed by string, searches for substrings,
 * and formats the records back out as JSON-like text. Byte loads, compares,
 * short loops with unpredictable exits, as in real text processing. */
#include "common.h"
#include <string.h>

#define TEXT_CAP (512 * 1024)
#define RECORDS 8000

static char text[TEXT_CAP];
static char out[2 * TEXT_CAP];

static const char *const syllables[] = {
    "ka", "lo", "mi", "ren", "to", "sa", "vel", "di", "an", "or",
    "bri", "que", "zu", "pel", "ny", "th",
};
static const char *const cities[] = {
    "Aberdeen", "Bergen", "Cordoba", "Dresden", "Eindhoven", "Fukuoka", "Galway", "Hobart",
};

static size_t append(char *dst, size_t at, const char *s) {
    size_t n = strlen(s);
    memcpy(dst + at, s, n);
    return at + n;
}

/* Decimal digits of v, written at dst + at. */
static size_t append_u32(char *dst, size_t at, uint32_t v) {
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        dst[at++] = digits[--n];
    return at;
}

static size_t generate(rng_t *rng) {
    size_t at = append(text, 0, "id,name,city,amount,note\n");
    for (uint32_t id = 0; id < RECORDS; id++) {
        at = append_u32(text, at, id * 7 + 1);
        text[at++] = ',';
        uint32_t parts = 2 + rng_below(rng, 3);
        for (uint32_t p = 0; p < parts; p++)
            at = append(text, at, syllables[rng_below(rng, 16)]);
        text[at++] = ',';
        at = append(text, at, cities[rng_below(rng, 8)]);
        text[at++] = ',';
        if (rng_below(rng, 4) == 0)
            text[at++] = '-';
        at = append_u32(text, at, rng_below(rng, 100000));
        text[at++] = '.';
        uint32_t cents = rng_below(rng, 100);
        text[at++] = (char)('0' + cents / 10);
        text[at++] = (char)('0' + cents % 10);
        text[at++] = ',';
        /* A free-text note of a few words, sometimes quoted with a comma. */
        int quoted = rng_below(rng, 5) == 0;
        if (quoted)
            text[at++] = '"';
        uint32_t words = 1 + rng_below(rng, 6);
        for (uint32_t w = 0; w < words; w++) {
            if (w)
                text[at++] = quoted && w == 1 ? ',' : ' ';
            uint32_t parts = 1 + rng_below(rng, 3);
            for (uint32_t p = 0; p < parts; p++)
                at = append(text, at, syllables[rng_below(rng, 16)]);
        }
        if (quoted)
            text[at++] = '"';
        text[at++] = '\n';
    }
    text[at] = 0;
    return at;
}

/* Interned names with counts: open addressing, linear probing. */
#define TABLE_SIZE 16384
typedef struct {
    const char *key;
    uint32_t len;
    uint32_t count;
} entry_t;
static entry_t table[TABLE_SIZE];
static uint32_t distinct;

static uint32_t hash_str(const char *s, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void count_name(const char *s, uint32_t n) {
    uint32_t i = hash_str(s, n) & (TABLE_SIZE - 1);
    for (;;) {
        entry_t *e = &table[i];
        if (!e->key) {
            e->key = s;
            e->len = n;
            e->count = 1;
            distinct++;
            return;
        }
        if (e->len == n && memcmp(e->key, s, n) == 0) {
            e->count++;
            return;
        }
        i = (i + 1) & (TABLE_SIZE - 1);
    }
}

/* One CSV field starting at *p: handles quotes; returns its start and
 * length and leaves *p after the separator. */
static const char *field(const char **p, uint32_t *len) {
    const char *s = *p;
    if (*s == '"') {
        const char *start = ++s;
        while (*s != '"')
            s++;
        *len = (uint32_t)(s - start);
        s++;
        *p = s + (*s == ',' || *s == '\n');
        return start;
    }
    const char *start = s;
    while (*s != ',' && *s != '\n')
        s++;
    *len = (uint32_t)(s - start);
    *p = s + 1;
    return start;
}

static uint32_t parse_u32(const char *s, uint32_t n) {
    uint32_t v = 0;
    for (uint32_t i = 0; i < n; i++)
        v = v * 10 + (uint32_t)(s[i] - '0');
    return v;
}

/* "-123.45" as -12345 hundredths. */
static int64_t parse_cents(const char *s, uint32_t n) {
    int negative = n > 0 && s[0] == '-';
    int64_t whole = 0;
    uint32_t i = (uint32_t)negative;
    for (; i < n && s[i] != '.'; i++)
        whole = whole * 10 + (s[i] - '0');
    int64_t cents = 0;
    for (i++; i < n; i++)
        cents = cents * 10 + (s[i] - '0');
    int64_t v = whole * 100 + cents;
    return negative ? -v : v;
}

/* The number of (possibly overlapping) occurrences of needle, naively. */
static uint32_t occurrences(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    uint32_t count = 0;
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && hay[i + j] == needle[j])
            j++;
        count += j == m;
    }
    return count;
}

static uint64_t process(size_t len) {
    uint64_t h = 0;
    memset(table, 0, sizeof table);
    distinct = 0;
    const char *p = text;
    while (*p != '\n') /* the header */
        p++;
    p++;
    size_t o = 0;
    int64_t total = 0;
    uint32_t ids = 0, note_chars = 0;
    while (*p) {
        uint32_t n;
        const char *s = field(&p, &n);
        uint32_t id = parse_u32(s, n);
        ids ^= id;
        const char *name = field(&p, &n);
        uint32_t name_len = n;
        count_name(name, name_len);
        const char *city = field(&p, &n);
        uint32_t city_len = n;
        s = field(&p, &n);
        int64_t cents = parse_cents(s, n);
        total += cents;
        s = field(&p, &n);
        note_chars += n;
        /* {"id":7,"name":"...","city":"...","cents":-1234} */
        o = append(out, o, "{\"id\":");
        o = append_u32(out, o, id);
        o = append(out, o, ",\"name\":\"");
        memcpy(out + o, name, name_len);
        o += name_len;
        o = append(out, o, "\",\"city\":\"");
        memcpy(out + o, city, city_len);
        o += city_len;
        o = append(out, o, "\",\"cents\":");
        if (cents < 0)
            out[o++] = '-';
        o = append_u32(out, o, (uint32_t)(cents < 0 ? -cents : cents));
        o = append(out, o, "}\n");
    }
    h = mix(h, (uint64_t)total);
    h = mix(h, ids);
    h = mix(h, note_chars);
    h = mix(h, distinct);
    for (uint32_t i = 0; i < TABLE_SIZE; i++)
        if (table[i].key)
            h = mix(h, (uint64_t)table[i].count * hash_str(table[i].key, table[i].len));
    h = mix(h, hash_str(out, (uint32_t)o));
    h = mix(h, occurrences(text, len, "kalo"));
    h = mix(h, occurrences(out, o, "\"city\":\"Bergen\""));
    return h;
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 12);
    rng_t rng = rng_new(31337);
    uint64_t h = 0;
    for (int round = 0; round < scale; round++) {
        size_t len = generate(&rng);
        h = mix(h, process(len));
        if (round == 0)
            printf("text: %zu bytes, %" PRIu32 " distinct names\n", len, distinct);
    }
    print_checksum("strings", h);
    return 0;
}
