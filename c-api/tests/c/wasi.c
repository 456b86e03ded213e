/* WASI (kiln.h): a program with arguments and inherited stdio, whose WASI
 * imports come from Kiln and whose other import from the host, run to its
 * proc_exit status. */

#include "common.h"

static wasm_trap_t* note(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)results;
  printf("> the program has %d arguments\n", args->data[0].of.i32);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: wasi MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  kiln_wasi_config_t* wasi = kiln_wasi_config_new();
  kiln_wasi_config_arg(wasi, "wasi.wasm");
  kiln_wasi_config_arg(wasi, "one");
  kiln_wasi_config_arg(wasi, "two");
  kiln_wasi_config_env(wasi, "NAME", "value");
  kiln_wasi_config_inherit_stdio(wasi);
  printf("preopen .: %s\n", kiln_wasi_config_preopen_dir(wasi, ".", ".") ? "ok" : "refused");
  printf("preopen a missing directory: %s\n",
         kiln_wasi_config_preopen_dir(wasi, "./no/such/dir", "x") ? "ok" : "refused");
  if (!kiln_store_set_wasi(store, wasi)) die("set_wasi refused");

  wasm_functype_t* i_v = wasm_functype_new_1_0(wasm_valtype_new_i32());
  wasm_func_t* note_f = wasm_func_new(store, i_v, note);
  wasm_functype_delete(i_v);

  wasm_trap_t* trap = NULL;
  printf("without the host import: %s\n",
         kiln_wasi_instance_new(store, module, NULL, &trap) ? "made" : "not made");
  if (trap) print_trap("trap", trap);

  wasm_extern_t* externs[] = {wasm_func_as_extern(note_f)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = kiln_wasi_instance_new(store, module, &imports, &trap);
  if (!instance) die("cannot instantiate");
  printf("running\n");
  fflush(stdout);
  int32_t status = -1;
  if (!kiln_wasi_run_start(instance, &status, &trap)) die("_start trapped");
  printf("exit status: %d\n", status);

  wasm_func_delete(note_f);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
