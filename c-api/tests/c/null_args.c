/* Bad arguments: NULL pointers, vectors with NULL data and a nonzero size,
 * wrong numbers and kinds of values, objects of another store. Each is
 * refused (NULL, false, 0, an empty vector or a trap), never a crash. */

#include "common.h"

static int failures = 0;

static void check(const char* what, bool ok) {
  printf("%s: %s\n", what, ok ? "refused" : "ACCEPTED");
  if (!ok) failures++;
}

static bool traps(wasm_trap_t* trap, const char* expected) {
  if (!trap) return false;
  wasm_message_t msg;
  wasm_trap_message(trap, &msg);
  bool same = strcmp(msg.data, expected) == 0;
  if (!same) printf("  (message: %s)\n", msg.data);
  wasm_byte_vec_delete(&msg);
  wasm_trap_delete(trap);
  return same;
}

/* Whether `trap` is a trap (freeing it). */
static bool is_trap(wasm_trap_t* trap) {
  if (!trap) return false;
  wasm_trap_delete(trap);
  return true;
}

static wasm_store_t* the_store;
static wasm_func_t* the_add;

/* Tries to delete the store it runs in, then uses the store. */
static wasm_trap_t* delete_store(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  wasm_store_delete(the_store);
  wasm_val_t as[2] = {WASM_I32_VAL(20), WASM_I32_VAL(22)};
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = WASM_ARRAY_VEC(as);
  wasm_val_vec_t r = WASM_ARRAY_VEC(rs);
  wasm_trap_t* trap = wasm_func_call(the_add, &a, &r);
  check("deleting the store inside its host function", !trap && rs[0].of.i32 == 42);
  return trap;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: null_args MODULE.wasm");

  /* Deleting NULL does nothing. */
  wasm_engine_delete(NULL);
  wasm_store_delete(NULL);
  wasm_module_delete(NULL);
  wasm_func_delete(NULL);
  wasm_trap_delete(NULL);
  wasm_extern_vec_delete(NULL);
  wasm_val_delete(NULL);

  check("store of a NULL engine", wasm_store_new(NULL) == NULL);
  check("engine of a NULL config", wasm_engine_new_with_config(NULL) == NULL);
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);

  wasm_byte_vec_t v;
  wasm_byte_vec_new(&v, 5, NULL);
  check("byte vector of 5 NULL bytes", v.size == 0 && v.data == NULL);
  wasm_byte_vec_t bad = {5, NULL};
  check("module of a NULL store", wasm_module_new(NULL, &v) == NULL);
  check("module of NULL bytes", wasm_module_new(store, NULL) == NULL);
  check("module of {5, NULL}", wasm_module_new(store, &bad) == NULL);
  check("validate {5, NULL}", !wasm_module_validate(store, &bad));
  wasm_byte_vec_t garbage;
  wasm_byte_vec_new(&garbage, 4, "\0as");
  check("module of garbage", wasm_module_new(store, &garbage) == NULL);
  wasm_byte_vec_delete(&garbage);
  wasm_byte_vec_t copy;
  wasm_byte_vec_copy(&copy, &bad);
  check("copy of {5, NULL}", copy.size == 0);

  check("valtype of kind 77", wasm_valtype_new(77) == NULL);
  check("functype of NULL vectors", wasm_functype_new(NULL, NULL) == NULL);
  wasm_valtype_t* holes[2] = {wasm_valtype_new_i32(), NULL};
  wasm_valtype_vec_t ps, rs;
  wasm_valtype_vec_new(&ps, 2, holes);
  wasm_valtype_vec_new_empty(&rs);
  check("functype with a NULL parameter", wasm_functype_new(&ps, &rs) == NULL);
  check("functype params of NULL", wasm_functype_params(NULL) == NULL);
  check("globaltype of NULL", wasm_globaltype_new(NULL, WASM_VAR) == NULL);
  check("globaltype with mutability 7", wasm_globaltype_new(wasm_valtype_new_i32(), 7) == NULL);
  check("memorytype of NULL limits", wasm_memorytype_new(NULL) == NULL);
  check("importtype of NULLs", wasm_importtype_new(NULL, NULL, NULL) == NULL);
  check("externtype as functype of NULL", wasm_externtype_as_functype(NULL) == NULL);

  wasm_trap_t* trap = NULL;
  check("instance of a NULL module",
        wasm_instance_new(store, NULL, NULL, &trap) == NULL && traps(trap, "the module is NULL"));
  wasm_module_t* module = load_module(store, argv[1]);
  check("instance in a NULL store",
        wasm_instance_new(NULL, module, NULL, &trap) == NULL && traps(trap, "the store is NULL"));
  wasm_extern_vec_t holey = {1, NULL};
  check("instance with imports {1, NULL}",
        wasm_instance_new(store, module, &holey, &trap) == NULL &&
            traps(trap, "the imports vector has NULL data"));
  wasm_extern_t* null_import[1] = {NULL};
  wasm_extern_vec_t nulls = WASM_ARRAY_VEC(null_import);
  check("instance with a NULL import",
        wasm_instance_new(store, module, &nulls, &trap) == NULL && traps(trap, "import 0 is NULL"));
  wasm_instance_t* instance = wasm_instance_new(store, module, NULL, NULL);
  if (!instance) die("cannot instantiate");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* add = func_at(&exports, 1);
  wasm_func_t* id_ref = func_at(&exports, 2);

  check("call of NULL", traps(wasm_func_call(NULL, NULL, NULL), "the function is NULL"));
  wasm_val_vec_t no_data = {2, NULL};
  wasm_val_t r[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(r);
  check("call with arguments {2, NULL}",
        traps(wasm_func_call(add, &no_data, &results), "the arguments have NULL data"));
  wasm_val_t one[1] = {WASM_I32_VAL(1)};
  wasm_val_vec_t too_few = WASM_ARRAY_VEC(one);
  check("call with one argument of two", is_trap(wasm_func_call(add, &too_few, &results)));
  wasm_val_t wrong[2] = {WASM_I32_VAL(1), WASM_F64_VAL(2.0)};
  wasm_val_vec_t wrong_kind = WASM_ARRAY_VEC(wrong);
  check("call with an f64 for an i32", is_trap(wasm_func_call(add, &wrong_kind, &results)));
  wasm_val_t strange[2] = {WASM_I32_VAL(1), {.kind = 99, .of = {.i32 = 0}}};
  wasm_val_vec_t strange_kind = WASM_ARRAY_VEC(strange);
  check("call with a value of kind 99",
        traps(wasm_func_call(add, &strange_kind, &results),
              "an argument has an unknown kind or another store"));
  wasm_val_t two[2] = {WASM_I32_VAL(1), WASM_I32_VAL(2)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(two);
  check("call with no result vector", is_trap(wasm_func_call(add, &args, NULL)));
  wasm_val_vec_t results_no_data = {1, NULL};
  check("call with results {1, NULL}", is_trap(wasm_func_call(add, &args, &results_no_data)));
  trap = wasm_func_call(add, &args, &results);
  printf("a good call still works: %s %d\n", trap ? "trap" : "ok", r[0].of.i32);

  /* A function of another store is refused, as is a reference to it. */
  wasm_store_t* other = wasm_store_new(engine);
  wasm_module_t* other_module = load_module(other, argv[1]);
  wasm_instance_t* other_instance = wasm_instance_new(other, other_module, NULL, NULL);
  wasm_extern_vec_t other_exports;
  wasm_instance_exports(other_instance, &other_exports);
  wasm_val_t foreign[1] = {{.kind = WASM_FUNCREF,
                            .of = {.ref = wasm_func_as_ref(func_at(&other_exports, 1))}}};
  wasm_val_vec_t foreign_args = WASM_ARRAY_VEC(foreign);
  check("call with another store's function",
        traps(wasm_func_call(id_ref, &foreign_args, &results),
              "an argument has an unknown kind or another store"));
  wasm_extern_t* cross[1] = {other_exports.data[0]};
  wasm_extern_vec_t cross_imports = WASM_ARRAY_VEC(cross);
  check("import from another store", wasm_instance_new(store, module, &cross_imports, NULL) == NULL);
  wasm_extern_vec_delete(&other_exports);
  wasm_instance_delete(other_instance);
  wasm_module_delete(other_module);
  wasm_store_delete(other);

  check("memory data of NULL", wasm_memory_data(NULL) == NULL);
  check("memory grow of NULL", !wasm_memory_grow(NULL, 1));
  check("memory of a function", wasm_extern_as_memory(wasm_func_as_extern(add)) == NULL);
  check("function of a memory", wasm_extern_as_func(exports.data[0]) == NULL);
  check("table get of NULL", wasm_table_get(NULL, 0) == NULL);
  check("table set of NULL", !wasm_table_set(NULL, 0, NULL));
  check("global new with NULL value", wasm_global_new(store, NULL, NULL) == NULL);
  check("extern type of NULL", wasm_extern_type(NULL) == NULL);
  check("trap of NULL message", wasm_trap_new(store, NULL) == NULL);
  wasm_message_t msg;
  wasm_trap_message(NULL, &msg);
  check("message of a NULL trap", msg.size == 0);
  check("ref as func of NULL", wasm_ref_as_func(NULL) == NULL);
  check("fuel of a NULL store", !kiln_store_set_fuel(NULL, 1));
  check("fuel into NULL", !kiln_store_get_fuel(store, NULL));
  check("trap code of NULL", !kiln_trap_code(NULL, NULL));
  check("WASI arg NULL", !kiln_wasi_config_arg(NULL, "x"));
  check("WASI config NULL for the store", !kiln_store_set_wasi(store, NULL));
  check("run_start of NULL", !kiln_wasi_run_start(NULL, NULL, NULL));
  wasm_func_new_with_env(store, NULL, NULL, NULL, NULL);
  the_store = store;
  the_add = add;
  wasm_functype_t* v_v = wasm_functype_new_0_0();
  wasm_func_t* deleter = wasm_func_new(store, v_v, delete_store);
  wasm_functype_delete(v_v);
  wasm_val_vec_t empty = WASM_EMPTY_VEC;
  if (wasm_func_call(deleter, &empty, &empty)) die("the deleting function trapped");
  wasm_func_delete(deleter);
  check("function with a NULL type", wasm_func_new(store, NULL, NULL) == NULL);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("failures: %d\n", failures);
  return failures ? 1 : 0;
}
