/* A real library: SQLite, compiled from the amalgamation the libsqlite3-sys
 * crate ships (build.sh says where it comes from and with which options).
 * Builds an in-memory database of customers and orders from generated data
 * in one transaction, indexes it, then runs joins, aggregates, sorts, a
 * window function, point and range lookups through prepared statements,
 * updates and deletes: the parser, the query planner, the VDBE, B-tree
 * pages and the pager's cache, as an application uses them. Every result
 * row is hashed; only integers and text are compared, never floating point.
 *
 * SQLite is built with SQLITE_OS_OTHER, so it has no operating-system layer
 * of its own: the VFS below is the least an in-memory database needs (it
 * opens no file, and its time and randomness are fixed). */
#include "common.h"
#include <string.h>
#include "sqlite3.h"

static const char *const items[] = {
    "anvil", "bellows", "brick", "chisel", "crucible", "glaze", "kiln shelf", "ladle",
    "mould", "pestle", "slip", "tongs", "trivet", "wedge",
};
#define ITEMS ((int)(sizeof items / sizeof *items))
#define REGIONS 12

/* --- The VFS: no files, a fixed clock, zero "randomness". --- */

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                    int *out_flags) {
    (void)vfs, (void)name, (void)flags, (void)out_flags;
    file->pMethods = 0;
    return SQLITE_CANTOPEN;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs, (void)name, (void)sync_dir;
    return SQLITE_IOERR_DELETE;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs, (void)name, (void)flags;
    *out = 0;
    return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    (void)vfs;
    sqlite3_snprintf(n, out, "%s", name);
    return SQLITE_OK;
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    memset(out, 0, (size_t)n);
    return n;
}

static int vfs_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return microseconds;
}

/* Noon, 1 January 2026, as a Julian day. */
static int vfs_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    *out = 2461042.0;
    return SQLITE_OK;
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    if (n > 0)
        out[0] = 0;
    return 0;
}

static sqlite3_vfs memory_vfs = {
    .iVersion = 1,
    .szOsFile = sizeof(sqlite3_file),
    .mxPathname = 256,
    .zName = "kiln-memory",
    .xOpen = vfs_open,
    .xDelete = vfs_delete,
    .xAccess = vfs_access,
    .xFullPathname = vfs_full_pathname,
    .xRandomness = vfs_randomness,
    .xSleep = vfs_sleep,
    .xCurrentTime = vfs_current_time,
    .xGetLastError = vfs_last_error,
};

/* What SQLITE_OS_OTHER asks the application for. */
int sqlite3_os_init(void) { return sqlite3_vfs_register(&memory_vfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

/* --- The workload. --- */

static sqlite3 *db;
static uint64_t hash;
static uint64_t rows_seen;

static void fail(const char *what) {
    printf("%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

/* FNV-1a of a column's text, mixed into the running hash. */
static void hash_text(const unsigned char *s, int n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    hash = mix(hash, h);
}

/* Steps `stmt` to its end, hashing every row; returns the number of rows. */
static int hash_rows(sqlite3_stmt *stmt) {
    int rows = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int columns = sqlite3_column_count(stmt);
        for (int c = 0; c < columns; c++) {
            const unsigned char *text = sqlite3_column_text(stmt, c);
            hash_text(text ? text : (const unsigned char *)"NULL", sqlite3_column_bytes(stmt, c));
        }
        rows++;
    }
    if (rc != SQLITE_DONE)
        fail("step");
    rows_seen += (uint64_t)rows;
    return rows;
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, 0) != SQLITE_OK)
        fail(sql);
    return stmt;
}

/* Runs `sql` (one statement), hashing its rows; returns how many. */
static int query(const char *sql) {
    sqlite3_stmt *stmt = prepare(sql);
    int rows = hash_rows(stmt);
    sqlite3_finalize(stmt);
    return rows;
}

static void exec(const char *sql) {
    if (sqlite3_exec(db, sql, 0, 0, 0) != SQLITE_OK)
        fail(sql);
}

/* The single integer `sql` yields. */
static int64_t scalar(const char *sql) {
    sqlite3_stmt *stmt = prepare(sql);
    if (sqlite3_step(stmt) != SQLITE_ROW)
        fail(sql);
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/* A pronounceable name of 5 to 12 letters. */
static int make_name(char *out, rng_t *rng) {
    static const char consonants[] = "bcdfghjklmnprstvz";
    static const char vowels[] = "aeiou";
    int len = 5 + (int)rng_below(rng, 8);
    for (int i = 0; i < len; i++)
        out[i] = i % 2 ? vowels[rng_below(rng, 5)] : consonants[rng_below(rng, 17)];
    out[0] = (char)(out[0] - 'a' + 'A');
    out[len] = 0;
    return len;
}

static void populate(int customers, int orders, int days, rng_t *rng) {
    exec("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
         " region INTEGER NOT NULL, score INTEGER NOT NULL)");
    exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL"
         " REFERENCES customer(id), item TEXT NOT NULL, qty INTEGER NOT NULL,"
         " price INTEGER NOT NULL, day INTEGER NOT NULL, note TEXT)");
    exec("BEGIN");
    sqlite3_stmt *add = prepare("INSERT INTO customer VALUES (?1, ?2, ?3, ?4)");
    for (int i = 1; i <= customers; i++) {
        char name[16];
        int len = make_name(name, rng);
        sqlite3_bind_int(add, 1, i);
        sqlite3_bind_text(add, 2, name, len, SQLITE_TRANSIENT);
        sqlite3_bind_int(add, 3, (int)rng_below(rng, REGIONS));
        sqlite3_bind_int(add, 4, (int)rng_below(rng, 1000));
        if (sqlite3_step(add) != SQLITE_DONE)
            fail("insert customer");
        sqlite3_reset(add);
    }
    sqlite3_finalize(add);
    add = prepare("INSERT INTO orders (customer, item, qty, price, day, note)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    for (int i = 0; i < orders; i++) {
        /* A skewed choice of customer: some order far more than others. */
        uint32_t a = rng_below(rng, (uint32_t)customers), b = rng_below(rng, (uint32_t)customers);
        sqlite3_bind_int(add, 1, (int)(a < b ? a : b) + 1);
        sqlite3_bind_text(add, 2, items[rng_below(rng, ITEMS)], -1, SQLITE_STATIC);
        sqlite3_bind_int(add, 3, (int)rng_below(rng, 20));
        sqlite3_bind_int(add, 4, 100 + (int)rng_below(rng, 99900));
        sqlite3_bind_int(add, 5, (int)rng_below(rng, (uint32_t)days));
        if (rng_below(rng, 4) == 0) {
            char note[16];
            int len = make_name(note, rng);
            sqlite3_bind_text(add, 6, note, len, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(add, 6);
        }
        if (sqlite3_step(add) != SQLITE_DONE)
            fail("insert order");
        sqlite3_reset(add);
    }
    sqlite3_finalize(add);
    exec("COMMIT");
    exec("CREATE INDEX orders_customer ON orders (customer)");
    exec("CREATE INDEX orders_day ON orders (day, item)");
    exec("CREATE INDEX customer_region ON customer (region, score)");
}

/* Reports over the whole database: joins, grouping, sorting, a window. */
static void reports(void) {
    query("SELECT c.region, count(*), sum(o.qty * o.price), max(o.price)"
          " FROM orders o JOIN customer c ON c.id = o.customer"
          " GROUP BY c.region ORDER BY c.region");
    query("SELECT c.id, c.name, sum(o.qty * o.price) AS total, count(*)"
          " FROM customer c JOIN orders o ON o.customer = c.id"
          " GROUP BY c.id ORDER BY total DESC, c.id LIMIT 20");
    query("SELECT item, count(*), sum(qty), min(price), max(price), count(note)"
          " FROM orders GROUP BY item ORDER BY item");
    query("SELECT day / 30 AS month, item, sum(qty) FROM orders"
          " GROUP BY month, item HAVING sum(qty) > 100 ORDER BY month, sum(qty) DESC, item");
    query("SELECT id, name, region, score FROM ("
          "  SELECT id, name, region, score,"
          "   rank() OVER (PARTITION BY region ORDER BY score DESC, id) AS r FROM customer)"
          " WHERE r <= 3 ORDER BY region, r");
    query("SELECT upper(substr(name, 1, 3)) AS prefix, count(*), sum(length(name))"
          " FROM customer WHERE name LIKE '%a%e%' GROUP BY prefix ORDER BY count(*) DESC, prefix"
          " LIMIT 25");
    query("SELECT count(*) FROM customer WHERE id NOT IN (SELECT customer FROM orders)");
    query("SELECT o.note, c.name FROM orders o JOIN customer c ON c.id = o.customer"
          " WHERE o.note IS NOT NULL AND o.note > c.name ORDER BY o.note, o.id LIMIT 50");
}

/* Many small indexed lookups through prepared statements, as an
 * application's request handlers would make them. */
static void lookups(int customers, int days, int count, rng_t *rng) {
    sqlite3_stmt *by_customer = prepare("SELECT count(*), sum(qty), max(day) FROM orders"
                                        " WHERE customer = ?1");
    sqlite3_stmt *by_days = prepare("SELECT id, item, qty FROM orders WHERE day BETWEEN ?1 AND ?2"
                                    " AND item = ?3 ORDER BY qty DESC, id LIMIT 5");
    sqlite3_stmt *by_region = prepare("SELECT name FROM customer WHERE region = ?1 AND score > ?2"
                                      " ORDER BY score, id LIMIT 3");
    for (int i = 0; i < count; i++) {
        sqlite3_bind_int(by_customer, 1, 1 + (int)rng_below(rng, (uint32_t)customers));
        hash_rows(by_customer);
        sqlite3_reset(by_customer);
        int day = (int)rng_below(rng, (uint32_t)days);
        sqlite3_bind_int(by_days, 1, day);
        sqlite3_bind_int(by_days, 2, day + 5);
        sqlite3_bind_text(by_days, 3, items[rng_below(rng, ITEMS)], -1, SQLITE_STATIC);
        hash_rows(by_days);
        sqlite3_reset(by_days);
        sqlite3_bind_int(by_region, 1, (int)rng_below(rng, REGIONS));
        sqlite3_bind_int(by_region, 2, (int)rng_below(rng, 1000));
        hash_rows(by_region);
        sqlite3_reset(by_region);
    }
    sqlite3_finalize(by_customer);
    sqlite3_finalize(by_days);
    sqlite3_finalize(by_region);
}

/* Price changes, loyalty points and a clear-out, each in a transaction. */
static void changes(int round) {
    char sql[256];
    exec("BEGIN");
    snprintf(sql, sizeof sql,
             "UPDATE orders SET price = price * 105 / 100 WHERE item IN ('%s', '%s') AND day %% 7 = %d",
             items[round % ITEMS], items[(round * 5 + 3) % ITEMS], round % 7);
    exec(sql);
    snprintf(sql, sizeof sql,
             "UPDATE customer SET score = score + (SELECT count(*) FROM orders"
             " WHERE orders.customer = customer.id AND orders.qty > 15) WHERE region = %d",
             round % REGIONS);
    exec(sql);
    snprintf(sql, sizeof sql, "DELETE FROM orders WHERE qty = 0 AND day %% 10 = %d", round % 10);
    exec(sql);
    exec("COMMIT");
}

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 3);
    rng_t rng = rng_new(0x73716c697465); /* "sqlite" */
    /* The days grow with the orders, so that a day's orders (what a range
     * lookup reads) stay as many at every scale. */
    int customers = 1000 * scale, orders = 10000 * scale, days = 100 * scale;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        fail("open");
    populate(customers, orders, days, &rng);
    for (int round = 0; round < 3; round++) {
        reports();
        lookups(customers, days, 500 * scale, &rng);
        changes(round);
    }
    int64_t left = scalar("SELECT count(*) FROM orders");
    int64_t value = scalar("SELECT sum(qty * price) FROM orders");
    int64_t score = scalar("SELECT sum(score) FROM customer");
    printf("%d customers, %d orders (%" PRId64 " left, worth %" PRId64 "), score %" PRId64
           ", %" PRIu64 " result rows\n",
           customers, orders, left, value, score, rows_seen);
    print_checksum("sqlite", hash);
    sqlite3_close(db);
    return 0;
}
