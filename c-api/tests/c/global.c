/* Globals: made by the host and imported, exported by the module, read and
 * written from both sides. */

#include "common.h"

static int64_t call_i64(wasm_func_t* f) {
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_EMPTY_VEC;
  wasm_val_vec_t results = WASM_ARRAY_VEC(rs);
  if (wasm_func_call(f, &args, &results)) die("call trapped");
  if (rs[0].kind != WASM_I64) die("not an i64");
  return rs[0].of.i64;
}

static void call_set(wasm_func_t* f, int64_t v) {
  wasm_val_t as[1] = {WASM_I64_VAL(v)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(as);
  wasm_val_vec_t results = WASM_EMPTY_VEC;
  if (wasm_func_call(f, &args, &results)) die("call trapped");
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: global MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  wasm_globaltype_t* const_f32 = wasm_globaltype_new(wasm_valtype_new_f32(), WASM_CONST);
  wasm_globaltype_t* var_i64 = wasm_globaltype_new(wasm_valtype_new_i64(), WASM_VAR);
  wasm_val_t one = WASM_F32_VAL(1.5f);
  wasm_val_t two = WASM_I64_VAL(2);
  wasm_global_t* g_f32 = wasm_global_new(store, const_f32, &one);
  wasm_global_t* g_i64 = wasm_global_new(store, var_i64, &two);
  /* A value of the wrong type is refused. */
  printf("i64 value for an f32 global: %s\n",
         wasm_global_new(store, const_f32, &two) ? "accepted" : "refused");
  wasm_globaltype_delete(const_f32);
  wasm_globaltype_delete(var_i64);

  wasm_extern_t* externs[] = {wasm_global_as_extern(g_f32), wasm_global_as_extern(g_i64)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) die("cannot instantiate");

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_global_t* e_f32 = wasm_extern_as_global(exports.data[0]);
  wasm_global_t* e_i64 = wasm_extern_as_global(exports.data[1]);
  if (!e_f32 || !e_i64) die("exports are not globals");

  wasm_globaltype_t* t = wasm_global_type(e_i64);
  printf("exported i64: kind %d, mutability %s\n", wasm_valtype_kind(wasm_globaltype_content(t)),
         wasm_globaltype_mutability(t) == WASM_VAR ? "var" : "const");
  wasm_globaltype_delete(t);

  wasm_val_t v;
  wasm_global_get(e_f32, &v);
  printf("exported f32 = %.1f\n", v.of.f32);
  wasm_global_get(g_f32, &v);
  printf("imported f32 = %.1f\n", v.of.f32);

  wasm_func_t* get_imported = func_at(&exports, 3);
  wasm_func_t* get_exported = func_at(&exports, 4);
  printf("imported i64 via wasm = %lld\n", (long long)call_i64(get_imported));
  printf("exported i64 via wasm = %lld\n", (long long)call_i64(get_exported));

  wasm_val_t nine = WASM_I64_VAL(9);
  wasm_global_set(g_i64, &nine);
  printf("after host set, imported i64 via wasm = %lld\n", (long long)call_i64(get_imported));
  call_set(func_at(&exports, 6), 11);
  wasm_global_get(e_i64, &v);
  printf("after wasm set, exported i64 via host = %lld\n", (long long)v.of.i64);
  call_set(func_at(&exports, 5), 13);
  wasm_global_get(g_i64, &v);
  printf("after wasm set, imported i64 via host = %lld\n", (long long)v.of.i64);

  wasm_val_t f = WASM_F32_VAL(3.0f);
  printf("setting a const global: %s\n", kiln_global_set(e_f32, &f) ? "set" : "refused");
  printf("setting an i64 global to an f32: %s\n", kiln_global_set(e_i64, &f) ? "set" : "refused");
  wasm_global_get(e_f32, &v);
  printf("exported f32 still = %.1f\n", v.of.f32);

  wasm_global_delete(g_f32);
  wasm_global_delete(g_i64);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
