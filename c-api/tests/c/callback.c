/* Host functions: one printing its argument, one with an environment (and
 * a finalizer), and one calling back into the same store from inside the
 * callback. */

#include "common.h"

static wasm_trap_t* print_callback(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  printf("> print(%d)\n", args->data[0].of.i32);
  wasm_val_copy(&results->data[0], &args->data[0]);
  return NULL;
}

static wasm_trap_t* closure_callback(void* env, const wasm_val_vec_t* args,
                                     wasm_val_vec_t* results) {
  (void)args;
  int i = *(int*)env;
  printf("> closure(env = %d)\n", i);
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = i;
  return NULL;
}

static void finalize(void* env) {
  printf("> finalized env %d\n", *(int*)env);
}

/* Calls the function in `env` (the module's `double`) twice, re-entering the
 * store while WebAssembly is running. */
static wasm_trap_t* twice_callback(void* env, const wasm_val_vec_t* args,
                                   wasm_val_vec_t* results) {
  wasm_func_t* dbl = *(wasm_func_t**)env;
  wasm_val_t arg[1] = {WASM_I32_VAL(args->data[0].of.i32)};
  wasm_val_t res[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = WASM_ARRAY_VEC(arg);
  wasm_val_vec_t r = WASM_ARRAY_VEC(res);
  for (int i = 0; i < 2; i++) {
    wasm_trap_t* trap = wasm_func_call(dbl, &a, &r);
    if (trap) return trap;
    printf("> twice: step %d gives %d\n", i + 1, r.data[0].of.i32);
    a.data[0].of.i32 = r.data[0].of.i32;
  }
  results->data[0] = r.data[0];
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: callback MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  wasm_functype_t* i_i = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_functype_t* v_i = wasm_functype_new_0_1(wasm_valtype_new_i32());
  wasm_func_t* print = wasm_func_new(store, i_i, print_callback);
  static int forty_two = 42;
  wasm_func_t* closure = wasm_func_new_with_env(store, v_i, closure_callback, &forty_two, finalize);
  static wasm_func_t* dbl = NULL;
  wasm_func_t* twice = wasm_func_new_with_env(store, i_i, twice_callback, &dbl, NULL);
  wasm_functype_delete(i_i);
  wasm_functype_delete(v_i);

  wasm_extern_t* externs[] = {wasm_func_as_extern(print), wasm_func_as_extern(closure),
                              wasm_func_as_extern(twice)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  if (!instance) die("cannot instantiate");
  wasm_func_delete(print);
  wasm_func_delete(closure);
  wasm_func_delete(twice);

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* run = func_at(&exports, 0);
  dbl = func_at(&exports, 1);

  wasm_val_t as[2] = {WASM_I32_VAL(3), WASM_I32_VAL(4)};
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(as);
  wasm_val_vec_t results = WASM_ARRAY_VEC(rs);
  trap = wasm_func_call(run, &args, &results);
  if (trap) die("run trapped");
  printf("run(3, 4) = %d\n", rs[0].of.i32);

  wasm_val_t qa[1] = {WASM_I32_VAL(5)};
  wasm_val_vec_t qargs = WASM_ARRAY_VEC(qa);
  trap = wasm_func_call(func_at(&exports, 2), &qargs, &results);
  if (trap) die("quad trapped");
  printf("quad(5) = %d\n", rs[0].of.i32);

  /* The callback's own type, read back from the function. */
  wasm_functype_t* ty = wasm_func_type(run);
  printf("run has %zu params and %zu results\n", wasm_functype_params(ty)->size,
         wasm_functype_results(ty)->size);
  wasm_functype_delete(ty);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  printf("deleting the store\n");
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
