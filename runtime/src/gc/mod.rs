//! The GC heap of a store: the struct and array objects of WebAssembly's GC
//! proposal, and the collector that frees those nothing refers to.
//!
//! Objects live in one vector, addressed by [`ObjIdx`] (held in a
//! [`RawRef`] as [`AnyRef`] describes), each with its type's store-wide id,
//! its [`Layout`] and its bytes. Freed slots are reused. The collector is a
//! precise, non-moving mark-sweep: it marks from the roots it is given (the
//! tiers' frames, the store's globals, tables, segments and exceptions) through
//! every reference field and element, then frees every unmarked object, so
//! cycles are freed like anything else.
//!
//! # The limit, deterministically
//!
//! The heap holds at most `limit` bytes, an object counting
//! [`OBJECT_HEADER_BYTES`] plus its data. An allocation that would pass the
//! limit makes the caller collect first (with every root), and fails only if
//! it still does not fit. So whether an allocation fails depends on what is
//! reachable at that point alone, never on when earlier collections ran:
//! with the same roots, every tier and every machine fails at the same
//! allocation. Collections run at no other time, so their moments are
//! reproducible too.

mod layout;

use std::sync::Arc;

pub use crate::value::{AnyRef, MAX_OBJECTS, ObjIdx};
pub use layout::{FieldLayout, Layout, StorageKind};

use kiln_parser::FieldRead;

use crate::value::{RawRef, SigId};

/// The default most bytes a store's GC heap holds (1 GiB).
pub const DEFAULT_HEAP_BYTES: u64 = 1 << 30;

/// What every object costs besides its data, in the heap's limit: its type,
/// layout and length, about what a header would take.
pub const OBJECT_HEADER_BYTES: u64 = 16;

/// Why a heap operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcError {
    /// The object does not fit in the heap's limit, even after a
    /// collection (or the store holds [`MAX_OBJECTS`] already).
    Exhausted,
    /// An array index or range past the array's length.
    OutOfBounds,
    /// A reference to no object of this heap (a bug, or another store's).
    Dangling,
}

/// One object: its type, layout, length (arrays) and bytes.
#[derive(Debug)]
struct Object {
    ty: SigId,
    layout: Arc<Layout>,
    len: u32,
    data: Box<[u8]>,
}

impl Object {
    fn size(&self) -> u64 {
        OBJECT_HEADER_BYTES + self.data.len() as u64
    }
}

/// What the collector has done, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Collections run.
    pub collections: u64,
    /// Objects allocated, in all.
    pub allocated_objects: u64,
    /// Bytes allocated, in all (headers included).
    pub allocated_bytes: u64,
    /// Objects freed, in all.
    pub freed_objects: u64,
    /// The most bytes the heap held at once.
    pub peak_bytes: u64,
    /// The longest collection, in nanoseconds.
    pub longest_pause_ns: u64,
}

/// A store's GC heap.
#[derive(Debug)]
pub struct GcHeap {
    /// Every object slot; `None` where an object was freed.
    objects: Vec<Option<Object>>,
    /// Freed slots, reused before the vector grows.
    free: Vec<u32>,
    /// Bytes the objects hold, headers included.
    bytes: u64,
    /// The most bytes they may hold.
    limit: u64,
    /// The collector's marks and work list, kept between collections.
    marks: Vec<bool>,
    work: Vec<ObjIdx>,
    stats: GcStats,
}

impl Default for GcHeap {
    fn default() -> GcHeap {
        GcHeap::new(DEFAULT_HEAP_BYTES)
    }
}

impl GcHeap {
    /// An empty heap that holds at most `limit` bytes.
    pub fn new(limit: u64) -> GcHeap {
        GcHeap {
            objects: Vec::new(),
            free: Vec::new(),
            bytes: 0,
            limit,
            marks: Vec::new(),
            work: Vec::new(),
            stats: GcStats::default(),
        }
    }

    /// Bytes held now, headers included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The most bytes the heap may hold.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// What the collector has done so far.
    pub fn stats(&self) -> GcStats {
        self.stats
    }

    /// Objects held now.
    pub fn len(&self) -> usize {
        self.objects.len() - self.free.len()
    }

    /// Whether the heap holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes an object of `layout` with `len` elements counts.
    pub fn object_size(layout: &Layout, len: u32) -> u64 {
        OBJECT_HEADER_BYTES.saturating_add(layout.data_size(len))
    }

    /// Whether an object of `size` bytes fits without a collection.
    pub fn fits(&self, size: u64) -> bool {
        self.bytes
            .checked_add(size)
            .is_some_and(|total| total <= self.limit)
    }

    /// Allocates a zeroed object of type `ty` (whose layout is `layout`)
    /// with `len` elements (0 for a struct). The caller collects first when
    /// it does not [fit](GcHeap::fits).
    ///
    /// # Errors
    ///
    /// [`GcError::Exhausted`] if it does not fit.
    pub fn alloc(&mut self, ty: SigId, layout: Arc<Layout>, len: u32) -> Result<ObjIdx, GcError> {
        let size = GcHeap::object_size(&layout, len);
        if !self.fits(size) {
            return Err(GcError::Exhausted);
        }
        let data_len =
            usize::try_from(size - OBJECT_HEADER_BYTES).map_err(|_| GcError::Exhausted)?;
        let object = Object {
            ty,
            layout,
            len,
            data: vec![0u8; data_len].into_boxed_slice(),
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.objects[i as usize] = Some(object);
                i
            }
            None => {
                let i = u32::try_from(self.objects.len())
                    .ok()
                    .filter(|&i| i < MAX_OBJECTS)
                    .ok_or(GcError::Exhausted)?;
                self.objects.push(Some(object));
                i
            }
        };
        self.bytes += size;
        self.stats.allocated_objects += 1;
        self.stats.allocated_bytes += size;
        self.stats.peak_bytes = self.stats.peak_bytes.max(self.bytes);
        Ok(ObjIdx(idx))
    }

    fn object(&self, o: ObjIdx) -> Result<&Object, GcError> {
        self.objects
            .get(o.index())
            .and_then(Option::as_ref)
            .ok_or(GcError::Dangling)
    }

    fn object_mut(&mut self, o: ObjIdx) -> Result<&mut Object, GcError> {
        self.objects
            .get_mut(o.index())
            .and_then(Option::as_mut)
            .ok_or(GcError::Dangling)
    }

    /// Whether `o` is an object of this heap.
    pub fn contains(&self, o: ObjIdx) -> bool {
        self.object(o).is_ok()
    }

    /// The type of object `o`.
    ///
    /// # Errors
    ///
    /// [`GcError::Dangling`] if there is no such object.
    pub fn ty(&self, o: ObjIdx) -> Result<SigId, GcError> {
        self.object(o).map(|x| x.ty)
    }

    /// The layout of object `o`.
    ///
    /// # Errors
    ///
    /// [`GcError::Dangling`] if there is no such object.
    pub fn layout(&self, o: ObjIdx) -> Result<&Layout, GcError> {
        self.object(o).map(|x| &*x.layout)
    }

    /// The length of array `o` (0 for a struct).
    ///
    /// # Errors
    ///
    /// [`GcError::Dangling`] if there is no such object.
    pub fn array_len(&self, o: ObjIdx) -> Result<u32, GcError> {
        self.object(o).map(|x| x.len)
    }

    /// Field `field` of struct `o`, read as `how` says.
    ///
    /// # Errors
    ///
    /// [`GcError::Dangling`] if there is no such object or field.
    pub fn struct_get(&self, o: ObjIdx, field: u32, how: FieldRead) -> Result<u128, GcError> {
        let x = self.object(o)?;
        let f = struct_field(&x.layout, field)?;
        Ok(f.kind.read(&x.data[f.offset as usize..], how))
    }

    /// Sets field `field` of struct `o` to `bits`.
    ///
    /// # Errors
    ///
    /// [`GcError::Dangling`] if there is no such object or field.
    pub fn struct_set(&mut self, o: ObjIdx, field: u32, bits: u128) -> Result<(), GcError> {
        let x = self.object_mut(o)?;
        let f = struct_field(&x.layout, field)?;
        f.kind.write(&mut x.data[f.offset as usize..], bits);
        Ok(())
    }

    /// The array `o`'s element kind, and the byte range of its elements
    /// `at..at + n`.
    fn elements(
        x: &Object,
        at: u32,
        n: u32,
    ) -> Result<(StorageKind, std::ops::Range<usize>), GcError> {
        let Layout::Array(kind) = *x.layout else {
            return Err(GcError::Dangling);
        };
        let end = u64::from(at) + u64::from(n);
        if end > u64::from(x.len) {
            return Err(GcError::OutOfBounds);
        }
        let size = kind.size();
        Ok((kind, at as usize * size..end as usize * size))
    }

    /// Element `i` of array `o`, read as `how` says.
    ///
    /// # Errors
    ///
    /// [`GcError::OutOfBounds`] past the length; [`GcError::Dangling`] if
    /// there is no such array.
    pub fn array_get(&self, o: ObjIdx, i: u32, how: FieldRead) -> Result<u128, GcError> {
        let x = self.object(o)?;
        let (kind, range) = GcHeap::elements(x, i, 1)?;
        Ok(kind.read(&x.data[range], how))
    }

    /// Sets element `i` of array `o` to `bits`.
    ///
    /// # Errors
    ///
    /// As [`GcHeap::array_get`].
    pub fn array_set(&mut self, o: ObjIdx, i: u32, bits: u128) -> Result<(), GcError> {
        self.array_fill(o, i, bits, 1)
    }

    /// Sets elements `at..at + n` of array `o` to `bits`.
    ///
    /// # Errors
    ///
    /// As [`GcHeap::array_get`], for any element of the range.
    pub fn array_fill(&mut self, o: ObjIdx, at: u32, bits: u128, n: u32) -> Result<(), GcError> {
        let x = self.object_mut(o)?;
        let (kind, range) = GcHeap::elements(x, at, n)?;
        for chunk in x.data[range].chunks_exact_mut(kind.size()) {
            kind.write(chunk, bits);
        }
        Ok(())
    }

    /// Copies elements `src_at..src_at + n` of array `src` over elements
    /// `dst_at..` of array `dst` (which may be the same array, the ranges
    /// overlapping), as `array.copy` does. The element kinds must agree,
    /// which validation ensures.
    ///
    /// # Errors
    ///
    /// As [`GcHeap::array_get`], for either range.
    pub fn array_copy(
        &mut self,
        dst: ObjIdx,
        dst_at: u32,
        src: ObjIdx,
        src_at: u32,
        n: u32,
    ) -> Result<(), GcError> {
        let (src_kind, src_range) = GcHeap::elements(self.object(src)?, src_at, n)?;
        let (dst_kind, dst_range) = GcHeap::elements(self.object(dst)?, dst_at, n)?;
        if src_kind != dst_kind {
            return Err(GcError::Dangling);
        }
        if src == dst {
            let x = self.object_mut(dst)?;
            x.data.copy_within(src_range, dst_range.start);
        } else {
            // Two distinct slots: take the source's bytes out for the copy.
            let bytes = self.object(src)?.data[src_range].to_vec();
            self.object_mut(dst)?.data[dst_range].copy_from_slice(&bytes);
        }
        Ok(())
    }

    /// Writes `bytes` (whole elements, little-endian, as a data segment
    /// holds them) over the elements from `at` of array `o`
    /// (`array.new_data`, `array.init_data`).
    ///
    /// # Errors
    ///
    /// As [`GcHeap::array_get`], for the elements written.
    pub fn array_write_bytes(&mut self, o: ObjIdx, at: u32, bytes: &[u8]) -> Result<(), GcError> {
        let x = self.object_mut(o)?;
        let Layout::Array(kind) = *x.layout else {
            return Err(GcError::Dangling);
        };
        let n = u32::try_from(bytes.len() / kind.size()).map_err(|_| GcError::OutOfBounds)?;
        let (_, range) = GcHeap::elements(x, at, n)?;
        x.data[range].copy_from_slice(&bytes[..n as usize * kind.size()]);
        Ok(())
    }

    /// Writes `refs` over the elements from `at` of array `o`, an array of
    /// references (`array.new_elem`, `array.init_elem`).
    ///
    /// # Errors
    ///
    /// As [`GcHeap::array_get`], for the elements written.
    pub fn array_write_refs(&mut self, o: ObjIdx, at: u32, refs: &[RawRef]) -> Result<(), GcError> {
        let x = self.object_mut(o)?;
        let n = u32::try_from(refs.len()).map_err(|_| GcError::OutOfBounds)?;
        let (kind, range) = GcHeap::elements(x, at, n)?;
        if !matches!(kind, StorageKind::GcRef | StorageKind::Ref) {
            return Err(GcError::Dangling);
        }
        for (chunk, r) in x.data[range].chunks_exact_mut(4).zip(refs) {
            chunk.copy_from_slice(&r.0.to_le_bytes());
        }
        Ok(())
    }

    /// Frees every object not reachable from `roots` (through reference
    /// fields and elements). References in `roots` that are not objects of
    /// this heap (null, `i31`, host values) are ignored.
    pub fn collect(&mut self, roots: impl IntoIterator<Item = RawRef>) {
        let started = std::time::Instant::now();
        self.marks.clear();
        self.marks.resize(self.objects.len(), false);
        self.work.clear();
        let GcHeap {
            objects,
            marks,
            work,
            ..
        } = self;
        for r in roots {
            mark(objects, marks, work, r);
        }
        while let Some(o) = work.pop() {
            let Some(x) = objects.get(o.index()).and_then(Option::as_ref) else {
                continue;
            };
            match &*x.layout {
                Layout::Struct { refs, .. } => {
                    for &at in refs.iter() {
                        let r = layout::read_ref(&x.data[at as usize..]);
                        mark(objects, marks, work, r);
                    }
                }
                Layout::Array(StorageKind::GcRef) => {
                    for chunk in x.data.chunks_exact(4) {
                        mark(objects, marks, work, layout::read_ref(chunk));
                    }
                }
                Layout::Array(_) => {}
            }
        }
        for (i, slot) in self.objects.iter_mut().enumerate() {
            if !self.marks[i]
                && let Some(x) = slot.take()
            {
                self.bytes -= x.size();
                self.free.push(i as u32);
                self.stats.freed_objects += 1;
            }
        }
        self.stats.collections += 1;
        let pause = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.stats.longest_pause_ns = self.stats.longest_pause_ns.max(pause);
    }
}

/// Marks the object `r` refers to, if it is one of `objects` not marked
/// yet, and queues it on `work` to have its references marked.
fn mark(objects: &[Option<Object>], marks: &mut [bool], work: &mut Vec<ObjIdx>, r: RawRef) {
    if let Some(o) = AnyRef::object(r)
        && let Some(m) = marks.get_mut(o.index())
        && !*m
        && objects[o.index()].is_some()
    {
        *m = true;
        work.push(o);
    }
}

/// Field `field` of a struct layout.
fn struct_field(layout: &Layout, field: u32) -> Result<FieldLayout, GcError> {
    match layout {
        Layout::Struct { fields, .. } => {
            fields.get(field as usize).copied().ok_or(GcError::Dangling)
        }
        Layout::Array(_) => Err(GcError::Dangling),
    }
}

#[cfg(test)]
mod tests;
