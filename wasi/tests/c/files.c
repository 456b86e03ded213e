// A file round trip in the directory named by argv[1]: mkdir, write, read
// back, append, pread/pwrite, seek, stat, readdir, rename, unlink, rmdir.
// Prints one line per step; on the first failure prints why and exits 1.
// Leaves `kept.txt` behind for the host to check.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path_buf[4][512];

// The path `dir/name`, in one of four rotating buffers.
static const char *at(const char *dir, const char *name) {
    static int next;
    char *p = path_buf[next++ % 4];
    snprintf(p, sizeof path_buf[0], "%s/%s", dir, name);
    return p;
}

#define CHECK(cond, what)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("FAIL %s: %s\n", what, strerror(errno));                \
            return 1;                                                      \
        }                                                                  \
        printf("ok %s\n", what);                                           \
    } while (0)

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: files DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    struct stat st;

    CHECK(mkdir(at(dir, "sub"), 0755) == 0, "mkdir sub");
    CHECK(stat(at(dir, "sub"), &st) == 0 && S_ISDIR(st.st_mode), "stat sub is a directory");

    FILE *f = fopen(at(dir, "sub/a.txt"), "w");
    CHECK(f != NULL, "create sub/a.txt");
    CHECK(fputs("hello file\n", f) >= 0 && fclose(f) == 0, "write sub/a.txt");

    char line[64] = {0};
    f = fopen(at(dir, "sub/a.txt"), "r");
    CHECK(f != NULL && fgets(line, sizeof line, f) != NULL, "read sub/a.txt");
    fclose(f);
    CHECK(strcmp(line, "hello file\n") == 0, "contents match");

    f = fopen(at(dir, "sub/a.txt"), "a");
    CHECK(f != NULL && fputs("more\n", f) >= 0 && fclose(f) == 0, "append");
    CHECK(stat(at(dir, "sub/a.txt"), &st) == 0 && st.st_size == 16, "size after append is 16");

    int fd = open(at(dir, "sub/a.txt"), O_RDWR);
    CHECK(fd >= 0, "open O_RDWR");
    CHECK(pwrite(fd, "J", 1, 0) == 1, "pwrite at 0");
    char two[3] = {0};
    CHECK(pread(fd, two, 2, 0) == 2 && strcmp(two, "Je") == 0, "pread sees the pwrite");
    CHECK(lseek(fd, 0, SEEK_END) == 16, "seek to end");
    CHECK(lseek(fd, -5, SEEK_CUR) == 11, "seek back 5");
    char tail[6] = {0};
    CHECK(read(fd, tail, 5) == 5 && strcmp(tail, "more\n") == 0, "read the appended line");
    CHECK(ftruncate(fd, 4) == 0 && fstat(fd, &st) == 0 && st.st_size == 4, "ftruncate to 4");
    CHECK(close(fd) == 0, "close");

    CHECK(rename(at(dir, "sub/a.txt"), at(dir, "sub/b.txt")) == 0, "rename a.txt to b.txt");
    CHECK(stat(at(dir, "sub/a.txt"), &st) != 0 && errno == ENOENT, "a.txt is gone");
    f = fopen(at(dir, "sub/c.txt"), "w");
    CHECK(f != NULL && fclose(f) == 0, "create sub/c.txt");

    DIR *d = opendir(at(dir, "sub"));
    CHECK(d != NULL, "opendir sub");
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 16) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (int i = 0; i < n; i++) {
        printf("entry %s\n", names[i]);
        free(names[i]);
    }

    CHECK(rmdir(at(dir, "sub")) != 0 && errno == ENOTEMPTY, "rmdir refuses a non-empty directory");
    CHECK(unlink(at(dir, "sub/b.txt")) == 0, "unlink b.txt");
    CHECK(unlink(at(dir, "sub/c.txt")) == 0, "unlink c.txt");
    CHECK(rmdir(at(dir, "sub")) == 0, "rmdir sub");
    CHECK(stat(at(dir, "sub"), &st) != 0 && errno == ENOENT, "sub is gone");

    f = fopen(at(dir, "kept.txt"), "w");
    CHECK(f != NULL && fputs("from the guest\n", f) >= 0 && fclose(f) == 0, "write kept.txt");
    printf("files done\n");
    return 0;
}
