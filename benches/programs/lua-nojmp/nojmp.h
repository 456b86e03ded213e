/* Included (-include) before every Lua source and lua.c by build.sh and the
 * native build, so that Lua builds for wasm32-wasi. Its libc has no
 * setjmp/longjmp, with which Lua raises and catches errors, so here an error
 * aborts the program instead (the benchmark's script raises none; protected
 * calls still run their body), and setjmp.h beside this header is empty. It
 * has no signals either: the hook flags Lua would make sig_atomic_t are
 * plain ints (no signal handler sets them here). And the string hash seed is
 * fixed, so that tables iterate in the same order on every run and target. */
#include <stdlib.h>

#define LUAI_THROW(L, c) abort()
#define LUAI_TRY(L, c, a) \
    { a }
#define luai_jmpbuf int
#define l_signalT int
#define luai_makeseed(L) 0u
