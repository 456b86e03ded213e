/* Multiple values: a host function with four parameters and four results
 * (returned reversed), called through the module, and a module function
 * returning two values. */

#include <inttypes.h>

#include "common.h"

static wasm_trap_t* reverse(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  printf("> f(%d, %" PRId64 ", %" PRId64 ", %d)\n", args->data[0].of.i32, args->data[1].of.i64,
         args->data[2].of.i64, args->data[3].of.i32);
  for (size_t i = 0; i < 4; i++) wasm_val_copy(&results->data[i], &args->data[3 - i]);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: multi MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  wasm_valtype_t* ps[4] = {wasm_valtype_new_i32(), wasm_valtype_new_i64(),
                           wasm_valtype_new_i64(), wasm_valtype_new_i32()};
  wasm_valtype_t* rs[4] = {wasm_valtype_new_i32(), wasm_valtype_new_i64(),
                           wasm_valtype_new_i64(), wasm_valtype_new_i32()};
  wasm_valtype_vec_t params, results_t;
  wasm_valtype_vec_new(&params, 4, ps);
  wasm_valtype_vec_new(&results_t, 4, rs);
  wasm_functype_t* ty = wasm_functype_new(&params, &results_t);
  wasm_func_t* f = wasm_func_new(store, ty, reverse);
  wasm_functype_delete(ty);

  wasm_extern_t* externs[] = {wasm_func_as_extern(f)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) die("cannot instantiate");
  wasm_func_delete(f);

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t as[4] = {WASM_I32_VAL(1), WASM_I64_VAL(2), WASM_I64_VAL(3), WASM_I32_VAL(4)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(as);
  wasm_val_vec_t results;
  wasm_val_vec_new_uninitialized(&results, 4);
  if (wasm_func_call(func_at(&exports, 0), &args, &results)) die("g trapped");
  printf("g: %d %" PRId64 " %" PRId64 " %d\n", results.data[0].of.i32, results.data[1].of.i64,
         results.data[2].of.i64, results.data[3].of.i32);
  printf("result kinds: %d %d %d %d\n", results.data[0].kind, results.data[1].kind,
         results.data[2].kind, results.data[3].kind);
  wasm_val_vec_delete(&results);

  wasm_val_t sa[2] = {WASM_I64_VAL(-5), WASM_F64_VAL(2.25)};
  wasm_val_vec_t sargs = WASM_ARRAY_VEC(sa);
  wasm_val_t sr[2] = {WASM_INIT_VAL, WASM_INIT_VAL};
  wasm_val_vec_t sresults = WASM_ARRAY_VEC(sr);
  if (wasm_func_call(func_at(&exports, 1), &sargs, &sresults)) die("swap trapped");
  printf("swap: %.2f %" PRId64 "\n", sr[0].of.f64, sr[1].of.i64);

  /* Too few result slots are refused with a trap. */
  wasm_val_vec_t one = {1, sr};
  wasm_trap_t* trap = wasm_func_call(func_at(&exports, 1), &sargs, &one);
  if (!trap) die("one slot for two results was accepted");
  print_trap("one result slot", trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
