/* Empty: it stands in for the setjmp.h wasm32-wasi's libc lacks, which
 * Lua's ldo.c includes though nojmp.h leaves it nothing to use. */
