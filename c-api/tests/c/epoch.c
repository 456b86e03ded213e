/* Epoch interruption (kiln.h), on each tier: another thread advances the
 * engine's epoch past the store's deadline and an endless loop stops with
 * `interrupt`. */

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <time.h>

#include "common.h"

static void* ticker(void* engine) {
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, NULL);
  kiln_engine_increment_epoch((const wasm_engine_t*)engine);
  return NULL;
}

static void run(const char* path, kiln_strategy_t strategy, const char* name) {
  printf("%s:\n", name);
  wasm_config_t* config = wasm_config_new();
  kiln_config_strategy(config, strategy);
  kiln_config_epoch_interruption(config, true);
  wasm_engine_t* engine = wasm_engine_new_with_config(config);
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, path);
  wasm_instance_t* instance = wasm_instance_new(store, module, NULL, NULL);
  if (!instance) die("cannot instantiate");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_val_vec_t results = WASM_ARRAY_VEC(rs);
  /* A new store's deadline is already reached. */
  wasm_trap_t* trap = wasm_func_call(func_at(&exports, 1), &none, &results);
  printf("quick before a deadline: ");
  if (trap) {
    print_trap("trap", trap);
  } else {
    printf("%d\n", rs[0].of.i32);
  }
  if (!kiln_store_set_epoch_deadline(store, 1)) die("set_epoch_deadline refused");
  trap = wasm_func_call(func_at(&exports, 1), &none, &results);
  printf("quick with a deadline: %s %d\n", trap ? "trap" : "ok", rs[0].of.i32);

  pthread_t thread;
  pthread_create(&thread, NULL, ticker, engine);
  wasm_val_vec_t no_results = WASM_EMPTY_VEC;
  trap = wasm_func_call(func_at(&exports, 0), &none, &no_results);
  pthread_join(thread, NULL);
  kiln_trap_code_t code = 255;
  printf("spin stopped, code is interrupt: %s, ",
         kiln_trap_code(trap, &code) && code == KILN_TRAP_INTERRUPT ? "yes" : "no");
  print_trap("trap", trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: epoch MODULE.wasm");
  run(argv[1], KILN_STRATEGY_INTERPRETER, "interpreter");
  run(argv[1], KILN_STRATEGY_JIT, "jit");
  printf("Done.\n");
  return 0;
}
