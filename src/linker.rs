//! [`Linker`]: resolves imports by name, from host functions and other instances.

use std::collections::HashMap;
use std::sync::Arc;

use kiln_parser::FuncType;
use kiln_runtime::{Trap, Val};

use crate::func::{HostBody, IntoFunc};
use crate::{
    AsContext, AsContextMut, Caller, Engine, Error, Extern, ExternType, Func, Instance, Module,
};

/// A definition the linker can satisfy imports with.
enum Definition<T> {
    /// An object of a particular store.
    Extern(Extern),
    /// A host function, created in each store it is instantiated into.
    Host(FuncType, Arc<HostBody<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::Host(ty, body) => Definition::Host(ty.clone(), Arc::clone(body)),
        }
    }
}

/// Names host functions and instances' exports, and instantiates modules against them.
pub struct Linker<T> {
    engine: Engine,
    defs: HashMap<(String, String), Definition<T>>,
}

impl<T> std::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("names", &self.defs.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            defs: HashMap::new(),
        }
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<&mut Self, Error> {
        let key = (module.to_owned(), name.to_owned());
        if self.defs.contains_key(&key) {
            return Err(Error::Unlinkable(format!(
                "`{module}::{name}` is defined twice"
            )));
        }
        self.defs.insert(key, def);
        Ok(self)
    }

    /// Defines a host function from a typed Rust closure (see [`Func::wrap`]).
    ///
    /// # Errors
    ///
    /// [`Error::Unlinkable`] if the name is already defined.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self, Error> {
        let (ty, body) = f.into_func();
        self.insert(module, name, Definition::Host(ty, Arc::from(body)))
    }

    /// Defines a host function of type `ty` over untyped values (see [`Func::new`]).
    ///
    /// # Errors
    ///
    /// [`Error::Unlinkable`] if the name is already defined.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::Host(ty, Arc::new(Box::new(f))))
    }

    /// Defines `module::name` as an object of a store.
    ///
    /// # Errors
    ///
    /// [`Error::Unlinkable`] if the name is already defined.
    pub fn define(
        &mut self,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines every export of `instance` under the module name `module`.
    ///
    /// # Errors
    ///
    /// [`Error::Unlinkable`] if a name is already defined.
    pub fn instance(
        &mut self,
        store: impl AsContext,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self, Error> {
        for (name, e) in instance.exports(store) {
            self.define(module, &name, e)?;
        }
        Ok(self)
    }

    /// The definition of `module::name`, created in `store` if it is a host function.
    pub fn get(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let def = self.defs.get(&(module.to_owned(), name.to_owned()))?;
        Some(def.to_extern(store))
    }

    /// Resolves and type-checks `module`'s imports once, for instantiating it
    /// many times ([`InstancePre::instantiate`]) without looking names up
    /// again. Host functions are checked against the imports' types here;
    /// definitions that belong to a store (another instance's exports) are
    /// checked when instantiated, against that store.
    ///
    /// # Errors
    ///
    /// [`Error::Unlinkable`] for an import with no definition or a host
    /// function of another type; [`Error::Unsupported`] if the module belongs
    /// to another engine.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>, Error> {
        if !Engine::same(&self.engine, module.engine()) {
            return Err(Error::Unsupported(
                "the linker belongs to another engine".into(),
            ));
        }
        let mut imports = Vec::new();
        for (m, n, ty) in module.imports() {
            let def = self
                .defs
                .get(&(m.to_owned(), n.to_owned()))
                .ok_or_else(|| {
                    Error::Unlinkable(format!("unknown import: `{m}::{n}` has not been defined"))
                })?;
            if let Definition::Host(host_ty, _) = def
                && ty != ExternType::Func(host_ty.clone())
            {
                return Err(Error::Unlinkable(format!(
                    "incompatible import type for `{m}::{n}`: a host function of type \
                     {host_ty:?} for an import of type {ty:?}"
                )));
            }
            imports.push(def.clone());
        }
        Ok(InstancePre {
            module: module.clone(),
            imports: imports.into(),
        })
    }

    /// Instantiates `module`, resolving each import by its module and field name.
    ///
    /// # Errors
    ///
    /// [`Error::Unlinkable`] for an import with no definition, and whatever
    /// [`Instance::new`] reports.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance, Error> {
        if !Engine::same(&self.engine, module.engine()) {
            return Err(Error::Unsupported(
                "the linker belongs to another engine".into(),
            ));
        }
        let mut imports = Vec::new();
        for (m, n, _) in module.imports() {
            let e = self.get(&mut store, m, n).ok_or_else(|| {
                Error::Unlinkable(format!("unknown import: `{m}::{n}` has not been defined"))
            })?;
            imports.push(e);
        }
        Instance::new(store, module, &imports)
    }
}

impl<T: 'static> Definition<T> {
    /// The definition as an extern of `store`: a host function is created there.
    fn to_extern(&self, mut store: impl AsContextMut<Data = T>) -> Extern {
        match self {
            Definition::Extern(e) => *e,
            Definition::Host(ty, body) => {
                let body = Arc::clone(body);
                Extern::Func(Func::new(
                    store.as_context_mut(),
                    ty.clone(),
                    move |c, p, r| body(c, p, r),
                ))
            }
        }
    }
}

/// A module with its imports resolved by a [`Linker`] ([`Linker::instantiate_pre`]):
/// instantiating it takes no name lookups, so a server that instantiates one
/// module per request pays for linking once. Cheap to clone and to share
/// between threads.
pub struct InstancePre<T> {
    module: Module,
    /// The definition of each import, in the module's import order.
    imports: Arc<[Definition<T>]>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            module: self.module.clone(),
            imports: Arc::clone(&self.imports),
        }
    }
}

impl<T> std::fmt::Debug for InstancePre<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstancePre")
            .field("module", &self.module)
            .field("imports", &self.imports.len())
            .finish()
    }
}

impl<T: 'static> InstancePre<T> {
    /// The module it instantiates.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Instantiates the module in `store` (host functions are created there),
    /// then runs its start function.
    ///
    /// # Errors
    ///
    /// As [`Instance::new`]: [`Error::Store`] when a resolved definition
    /// belongs to another store, [`Error::Unlinkable`] when it does not fit
    /// its import, and instantiation's own errors and traps.
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance, Error> {
        let imports: Vec<Extern> = self
            .imports
            .iter()
            .map(|d| d.to_extern(&mut store))
            .collect();
        Instance::new(store, &self.module, &imports)
    }
}
