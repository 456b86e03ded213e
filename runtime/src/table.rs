//! Tables of references.

use kiln_parser::{RefType, TableType};

use crate::trap::TrapCode;
use crate::value::RawRef;

/// A table: a growable vector of references of one type.
#[derive(Debug, Clone)]
pub struct Table {
    elems: Vec<RawRef>,
    ty: TableType,
    /// Largest size: the declared maximum capped by the configured limit.
    max: u64,
}

impl Table {
    /// A table of type `ty` with every element `init`, growing to at most `limit` elements.
    ///
    /// Returns `None` if the minimum size is over `limit`.
    pub fn new(ty: TableType, init: RawRef, limit: u64) -> Option<Table> {
        let max = ty.limits.max.unwrap_or(u64::MAX).min(limit);
        if ty.limits.min > max {
            return None;
        }
        let len = usize::try_from(ty.limits.min).ok()?;
        Some(Table {
            elems: vec![init; len],
            ty,
            max,
        })
    }

    /// The table's type as declared.
    pub fn ty(&self) -> TableType {
        self.ty
    }

    /// The element type.
    pub fn element(&self) -> RefType {
        self.ty.element
    }

    /// Current number of elements.
    pub fn size(&self) -> u64 {
        self.elems.len() as u64
    }

    /// The elements.
    pub fn elems(&self) -> &[RawRef] {
        &self.elems
    }

    /// Element `i`.
    ///
    /// # Errors
    ///
    /// `out of bounds table access` past the end.
    pub fn get(&self, i: u64) -> Result<RawRef, TrapCode> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.elems.get(i).copied())
            .ok_or(TrapCode::TableOutOfBounds)
    }

    /// Sets element `i`.
    ///
    /// # Errors
    ///
    /// `out of bounds table access` past the end.
    pub fn set(&mut self, i: u64, r: RawRef) -> Result<(), TrapCode> {
        let slot = usize::try_from(i)
            .ok()
            .and_then(|i| self.elems.get_mut(i))
            .ok_or(TrapCode::TableOutOfBounds)?;
        *slot = r;
        Ok(())
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or `None` if it may not.
    pub fn grow(&mut self, delta: u64, init: RawRef) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        if new > self.max {
            return None;
        }
        let new = usize::try_from(new).ok()?;
        self.elems.try_reserve(new - self.elems.len()).ok()?;
        self.elems.resize(new, init);
        Some(old)
    }

    /// Sets `n` elements from `dst` to `r`.
    ///
    /// # Errors
    ///
    /// `out of bounds table access` if the range leaves the table (nothing is written then).
    pub fn fill(&mut self, dst: u64, r: RawRef, n: u64) -> Result<(), TrapCode> {
        let range = range(dst, n, self.size())?;
        self.elems[range].fill(r);
        Ok(())
    }

    /// Writes `src` into the table at `dst`.
    ///
    /// # Errors
    ///
    /// `out of bounds table access` if the range leaves the table.
    pub fn init(&mut self, dst: u64, src: &[RawRef]) -> Result<(), TrapCode> {
        let range = range(dst, src.len() as u64, self.size())?;
        self.elems[range].copy_from_slice(src);
        Ok(())
    }

    /// Copies `n` elements within this table from `src` to `dst` (ranges may overlap).
    ///
    /// # Errors
    ///
    /// `out of bounds table access` if either range leaves the table.
    pub fn copy_within(&mut self, dst: u64, src: u64, n: u64) -> Result<(), TrapCode> {
        let d = range(dst, n, self.size())?;
        let s = range(src, n, self.size())?;
        self.elems.copy_within(s, d.start);
        Ok(())
    }
}

/// The index range `[start, start + n)` if it lies within `len`.
///
/// # Errors
///
/// `out of bounds table access` otherwise.
pub fn range(start: u64, n: u64, len: u64) -> Result<std::ops::Range<usize>, TrapCode> {
    match start.checked_add(n) {
        Some(end) if end <= len => Ok(start as usize..end as usize),
        _ => Err(TrapCode::TableOutOfBounds),
    }
}
