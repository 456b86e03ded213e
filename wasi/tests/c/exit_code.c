// Exits with status 3 through exit(), after buffered output.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("exiting with 3\n");
    exit(3);
}
