/* Reflection: a module's imports and exports with their types, the same
 * types read from the instance's externs, and copies of type objects. */

#include "common.h"

static const char* kind_name(wasm_valkind_t k) {
  switch (k) {
    case WASM_I32: return "i32";
    case WASM_I64: return "i64";
    case WASM_F32: return "f32";
    case WASM_F64: return "f64";
    case WASM_EXTERNREF: return "externref";
    case WASM_FUNCREF: return "funcref";
    default: return "?";
  }
}

static void print_valtypes(const wasm_valtype_vec_t* v) {
  printf("[");
  for (size_t i = 0; i < v->size; i++) printf(i ? " %s" : "%s", kind_name(wasm_valtype_kind(v->data[i])));
  printf("]");
}

static void print_limits(const wasm_limits_t* l) {
  if (l->max == wasm_limits_max_default) {
    printf("%u..", l->min);
  } else {
    printf("%u..%u", l->min, l->max);
  }
}

static void print_externtype(const wasm_externtype_t* t) {
  switch (wasm_externtype_kind(t)) {
    case WASM_EXTERN_FUNC: {
      const wasm_functype_t* f = wasm_externtype_as_functype_const(t);
      printf("func ");
      print_valtypes(wasm_functype_params(f));
      printf(" -> ");
      print_valtypes(wasm_functype_results(f));
      break;
    }
    case WASM_EXTERN_GLOBAL: {
      const wasm_globaltype_t* g = wasm_externtype_as_globaltype_const(t);
      printf("global %s %s", wasm_globaltype_mutability(g) == WASM_VAR ? "var" : "const",
             kind_name(wasm_valtype_kind(wasm_globaltype_content(g))));
      break;
    }
    case WASM_EXTERN_TABLE: {
      const wasm_tabletype_t* tt = wasm_externtype_as_tabletype_const(t);
      printf("table %s ", kind_name(wasm_valtype_kind(wasm_tabletype_element(tt))));
      print_limits(wasm_tabletype_limits(tt));
      break;
    }
    case WASM_EXTERN_MEMORY:
      printf("memory ");
      print_limits(wasm_memorytype_limits(wasm_externtype_as_memorytype_const(t)));
      break;
  }
  printf("\n");
}

static wasm_trap_t* zero_callback(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  results->data[0].kind = WASM_I64;
  results->data[0].of.i64 = 0;
  return NULL;
}

static void print_name(const wasm_name_t* n) {
  printf("%.*s", (int)n->size, n->data);
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: reflect MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  wasm_importtype_vec_t imports_t;
  wasm_module_imports(module, &imports_t);
  for (size_t i = 0; i < imports_t.size; i++) {
    printf("import ");
    print_name(wasm_importtype_module(imports_t.data[i]));
    printf(".");
    print_name(wasm_importtype_name(imports_t.data[i]));
    printf(": ");
    print_externtype(wasm_importtype_type(imports_t.data[i]));
  }

  wasm_exporttype_vec_t exports_t;
  wasm_module_exports(module, &exports_t);
  wasm_exporttype_vec_t copy;
  wasm_exporttype_vec_copy(&copy, &exports_t);
  wasm_exporttype_vec_delete(&exports_t);
  for (size_t i = 0; i < copy.size; i++) {
    printf("export ");
    print_name(wasm_exporttype_name(copy.data[i]));
    printf(": ");
    print_externtype(wasm_exporttype_type(copy.data[i]));
  }

  /* Make the imports from the import types themselves. */
  const wasm_externtype_t* host_et = wasm_importtype_type(imports_t.data[0]);
  const wasm_externtype_t* limit_et = wasm_importtype_type(imports_t.data[1]);
  printf("global import as a function type: %s\n",
         wasm_externtype_as_functype_const(limit_et) ? "yes" : "no");
  printf("host function without a callback: %s\n",
         wasm_func_new(store, wasm_externtype_as_functype_const(host_et), NULL) ? "made" : "refused");
  wasm_functype_t* host_t = wasm_functype_copy(wasm_externtype_as_functype_const(host_et));
  wasm_func_t* host = wasm_func_new(store, host_t, zero_callback);
  wasm_functype_delete(host_t);
  wasm_val_t zero = WASM_I32_VAL(0);
  wasm_global_t* limit = wasm_global_new(store, wasm_externtype_as_globaltype_const(limit_et), &zero);
  if (!host || !limit) die("cannot make the imports");
  wasm_importtype_vec_delete(&imports_t);

  wasm_extern_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = NULL;
  wasm_instance_t* bad = wasm_instance_new(store, module, &none, &trap);
  printf("instantiating without imports: %s\n", bad ? "ok" : "failed");
  if (trap) print_trap("trap", trap);

  wasm_extern_t* externs[] = {wasm_func_as_extern(host), wasm_global_as_extern(limit)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  if (!instance || trap) die("cannot instantiate");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  for (size_t i = 0; i < exports.size; i++) {
    wasm_externtype_t* t = wasm_extern_type(exports.data[i]);
    printf("instance export %zu (kind %d): ", i, wasm_extern_kind(exports.data[i]));
    print_externtype(t);
    wasm_externtype_delete(t);
  }

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_exporttype_vec_delete(&copy);
  wasm_func_delete(host);
  wasm_global_delete(limit);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  printf("Done.\n");
  return 0;
}
