//! Script values: `invoke` arguments as [`Value`]s, and `assert_return`
//! expectations as [`Expected`] patterns matched against results.
//!
//! Everything a script can say is translated up front, so that an expectation
//! the harness cannot check (GC references, `ref.func` of a particular
//! function) fails the directive instead of passing it unchecked.

use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

use crate::exec::{AnyKind, Value};

/// An expected float: exact bits, or one of the spec's NaN patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Float<T> {
    /// Exactly these bits.
    Bits(T),
    /// `nan:canonical`: a NaN whose payload is only the quiet bit, either
    /// sign.
    Canonical,
    /// `nan:arithmetic`: a NaN with the quiet bit set, any other payload,
    /// either sign.
    Arithmetic,
}

/// Which hierarchy the type a `ref.null` names belongs to: a null
/// reference is the same value whatever type of its hierarchy it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefKind {
    /// `func`, `nofunc`, or a concrete (function) type.
    Func,
    /// `extern`, `noextern`.
    Extern,
    /// `exn`, `noexn`.
    Exn,
    /// `any`, `eq`, `i31`, `struct`, `array`, `none`.
    Any,
}

/// One expected result of `assert_return`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expected {
    I32(i32),
    I64(i64),
    F32(Float<u32>),
    F64(Float<u64>),
    /// A `v128`, lane by lane.
    V128(Lanes),
    /// `ref.null`, of a given type or (without one) of any.
    RefNull(Option<RefKind>),
    /// `ref.func`, with or without a function named: any non-null funcref
    /// (as wasmtime's harness reads it; the name would say which module's
    /// function, which no tier can tell apart from an equal one).
    RefFunc,
    /// `ref.extern`: any non-null externref, or the one holding `N`.
    RefExtern(Option<u32>),
    /// `ref.host N`: the host value `N` as an `anyref`.
    RefHost(u32),
    /// `ref.any`: any non-null reference of the `any` hierarchy.
    RefAny,
    /// `ref.eq`: an `i31`, a struct or an array.
    RefEq,
    /// `ref.i31`: any `i31`.
    RefI31,
    /// `ref.struct`: any struct.
    RefStruct,
    /// `ref.array`: any array.
    RefArray,
    /// `either`: any of the alternatives.
    Either(Vec<Expected>),
}

/// An expected `v128`: integer lanes compare as exact bits, float lanes each
/// by their own pattern (so one lane may be `nan:canonical` and another exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lanes {
    /// Exactly these bits (the integer shapes).
    Bits(u128),
    /// Four `f32` lanes, lane 0 in the low bits.
    F32([Float<u32>; 4]),
    /// Two `f64` lanes.
    F64([Float<u64>; 2]),
}

impl Lanes {
    fn matches(&self, actual: u128) -> bool {
        match self {
            Lanes::Bits(bits) => *bits == actual,
            Lanes::F32(lanes) => lanes
                .iter()
                .enumerate()
                .all(|(i, l)| l.matches_f32((actual >> (32 * i)) as u32)),
            Lanes::F64(lanes) => lanes
                .iter()
                .enumerate()
                .all(|(i, l)| l.matches_f64((actual >> (64 * i)) as u64)),
        }
    }
}

impl Float<u32> {
    fn matches_f32(&self, a: u32) -> bool {
        match self {
            Float::Bits(bits) => *bits == a,
            Float::Canonical => a & 0x7fff_ffff == 0x7fc0_0000,
            Float::Arithmetic => a & 0x7fc0_0000 == 0x7fc0_0000,
        }
    }
}

impl Float<u64> {
    fn matches_f64(&self, a: u64) -> bool {
        match self {
            Float::Bits(bits) => *bits == a,
            Float::Canonical => a & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            Float::Arithmetic => a & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        }
    }
}

impl Expected {
    /// Whether `actual` is what this expects.
    pub(super) fn matches(&self, actual: &Value) -> bool {
        match (self, actual) {
            (Expected::I32(e), Value::I32(a)) => e == a,
            (Expected::I64(e), Value::I64(a)) => e == a,
            (Expected::F32(e), Value::F32(a)) => e.matches_f32(*a),
            (Expected::F64(e), Value::F64(a)) => e.matches_f64(*a),
            (Expected::V128(lanes), Value::V128(a)) => lanes.matches(*a),
            (Expected::RefNull(kind), Value::FuncRef(None)) => {
                matches!(kind, None | Some(RefKind::Func))
            }
            (Expected::RefNull(kind), Value::ExternRef(None)) => {
                matches!(kind, None | Some(RefKind::Extern))
            }
            (Expected::RefNull(kind), Value::ExnRef(None)) => {
                matches!(kind, None | Some(RefKind::Exn))
            }
            (Expected::RefNull(kind), Value::AnyRef(None)) => {
                matches!(kind, None | Some(RefKind::Any))
            }
            (Expected::RefFunc, Value::FuncRef(Some(_))) => true,
            (Expected::RefExtern(None), Value::ExternRef(Some(_))) => true,
            (Expected::RefExtern(Some(e)), Value::ExternRef(Some(a))) => e == a,
            // An `externref` made by `extern.convert_any`: any non-null one,
            // or, of a host value, that value.
            (Expected::RefExtern(None), Value::AnyRef(Some(_))) => true,
            (Expected::RefExtern(Some(e)), Value::AnyRef(Some(AnyKind::Host(a)))) => e == a,
            (Expected::RefHost(e), Value::AnyRef(Some(AnyKind::Host(a)))) => e == a,
            (Expected::RefAny, Value::AnyRef(Some(_))) => true,
            (Expected::RefEq, Value::AnyRef(Some(k))) => !matches!(k, AnyKind::Host(_)),
            (Expected::RefI31, Value::AnyRef(Some(AnyKind::I31(_)))) => true,
            (Expected::RefStruct, Value::AnyRef(Some(AnyKind::Struct))) => true,
            (Expected::RefArray, Value::AnyRef(Some(AnyKind::Array))) => true,
            (Expected::Either(alternatives), a) => alternatives.iter().any(|e| e.matches(a)),
            _ => false,
        }
    }
}

/// The arguments of an `invoke`.
///
/// # Errors
///
/// An argument the harness cannot make (a GC host reference, a component
/// value, a null reference of a GC type).
pub(super) fn args(args: &[WastArg<'_>]) -> Result<Vec<Value>, String> {
    args.iter().map(arg).collect()
}

fn arg(arg: &WastArg<'_>) -> Result<Value, String> {
    let WastArg::Core(core) = arg else {
        return Err("a component-model argument".into());
    };
    Ok(match core {
        WastArgCore::I32(v) => Value::I32(*v),
        WastArgCore::I64(v) => Value::I64(*v),
        WastArgCore::F32(v) => Value::F32(v.bits),
        WastArgCore::F64(v) => Value::F64(v.bits),
        WastArgCore::V128(v) => Value::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(heap) => match ref_kind(heap)? {
            RefKind::Func => Value::FuncRef(None),
            RefKind::Extern => Value::ExternRef(None),
            RefKind::Exn => Value::ExnRef(None),
            RefKind::Any => Value::AnyRef(None),
        },
        WastArgCore::RefExtern(n) => Value::ExternRef(Some(*n)),
        WastArgCore::RefHost(n) => Value::AnyRef(Some(AnyKind::Host(*n))),
    })
}

/// The expectations of an `assert_return`.
///
/// # Errors
///
/// An expectation the harness cannot check.
pub(super) fn expected(results: &[WastRet<'_>]) -> Result<Vec<Expected>, String> {
    results
        .iter()
        .map(|r| match r {
            WastRet::Core(core) => expected_core(core),
            _ => Err("a component-model result".into()),
        })
        .collect()
}

fn expected_core(ret: &WastRetCore<'_>) -> Result<Expected, String> {
    Ok(match ret {
        WastRetCore::I32(v) => Expected::I32(*v),
        WastRetCore::I64(v) => Expected::I64(*v),
        WastRetCore::F32(p) => Expected::F32(float(p, |f| f.bits)),
        WastRetCore::F64(p) => Expected::F64(float(p, |f| f.bits)),
        WastRetCore::V128(pattern) => Expected::V128(lanes(pattern)),
        WastRetCore::RefNull(None) => Expected::RefNull(None),
        WastRetCore::RefNull(Some(heap)) => Expected::RefNull(Some(ref_kind(heap)?)),
        WastRetCore::RefFunc(_) => Expected::RefFunc,
        WastRetCore::RefExtern(n) => Expected::RefExtern(*n),
        WastRetCore::RefHost(n) => Expected::RefHost(*n),
        WastRetCore::RefAny => Expected::RefAny,
        WastRetCore::RefEq => Expected::RefEq,
        WastRetCore::RefI31 => Expected::RefI31,
        WastRetCore::RefStruct => Expected::RefStruct,
        WastRetCore::RefArray => Expected::RefArray,
        WastRetCore::Either(alternatives) => Expected::Either(
            alternatives
                .iter()
                .map(expected_core)
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("cannot check a result of the form {other:?}")),
    })
}

/// A `v128` pattern as lanes: integer shapes packed into their bits (lane 0
/// lowest), float shapes kept lane by lane.
fn lanes(pattern: &V128Pattern) -> Lanes {
    fn pack<const N: usize>(lanes: [u128; N], width: u32) -> u128 {
        let mask = u128::MAX >> (128 - width);
        lanes
            .iter()
            .enumerate()
            .fold(0, |acc, (i, l)| acc | ((l & mask) << (width * i as u32)))
    }
    match pattern {
        V128Pattern::I8x16(l) => Lanes::Bits(pack(l.map(|x| x as u8 as u128), 8)),
        V128Pattern::I16x8(l) => Lanes::Bits(pack(l.map(|x| x as u16 as u128), 16)),
        V128Pattern::I32x4(l) => Lanes::Bits(pack(l.map(|x| x as u32 as u128), 32)),
        V128Pattern::I64x2(l) => Lanes::Bits(pack(l.map(|x| x as u64 as u128), 64)),
        V128Pattern::F32x4(l) => Lanes::F32(l.each_ref().map(|p| float(p, |f| f.bits))),
        V128Pattern::F64x2(l) => Lanes::F64(l.each_ref().map(|p| float(p, |f| f.bits))),
    }
}

fn float<T: Copy, B>(p: &NanPattern<T>, bits: impl Fn(T) -> B) -> Float<B> {
    match p {
        NanPattern::CanonicalNan => Float::Canonical,
        NanPattern::ArithmeticNan => Float::Arithmetic,
        NanPattern::Value(v) => Float::Bits(bits(*v)),
    }
}

/// The hierarchy of a heap type: `func`/`nofunc` and the concrete types
/// (all function types without GC), `extern`/`noextern`, `exn`/`noexn`.
fn ref_kind(heap: &HeapType<'_>) -> Result<RefKind, String> {
    match heap {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
        }
        | HeapType::Concrete(_) => Ok(RefKind::Func),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
        } => Ok(RefKind::Extern),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
        } => Ok(RefKind::Exn),
        HeapType::Abstract {
            shared: false,
            ty:
                AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None,
        } => Ok(RefKind::Any),
        other => Err(format!("references of type {other:?} are not supported")),
    }
}

/// Compares results with expectations.
///
/// # Errors
///
/// What differs: the count, or each result that does not match.
pub(super) fn check(expected: &[Expected], actual: &[Value]) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} results, got [{}]",
            expected.len(),
            list(actual)
        ));
    }
    let wrong: Vec<String> = expected
        .iter()
        .zip(actual)
        .enumerate()
        .filter(|(_, (e, a))| !e.matches(a))
        .map(|(i, (e, a))| format!("result {i}: expected {e:?}, got {a}"))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

/// `v1, v2, ...` for messages.
pub(super) fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        let canonical = Expected::F32(Float::Canonical);
        let arithmetic = Expected::F32(Float::Arithmetic);
        for bits in [0x7fc0_0000, 0xffc0_0000] {
            assert!(canonical.matches(&Value::F32(bits)));
            assert!(arithmetic.matches(&Value::F32(bits)));
        }
        // A quiet NaN with more payload is arithmetic, not canonical.
        assert!(!canonical.matches(&Value::F32(0x7fc0_0001)));
        assert!(arithmetic.matches(&Value::F32(0x7fc0_0001)));
        // A signalling NaN is neither; nor is infinity.
        assert!(!arithmetic.matches(&Value::F32(0x7fa0_0000)));
        assert!(!arithmetic.matches(&Value::F32(0x7f80_0000)));
        let canonical = Expected::F64(Float::Canonical);
        assert!(canonical.matches(&Value::F64(0xfff8_0000_0000_0000)));
        assert!(!canonical.matches(&Value::F64(0x7ff8_0000_0000_0001)));
        assert!(Expected::F64(Float::Arithmetic).matches(&Value::F64(0x7ff8_0000_0000_0001)));
        assert!(!Expected::F64(Float::Arithmetic).matches(&Value::F64(0x7ff4_0000_0000_0000)));
        // Exact bits tell zeros apart and never mix types.
        assert!(!Expected::F32(Float::Bits(0)).matches(&Value::F32(0x8000_0000)));
        assert!(!Expected::I32(0).matches(&Value::I64(0)));
    }

    #[test]
    fn v128_lanes() {
        let p = V128Pattern::I16x8([1, -1, 0, 0, 0, 0, 0, 2]);
        let e = Expected::V128(lanes(&p));
        assert!(e.matches(&Value::V128(0x0002_0000_0000_0000_0000_0000_ffff_0001)));
        assert!(!e.matches(&Value::V128(0x0002_0000_0000_0000_0000_0000_ffff_0002)));
        // A canonical NaN in lane 1 only; lane 0 exact.
        let f = Expected::V128(Lanes::F32([
            Float::Bits(0x3f80_0000),
            Float::Canonical,
            Float::Bits(0),
            Float::Bits(0),
        ]));
        assert!(f.matches(&Value::V128(0xffc0_0000_3f80_0000)));
        assert!(!f.matches(&Value::V128(0xffc0_0001_3f80_0000)));
        assert!(!f.matches(&Value::V128(0xffc0_0000_3f80_0001)));
        let d = Expected::V128(Lanes::F64([Float::Arithmetic, Float::Bits(1)]));
        assert!(d.matches(&Value::V128((1u128 << 64) | 0x7ff8_0000_0000_0001)));
        assert!(!d.matches(&Value::V128(0x7ff8_0000_0000_0001)));
        assert!(!e.matches(&Value::I64(1)));
    }

    #[test]
    fn references() {
        assert!(Expected::RefNull(None).matches(&Value::ExternRef(None)));
        assert!(Expected::RefNull(Some(RefKind::Func)).matches(&Value::FuncRef(None)));
        assert!(!Expected::RefNull(Some(RefKind::Func)).matches(&Value::ExternRef(None)));
        assert!(!Expected::RefNull(None).matches(&Value::FuncRef(Some(0))));
        assert!(Expected::RefFunc.matches(&Value::FuncRef(Some(3))));
        assert!(!Expected::RefFunc.matches(&Value::FuncRef(None)));
        assert!(Expected::RefExtern(Some(1)).matches(&Value::ExternRef(Some(1))));
        assert!(!Expected::RefExtern(Some(1)).matches(&Value::ExternRef(Some(2))));
        assert!(Expected::RefExtern(None).matches(&Value::ExternRef(Some(2))));
        assert!(Expected::RefNull(Some(RefKind::Exn)).matches(&Value::ExnRef(None)));
        assert!(Expected::RefNull(None).matches(&Value::ExnRef(None)));
        assert!(!Expected::RefNull(Some(RefKind::Func)).matches(&Value::ExnRef(None)));
        assert!(!Expected::RefNull(Some(RefKind::Exn)).matches(&Value::ExnRef(Some(0))));
        assert!(!Expected::RefFunc.matches(&Value::ExnRef(Some(0))));
        let either = Expected::Either(vec![Expected::I32(1), Expected::I32(2)]);
        assert!(either.matches(&Value::I32(2)));
        assert!(!either.matches(&Value::I32(3)));
    }

    /// `ref.null` names a type; its hierarchy is what a null value shows.
    #[test]
    fn typed_nulls() -> Result<(), String> {
        let kind = |text: &str| -> Result<RefKind, String> {
            let buf = wast::parser::ParseBuffer::new(text).map_err(|e| e.to_string())?;
            let heap: HeapType<'_> = wast::parser::parse(&buf).map_err(|e| e.to_string())?;
            ref_kind(&heap)
        };
        assert_eq!(kind("func")?, RefKind::Func);
        assert_eq!(kind("nofunc")?, RefKind::Func);
        assert_eq!(kind("$t")?, RefKind::Func);
        assert_eq!(kind("0")?, RefKind::Func);
        assert_eq!(kind("noextern")?, RefKind::Extern);
        assert_eq!(kind("exn")?, RefKind::Exn);
        assert_eq!(kind("noexn")?, RefKind::Exn);
        assert_eq!(kind("any")?, RefKind::Any);
        assert_eq!(kind("none")?, RefKind::Any);
        assert_eq!(kind("i31")?, RefKind::Any);
        Ok(())
    }

    #[test]
    fn counts_must_agree() {
        assert!(check(&[Expected::I32(1)], &[]).is_err());
        assert!(check(&[], &[Value::I32(1)]).is_err());
        assert_eq!(check(&[Expected::I32(1)], &[Value::I32(1)]), Ok(()));
    }
}
