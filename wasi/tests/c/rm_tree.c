// Fills the directory argv[1]/many with 200 long-named files, then removes
// them while reading the directory (as `rm -r` does), and the directory.
// The listing spans several fd_readdir calls, so their cookies must survive
// the removals. Prints how many it removed and how many were left.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        return 2;
    }
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/many", argv[1]);
    if (mkdir(dir, 0755) != 0) {
        printf("mkdir: %s\n", strerror(errno));
        return 1;
    }
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof path, "%s/a_file_with_a_fairly_long_name_number_%03d", dir, i);
        FILE *f = fopen(path, "w");
        if (f == NULL || fclose(f) != 0) {
            printf("create: %s\n", strerror(errno));
            return 1;
        }
    }
    DIR *d = opendir(dir);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0) {
            printf("unlink %s: %s\n", e->d_name, strerror(errno));
            return 1;
        }
        removed++;
    }
    closedir(d);
    int left = 0;
    d = opendir(dir);
    while ((e = readdir(d)) != NULL) {
        left += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    printf("removed %d, left %d\n", removed, left);
    if (rmdir(dir) != 0) {
        printf("rmdir: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
