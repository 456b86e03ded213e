/* Tables: an exported funcref table read, written and grown by the host,
 * holding module functions and a host function, called through
 * call_indirect; and a table made by the host. */

#include "common.h"

static wasm_func_t* call_indirect_f;

static void check_call(int32_t arg, int32_t index) {
  wasm_val_t as[2] = {WASM_I32_VAL(arg), WASM_I32_VAL(index)};
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(as);
  wasm_val_vec_t results = WASM_ARRAY_VEC(rs);
  wasm_trap_t* trap = wasm_func_call(call_indirect_f, &args, &results);
  printf("call_indirect(%d, %d) ", arg, index);
  if (trap) {
    print_trap("traps", trap);
  } else {
    printf("= %d\n", rs[0].of.i32);
  }
}

static wasm_trap_t* plus_one(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = args->data[0].of.i32 + 1;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: table MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_instance_t* instance = wasm_instance_new(store, module, NULL, NULL);
  if (!instance) die("cannot instantiate");

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_table_t* table = wasm_extern_as_table(exports.data[0]);
  if (!table) die("export 0 is not a table");
  call_indirect_f = func_at(&exports, 1);
  wasm_func_t* f = func_at(&exports, 2);
  wasm_func_t* g = func_at(&exports, 3);

  wasm_tabletype_t* tt = wasm_table_type(table);
  printf("element kind %d, limits %u..%u\n", wasm_valtype_kind(wasm_tabletype_element(tt)),
         wasm_tabletype_limits(tt)->min, wasm_tabletype_limits(tt)->max);
  wasm_tabletype_delete(tt);

  printf("size: %u\n", wasm_table_size(table));
  wasm_ref_t* r0 = wasm_table_get(table, 0);
  wasm_ref_t* r1 = wasm_table_get(table, 1);
  printf("slot 0 is %s, slot 1 is %s\n", r0 ? "set" : "null", r1 ? "set" : "null");
  printf("slot 1 is f: %s\n", wasm_func_same(wasm_ref_as_func(r1), f) ? "yes" : "no");
  printf("slot 2 (past the end) is %s\n", wasm_table_get(table, 2) ? "set" : "null");
  wasm_ref_delete(r0);
  wasm_ref_delete(r1);

  check_call(7, 1);
  check_call(7, 0);
  check_call(7, 2);

  printf("set slot 0 to g: %s\n", wasm_table_set(table, 0, wasm_func_as_ref(g)) ? "ok" : "refused");
  check_call(7, 0);
  printf("set slot 0 to null: %s\n", wasm_table_set(table, 0, NULL) ? "ok" : "refused");
  check_call(7, 0);
  printf("set slot 2: %s\n", wasm_table_set(table, 2, wasm_func_as_ref(g)) ? "ok" : "refused");

  wasm_functype_t* i_i = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* h = wasm_func_new(store, i_i, plus_one);
  wasm_functype_delete(i_i);
  printf("grow by 3 with the host function: %s\n",
         wasm_table_grow(table, 3, wasm_func_as_ref(h)) ? "ok" : "refused");
  printf("size: %u\n", wasm_table_size(table));
  check_call(5, 4);
  printf("grow by 6 past the maximum: %s\n", wasm_table_grow(table, 6, NULL) ? "ok" : "refused");
  printf("size: %u\n", wasm_table_size(table));

  wasm_limits_t limits = {3, wasm_limits_max_default};
  wasm_tabletype_t* t = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
  wasm_table_t* host_table = wasm_table_new(store, t, wasm_func_as_ref(h));
  wasm_tabletype_delete(t);
  if (!host_table) die("cannot make a table");
  wasm_ref_t* hr = wasm_table_get(host_table, 2);
  printf("host table size %u, slot 2 is the host function: %s\n", wasm_table_size(host_table),
         wasm_func_same(wasm_ref_as_func(hr), h) ? "yes" : "no");
  wasm_ref_delete(hr);
  wasm_limits_t bad = {1, 1};
  printf("i32 table type: %s\n",
         wasm_tabletype_new(wasm_valtype_new_i32(), &bad) ? "made" : "refused");
  wasm_table_delete(host_table);
  wasm_func_delete(h);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
