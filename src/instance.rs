//! [`Instance`]: a module instantiated in a store.

use std::any::Any;
use std::sync::Arc;

use kiln_runtime::InstanceAddr;
use kiln_runtime::instantiate::InstantiationError;

use crate::store::StoreId;
use crate::{
    AsContext, AsContextMut, Engine, Error, Extern, Func, Global, Memory, Module, Table, Tag,
    TypedFunc, WasmParams, WasmResults,
};

/// An instance of a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) addr: InstanceAddr,
}

impl Instance {
    /// Instantiates `module` with `imports` given in the order of its import section,
    /// then runs its start function.
    ///
    /// # Errors
    ///
    /// [`Error::Unlinkable`] for missing or mistyped imports, [`Error::Instantiation`]
    /// if a memory or table exceeds the limits, [`Error::Trap`] if writing a segment or
    /// the start function traps.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance, Error> {
        let cx = store.as_context_mut();
        if !Engine::same(cx.engine, module.engine()) {
            return Err(Error::Unsupported(
                "the module was compiled for another engine".into(),
            ));
        }
        let mut raw = Vec::with_capacity(imports.len());
        for e in imports {
            let (id, r) = e.to_raw();
            if id != cx.id {
                return Err(Error::Store);
            }
            raw.push(r);
        }
        let code: Arc<dyn Any + Send + Sync> = module.inner.code.clone();
        let (addr, start) =
            kiln_runtime::instantiate::instantiate(cx.rt, &module.inner.ir, &raw, code).map_err(
                |e| match e {
                    InstantiationError::Unlinkable(m) => Error::Unlinkable(m),
                    InstantiationError::Resource(m) => Error::Instantiation(m),
                    InstantiationError::Trap(t) => Error::Trap(t),
                },
            )?;
        let id = cx.id;
        if let Some(f) = start {
            Func { store: id, addr: f }.call(&mut store, &[], &mut [])?;
        }
        Ok(Instance { store: id, addr })
    }

    /// The export called `name`.
    pub fn get_export(&self, store: impl AsContext, name: &str) -> Option<Extern> {
        let cx = store.as_context();
        if cx.id != self.store {
            return None;
        }
        let e = *cx.rt.instances[self.addr.index()].exports.get(name)?;
        Some(Extern::from_raw(self.store, e))
    }

    /// All exports, by name.
    pub fn exports(&self, store: impl AsContext) -> Vec<(String, Extern)> {
        let cx = store.as_context();
        let mut all: Vec<_> = cx.rt.instances[self.addr.index()]
            .exports
            .iter()
            .map(|(n, e)| (n.clone(), Extern::from_raw(self.store, *e)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The exported function called `name`.
    pub fn get_func(&self, store: impl AsContext, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function called `name`, checked against Rust types.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] if there is no such function or its type differs.
    pub fn get_typed_func<Params: WasmParams, Results: WasmResults>(
        &self,
        store: impl AsContext,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>, Error> {
        let cx = store.as_context();
        let f = self
            .get_func(&cx, name)
            .ok_or_else(|| Error::Type(format!("no exported function named `{name}`")))?;
        f.typed(&cx)
    }

    /// The exported memory called `name`.
    pub fn get_memory(&self, store: impl AsContext, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table called `name`.
    pub fn get_table(&self, store: impl AsContext, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global called `name`.
    pub fn get_global(&self, store: impl AsContext, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported tag called `name`.
    pub fn get_tag(&self, store: impl AsContext, name: &str) -> Option<Tag> {
        self.get_export(store, name)?.into_tag()
    }
}
