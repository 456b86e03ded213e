/* Saved compiled modules: wasm_module_serialize's bytes load in another
 * store with wasm_module_deserialize and run; damaged or truncated bytes,
 * bytes for another configuration, and an interpreter engine's module are
 * refused (NULL, or an empty vector). */

#include <string.h>

#include "common.h"

static int call_fib(wasm_store_t* store, wasm_module_t* module, int n) {
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) die("cannot instantiate");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_val_t arg[1] = {WASM_I32_VAL(n)};
  wasm_val_t res[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = WASM_ARRAY_VEC(arg);
  wasm_val_vec_t r = WASM_ARRAY_VEC(res);
  wasm_trap_t* trap = wasm_func_call(func_at(&exports, 0), &a, &r);
  if (trap) die("fib trapped");
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  return res[0].of.i32;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: serialize MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_byte_vec_t saved;
  wasm_module_serialize(module, &saved);
  printf("saved: %s\n", saved.size > 100 ? "some bytes" : "too few bytes");
  wasm_module_delete(module);

  wasm_store_t* other = wasm_store_new(engine);
  wasm_module_t* loaded = wasm_module_deserialize(other, &saved);
  if (!loaded) die("cannot load the saved module");
  printf("fib(20) from the loaded module: %d\n", call_fib(other, loaded, 20));
  wasm_module_delete(loaded);

  wasm_byte_vec_t damaged;
  wasm_byte_vec_copy(&damaged, &saved);
  damaged.data[damaged.size / 2] ^= 1;
  printf("damaged: %s\n", wasm_module_deserialize(other, &damaged) ? "loaded" : "refused");
  damaged.size -= 1;
  printf("truncated: %s\n", wasm_module_deserialize(other, &damaged) ? "loaded" : "refused");
  damaged.size += 1;
  wasm_byte_vec_delete(&damaged);
  printf("NULL bytes: %s\n", wasm_module_deserialize(other, NULL) ? "loaded" : "refused");

  /* Another configuration (fuel on) refuses them; an interpreter saves nothing. */
  wasm_config_t* config = wasm_config_new();
  kiln_config_consume_fuel(config, true);
  wasm_engine_t* fueled = wasm_engine_new_with_config(config);
  wasm_store_t* fueled_store = wasm_store_new(fueled);
  printf("fuel engine: %s\n", wasm_module_deserialize(fueled_store, &saved) ? "loaded" : "refused");
  wasm_config_t* interp_config = wasm_config_new();
  kiln_config_strategy(interp_config, KILN_STRATEGY_INTERPRETER);
  wasm_engine_t* interp = wasm_engine_new_with_config(interp_config);
  wasm_store_t* interp_store = wasm_store_new(interp);
  wasm_module_t* interp_module = load_module(interp_store, argv[1]);
  wasm_byte_vec_t nothing;
  wasm_module_serialize(interp_module, &nothing);
  printf("interpreter saves: %zu bytes\n", nothing.size);
  wasm_byte_vec_delete(&nothing);
  wasm_module_delete(interp_module);

  wasm_byte_vec_delete(&saved);
  wasm_store_delete(interp_store);
  wasm_engine_delete(interp);
  wasm_store_delete(fueled_store);
  wasm_engine_delete(fueled);
  wasm_store_delete(other);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
