//! [`Extern`], [`Memory`], [`Table`], [`Global`]: store objects shared by imports and exports.

use kiln_parser::{FuncType, GlobalType, MemoryType, TableType};
use kiln_runtime::{GlobalAddr, MemAddr, RawRef, TableAddr, TagAddr, Val};

use crate::store::StoreId;
use crate::{AsContext, AsContextMut, Error, Func, values};

/// An external value: what an import needs and an export provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// A tag (exception handling).
    Tag(Tag),
}

impl Extern {
    pub(crate) fn from_raw(store: StoreId, e: kiln_runtime::Extern) -> Extern {
        match e {
            kiln_runtime::Extern::Func(addr) => Extern::Func(Func { store, addr }),
            kiln_runtime::Extern::Table(addr) => Extern::Table(Table { store, addr }),
            kiln_runtime::Extern::Memory(addr) => Extern::Memory(Memory { store, addr }),
            kiln_runtime::Extern::Global(addr) => Extern::Global(Global { store, addr }),
            kiln_runtime::Extern::Tag(addr) => Extern::Tag(Tag { store, addr }),
        }
    }

    pub(crate) fn to_raw(self) -> (StoreId, kiln_runtime::Extern) {
        match self {
            Extern::Func(f) => (f.store, kiln_runtime::Extern::Func(f.addr)),
            Extern::Table(t) => (t.store, kiln_runtime::Extern::Table(t.addr)),
            Extern::Memory(m) => (m.store, kiln_runtime::Extern::Memory(m.addr)),
            Extern::Global(g) => (g.store, kiln_runtime::Extern::Global(g.addr)),
            Extern::Tag(t) => (t.store, kiln_runtime::Extern::Tag(t.addr)),
        }
    }

    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }

    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

fn check(store: StoreId, cx: StoreId) {
    assert_eq!(store, cx, "object used with another store");
}

/// A linear memory of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) addr: MemAddr,
}

impl Memory {
    /// A new memory of type `ty`.
    ///
    /// # Errors
    ///
    /// [`Error::Instantiation`] if it cannot be created within the store's limits.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory, Error> {
        let cx = store.as_context_mut();
        let mem = kiln_runtime::LinearMemory::new(ty, &cx.rt.limits.memory)
            .map_err(|e| Error::Instantiation(e.to_string()))?;
        cx.rt.memories.push(mem);
        Ok(Memory {
            store: cx.id,
            addr: MemAddr(cx.rt.memories.len() as u32 - 1),
        })
    }

    /// The memory's bytes.
    ///
    /// # Panics
    ///
    /// If the memory belongs to another store (likewise for every method below).
    pub fn data<'a, S: AsContext + 'a>(&self, store: &'a S) -> &'a [u8] {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.memories[self.addr.index()].data()
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, S: AsContextMut + 'a>(&self, store: &'a mut S) -> &'a mut [u8] {
        let cx = store.as_context_mut();
        check(self.store, cx.id);
        cx.rt.memories[self.addr.index()].data_mut()
    }

    /// Size in 64 KiB pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.memories[self.addr.index()].pages()
    }

    /// Grows by `delta` pages, returning the old size.
    ///
    /// # Errors
    ///
    /// [`Error::Instantiation`] if the memory cannot grow that far (or the
    /// store's limiter denies it), [`Error::Trap`] if the limiter fails.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64, Error> {
        let cx = store.as_context_mut();
        check(self.store, cx.id);
        kiln_runtime::ops::grow_memory(cx.rt, self.addr.index(), delta)?
            .ok_or_else(|| Error::Instantiation("memory cannot grow that far".into()))
    }

    /// Copies bytes out of the memory at `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::Trap`] (out of bounds memory access) if the range leaves the memory.
    pub fn read(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        let cx = store.as_context();
        check(self.store, cx.id);
        let data = cx.rt.memories[self.addr.index()].data();
        let src = offset
            .checked_add(buf.len())
            .and_then(|end| data.get(offset..end))
            .ok_or(Error::Trap(
                kiln_runtime::TrapCode::MemoryOutOfBounds.into(),
            ))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Copies `bytes` into the memory at `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::Trap`] (out of bounds memory access) if the range leaves the memory.
    pub fn write(
        &self,
        mut store: impl AsContextMut,
        offset: usize,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let cx = store.as_context_mut();
        check(self.store, cx.id);
        let data = cx.rt.memories[self.addr.index()].data_mut();
        let dst = offset
            .checked_add(bytes.len())
            .and_then(|end| data.get_mut(offset..end))
            .ok_or(Error::Trap(
                kiln_runtime::TrapCode::MemoryOutOfBounds.into(),
            ))?;
        dst.copy_from_slice(bytes);
        Ok(())
    }

    /// The memory's type (limits as declared).
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.memories[self.addr.index()].ty()
    }
}

/// A table of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) addr: TableAddr,
}

/// Table element `r` of store-level type `ty` as a value.
fn ref_to_val(rt: &kiln_runtime::Store, ty: kiln_parser::RefType, r: RawRef) -> Val {
    rt.val_from_bits(ty.into(), u128::from(r.0))
}

/// `v` as a table element of store-level type `ty`.
fn val_to_ref(rt: &kiln_runtime::Store, ty: kiln_parser::RefType, v: Val) -> Result<RawRef, Error> {
    values::check(rt, v, ty.into(), "table element")?;
    Ok(RawRef(v.to_bits() as u32))
}

impl Table {
    /// A new table of type `ty` with every element `init`.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] if `init` is not of the element type, [`Error::Instantiation`]
    /// if the table is over the store's limits.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table, Error> {
        let cx = store.as_context_mut();
        let init = val_to_ref(cx.rt, ty.element, init)?;
        let table = kiln_runtime::Table::new(ty, init, cx.rt.limits.max_table_elements)
            .ok_or_else(|| Error::Instantiation("table exceeds the configured limit".into()))?;
        cx.rt.tables.push(table);
        Ok(Table {
            store: cx.id,
            addr: TableAddr(cx.rt.tables.len() as u32 - 1),
        })
    }

    /// Element `i`, or `None` past the end.
    pub fn get(&self, store: impl AsContext, i: u64) -> Option<Val> {
        let cx = store.as_context();
        check(self.store, cx.id);
        let t = &cx.rt.tables[self.addr.index()];
        t.get(i).ok().map(|r| ref_to_val(cx.rt, t.element(), r))
    }

    /// Sets element `i`.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] for a value of another type, [`Error::Trap`] past the end.
    pub fn set(&self, mut store: impl AsContextMut, i: u64, v: Val) -> Result<(), Error> {
        let cx = store.as_context_mut();
        check(self.store, cx.id);
        let r = val_to_ref(cx.rt, cx.rt.tables[self.addr.index()].element(), v)?;
        cx.rt.tables[self.addr.index()]
            .set(i, r)
            .map_err(|c| Error::Trap(c.into()))
    }

    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.tables[self.addr.index()].size()
    }

    /// Grows by `delta` elements set to `init`, returning the old size.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] for an `init` of another type, [`Error::Instantiation`] if the
    /// table cannot grow that far (or the store's limiter denies it),
    /// [`Error::Trap`] if the limiter fails.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64, Error> {
        let cx = store.as_context_mut();
        check(self.store, cx.id);
        let r = val_to_ref(cx.rt, cx.rt.tables[self.addr.index()].element(), init)?;
        kiln_runtime::ops::grow_table(cx.rt, self.addr.index(), delta, r)?
            .ok_or_else(|| Error::Instantiation("table cannot grow that far".into()))
    }

    /// The table's type.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.tables[self.addr.index()].ty()
    }
}

/// A tag of a store: the identity of a kind of exception, and the type of
/// its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) addr: TagAddr,
}

impl Tag {
    /// A new tag whose exceptions carry the parameters of `ty`, distinct
    /// from every other tag (even one of the same type).
    ///
    /// # Errors
    ///
    /// [`Error::Type`] if `ty` has results.
    pub fn new(mut store: impl AsContextMut, ty: &FuncType) -> Result<Tag, Error> {
        if !ty.results.is_empty() {
            return Err(Error::Type("a tag's type has no results".into()));
        }
        let cx = store.as_context_mut();
        let sig = cx.rt.intern_sig(ty);
        Ok(Tag {
            store: cx.id,
            addr: cx.rt.add_tag(sig),
        })
    }

    /// The type of the tag's payload.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.sig(cx.rt.tags[self.addr.index()].sig).clone()
    }
}

impl From<Tag> for Extern {
    fn from(t: Tag) -> Extern {
        Extern::Tag(t)
    }
}

/// A global of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) addr: GlobalAddr,
}

impl Global {
    /// A new global of type `ty` holding `v`.
    ///
    /// `ty` is a store-level type: a concrete heap type in it is a store-wide
    /// signature id, as [`Func::ref_ty`] gives it. `v` must fit by
    /// subtyping: a function of a subtype fits, and a null reference fits
    /// any nullable type of its hierarchy.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] if `v` is not of the global's type.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, v: Val) -> Result<Global, Error> {
        let cx = store.as_context_mut();
        values::check(cx.rt, v, ty.content, "global")?;
        cx.rt.globals.push(kiln_runtime::GlobalEntity {
            ty,
            bits: v.to_bits(),
        });
        Ok(Global {
            store: cx.id,
            addr: GlobalAddr(cx.rt.globals.len() as u32 - 1),
        })
    }

    /// The current value.
    pub fn get(&self, store: impl AsContext) -> Val {
        let cx = store.as_context();
        check(self.store, cx.id);
        let g = &cx.rt.globals[self.addr.index()];
        cx.rt.val_from_bits(g.ty.content, g.bits)
    }

    /// Sets the value.
    ///
    /// # Errors
    ///
    /// [`Error::Type`] if the global is immutable or `v` of another type.
    pub fn set(&self, mut store: impl AsContextMut, v: Val) -> Result<(), Error> {
        let cx = store.as_context_mut();
        check(self.store, cx.id);
        let ty = cx.rt.globals[self.addr.index()].ty;
        if !ty.mutable {
            return Err(Error::Type("global is immutable".into()));
        }
        values::check(cx.rt, v, ty.content, "global")?;
        cx.rt.globals[self.addr.index()].bits = v.to_bits();
        Ok(())
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.globals[self.addr.index()].ty
    }
}

/// A host value that WebAssembly holds as an `externref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: StoreId,
    pub(crate) addr: kiln_runtime::ExternAddr,
}

impl ExternRef {
    /// Puts `value` in the store and returns a reference to it.
    pub fn new(mut store: impl AsContextMut, value: impl std::any::Any + Send + Sync) -> ExternRef {
        let cx = store.as_context_mut();
        let addr = cx.rt.add_extern(Box::new(value));
        ExternRef { store: cx.id, addr }
    }

    /// The reference as a value (`Val::ExternRef`).
    pub fn to_val(self) -> Val {
        Val::ExternRef(Some(self.addr))
    }

    /// The reference a value holds, if it is a non-null `externref`.
    pub fn from_val(store: impl AsContext, v: Val) -> Option<ExternRef> {
        match v {
            Val::ExternRef(Some(addr)) => Some(ExternRef {
                store: store.as_context().id,
                addr,
            }),
            _ => None,
        }
    }

    /// The host value, if it is a `T`.
    pub fn data<'a, T: 'static, S: AsContext + 'a>(&self, store: &'a S) -> Option<&'a T> {
        let cx = store.as_context();
        check(self.store, cx.id);
        cx.rt.externs.get(self.addr.0 as usize)?.downcast_ref::<T>()
    }
}
