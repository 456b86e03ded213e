/*
 * wasm.h: the standard WebAssembly C API (the interface of the wasm-c-api
 * project), as Kiln implements it.
 *
 * Types, names and signatures are the standard's, so a program written
 * against the standard header compiles against this one. This file declares
 * only the part Kiln implements; see RATIONALE.md for what is left out
 * (frames and trace, host info but a foreign object's, serialisation) and
 * why.
 * Kiln's additions are in kiln.h.
 *
 * Ownership: a pointer or vector marked `own` is the receiver's, to free with
 * the matching `_delete`; a vector owns its elements. Every function accepts
 * NULL where it takes a pointer, and then returns NULL, false, 0 or an empty
 * vector (or a trap saying so) instead of crashing.
 */

#ifndef WASM_H
#define WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define own

typedef char byte_t;
typedef float float32_t;
typedef double float64_t;

/* ---- Vectors ------------------------------------------------------------ */

/* A vector type `wasm_NAME_vec_t` of `wasm_NAME_t ptr_or_none` and its five
 * functions: new_empty, new_uninitialized (elements NULL or zero), new (takes
 * the elements), copy (copies them) and delete (frees them). */
#define WASM_DECLARE_VEC(name, ptr_or_none)                                   \
  typedef struct wasm_##name##_vec_t {                                        \
    size_t size;                                                              \
    wasm_##name##_t ptr_or_none* data;                                        \
  } wasm_##name##_vec_t;                                                      \
  void wasm_##name##_vec_new_empty(own wasm_##name##_vec_t* out);             \
  void wasm_##name##_vec_new_uninitialized(own wasm_##name##_vec_t* out,      \
                                           size_t);                           \
  void wasm_##name##_vec_new(own wasm_##name##_vec_t* out, size_t,            \
                             own wasm_##name##_t ptr_or_none const[]);        \
  void wasm_##name##_vec_copy(own wasm_##name##_vec_t* out,                   \
                              const wasm_##name##_vec_t*);                    \
  void wasm_##name##_vec_delete(own wasm_##name##_vec_t*);

/* An opaque object type with its `_delete`. */
#define WASM_DECLARE_OWN(name)                                                \
  typedef struct wasm_##name##_t wasm_##name##_t;                             \
  void wasm_##name##_delete(own wasm_##name##_t*);

typedef byte_t wasm_byte_t;
WASM_DECLARE_VEC(byte, )

typedef wasm_byte_vec_t wasm_name_t;

#define wasm_name wasm_byte_vec
#define wasm_name_new wasm_byte_vec_new
#define wasm_name_new_empty wasm_byte_vec_new_empty
#define wasm_name_new_new_uninitialized wasm_byte_vec_new_uninitialized
#define wasm_name_copy wasm_byte_vec_copy
#define wasm_name_delete wasm_byte_vec_delete

static inline void wasm_name_new_from_string(own wasm_name_t* out,
                                             const char* s) {
  wasm_name_new(out, strlen(s), s);
}

static inline void wasm_name_new_from_string_nt(own wasm_name_t* out,
                                                const char* s) {
  wasm_name_new(out, strlen(s) + 1, s);
}

/* ---- Runtime environment ------------------------------------------------ */

WASM_DECLARE_OWN(config)
own wasm_config_t* wasm_config_new(void);

WASM_DECLARE_OWN(engine)
own wasm_engine_t* wasm_engine_new(void);
own wasm_engine_t* wasm_engine_new_with_config(own wasm_config_t*);

WASM_DECLARE_OWN(store)
own wasm_store_t* wasm_store_new(wasm_engine_t*);

/* ---- Types -------------------------------------------------------------- */

typedef uint8_t wasm_mutability_t;
enum wasm_mutability_enum { WASM_CONST, WASM_VAR };

typedef struct wasm_limits_t {
  uint32_t min;
  uint32_t max;
} wasm_limits_t;

static const uint32_t wasm_limits_max_default = 0xffffffff;

/* A type object: its `_delete`, vector and `_copy`. */
#define WASM_DECLARE_TYPE(name)                                               \
  WASM_DECLARE_OWN(name)                                                      \
  WASM_DECLARE_VEC(name, *)                                                   \
  own wasm_##name##_t* wasm_##name##_copy(const wasm_##name##_t*);

WASM_DECLARE_TYPE(valtype)

typedef uint8_t wasm_valkind_t;
enum wasm_valkind_enum {
  WASM_I32,
  WASM_I64,
  WASM_F32,
  WASM_F64,
  WASM_EXTERNREF = 128,
  WASM_FUNCREF,
};

own wasm_valtype_t* wasm_valtype_new(wasm_valkind_t);
wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t*);

static inline bool wasm_valkind_is_num(wasm_valkind_t k) {
  return k < WASM_EXTERNREF;
}
static inline bool wasm_valkind_is_ref(wasm_valkind_t k) {
  return k >= WASM_EXTERNREF;
}
static inline bool wasm_valtype_is_num(const wasm_valtype_t* t) {
  return wasm_valkind_is_num(wasm_valtype_kind(t));
}
static inline bool wasm_valtype_is_ref(const wasm_valtype_t* t) {
  return wasm_valkind_is_ref(wasm_valtype_kind(t));
}

WASM_DECLARE_TYPE(functype)
own wasm_functype_t* wasm_functype_new(own wasm_valtype_vec_t* params,
                                       own wasm_valtype_vec_t* results);
const wasm_valtype_vec_t* wasm_functype_params(const wasm_functype_t*);
const wasm_valtype_vec_t* wasm_functype_results(const wasm_functype_t*);

WASM_DECLARE_TYPE(globaltype)
own wasm_globaltype_t* wasm_globaltype_new(own wasm_valtype_t*,
                                           wasm_mutability_t);
const wasm_valtype_t* wasm_globaltype_content(const wasm_globaltype_t*);
wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t*);

WASM_DECLARE_TYPE(tabletype)
own wasm_tabletype_t* wasm_tabletype_new(own wasm_valtype_t*,
                                         const wasm_limits_t*);
const wasm_valtype_t* wasm_tabletype_element(const wasm_tabletype_t*);
const wasm_limits_t* wasm_tabletype_limits(const wasm_tabletype_t*);

WASM_DECLARE_TYPE(memorytype)
own wasm_memorytype_t* wasm_memorytype_new(const wasm_limits_t*);
const wasm_limits_t* wasm_memorytype_limits(const wasm_memorytype_t*);

WASM_DECLARE_TYPE(externtype)

typedef uint8_t wasm_externkind_t;
enum wasm_externkind_enum {
  WASM_EXTERN_FUNC,
  WASM_EXTERN_GLOBAL,
  WASM_EXTERN_TABLE,
  WASM_EXTERN_MEMORY,
};

wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t*);

wasm_externtype_t* wasm_functype_as_externtype(wasm_functype_t*);
wasm_externtype_t* wasm_globaltype_as_externtype(wasm_globaltype_t*);
wasm_externtype_t* wasm_tabletype_as_externtype(wasm_tabletype_t*);
wasm_externtype_t* wasm_memorytype_as_externtype(wasm_memorytype_t*);

wasm_functype_t* wasm_externtype_as_functype(wasm_externtype_t*);
wasm_globaltype_t* wasm_externtype_as_globaltype(wasm_externtype_t*);
wasm_tabletype_t* wasm_externtype_as_tabletype(wasm_externtype_t*);
wasm_memorytype_t* wasm_externtype_as_memorytype(wasm_externtype_t*);

const wasm_externtype_t* wasm_functype_as_externtype_const(const wasm_functype_t*);
const wasm_externtype_t* wasm_globaltype_as_externtype_const(const wasm_globaltype_t*);
const wasm_externtype_t* wasm_tabletype_as_externtype_const(const wasm_tabletype_t*);
const wasm_externtype_t* wasm_memorytype_as_externtype_const(const wasm_memorytype_t*);

const wasm_functype_t* wasm_externtype_as_functype_const(const wasm_externtype_t*);
const wasm_globaltype_t* wasm_externtype_as_globaltype_const(const wasm_externtype_t*);
const wasm_tabletype_t* wasm_externtype_as_tabletype_const(const wasm_externtype_t*);
const wasm_memorytype_t* wasm_externtype_as_memorytype_const(const wasm_externtype_t*);

WASM_DECLARE_TYPE(importtype)
own wasm_importtype_t* wasm_importtype_new(own wasm_name_t* module,
                                           own wasm_name_t* name,
                                           own wasm_externtype_t*);
const wasm_name_t* wasm_importtype_module(const wasm_importtype_t*);
const wasm_name_t* wasm_importtype_name(const wasm_importtype_t*);
const wasm_externtype_t* wasm_importtype_type(const wasm_importtype_t*);

WASM_DECLARE_TYPE(exporttype)
own wasm_exporttype_t* wasm_exporttype_new(own wasm_name_t*,
                                           own wasm_externtype_t*);
const wasm_name_t* wasm_exporttype_name(const wasm_exporttype_t*);
const wasm_externtype_t* wasm_exporttype_type(const wasm_exporttype_t*);

/* ---- Values and references ---------------------------------------------- */

struct wasm_ref_t;

typedef struct wasm_val_t {
  wasm_valkind_t kind;
  union {
    int32_t i32;
    int64_t i64;
    float32_t f32;
    float64_t f64;
    struct wasm_ref_t* ref;
  } of;
} wasm_val_t;

void wasm_val_delete(own wasm_val_t* v);
void wasm_val_copy(own wasm_val_t* out, const wasm_val_t*);

WASM_DECLARE_VEC(val, )

/* A reference object: `_delete`, `_copy` and `_same` (host info is not
 * implemented). */
#define WASM_DECLARE_REF_BASE(name)                                           \
  WASM_DECLARE_OWN(name)                                                      \
  own wasm_##name##_t* wasm_##name##_copy(const wasm_##name##_t*);            \
  bool wasm_##name##_same(const wasm_##name##_t*, const wasm_##name##_t*);

WASM_DECLARE_REF_BASE(ref)

/* ---- Traps -------------------------------------------------------------- */

typedef wasm_name_t wasm_message_t; /* NUL-terminated */

WASM_DECLARE_OWN(trap)
own wasm_trap_t* wasm_trap_copy(const wasm_trap_t*);
own wasm_trap_t* wasm_trap_new(wasm_store_t* store, const wasm_message_t*);
void wasm_trap_message(const wasm_trap_t*, own wasm_message_t* out);

/* ---- Foreign objects (host values WebAssembly holds as externref) ------- */

WASM_DECLARE_REF_BASE(foreign)
own wasm_foreign_t* wasm_foreign_new(wasm_store_t*);
wasm_ref_t* wasm_foreign_as_ref(wasm_foreign_t*);
wasm_foreign_t* wasm_ref_as_foreign(wasm_ref_t*);
const wasm_ref_t* wasm_foreign_as_ref_const(const wasm_foreign_t*);
const wasm_foreign_t* wasm_ref_as_foreign_const(const wasm_ref_t*);
void* wasm_foreign_get_host_info(const wasm_foreign_t*);
void wasm_foreign_set_host_info(wasm_foreign_t*, void*);
void wasm_foreign_set_host_info_with_finalizer(wasm_foreign_t*, void*,
                                               void (*)(void*));

/* ---- Modules ------------------------------------------------------------ */

WASM_DECLARE_OWN(module)
own wasm_module_t* wasm_module_copy(const wasm_module_t*);
WASM_DECLARE_OWN(shared_module)
own wasm_shared_module_t* wasm_module_share(const wasm_module_t*);
own wasm_module_t* wasm_module_obtain(wasm_store_t*, const wasm_shared_module_t*);

own wasm_module_t* wasm_module_new(wasm_store_t*, const wasm_byte_vec_t* binary);
bool wasm_module_validate(wasm_store_t*, const wasm_byte_vec_t* binary);
void wasm_module_imports(const wasm_module_t*, own wasm_importtype_vec_t* out);
void wasm_module_exports(const wasm_module_t*, own wasm_exporttype_vec_t* out);

/* The compiled module as bytes (an empty vector if it cannot be saved: on the
 * interpreter, which has no native code), and a module loaded from them
 * (NULL if they are truncated, corrupted, from another version of Kiln,
 * for another processor or for another engine configuration). Loading runs
 * the saved native code as it is: load only bytes this program saved, or
 * that are trusted as much as the program itself. */
void wasm_module_serialize(const wasm_module_t*, own wasm_byte_vec_t* out);
own wasm_module_t* wasm_module_deserialize(wasm_store_t*, const wasm_byte_vec_t*);

/* ---- Externals: functions, globals, tables, memories -------------------- */

/* A store object: a reference object with its casts to and from
 * wasm_extern_t. */
#define WASM_DECLARE_EXTERN_KIND(name)                                        \
  WASM_DECLARE_REF_BASE(name)                                                 \
  struct wasm_extern_t* wasm_##name##_as_extern(wasm_##name##_t*);            \
  wasm_##name##_t* wasm_extern_as_##name(struct wasm_extern_t*);              \
  const struct wasm_extern_t* wasm_##name##_as_extern_const(                  \
      const wasm_##name##_t*);                                                \
  const wasm_##name##_t* wasm_extern_as_##name##_const(                       \
      const struct wasm_extern_t*);

WASM_DECLARE_OWN(extern)
WASM_DECLARE_VEC(extern, *)
own wasm_extern_t* wasm_extern_copy(const wasm_extern_t*);
wasm_externkind_t wasm_extern_kind(const wasm_extern_t*);
own wasm_externtype_t* wasm_extern_type(const wasm_extern_t*);

WASM_DECLARE_EXTERN_KIND(func)

wasm_ref_t* wasm_func_as_ref(wasm_func_t*);
wasm_func_t* wasm_ref_as_func(wasm_ref_t*);
const wasm_ref_t* wasm_func_as_ref_const(const wasm_func_t*);
const wasm_func_t* wasm_ref_as_func_const(const wasm_ref_t*);

typedef own wasm_trap_t* (*wasm_func_callback_t)(
    const wasm_val_vec_t* args, own wasm_val_vec_t* results);
typedef own wasm_trap_t* (*wasm_func_callback_with_env_t)(
    void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results);

own wasm_func_t* wasm_func_new(wasm_store_t*, const wasm_functype_t*,
                               wasm_func_callback_t);
own wasm_func_t* wasm_func_new_with_env(wasm_store_t*,
                                        const wasm_functype_t* type,
                                        wasm_func_callback_with_env_t,
                                        void* env, void (*finalizer)(void*));

own wasm_functype_t* wasm_func_type(const wasm_func_t*);
size_t wasm_func_param_arity(const wasm_func_t*);
size_t wasm_func_result_arity(const wasm_func_t*);

own wasm_trap_t* wasm_func_call(const wasm_func_t*, const wasm_val_vec_t* args,
                                wasm_val_vec_t* results);

WASM_DECLARE_EXTERN_KIND(global)
own wasm_global_t* wasm_global_new(wasm_store_t*, const wasm_globaltype_t*,
                                   const wasm_val_t*);
own wasm_globaltype_t* wasm_global_type(const wasm_global_t*);
void wasm_global_get(const wasm_global_t*, own wasm_val_t* out);
void wasm_global_set(wasm_global_t*, const wasm_val_t*);

WASM_DECLARE_EXTERN_KIND(table)
typedef uint32_t wasm_table_size_t;
own wasm_table_t* wasm_table_new(wasm_store_t*, const wasm_tabletype_t*,
                                 wasm_ref_t* init);
own wasm_tabletype_t* wasm_table_type(const wasm_table_t*);
own wasm_ref_t* wasm_table_get(const wasm_table_t*, wasm_table_size_t index);
bool wasm_table_set(wasm_table_t*, wasm_table_size_t index, wasm_ref_t*);
wasm_table_size_t wasm_table_size(const wasm_table_t*);
bool wasm_table_grow(wasm_table_t*, wasm_table_size_t delta, wasm_ref_t* init);

WASM_DECLARE_EXTERN_KIND(memory)
typedef uint32_t wasm_memory_pages_t;
static const size_t MEMORY_PAGE_SIZE = 0x10000;
own wasm_memory_t* wasm_memory_new(wasm_store_t*, const wasm_memorytype_t*);
own wasm_memorytype_t* wasm_memory_type(const wasm_memory_t*);
byte_t* wasm_memory_data(wasm_memory_t*);
size_t wasm_memory_data_size(const wasm_memory_t*);
wasm_memory_pages_t wasm_memory_size(const wasm_memory_t*);
bool wasm_memory_grow(wasm_memory_t*, wasm_memory_pages_t delta);

/* ---- Instances ---------------------------------------------------------- */

WASM_DECLARE_OWN(instance)
own wasm_instance_t* wasm_instance_copy(const wasm_instance_t*);
own wasm_instance_t* wasm_instance_new(wasm_store_t*, const wasm_module_t*,
                                       const wasm_extern_vec_t* imports,
                                       own wasm_trap_t** trap);
void wasm_instance_exports(const wasm_instance_t*, own wasm_extern_vec_t* out);

/* ---- Convenience -------------------------------------------------------- */

#define WASM_EMPTY_VEC {0, NULL}
#define WASM_ARRAY_VEC(array) {sizeof(array) / sizeof(*(array)), array}

static inline own wasm_valtype_t* wasm_valtype_new_i32(void) {
  return wasm_valtype_new(WASM_I32);
}
static inline own wasm_valtype_t* wasm_valtype_new_i64(void) {
  return wasm_valtype_new(WASM_I64);
}
static inline own wasm_valtype_t* wasm_valtype_new_f32(void) {
  return wasm_valtype_new(WASM_F32);
}
static inline own wasm_valtype_t* wasm_valtype_new_f64(void) {
  return wasm_valtype_new(WASM_F64);
}
static inline own wasm_valtype_t* wasm_valtype_new_externref(void) {
  return wasm_valtype_new(WASM_EXTERNREF);
}
static inline own wasm_valtype_t* wasm_valtype_new_funcref(void) {
  return wasm_valtype_new(WASM_FUNCREF);
}

/* wasm_functype_new_P_R: a function type of P parameters and R results,
 * taking ownership of the value types passed. */
static inline own wasm_functype_t* kiln_functype_from_arrays_(
    size_t np, own wasm_valtype_t** ps, size_t nr, own wasm_valtype_t** rs) {
  wasm_valtype_vec_t params, results;
  wasm_valtype_vec_new(&params, np, ps);
  wasm_valtype_vec_new(&results, nr, rs);
  return wasm_functype_new(&params, &results);
}
static inline own wasm_functype_t* wasm_functype_new_0_0(void) {
  return kiln_functype_from_arrays_(0, NULL, 0, NULL);
}
static inline own wasm_functype_t* wasm_functype_new_1_0(own wasm_valtype_t* p) {
  wasm_valtype_t* ps[1] = {p};
  return kiln_functype_from_arrays_(1, ps, 0, NULL);
}
static inline own wasm_functype_t* wasm_functype_new_2_0(own wasm_valtype_t* p1,
                                                         own wasm_valtype_t* p2) {
  wasm_valtype_t* ps[2] = {p1, p2};
  return kiln_functype_from_arrays_(2, ps, 0, NULL);
}
static inline own wasm_functype_t* wasm_functype_new_3_0(own wasm_valtype_t* p1,
                                                         own wasm_valtype_t* p2,
                                                         own wasm_valtype_t* p3) {
  wasm_valtype_t* ps[3] = {p1, p2, p3};
  return kiln_functype_from_arrays_(3, ps, 0, NULL);
}
static inline own wasm_functype_t* wasm_functype_new_0_1(own wasm_valtype_t* r) {
  wasm_valtype_t* rs[1] = {r};
  return kiln_functype_from_arrays_(0, NULL, 1, rs);
}
static inline own wasm_functype_t* wasm_functype_new_1_1(own wasm_valtype_t* p,
                                                         own wasm_valtype_t* r) {
  wasm_valtype_t* ps[1] = {p};
  wasm_valtype_t* rs[1] = {r};
  return kiln_functype_from_arrays_(1, ps, 1, rs);
}
static inline own wasm_functype_t* wasm_functype_new_2_1(own wasm_valtype_t* p1,
                                                         own wasm_valtype_t* p2,
                                                         own wasm_valtype_t* r) {
  wasm_valtype_t* ps[2] = {p1, p2};
  wasm_valtype_t* rs[1] = {r};
  return kiln_functype_from_arrays_(2, ps, 1, rs);
}
static inline own wasm_functype_t* wasm_functype_new_3_1(own wasm_valtype_t* p1,
                                                         own wasm_valtype_t* p2,
                                                         own wasm_valtype_t* p3,
                                                         own wasm_valtype_t* r) {
  wasm_valtype_t* ps[3] = {p1, p2, p3};
  wasm_valtype_t* rs[1] = {r};
  return kiln_functype_from_arrays_(3, ps, 1, rs);
}
static inline own wasm_functype_t* wasm_functype_new_0_2(own wasm_valtype_t* r1,
                                                         own wasm_valtype_t* r2) {
  wasm_valtype_t* rs[2] = {r1, r2};
  return kiln_functype_from_arrays_(0, NULL, 2, rs);
}
static inline own wasm_functype_t* wasm_functype_new_1_2(own wasm_valtype_t* p,
                                                         own wasm_valtype_t* r1,
                                                         own wasm_valtype_t* r2) {
  wasm_valtype_t* ps[1] = {p};
  wasm_valtype_t* rs[2] = {r1, r2};
  return kiln_functype_from_arrays_(1, ps, 2, rs);
}
static inline own wasm_functype_t* wasm_functype_new_2_2(own wasm_valtype_t* p1,
                                                         own wasm_valtype_t* p2,
                                                         own wasm_valtype_t* r1,
                                                         own wasm_valtype_t* r2) {
  wasm_valtype_t* ps[2] = {p1, p2};
  wasm_valtype_t* rs[2] = {r1, r2};
  return kiln_functype_from_arrays_(2, ps, 2, rs);
}
static inline own wasm_functype_t* wasm_functype_new_3_2(own wasm_valtype_t* p1,
                                                         own wasm_valtype_t* p2,
                                                         own wasm_valtype_t* p3,
                                                         own wasm_valtype_t* r1,
                                                         own wasm_valtype_t* r2) {
  wasm_valtype_t* ps[3] = {p1, p2, p3};
  wasm_valtype_t* rs[2] = {r1, r2};
  return kiln_functype_from_arrays_(3, ps, 2, rs);
}

#define WASM_I32_VAL(i) {.kind = WASM_I32, .of = {.i32 = i}}
#define WASM_I64_VAL(i) {.kind = WASM_I64, .of = {.i64 = i}}
#define WASM_F32_VAL(z) {.kind = WASM_F32, .of = {.f32 = z}}
#define WASM_F64_VAL(z) {.kind = WASM_F64, .of = {.f64 = z}}
#define WASM_REF_VAL(r) {.kind = WASM_EXTERNREF, .of = {.ref = r}}
#define WASM_INIT_VAL {.kind = WASM_EXTERNREF, .of = {.ref = NULL}}

#undef own

#ifdef __cplusplus
}
#endif

#endif /* WASM_H */
