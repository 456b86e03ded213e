/* Host references: foreign objects with host info, passed to WebAssembly as
 * externref through calls, a global and a table, and recognised when they
 * come back. */

#include "common.h"

static void finalize(void* info) {
  printf("> finalized host info %d\n", *(int*)info);
}

/* The host info of a reference that should be a foreign object. */
static int info_of(wasm_ref_t* r) {
  if (!r) return -1;
  wasm_foreign_t* f = wasm_ref_as_foreign(r);
  if (!f) return -2;
  void* info = wasm_foreign_get_host_info(f);
  return info ? *(int*)info : 0;
}

static wasm_ref_t* call_ref(wasm_func_t* func, wasm_val_t* args, size_t nargs) {
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = {nargs, args};
  wasm_val_vec_t r = WASM_ARRAY_VEC(rs);
  wasm_trap_t* trap = wasm_func_call(func, &a, &r);
  if (trap) die("call trapped");
  if (rs[0].kind != WASM_EXTERNREF) die("not an externref");
  return rs[0].of.ref;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: hostref MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_instance_t* instance = wasm_instance_new(store, module, NULL, NULL);
  if (!instance) die("cannot instantiate");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_global_t* global = wasm_extern_as_global(exports.data[0]);
  wasm_table_t* table = wasm_extern_as_table(exports.data[1]);
  wasm_func_t* global_set = func_at(&exports, 2);
  wasm_func_t* global_get = func_at(&exports, 3);
  wasm_func_t* table_set = func_at(&exports, 4);
  wasm_func_t* table_get = func_at(&exports, 5);
  wasm_func_t* identity = func_at(&exports, 6);
  wasm_func_t* is_null = func_at(&exports, 7);

  static int one = 1, two = 2, three = 3;
  wasm_foreign_t* f1 = wasm_foreign_new(store);
  wasm_foreign_t* f2 = wasm_foreign_new(store);
  printf("new foreign has host info: %s\n", wasm_foreign_get_host_info(f1) ? "yes" : "no");
  wasm_foreign_set_host_info_with_finalizer(f1, &three, finalize);
  wasm_foreign_set_host_info_with_finalizer(f1, &one, finalize); /* finalizes 3 */
  wasm_foreign_set_host_info_with_finalizer(f2, &two, finalize);
  printf("f1 and f2 are the same: %s\n", wasm_foreign_same(f1, f2) ? "yes" : "no");

  wasm_val_t arg = {.kind = WASM_EXTERNREF, .of = {.ref = wasm_foreign_as_ref(f1)}};
  wasm_ref_t* back = call_ref(identity, &arg, 1);
  printf("identity(f1): host info %d, same reference: %s\n", info_of(back),
         wasm_ref_same(back, wasm_foreign_as_ref(f1)) ? "yes" : "no");
  wasm_ref_delete(back);

  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t r = WASM_ARRAY_VEC(rs);
  wasm_val_t null_arg = WASM_REF_VAL(NULL);
  wasm_val_vec_t a = {1, &null_arg};
  if (wasm_func_call(is_null, &a, &r)) die("is_null trapped");
  printf("is_null(null) = %d\n", rs[0].of.i32);
  a.data = &arg;
  if (wasm_func_call(is_null, &a, &r)) die("is_null trapped");
  printf("is_null(f1) = %d\n", rs[0].of.i32);

  /* Through the global: set by WebAssembly, read by the host, and back. */
  back = call_ref(global_get, NULL, 0);
  printf("global starts null: %s\n", back ? "no" : "yes");
  wasm_val_t f2_arg = {.kind = WASM_EXTERNREF, .of = {.ref = wasm_foreign_as_ref(f2)}};
  wasm_val_vec_t ga = {1, &f2_arg};
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  if (wasm_func_call(global_set, &ga, &none)) die("global.set trapped");
  wasm_val_t v;
  wasm_global_get(global, &v);
  printf("global after global.set(f2): host info %d\n", info_of(v.of.ref));
  wasm_val_delete(&v);
  wasm_global_set(global, &arg);
  back = call_ref(global_get, NULL, 0);
  printf("global.get after the host set f1: host info %d\n", info_of(back));
  wasm_ref_delete(back);

  /* Through the table. */
  printf("table.set by the host: %s\n", wasm_table_set(table, 0, wasm_foreign_as_ref(f2)) ? "ok" : "refused");
  wasm_val_t idx0 = WASM_I32_VAL(0);
  back = call_ref(table_get, &idx0, 1);
  printf("table.get(0): host info %d\n", info_of(back));
  wasm_ref_delete(back);
  wasm_val_t ts[2] = {WASM_I32_VAL(1), arg};
  wasm_val_vec_t ta = WASM_ARRAY_VEC(ts);
  if (wasm_func_call(table_set, &ta, &none)) die("table.set trapped");
  back = wasm_table_get(table, 1);
  printf("table slot 1 after table.set(1, f1): host info %d\n", info_of(back));
  wasm_ref_delete(back);
  printf("a function reference as a foreign object: %s\n",
         wasm_ref_as_foreign(wasm_func_as_ref(identity)) ? "yes" : "no");

  wasm_foreign_delete(f1);
  wasm_foreign_delete(f2);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  printf("deleting the store\n");
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
