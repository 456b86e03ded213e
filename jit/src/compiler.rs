//! Compiling a whole module ([`CompiledModule::new`]): checks, the host ISA,
//! per-function code generation, trampolines, and linking into one
//! [`CodeMemory`].
//!
//! Every defined function and one trampoline per distinct function type are
//! compiled eagerly, laid out one after another (each at the ISA's preferred
//! alignment) and linked in place: calls between functions are PC-relative
//! (`colocated`, all in one mapping), libcalls are absolute addresses.

use std::collections::HashMap;
use std::sync::Arc;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{self, ExternalName, UserFuncName};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, FinalizedRelocTarget};
use cranelift_frontend::FunctionBuilderContext;
use kiln_parser::{CompositeType, FuncType, Module};
use kiln_validator::ModuleInfo;

use crate::compiled_module::{CompiledModule, FuncCode};
use crate::libcalls::{Libcall, cranelift_libcall_address};
use crate::link::{Piece, Relocation, Target, link};
use crate::reloc::Symbol;
use crate::signals::TrapSite;
use crate::trampoline::{build_trampoline, trampoline_signature};
use crate::translate::{
    FUNC_NAMESPACE, FuncTranslator, LIBCALL_NAMESPACE, ModuleEnv, wasm_signature,
};
use crate::unwind::{self, CallSite};
use crate::{CompileError, CompileOptions};
use kiln_runtime::TierName;

/// Bytes a frame takes above the frame pointer: the saved frame pointer and the
/// return address.
const FRAME_LINKAGE: u32 = 16;

impl CompiledModule {
    /// Compiles every function of a validated module for the host.
    ///
    /// # Errors
    ///
    /// [`CompileError::Unsupported`] if the module uses something the JIT does
    /// not compile yet (see the crate docs) or SIMD on a processor without the
    /// features its code needs (see `cpu.rs`), [`CompileError::Codegen`] if
    /// Cranelift fails, and
    /// [`CompileError::CodeMemory`] if executable memory cannot be mapped.
    pub fn new(
        module: Arc<Module>,
        info: Arc<ModuleInfo>,
        options: CompileOptions,
    ) -> Result<CompiledModule, CompileError> {
        check_module(&module)?;
        if info.uses_gc {
            return Err(CompileError::unsupported(
                TierName::Jit,
                "GC (struct and array types, GC instructions)".into(),
            ));
        }
        let isa = host_isa(options)?;
        if crate::cpu::uses_v128(&module, &info) {
            crate::cpu::check_simd_isa(&*isa)?;
        }
        let host_conv = isa.default_call_conv();
        let env = ModuleEnv::new(&module, &info, options, isa.frontend_config());
        let call_conv = env.call_conv;

        let mut pieces = compile_functions(&env, &isa)?;
        let mut ctx = Context::new();

        // One trampoline per distinct function type.
        let mut builder_ctx = FunctionBuilderContext::new();
        let mut trampolines: HashMap<&FuncType, usize> = HashMap::new();
        let mut trampoline_of = Vec::with_capacity(module.funcs.len());
        for t in &module.funcs {
            let ty = module.types[t.index()].func();
            let piece = match trampolines.get(ty) {
                Some(&p) => p,
                None => {
                    ctx.func = ir::Function::with_name_signature(
                        UserFuncName::user(FUNC_NAMESPACE, u32::MAX),
                        trampoline_signature(host_conv, env.frontend.pointer_type()),
                    );
                    build_trampoline(&mut builder_ctx, &mut ctx.func, ty, call_conv, env.frontend)?;
                    pieces.push(compile(&mut ctx, &isa)?);
                    trampolines.insert(ty, pieces.len() - 1);
                    pieces.len() - 1
                }
            };
            trampoline_of.push(piece);
        }

        assemble(module, &pieces, &trampoline_of, &isa, options)
    }
}

/// Links compiled pieces into a [`CompiledModule`]: defined function `def` is
/// piece `def`, with the trampoline `pieces[trampoline_of[def]]`; trap sites and
/// handler sites are moved to module offsets and sorted.
fn assemble(
    module: Arc<Module>,
    pieces: &[Piece],
    trampoline_of: &[usize],
    isa: &OwnedTargetIsa,
    options: CompileOptions,
) -> Result<CompiledModule, CompileError> {
    let (code, offsets, relocs) = link(pieces, isa)?;
    let funcs = trampoline_of
        .iter()
        .enumerate()
        .map(|(def, &t)| FuncCode {
            body: offsets[def],
            trampoline: offsets[t],
        })
        .collect();
    let max_frame_size = pieces.iter().map(|p| p.frame_size).max().unwrap_or(0);
    let mut traps: Vec<TrapSite> = pieces
        .iter()
        .zip(&offsets)
        .flat_map(|(p, &at)| {
            p.traps.iter().map(move |t| TrapSite {
                offset: at + t.offset,
                code: t.code,
            })
        })
        .collect();
    traps.sort_by_key(|t| t.offset);
    let mut call_sites: Vec<CallSite> = pieces
        .iter()
        .zip(&offsets)
        .flat_map(|(p, &at)| p.call_sites.iter().map(move |s| s.shifted(at)))
        .collect();
    call_sites.sort_by_key(|s| s.ret_addr);
    Ok(CompiledModule {
        module,
        code,
        funcs,
        traps: traps.into(),
        call_sites: call_sites.into(),
        max_frame_size,
        relocs: relocs.into(),
        options,
    })
}

/// Compiles hand-built Cranelift functions as a module (for tests of the
/// unwinder on functions shaped by hand): `funcs[i]` is defined function `i`, of
/// WebAssembly type `types[i]` (its signature must be that type's
/// [`wasm_signature`]), each with its own trampoline; the module's IR is empty.
/// Kiln's code generation settings, relocations and tables are those of
/// [`CompiledModule::new`].
#[cfg(test)]
pub(crate) fn compile_functions_for_test(
    funcs: Vec<ir::Function>,
    types: &[FuncType],
) -> Result<CompiledModule, CompileError> {
    let options = CompileOptions {
        fuel: false,
        epoch_interruption: false,
        canonicalize_nans: false,
        memory_guard: true,
    };
    let isa = host_isa(options)?;
    let mut ctx = Context::new();
    let mut pieces = Vec::with_capacity(funcs.len() * 2);
    for func in funcs {
        ctx.func = func;
        pieces.push(compile(&mut ctx, &isa)?);
    }
    let mut builder_ctx = FunctionBuilderContext::new();
    let host_conv = isa.default_call_conv();
    let mut trampoline_of = Vec::with_capacity(types.len());
    for ty in types {
        ctx.func = ir::Function::with_name_signature(
            UserFuncName::user(FUNC_NAMESPACE, u32::MAX),
            trampoline_signature(host_conv, isa.pointer_type()),
        );
        build_trampoline(
            &mut builder_ctx,
            &mut ctx.func,
            ty,
            CallConv::Tail,
            isa.frontend_config(),
        )?;
        pieces.push(compile(&mut ctx, &isa)?);
        trampoline_of.push(pieces.len() - 1);
    }
    assemble(
        Arc::new(Module::default()),
        &pieces,
        &trampoline_of,
        &isa,
        options,
    )
}

/// Code size (in bytes of operators) below which a module's functions compile on the
/// calling thread: starting threads costs more than it saves for small modules.
const PARALLEL_THRESHOLD: u64 = 40_000;

/// Compiles every defined function, in order, on several threads when the module
/// is large enough for that to pay.
fn compile_functions(
    env: &ModuleEnv<'_>,
    isa: &OwnedTargetIsa,
) -> Result<Vec<Piece>, CompileError> {
    let n = env.module.funcs.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(n.max(1));
    if threads <= 1 || env.module.code_size() < PARALLEL_THRESHOLD {
        return compile_range(env, isa, 0..n as u32);
    }
    // Contiguous ranges of roughly equal code size, one per thread.
    let ranges = env.module.split_bodies(threads);
    let results: Vec<Result<Vec<Piece>, CompileError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|r| scope.spawn(move || compile_range(env, isa, r.start as u32..r.end as u32)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CompileError::Codegen("a compiler thread panicked".into()))
                })
            })
            .collect()
    });
    let mut pieces = Vec::with_capacity(n + 1);
    for r in results {
        pieces.extend(r?);
    }
    Ok(pieces)
}

/// Compiles defined functions `defs`, in order.
fn compile_range(
    env: &ModuleEnv<'_>,
    isa: &OwnedTargetIsa,
    defs: std::ops::Range<u32>,
) -> Result<Vec<Piece>, CompileError> {
    let mut pieces = Vec::with_capacity(defs.len() + 1);
    let mut ctx = Context::new();
    let mut translator = FuncTranslator::default();
    for def in defs {
        let ty = env.module.types[env.module.funcs[def as usize].index()].func();
        ctx.func = ir::Function::with_name_signature(
            UserFuncName::user(FUNC_NAMESPACE, def),
            wasm_signature(ty, env.call_conv, env.frontend.pointer_type())?,
        );
        translator.translate(env, def, &mut ctx.func)?;
        pieces.push(compile(&mut ctx, isa)?);
    }
    Ok(pieces)
}

/// Rejects what the JIT does not compile, before any work (the crate docs list it).
fn check_module(module: &Module) -> Result<(), CompileError> {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return Err(CompileError::unsupported(
            TierName::Jit,
            "this platform (the JIT runs on x86-64 Linux)".into(),
        ));
    }
    for ty in module.types.iter().filter_map(CompositeType::as_func) {
        wasm_signature(ty, CallConv::Tail, ir::types::I64)?;
    }
    for g in &module.globals {
        crate::translate::clif_type(g.ty.content)?;
    }
    Ok(())
}

/// The host's ISA with Kiln's code generation settings.
pub(crate) fn host_isa(options: CompileOptions) -> Result<OwnedTargetIsa, CompileError> {
    let mut flags = settings::builder();
    // Cranelift's IR verifier checks every function in debug builds, but not
    // under the fuzzer (`cfg(fuzzing)`, set by cargo-fuzz): it costs about as
    // much as compiling, and the differential target checks the code's
    // behaviour on every input anyway.
    let verify = if cfg!(debug_assertions) && !cfg!(fuzzing) {
        "true"
    } else {
        "false"
    };
    let nans = if options.canonicalize_nans {
        "true"
    } else {
        "false"
    };
    for (name, value) in [
        ("opt_level", "speed"),
        ("enable_verifier", verify),
        // More results than fit in registers go through a hidden return area.
        ("enable_multi_ret_implicit_sret", "true"),
        ("enable_nan_canonicalization", nans),
        ("preserve_frame_pointers", "true"),
        // Large frames touch each page as they grow (no probestack libcall); the stack
        // limit check keeps them above the guard page anyway (`vmctx::stack_limit`).
        ("enable_probestack", "true"),
        ("probestack_strategy", "inline"),
        // Traps and exceptions leave compiled frames through Kiln's own tables (the
        // signal handler, `unwind.rs`), never by unwinding with unwind information.
        ("unwind_info", "false"),
        ("is_pic", "false"),
    ] {
        flags
            .set(name, value)
            .map_err(|e| CompileError::Codegen(format!("setting {name}: {e}")))?;
    }
    let builder = cranelift_native::builder()
        .map_err(|e| CompileError::unsupported(TierName::Jit, format!("this host ({e})")))?;
    let isa = builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| CompileError::Codegen(e.to_string()))?;
    if isa.pointer_type() != ir::types::I64 {
        return Err(CompileError::unsupported(
            TierName::Jit,
            "hosts without 64-bit pointers".into(),
        ));
    }
    Ok(isa)
}

/// Compiles `ctx.func` and takes out its code, relocations and frame size.
fn compile(ctx: &mut Context, isa: &OwnedTargetIsa) -> Result<Piece, CompileError> {
    let names = ctx.func.params.user_named_funcs().clone();
    let compiled = ctx
        .compile(&**isa, &mut ControlPlane::default())
        .map_err(|e| CompileError::Codegen(format!("{:?}", e.inner)))?;
    let bytes = compiled.code_buffer().to_vec();
    let frame_size = compiled
        .buffer
        .frame_layout()
        .map_or(0, |l| l.frame_to_fp_offset)
        + FRAME_LINKAGE;
    let mut relocs = Vec::with_capacity(compiled.buffer.relocs().len());
    for r in compiled.buffer.relocs() {
        let target = match &r.target {
            FinalizedRelocTarget::Func(offset) => Target::Local(*offset),
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let name = &names[*name];
                match name.namespace {
                    FUNC_NAMESPACE => Target::Func(name.index),
                    LIBCALL_NAMESPACE => {
                        if Libcall::from_index(name.index).is_none() {
                            return Err(CompileError::Codegen(format!(
                                "unknown libcall {}",
                                name.index
                            )));
                        }
                        Target::Symbol(Symbol::Kiln(name.index))
                    }
                    n => return Err(CompileError::Codegen(format!("unknown namespace {n}"))),
                }
            }
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(call)) => {
                if cranelift_libcall_address(*call).is_none() {
                    return Err(CompileError::unsupported(
                        TierName::Jit,
                        format!("code needing the libcall {call:?}"),
                    ));
                }
                Target::Symbol(Symbol::Cranelift(*call))
            }
            FinalizedRelocTarget::ExternalName(other) => {
                return Err(CompileError::Codegen(format!(
                    "unexpected relocation target {other:?}"
                )));
            }
        };
        relocs.push(Relocation {
            offset: r.offset,
            kind: r.kind,
            target,
            addend: r.addend,
        });
    }
    let traps = compiled
        .buffer
        .traps()
        .iter()
        .map(|t| TrapSite {
            offset: t.offset,
            code: t.code,
        })
        .collect();
    let call_sites = unwind::handler_sites(compiled.buffer.call_sites())?;
    ctx.clear();
    Ok(Piece {
        bytes,
        relocs,
        traps,
        call_sites,
        frame_size,
    })
}
