/*
 * kiln.h: what Kiln offers C beyond the standard wasm.h: the execution
 * strategy, fuel, epoch interruption, trap codes and exit statuses, and WASI
 * preview1 programs. Every function accepts NULL pointers and then does
 * nothing or returns false/NULL.
 */

#ifndef KILN_H
#define KILN_H

#include "wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Value kinds wasm.h has no name for (wasm_valtype_kind may report them). */
#define KILN_V128 4
#define KILN_EXNREF 130

/* ---- Configuration (setters of wasm_config_t) --------------------------- */

typedef uint8_t kiln_strategy_t;
enum kiln_strategy_enum {
  KILN_STRATEGY_INTERPRETER,
  KILN_STRATEGY_JIT, /* x86-64 Linux; elsewhere wasm_engine_new_with_config fails */
  KILN_STRATEGY_TIERED, /* interpreter first, JIT compiled in the background; x86-64 Linux */
};

/* Selects the tier; false for an unknown strategy. */
bool kiln_config_strategy(wasm_config_t*, kiln_strategy_t);
/* Meters execution with fuel; stores then start with none. */
void kiln_config_consume_fuel(wasm_config_t*, bool);
/* Checks the epoch against the store's deadline at function entries and loops. */
void kiln_config_epoch_interruption(wasm_config_t*, bool);
/* Deepest call nesting before `call stack exhausted` (default 10,000). */
void kiln_config_max_call_depth(wasm_config_t*, uint32_t);

/* ---- Fuel and epochs ---------------------------------------------------- */

/* The store's fuel; false if the engine has no fuel. Both work inside a host
 * function of the store too: the running call goes on with the fuel set. */
bool kiln_store_set_fuel(wasm_store_t*, uint64_t fuel);
bool kiln_store_get_fuel(const wasm_store_t*, uint64_t* fuel);
/* Running code stops with `interrupt` once the engine's epoch has advanced
 * `ticks` past the current one. A store's deadline starts already reached.
 * Works inside a host function of the store too (the running call's next
 * check sees the new deadline). */
bool kiln_store_set_epoch_deadline(wasm_store_t*, uint64_t ticks);
/* Advances the engine's epoch; may be called from any thread. */
void kiln_engine_increment_epoch(const wasm_engine_t*);

/* ---- Traps -------------------------------------------------------------- */

typedef uint8_t kiln_trap_code_t;
enum kiln_trap_code_enum {
  KILN_TRAP_UNREACHABLE,
  KILN_TRAP_MEMORY_OUT_OF_BOUNDS,
  KILN_TRAP_TABLE_OUT_OF_BOUNDS,
  KILN_TRAP_UNINITIALIZED_ELEMENT,
  KILN_TRAP_UNDEFINED_ELEMENT,
  KILN_TRAP_INDIRECT_CALL_TYPE_MISMATCH,
  KILN_TRAP_INTEGER_OVERFLOW,
  KILN_TRAP_INTEGER_DIVISION_BY_ZERO,
  KILN_TRAP_INVALID_CONVERSION_TO_INTEGER,
  KILN_TRAP_CALL_STACK_EXHAUSTED,
  KILN_TRAP_OUT_OF_FUEL,
  KILN_TRAP_NULL_FUNCTION_REFERENCE,
  KILN_TRAP_NULL_REFERENCE,
  KILN_TRAP_NULL_EXCEPTION_REFERENCE,
  KILN_TRAP_EXCEPTIONS_EXHAUSTED,
  KILN_TRAP_INTERRUPT,
  KILN_TRAP_GC_HEAP_EXHAUSTED,
  KILN_TRAP_NULL_STRUCT_REFERENCE,
  KILN_TRAP_NULL_ARRAY_REFERENCE,
  KILN_TRAP_NULL_I31_REFERENCE,
  KILN_TRAP_ARRAY_OUT_OF_BOUNDS,
  KILN_TRAP_CAST_FAILURE,
};

/* If the trap is a WebAssembly trap, sets *code and returns true (false for
 * a trap made by a host function, or an exit). */
bool kiln_trap_code(const wasm_trap_t*, kiln_trap_code_t* code);
/* If the trap is a WASI program's proc_exit, sets *status and returns true. */
bool kiln_trap_exit_status(const wasm_trap_t*, int32_t* status);

/* wasm_global_set, reporting whether the global was set (false for an
 * immutable global or a value of another type). */
bool kiln_global_set(wasm_global_t*, const wasm_val_t*);

/* ---- WASI preview1 ------------------------------------------------------ */

typedef struct kiln_wasi_config_t kiln_wasi_config_t;

/* No arguments, no environment, empty stdin, output discarded, no dirs. */
kiln_wasi_config_t* kiln_wasi_config_new(void);
void kiln_wasi_config_delete(kiln_wasi_config_t*);
bool kiln_wasi_config_arg(kiln_wasi_config_t*, const char* arg);
bool kiln_wasi_config_env(kiln_wasi_config_t*, const char* name, const char* value);
void kiln_wasi_config_inherit_stdio(kiln_wasi_config_t*);
bool kiln_wasi_config_preopen_dir(kiln_wasi_config_t*, const char* host_path,
                                  const char* guest_path);

/* Gives the store the WASI context; takes ownership of the configuration. */
bool kiln_store_set_wasi(wasm_store_t*, kiln_wasi_config_t*);

/* Instantiates a WASI program: wasi_snapshot_preview1 imports come from
 * Kiln, the others from `imports` (in import order, WASI ones skipped; NULL
 * if none). As wasm_instance_new otherwise. */
wasm_instance_t* kiln_wasi_instance_new(wasm_store_t*, const wasm_module_t*,
                                        const wasm_extern_vec_t* imports,
                                        wasm_trap_t** trap);

/* Runs `_start`: true with *exit_status set (0 if it returned, its
 * proc_exit status otherwise), false with *trap set if it trapped. */
bool kiln_wasi_run_start(const wasm_instance_t*, int32_t* exit_status,
                         wasm_trap_t** trap);

#ifdef __cplusplus
}
#endif

#endif /* KILN_H */
