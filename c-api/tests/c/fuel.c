/* Fuel (kiln.h), on each tier: a store's fuel bounds how long code runs;
 * running out is an `out of fuel` trap; an engine without fuel refuses
 * fuel calls. Both tiers consume the same fuel. */

#include "common.h"

static wasm_store_t* current_store;
static uint64_t fuel_seen_inside;

/* Called by `spin` when its loop is done: reads the fuel left from inside
 * the call. */
static wasm_trap_t* report(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  if (!kiln_store_get_fuel(current_store, &fuel_seen_inside)) fuel_seen_inside = 0;
  return NULL;
}

static wasm_trap_t* spin(wasm_func_t* f, int32_t n, int32_t* out) {
  wasm_val_t as[1] = {WASM_I32_VAL(n)};
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(as);
  wasm_val_vec_t results = WASM_ARRAY_VEC(rs);
  wasm_trap_t* trap = wasm_func_call(f, &args, &results);
  *out = rs[0].of.i32;
  return trap;
}

static uint64_t run(const char* path, kiln_strategy_t strategy, const char* name) {
  wasm_config_t* config = wasm_config_new();
  if (!kiln_config_strategy(config, strategy)) die("unknown strategy");
  kiln_config_consume_fuel(config, true);
  wasm_engine_t* engine = wasm_engine_new_with_config(config);
  if (!engine) die("cannot make the engine");
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, path);
  current_store = store;
  wasm_functype_t* v_v = wasm_functype_new_0_0();
  wasm_func_t* report_f = wasm_func_new(store, v_v, report);
  wasm_functype_delete(v_v);
  wasm_extern_t* externs[] = {wasm_func_as_extern(report_f)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  wasm_func_delete(report_f);
  if (!instance) die("cannot instantiate");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* f = func_at(&exports, 0);

  uint64_t fuel = 1;
  printf("%s: fuel at start %s %llu\n", name, kiln_store_get_fuel(store, &fuel) ? "ok" : "refused",
         (unsigned long long)fuel);
  int32_t r = 0;
  wasm_trap_t* trap = spin(f, 10, &r);
  printf("%s: spin(10) without fuel: ", name);
  print_trap("trap", trap);

  if (!kiln_store_set_fuel(store, 10000)) die("set_fuel refused");
  trap = spin(f, 10, &r);
  if (trap) die("spin(10) trapped");
  kiln_store_get_fuel(store, &fuel);
  uint64_t used = 10000 - fuel;
  printf("%s: spin(10) = %d, fuel used is positive: %s\n", name, r, used > 0 ? "yes" : "no");
  printf("%s: fuel seen inside the call is between: %s\n", name,
         fuel_seen_inside >= fuel && fuel_seen_inside < 10000 ? "yes" : "no");

  trap = spin(f, 1000000, &r);
  kiln_trap_code_t code = 255;
  kiln_trap_code(trap, &code);
  printf("%s: spin(1000000) code %s, ", name, code == KILN_TRAP_OUT_OF_FUEL ? "out of fuel" : "other");
  print_trap("trap", trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return used;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: fuel MODULE.wasm");
  uint64_t interp = run(argv[1], KILN_STRATEGY_INTERPRETER, "interpreter");
  uint64_t jit = run(argv[1], KILN_STRATEGY_JIT, "jit");
  printf("both tiers used the same fuel: %s\n", interp == jit ? "yes" : "no");

  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  uint64_t fuel = 7;
  printf("without fuel: set %s, get %s\n", kiln_store_set_fuel(store, 5) ? "ok" : "refused",
         kiln_store_get_fuel(store, &fuel) ? "ok" : "refused");
  wasm_config_t* config = wasm_config_new();
  printf("strategy 9: %s\n", kiln_config_strategy(config, 9) ? "accepted" : "refused");
  wasm_config_delete(config);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
