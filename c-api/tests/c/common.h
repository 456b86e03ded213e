/* Helpers shared by the C API test programs: loading the module the test
 * harness wrote next to the program, and failing loudly. */

#ifndef KILN_TEST_COMMON_H
#define KILN_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "kiln.h"
#include "wasm.h"

/* Prints `msg` to stderr and exits with status 1. */
static inline void die(const char* msg) {
  fprintf(stderr, "error: %s\n", msg);
  exit(1);
}

/* Reads the binary module at `path` and compiles it in `store`. */
static inline wasm_module_t* load_module(wasm_store_t* store, const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) die("cannot open the module");
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  wasm_byte_vec_t binary;
  wasm_byte_vec_new_uninitialized(&binary, (size_t)size);
  if (fread(binary.data, 1, (size_t)size, f) != (size_t)size) die("cannot read the module");
  fclose(f);
  if (!wasm_module_validate(store, &binary)) die("the module is not valid");
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) die("cannot compile the module");
  return module;
}

/* Prints "`what`: <message>" and frees the trap. */
static inline void print_trap(const char* what, wasm_trap_t* trap) {
  wasm_message_t msg;
  wasm_trap_message(trap, &msg);
  printf("%s: %s\n", what, msg.data);
  wasm_byte_vec_delete(&msg);
  wasm_trap_delete(trap);
}

/* Export `i` as a function, or exit. */
static inline wasm_func_t* func_at(const wasm_extern_vec_t* exports, size_t i) {
  if (i >= exports->size) die("missing export");
  wasm_func_t* f = wasm_extern_as_func(exports->data[i]);
  if (!f) die("export is not a function");
  return f;
}

#endif
