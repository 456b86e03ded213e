//! How a reference of the `any` hierarchy is held in a [`RawRef`]'s 32 bits.
//!
//! - `0`: null.
//! - odd: an `i31`, its value in the upper 31 bits (`value << 1 | 1`).
//! - ending in `10`: a host value (`any.convert_extern` of an `externref`),
//!   its address in the upper 30 bits.
//! - ending in `00`, not zero: a GC object, its index plus one in the upper
//!   30 bits.
//!
//! One encoding for `any` and `extern` makes `any.convert_extern` and
//! `extern.convert_any` the identity on bits, so a value converted back and
//! forth stays itself (`ref.eq`, casts) without a table of conversions.

use crate::value::RawRef;

/// The most GC objects a store holds at once: their indices have 30 bits.
pub const MAX_OBJECTS: u32 = (1 << 30) - 1;

/// The index of a GC object in its store's heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjIdx(pub u32);

impl ObjIdx {
    /// The index as a `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a reference of the `any` (or `extern`) hierarchy refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnyRef {
    /// The null reference.
    Null,
    /// An unboxed 31-bit integer, sign-extended to 32 bits.
    I31(i32),
    /// A host value: an address among the store's externs.
    Host(u32),
    /// A GC object.
    Object(ObjIdx),
}

impl AnyRef {
    /// Reads `raw`.
    #[inline]
    pub fn decode(raw: RawRef) -> AnyRef {
        let bits = raw.0;
        if bits == 0 {
            AnyRef::Null
        } else if bits & 1 == 1 {
            AnyRef::I31((bits as i32) >> 1)
        } else if bits & 2 == 2 {
            AnyRef::Host(bits >> 2)
        } else {
            AnyRef::Object(ObjIdx((bits >> 2) - 1))
        }
    }

    /// The bits of this reference. An `I31`'s value keeps its low 31 bits;
    /// a host address or an object index keeps its low 30 (see
    /// [`MAX_OBJECTS`]).
    #[inline]
    pub fn encode(self) -> RawRef {
        RawRef(match self {
            AnyRef::Null => 0,
            AnyRef::I31(v) => (v as u32) << 1 | 1,
            AnyRef::Host(addr) => addr << 2 | 2,
            AnyRef::Object(ObjIdx(i)) => (i + 1) << 2,
        })
    }

    /// `ref.i31`: the low 31 bits of `value`.
    #[inline]
    pub fn i31(value: u32) -> RawRef {
        RawRef(value << 1 | 1)
    }

    /// `i31.get_s` (`signed`) or `i31.get_u` of an `i31` reference's bits.
    #[inline]
    pub fn i31_value(raw: RawRef, signed: bool) -> u32 {
        if signed {
            ((raw.0 as i32) >> 1) as u32
        } else {
            raw.0 >> 1
        }
    }

    /// The object `raw` refers to, if it is one.
    #[inline]
    pub fn object(raw: RawRef) -> Option<ObjIdx> {
        match AnyRef::decode(raw) {
            AnyRef::Object(o) => Some(o),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for r in [
            AnyRef::Null,
            AnyRef::I31(0),
            AnyRef::I31(-1),
            AnyRef::I31((1 << 30) - 1),
            AnyRef::I31(-(1 << 30)),
            AnyRef::Host(0),
            AnyRef::Host((1 << 30) - 1),
            AnyRef::Object(ObjIdx(0)),
            AnyRef::Object(ObjIdx(MAX_OBJECTS - 1)),
        ] {
            assert_eq!(AnyRef::decode(r.encode()), r, "{r:?}");
        }
        // Only null is zero.
        assert_eq!(AnyRef::Null.encode(), RawRef::NULL);
        assert_ne!(AnyRef::I31(0).encode(), RawRef::NULL);
        assert_ne!(AnyRef::Host(0).encode(), RawRef::NULL);
    }

    #[test]
    fn i31_keeps_31_bits_and_extends_on_reading() {
        let r = AnyRef::i31(0xffff_ffff);
        assert_eq!(AnyRef::i31_value(r, true), 0xffff_ffff);
        assert_eq!(AnyRef::i31_value(r, false), 0x7fff_ffff);
        let r = AnyRef::i31(0x4000_0000);
        assert_eq!(AnyRef::i31_value(r, true) as i32, -(1 << 30));
        assert_eq!(AnyRef::i31_value(r, false), 0x4000_0000);
        assert_eq!(AnyRef::decode(r), AnyRef::I31(-(1 << 30)));
    }
}
