/* Start functions: a start function runs during wasm_instance_new, calling
 * the host; when it traps, instantiation fails with its trap (reported
 * through the out-pointer when there is one), and when it returns, its
 * effects are visible in the new instance. */

#include "common.h"

static wasm_trap_t* log_callback(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)results;
  printf("> start function running, count %d\n", args->data[0].of.i32);
  return NULL;
}

static wasm_instance_t* instantiate(wasm_store_t* store, wasm_module_t* module, wasm_func_t* log,
                                    int fail, wasm_trap_t** trap) {
  wasm_globaltype_t* t = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_CONST);
  wasm_val_t v = WASM_I32_VAL(fail);
  wasm_global_t* g = wasm_global_new(store, t, &v);
  wasm_globaltype_delete(t);
  wasm_extern_t* externs[] = {wasm_func_as_extern(log), wasm_global_as_extern(g)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, trap);
  wasm_global_delete(g);
  return instance;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: start MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  wasm_functype_t* i_v = wasm_functype_new_1_0(wasm_valtype_new_i32());
  wasm_func_t* log = wasm_func_new(store, i_v, log_callback);
  wasm_functype_delete(i_v);

  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = instantiate(store, module, log, 1, &trap);
  printf("failing start: instance %s\n", instance ? "made" : "not made");
  if (!trap) die("no trap from the start function");
  kiln_trap_code_t code;
  printf("trap code: %d\n", kiln_trap_code(trap, &code) ? code : -1);
  print_trap("start trap", trap);

  instance = instantiate(store, module, log, 1, NULL);
  printf("failing start, no trap pointer: instance %s\n", instance ? "made" : "not made");

  trap = (wasm_trap_t*)1; /* overwritten with NULL on success */
  instance = instantiate(store, module, log, 0, &trap);
  printf("succeeding start: instance %s, trap %s\n", instance ? "made" : "not made",
         trap ? "set" : "NULL");
  if (!instance) die("no instance");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_val_t count;
  wasm_global_get(wasm_extern_as_global(exports.data[0]), &count);
  printf("count after start: %d\n", count.of.i32);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(log);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
