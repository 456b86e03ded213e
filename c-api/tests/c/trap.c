/* Traps: raised by a host function (wasm_trap_new), by WebAssembly
 * (unreachable, division by zero, stack exhaustion), their messages and
 * kiln_trap_code. */

#include "common.h"

static wasm_trap_t* fail_callback(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  printf("> failing\n");
  wasm_message_t message;
  wasm_name_new_from_string_nt(&message, "callback abort");
  wasm_trap_t* trap = wasm_trap_new(NULL, &message);
  wasm_name_delete(&message);
  return trap;
}

static void report(const char* name, wasm_trap_t* trap) {
  if (!trap) {
    printf("%s: no trap\n", name);
    return;
  }
  kiln_trap_code_t code;
  if (kiln_trap_code(trap, &code)) {
    printf("%s: code %d, ", name, code);
  } else {
    printf("%s: no code, ", name);
  }
  wasm_trap_t* copy = wasm_trap_copy(trap);
  wasm_trap_delete(trap);
  print_trap("message", copy);
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: trap MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  wasm_functype_t* v_i = wasm_functype_new_0_1(wasm_valtype_new_i32());
  wasm_func_t* fail = wasm_func_new(store, v_i, fail_callback);
  wasm_functype_delete(v_i);
  wasm_extern_t* externs[] = {wasm_func_as_extern(fail)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) die("cannot instantiate");
  wasm_func_delete(fail);

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_val_vec_t results = WASM_ARRAY_VEC(rs);
  report("callback", wasm_func_call(func_at(&exports, 0), &none, &results));
  report("unreachable", wasm_func_call(func_at(&exports, 1), &none, &results));

  wasm_val_t as[2] = {WASM_I32_VAL(7), WASM_I32_VAL(0)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(as);
  report("divide by zero", wasm_func_call(func_at(&exports, 2), &args, &results));
  as[0].of.i32 = INT32_MIN;
  as[1].of.i32 = -1;
  report("divide overflow", wasm_func_call(func_at(&exports, 2), &args, &results));
  as[0].of.i32 = 42;
  as[1].of.i32 = 6;
  report("divide 42 by 6", wasm_func_call(func_at(&exports, 2), &args, &results));
  printf("result: %d\n", rs[0].of.i32);
  wasm_val_vec_t no_results = WASM_EMPTY_VEC;
  report("recurse", wasm_func_call(func_at(&exports, 3), &none, &no_results));

  /* The store is usable after a trap. */
  report("divide again", wasm_func_call(func_at(&exports, 2), &args, &results));
  printf("result: %d\n", rs[0].of.i32);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
