//! [`Module`]: a validated, compiled module, ready to instantiate in any store of its engine.

use std::sync::Arc;

use kiln_parser::{ExternKind, FuncType, GlobalType, ImportKind, MemoryType, TableType};

use crate::{Engine, Error, Strategy};

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag, with the type of its payload.
    Tag(FuncType),
}

/// A compiled module.
#[derive(Debug, Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

#[derive(Debug)]
pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) ir: Arc<kiln_parser::Module>,
    /// The binary module, kept for [`Module::serialize`].
    pub(crate) binary: Arc<[u8]>,
    /// The tier's compiled form (`kiln_interp::CompiledModule` or
    /// `kiln_jit::CompiledModule`, as the engine's strategy says).
    pub(crate) code: Arc<dyn std::any::Any + Send + Sync>,
    /// Under the tiered strategy, the background compile of `code`'s native
    /// form (`tiered.rs`).
    pub(crate) tier_up: Option<Arc<crate::tiered::TierUp>>,
}

impl Module {
    /// Parses, validates and prepares a module given as binary or text.
    ///
    /// # Errors
    ///
    /// [`Error::Wat`], [`Error::Parse`] or [`Error::Invalid`] for bad input;
    /// [`Error::Unsupported`] if the engine's tier cannot run the module.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, Error> {
        let binary = crate::wat2wasm(bytes.as_ref())?;
        let features = engine.config().features;
        let ir = kiln_parser::parse(&binary, features)?;
        let info = kiln_validator::validate(&ir, features)?;
        // The interpreter runs GC (and the tiered strategy, which keeps a
        // module the JIT refuses on the interpreter); the JIT does not yet.
        if features.gc && engine.config().strategy == Strategy::Jit {
            refuse_gc(&binary, features)?;
        }
        let ir = Arc::new(ir);
        let options = engine.config().compile_options();
        let info = Arc::new(info);
        let mut tier_up = None;
        let code: Arc<dyn std::any::Any + Send + Sync> = match engine.config().strategy {
            Strategy::Interpreter => Arc::new(
                kiln_interp::CompiledModule::new(Arc::clone(&ir), info, options)
                    .map_err(compile_error)?,
            ),
            Strategy::Jit => Arc::new(
                kiln_jit::CompiledModule::new(Arc::clone(&ir), info, options)
                    .map_err(compile_error)?,
            ),
            Strategy::Tiered => {
                let interp =
                    kiln_interp::CompiledModule::new(Arc::clone(&ir), Arc::clone(&info), options)
                        .map_err(compile_error)?;
                let code = Arc::new(kiln_runtime::invoke::TieredCode {
                    interp: Arc::new(interp),
                    native: std::sync::OnceLock::new(),
                });
                let ir = Arc::clone(&ir);
                tier_up = Some(crate::tiered::compile_in_background(&code, move || {
                    let native = kiln_jit::CompiledModule::new(ir, info, options).ok()?;
                    Some(Arc::new(native) as Arc<dyn std::any::Any + Send + Sync>)
                }));
                code
            }
        };
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                ir,
                binary: binary.into(),
                code,
                tier_up,
            }),
        })
    }

    /// Whether calls that start now run native code: always on the JIT,
    /// never on the interpreter, and under [`Strategy::Tiered`] once the
    /// module's background compile has finished. Does not wait.
    pub fn native_ready(&self) -> bool {
        kiln_runtime::invoke::code_as::<kiln_jit::CompiledModule>(&*self.inner.code).is_some()
    }

    /// Under [`Strategy::Tiered`], waits until the module's background
    /// compile has finished, and says whether the module now has native
    /// code (calls that start from now on run it). On other engines it
    /// returns at once: `true` for the JIT's modules, `false` for the
    /// interpreter's.
    pub fn wait_native(&self) -> bool {
        match &self.inner.tier_up {
            Some(tier_up) => tier_up.wait(),
            None => self.native_ready(),
        }
    }

    /// The engine the module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The module's IR, as `kiln-parser` produced it.
    pub fn ir(&self) -> &kiln_parser::Module {
        &self.inner.ir
    }

    /// The module's imports: module name, field name and type, in order.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternType)> + '_ {
        let ir = &self.inner.ir;
        ir.imports.iter().map(move |i| {
            let ty = match i.kind {
                ImportKind::Func(t) => ExternType::Func(ir.types[t.index()].func().clone()),
                ImportKind::Table(t) => ExternType::Table(t),
                ImportKind::Memory(m) => ExternType::Memory(m),
                ImportKind::Global(g) => ExternType::Global(g),
                ImportKind::Tag(t) => ExternType::Tag(ir.types[t.index()].func().clone()),
            };
            (i.module.as_str(), i.name.as_str(), ty)
        })
    }

    /// The module's exports: name and type, in order.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternType)> + '_ {
        let ir = &self.inner.ir;
        ir.exports.iter().filter_map(move |e| {
            let idx = kiln_parser::FuncIdx(e.index);
            let ty = match e.kind {
                ExternKind::Func => {
                    ExternType::Func(ir.types[ir.func_type_idx(idx)?.index()].func().clone())
                }
                ExternKind::Table => {
                    ExternType::Table(ir.table_type(kiln_parser::TableIdx(e.index))?)
                }
                ExternKind::Memory => {
                    ExternType::Memory(ir.memory_type(kiln_parser::MemIdx(e.index))?)
                }
                ExternKind::Global => {
                    ExternType::Global(ir.global_type(kiln_parser::GlobalIdx(e.index))?)
                }
                ExternKind::Tag => {
                    let t = ir.tag_type(kiln_parser::TagIdx(e.index))?;
                    ExternType::Tag(ir.get_func_type(t)?.clone())
                }
            };
            Some((e.name.as_str(), ty))
        })
    }
}

/// [`Error::Unsupported`] if a valid module needs GC (its types, heap types
/// or instructions), which the JIT does not run yet: the module is checked
/// again with GC off. Only asked when the engine's features include GC.
fn refuse_gc(binary: &[u8], features: kiln_parser::Features) -> Result<(), Error> {
    let without = kiln_parser::Features {
        gc: false,
        ..features
    };
    let needs_gc = kiln_parser::parse(binary, without)
        .map_err(|_| ())
        .and_then(|ir| kiln_validator::validate(&ir, without).map_err(|_| ()))
        .is_err();
    if needs_gc {
        return Err(Error::Unsupported(
            "GC (struct and array types, `any`, `eq`, `i31`, `none` and the GC \
             instructions) is run by the interpreter, not yet by the JIT"
                .into(),
        ));
    }
    Ok(())
}

/// A tier's refusal as the API reports it: what the tier does not run yet is
/// [`Error::Unsupported`], anything else [`Error::Compile`].
pub(crate) fn compile_error(e: kiln_runtime::CompileError) -> Error {
    match e {
        kiln_runtime::CompileError::Unsupported { .. } => Error::Unsupported(e.to_string()),
        other => Error::Compile(other.to_string()),
    }
}
