/* Memories: an exported one read and written by the host and the module,
 * grown up to its maximum, and one made by the host. */

#include "common.h"

static wasm_trap_t* call(wasm_func_t* f, int32_t a, int32_t b, int nargs, int32_t* out) {
  wasm_val_t as[2] = {WASM_I32_VAL(a), WASM_I32_VAL(b)};
  wasm_val_t rs[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = {(size_t)nargs, as};
  wasm_val_vec_t results = {out ? 1 : 0, rs};
  wasm_trap_t* trap = wasm_func_call(f, &args, &results);
  if (!trap && out) *out = rs[0].of.i32;
  return trap;
}

static int32_t load(wasm_func_t* f, int32_t addr) {
  int32_t v = 0;
  wasm_trap_t* trap = call(f, addr, 0, 1, &v);
  if (trap) {
    printf("load(0x%x) ", addr);
    print_trap("traps", trap);
    return -1;
  }
  return v;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: memory MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_instance_t* instance = wasm_instance_new(store, module, NULL, NULL);
  if (!instance) die("cannot instantiate");

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_memory_t* memory = wasm_extern_as_memory(exports.data[0]);
  if (!memory) die("export 0 is not a memory");
  wasm_func_t* size_f = func_at(&exports, 1);
  wasm_func_t* load_f = func_at(&exports, 2);
  wasm_func_t* store_f = func_at(&exports, 3);

  wasm_memorytype_t* mt = wasm_memory_type(memory);
  const wasm_limits_t* l = wasm_memorytype_limits(mt);
  printf("limits: %u..%u\n", l->min, l->max);
  wasm_memorytype_delete(mt);

  printf("pages: %u, bytes: 0x%zx\n", wasm_memory_size(memory), wasm_memory_data_size(memory));
  int32_t pages = 0;
  if (call(size_f, 0, 0, 0, &pages)) die("size trapped");
  printf("memory.size = %d\n", pages);
  byte_t* data = wasm_memory_data(memory);
  printf("data[0x1000..0x1004] = %d %d %d %d\n", data[0x1000], data[0x1001], data[0x1002],
         data[0x1003]);
  printf("load(0x1002) = %d\n", load(load_f, 0x1002));
  load(load_f, 0x20000);

  data[0x1003] = 42;
  printf("after host write, load(0x1003) = %d\n", load(load_f, 0x1003));
  if (call(store_f, 0x1fff, 7, 2, NULL)) die("store trapped");
  printf("after wasm write, data[0x1fff] = %d\n", wasm_memory_data(memory)[0x1fff]);

  printf("grow by 1: %s\n", wasm_memory_grow(memory, 1) ? "ok" : "refused");
  printf("pages: %u, bytes: 0x%zx\n", wasm_memory_size(memory), wasm_memory_data_size(memory));
  printf("load(0x20000) = %d\n", load(load_f, 0x20000));
  printf("grow by 1 past the maximum: %s\n", wasm_memory_grow(memory, 1) ? "ok" : "refused");
  printf("grow by 0: %s\n", wasm_memory_grow(memory, 0) ? "ok" : "refused");

  wasm_limits_t limits = {5, 5};
  wasm_memorytype_t* t = wasm_memorytype_new(&limits);
  wasm_memory_t* own_memory = wasm_memory_new(store, t);
  wasm_memorytype_delete(t);
  if (!own_memory) die("cannot make a memory");
  printf("host memory pages: %u, grow: %s\n", wasm_memory_size(own_memory),
         wasm_memory_grow(own_memory, 1) ? "ok" : "refused");
  wasm_memory_delete(own_memory);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
