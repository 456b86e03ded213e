// Tries to leave the directory granted as fd 3 (named argv[1]) in every way
// it can think of, through wasi-libc and through the raw WASI calls; prints
// one line per attempt with the errno it got. Exits 0 only if every attempt
// failed and the controls (files inside) succeeded.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static int escaped = 0;

// A libc call that must fail: `result` is its return value (< 0 or NULL-ish
// mapped to -1 by the caller).
static void libc_attempt(const char *what, int result) {
    if (result >= 0) {
        printf("ESCAPED libc %s\n", what);
        escaped = 1;
    } else {
        printf("libc %s: %s\n", what, strerror(errno));
    }
}

// A raw WASI call that must fail: prints the WASI errno it returned.
static void raw_attempt(const char *what, __wasi_errno_t err) {
    if (err == 0) {
        printf("ESCAPED raw %s\n", what);
        escaped = 1;
    } else {
        printf("raw %s: errno %d\n", what, err);
    }
}

static __wasi_errno_t raw_open(const char *path) {
    __wasi_fd_t fd;
    return __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0,
                            __WASI_RIGHTS_FD_READ, 0, 0, &fd);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: escape DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[512];
    struct stat st;

    // Controls: the granted directory works.
    snprintf(path, sizeof path, "%s/inside.txt", dir);
    int fd = open(path, O_RDONLY);
    char buf[16] = {0};
    if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0) {
        printf("control failed: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    printf("control read: %s", buf);
    __wasi_errno_t control = raw_open("inside.txt");
    printf("control raw open: errno %d\n", control);
    if (control != 0) {
        return 1;
    }

    snprintf(path, sizeof path, "%s/../secret", dir);
    libc_attempt("open DIR/../secret", open(path, O_RDONLY));
    libc_attempt("open /etc/passwd", open("/etc/passwd", O_RDONLY));
    snprintf(path, sizeof path, "%s/link_out", dir);
    libc_attempt("open DIR/link_out", open(path, O_RDONLY));
    snprintf(path, sizeof path, "%s/chain1", dir);
    libc_attempt("open DIR/chain1", open(path, O_RDONLY));
    snprintf(path, sizeof path, "%s/abs_link", dir);
    libc_attempt("stat DIR/abs_link/passwd", stat(strcat(path, "/passwd"), &st));

    raw_attempt("open ../secret", raw_open("../secret"));
    raw_attempt("open /etc/passwd", raw_open("/etc/passwd"));
    raw_attempt("open sub/../../secret", raw_open("sub/../../secret"));
    raw_attempt("open link_out", raw_open("link_out"));
    raw_attempt("open chain1", raw_open("chain1"));
    raw_attempt("open abs_link/passwd", raw_open("abs_link/passwd"));
    __wasi_filestat_t fst;
    raw_attempt("stat link_out",
                __wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link_out", &fst));
    raw_attempt("mkdir ../made", __wasi_path_create_directory(3, "../made"));
    raw_attempt("unlink ../secret", __wasi_path_unlink_file(3, "../secret"));
    raw_attempt("rename inside.txt to ../moved", __wasi_path_rename(3, "inside.txt", 3, "../moved"));
    raw_attempt("symlink evil -> ../secret", __wasi_path_symlink("../secret", 3, "evil"));
    raw_attempt("symlink evil -> /etc/passwd", __wasi_path_symlink("/etc/passwd", 3, "evil"));

    printf(escaped ? "ESCAPED\n" : "all blocked\n");
    return escaped;
}
