// Prints to stdout and stderr: the smallest WASI program.
#include <stdio.h>

int main(void) {
    printf("hello, world\n");
    fprintf(stderr, "hello, stderr\n");
    return 0;
}
