//! Array-call trampolines: the way in from Rust.
//!
//! Rust cannot call a compiled function directly with a signature known only
//! at run time, so each distinct function type of a module gets one small
//! compiled trampoline with a fixed native signature:
//!
//! ```text
//! extern "C" fn(vmctx: *mut VmContext, callee: *const u8, values: *mut u128)
//! ```
//!
//! It loads the arguments from `values` (one 16-byte slot each, holding
//! `Val::to_bits`), calls `callee` with the function type's signature, and
//! stores the results back into the same slots, each with its type's width
//! (the Rust side reads only those bits). The caller provides
//! `max(params, results)` slots. Traps need nothing here: the signal handler
//! leaves through `crate::signals`, past the trampoline's frame.

use cranelift_codegen::ir::{self, AbiParam, InstBuilder, MemFlagsData, Signature};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_parser::FuncType;

use crate::CompileError;
use crate::translate::{SLOT_SIZE, clif_type, wasm_signature};

/// The trampoline's own signature.
pub(crate) fn trampoline_signature(call_conv: CallConv, pointer: ir::Type) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.extend([AbiParam::new(pointer); 3]);
    sig
}

/// Builds the trampoline for functions of type `ty` into `func`, whose signature
/// must be [`trampoline_signature`].
///
/// # Errors
///
/// [`CompileError::Unsupported`] if `ty` has a value type the JIT does not support.
pub(crate) fn build_trampoline(
    builder_ctx: &mut FunctionBuilderContext,
    func: &mut ir::Function,
    ty: &FuncType,
    call_conv: CallConv,
    frontend: TargetFrontendConfig,
) -> Result<(), CompileError> {
    let pointer = frontend.pointer_type();
    let callee_sig = wasm_signature(ty, call_conv, pointer)?;
    let mut b = FunctionBuilder::new(func, builder_ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (vmctx, callee, values) = {
        let p = b.block_params(entry);
        (p[0], p[1], p[2])
    };
    let flags = MemFlagsData::trusted();
    let mut args = Vec::with_capacity(ty.params.len() + 2);
    args.push(vmctx);
    // The entry's depth: the store's when it called in.
    let depth = b
        .ins()
        .load(ir::types::I32, flags, vmctx, crate::vmctx::DEPTH_OFFSET);
    args.push(depth);
    for (i, &p) in ty.params.iter().enumerate() {
        let v = b
            .ins()
            .load(clif_type(p)?, flags, values, i as i32 * SLOT_SIZE);
        args.push(v);
    }
    let sig_ref = b.import_signature(callee_sig);
    let call = b.ins().call_indirect(sig_ref, callee, &args);
    let results = b.func.dfg.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        b.ins().store(flags, r, values, i as i32 * SLOT_SIZE);
    }
    b.ins().return_(&[]);
    b.finalize(frontend);
    Ok(())
}
