//! 64-bit memories past 4 GiB: created under the default limits, accessed,
//! grown, filled and copied above 4 GiB, with accesses past the end and
//! effective addresses past 2^64 trapping, and the embedder's limit still
//! refusing them.
//!
//! The memories here span a little over 4 GiB of address space, but only the
//! pages written are ever touched, so each case costs a few pages of memory.

use kiln::{Error, Linker, Module, Store, TrapCode, Val};

use crate::{Program, Tier, code};

tier_tests!(
    memory64_past_4_gib_instantiates_by_default,
    memory64_offsets_past_4_gib_and_overflowing_addresses,
    memory64_grows_past_4_gib,
    memory64_fill_copy_and_init_past_4_gib,
    memory64_copies_between_memories_of_both_index_types,
    memory64_v128_accesses_past_4_gib,
    memory64_limit_still_applies,
);

/// 65,537 pages: one page past 4 GiB.
const PAGES: i64 = 0x1_0001;
/// The first address past the end of a memory of [`PAGES`] pages.
const END: i64 = PAGES * 65536;
/// An address above 4 GiB.
const HIGH: i64 = 0x1_0000_0010;

/// A module with a 64-bit memory of [`PAGES`] pages, a data segment above
/// 4 GiB, and an export per kind of access.
const BIG: &str = r#"(module
  (memory i64 0x10001)
  (data (i64.const 0x100000004) "\01\02\03\04")
  (data $passive "kiln")
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load8") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i64) (result i32) (i32.load (local.get 0)))
  (func (export "store_at_4g") (param i64 i64)
    (i64.store offset=0x100000000 (local.get 0) (local.get 1)))
  (func (export "load_at_4g") (param i64) (result i64)
    (i64.load offset=0x100000000 (local.get 0)))
  (func (export "load_at_1") (param i64) (result i32) (i32.load8_u offset=1 (local.get 0)))
  (func (export "load_at_max") (param i64) (result i32)
    (i32.load8_u offset=0xfffffffffffffff0 (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i32 i64)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i64 i32 i32)
    (memory.init $passive (local.get 0) (local.get 1) (local.get 2))))"#;

fn i64s(values: &[i64]) -> Vec<Val> {
    values.iter().map(|&v| Val::I64(v)).collect()
}

fn oob(r: Result<Vec<Val>, kiln::Trap>) -> bool {
    code(r) == Some(TrapCode::MemoryOutOfBounds)
}

/// The module instantiates under the default configuration; a store and a
/// load above 4 GiB round-trip, the data segment above 4 GiB is in place, the
/// last bytes are accessible and an access that reaches past the end traps.
fn memory64_past_4_gib_instantiates_by_default(tier: Tier) {
    let mut p = Program::load(tier, BIG);
    assert_eq!(p.call("size", &[]), Ok(i64s(&[PAGES])));
    assert_eq!(
        p.call("load32", &i64s(&[0x1_0000_0004])),
        Ok(vec![Val::I32(0x0403_0201)])
    );
    let v = 0x0123_4567_89ab_cdef;
    assert_eq!(p.call("store", &i64s(&[HIGH, v])), Ok(vec![]));
    assert_eq!(p.call("load", &i64s(&[HIGH])), Ok(i64s(&[v])));
    // The same bytes seen 4 GiB lower are another location.
    assert_eq!(p.call("load", &i64s(&[HIGH - (1 << 32)])), Ok(i64s(&[0])));
    assert_eq!(p.call("load8", &i64s(&[END - 1])), Ok(vec![Val::I32(0)]));
    assert_eq!(p.call("load32", &i64s(&[END - 4])), Ok(vec![Val::I32(0)]));
    assert!(oob(p.call("load32", &i64s(&[END - 3]))));
    assert!(oob(p.call("load8", &i64s(&[END]))));
    assert!(oob(p.call("store", &i64s(&[END - 7, 1]))));
    assert!(oob(p.call("load8", &i64s(&[i64::MIN]))));
    assert!(oob(p.call("load", &i64s(&[-1]))));
}

/// Static offsets above 4 GiB reach above 4 GiB; an address plus offset that
/// overflows 64 bits traps rather than wrapping to a low address.
fn memory64_offsets_past_4_gib_and_overflowing_addresses(tier: Tier) {
    let mut p = Program::load(tier, BIG);
    let v = -0x1234_5678;
    assert_eq!(p.call("store_at_4g", &i64s(&[0x10, v])), Ok(vec![]));
    assert_eq!(p.call("load", &i64s(&[HIGH])), Ok(i64s(&[v])));
    assert_eq!(p.call("load_at_4g", &i64s(&[0x10])), Ok(i64s(&[v])));
    assert!(oob(p.call("load_at_4g", &i64s(&[0x1_0000]))));
    assert_eq!(
        p.call("load_at_1", &i64s(&[END - 2])),
        Ok(vec![Val::I32(0)])
    );
    assert!(oob(p.call("load_at_1", &i64s(&[END - 1]))));
    // u64::MAX + 1 wraps to 0 in 64 bits: in bounds only if computed wrongly.
    assert!(oob(p.call("load_at_1", &i64s(&[-1]))));
    // 0x20 + 0xffff_ffff_ffff_fff0 wraps to 0x10.
    assert!(oob(p.call("load_at_max", &i64s(&[0x20]))));
    assert!(oob(p.call("load_at_max", &i64s(&[0]))));
    // Nothing was written by the trapping accesses.
    assert_eq!(p.call("load8", &i64s(&[0x10])), Ok(vec![Val::I32(0)]));
}

/// `memory.grow` takes a one-page 64-bit memory past 4 GiB, `memory.size`
/// follows, and the new pages are usable; growth past the declared maximum
/// or the memory's reservation gives -1.
fn memory64_grows_past_4_gib(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory i64 1)
          (func (export "size") (result i64) (memory.size))
          (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
          (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
          (func (export "load") (param i64) (result i64) (i64.load (local.get 0))))"#,
    );
    assert!(oob(p.call("store", &i64s(&[HIGH, 9]))));
    assert_eq!(p.call("grow", &i64s(&[0x1_0000])), Ok(i64s(&[1])));
    assert_eq!(p.call("size", &[]), Ok(i64s(&[PAGES])));
    assert_eq!(p.call("store", &i64s(&[HIGH, 9])), Ok(vec![]));
    assert_eq!(p.call("load", &i64s(&[HIGH])), Ok(i64s(&[9])));
    assert!(oob(p.call("load", &i64s(&[END - 4]))));
    // By default a 64-bit memory can grow 64 GiB past its initial size.
    let room = (64 << 30) / 65536;
    assert_eq!(p.call("grow", &i64s(&[room])), Ok(i64s(&[-1])));
    assert_eq!(p.call("grow", &i64s(&[-1])), Ok(i64s(&[-1])));
    assert_eq!(p.call("size", &[]), Ok(i64s(&[PAGES])));

    let mut p = Program::load(
        tier,
        r#"(module
          (memory i64 1 0x10002)
          (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"#,
    );
    assert_eq!(p.call("grow", &i64s(&[PAGES])), Ok(i64s(&[1])));
    assert_eq!(p.call("grow", &i64s(&[1])), Ok(i64s(&[-1])));
    assert_eq!(p.call("grow", &i64s(&[0])), Ok(i64s(&[PAGES + 1])));
}

/// `memory.fill`, `memory.copy` and `memory.init` above 4 GiB and across it;
/// ranges past the end, or whose end overflows 64 bits, trap.
fn memory64_fill_copy_and_init_past_4_gib(tier: Tier) {
    let mut p = Program::load(tier, BIG);
    let fill = |p: &mut Program, d: i64, v: i32, n: i64| {
        p.call("fill", &[Val::I64(d), Val::I32(v), Val::I64(n)])
    };
    let pattern = i64::from_le_bytes([0xab; 8]);
    assert_eq!(fill(&mut p, 0x1_0000_0100, 0xab, 16), Ok(vec![]));
    assert_eq!(
        p.call("load", &i64s(&[0x1_0000_0108])),
        Ok(i64s(&[pattern]))
    );
    assert_eq!(
        p.call("load8", &i64s(&[0x1_0000_0110])),
        Ok(vec![Val::I32(0)])
    );
    assert_eq!(
        p.call("copy", &i64s(&[0x1_0000_8000, 0x1_0000_0100, 16])),
        Ok(vec![])
    );
    assert_eq!(
        p.call("load", &i64s(&[0x1_0000_8008])),
        Ok(i64s(&[pattern]))
    );
    // Down below 4 GiB, and from across the 4 GiB boundary.
    assert_eq!(p.call("copy", &i64s(&[0x40, 0x1_0000_0100, 8])), Ok(vec![]));
    assert_eq!(p.call("load", &i64s(&[0x40])), Ok(i64s(&[pattern])));
    // 05 06 07 08 just below 4 GiB, then the data segment's 01 02 03 04 at
    // 4 GiB + 4.
    assert_eq!(
        p.call("store", &i64s(&[0xffff_fff8, 0x0807_0605 << 32])),
        Ok(vec![])
    );
    assert_eq!(
        p.call("copy", &i64s(&[0x1_0000_0200, 0xffff_fffc, 12])),
        Ok(vec![])
    );
    assert_eq!(
        p.call("load", &i64s(&[0x1_0000_0200])),
        Ok(i64s(&[0x0807_0605]))
    );
    assert_eq!(
        p.call("load32", &i64s(&[0x1_0000_0208])),
        Ok(vec![Val::I32(0x0403_0201)])
    );
    // "kiln" from the passive segment.
    assert_eq!(
        p.call("init", &[Val::I64(0x1_0000_0300), Val::I32(0), Val::I32(4)]),
        Ok(vec![])
    );
    assert_eq!(
        p.call("load32", &i64s(&[0x1_0000_0300])),
        Ok(vec![Val::I32(i32::from_le_bytes(*b"kiln"))])
    );
    // Past the end, and past 2^64.
    assert!(oob(fill(&mut p, END - 8, 1, 16)));
    assert!(oob(fill(&mut p, 0x10, 1, -1)));
    assert!(oob(fill(&mut p, -8, 1, 16)));
    assert!(oob(p.call("copy", &i64s(&[0x10, END - 8, 16]))));
    assert!(oob(p.call("copy", &i64s(&[-4, 0x10, 8]))));
    assert!(oob(
        p.call("init", &[Val::I64(END - 2), Val::I32(0), Val::I32(4)])
    ));
    assert_eq!(fill(&mut p, END - 16, 7, 16), Ok(vec![]));
    assert_eq!(p.call("load8", &i64s(&[END - 1])), Ok(vec![Val::I32(7)]));
}

/// `memory.copy` between a 32-bit memory and a 64-bit one past 4 GiB, both
/// ways, and accesses to the big memory as memory 1.
fn memory64_copies_between_memories_of_both_index_types(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory $small 1)
          (memory $big i64 0x10001)
          (func (export "store_small") (param i32 i64) (i64.store $small (local.get 0) (local.get 1)))
          (func (export "load_small") (param i32) (result i64) (i64.load $small (local.get 0)))
          (func (export "store_big") (param i64 i64) (i64.store $big (local.get 0) (local.get 1)))
          (func (export "load_big") (param i64) (result i64) (i64.load $big (local.get 0)))
          (func (export "to_big") (param i64 i32 i32)
            (memory.copy $big $small (local.get 0) (local.get 1) (local.get 2)))
          (func (export "to_small") (param i32 i64 i32)
            (memory.copy $small $big (local.get 0) (local.get 1) (local.get 2))))"#,
    );
    assert_eq!(
        p.call("store_small", &[Val::I32(8), Val::I64(0x1122)]),
        Ok(vec![])
    );
    assert_eq!(
        p.call("to_big", &[Val::I64(HIGH), Val::I32(8), Val::I32(8)]),
        Ok(vec![])
    );
    assert_eq!(p.call("load_big", &i64s(&[HIGH])), Ok(i64s(&[0x1122])));
    assert_eq!(p.call("store_big", &i64s(&[END - 8, -2])), Ok(vec![]));
    assert_eq!(
        p.call("to_small", &[Val::I32(16), Val::I64(END - 8), Val::I32(8)]),
        Ok(vec![])
    );
    assert_eq!(p.call("load_small", &[Val::I32(16)]), Ok(i64s(&[-2])));
    assert!(oob(p.call(
        "to_small",
        &[Val::I32(16), Val::I64(END - 4), Val::I32(8)]
    )));
    assert!(oob(
        p.call("to_big", &[Val::I64(END - 4), Val::I32(0), Val::I32(8)])
    ));
}

/// 16-byte accesses above 4 GiB, and one that reaches 8 bytes past the end.
fn memory64_v128_accesses_past_4_gib(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory i64 0x10001)
          (func (export "put") (param i64 i64 i64)
            (v128.store (local.get 0)
              (i64x2.replace_lane 1 (i64x2.splat (local.get 1)) (local.get 2))))
          (func (export "high") (param i64) (result i64)
            (i64x2.extract_lane 1 (v128.load (local.get 0))))
          (func (export "lane") (param i64) (result i64)
            (i64x2.extract_lane 1 (v128.load64_lane 1 (local.get 0) (v128.const i64x2 0 0)))))"#,
    );
    assert_eq!(p.call("put", &i64s(&[HIGH, 1, 2])), Ok(vec![]));
    assert_eq!(p.call("high", &i64s(&[HIGH])), Ok(i64s(&[2])));
    assert_eq!(p.call("lane", &i64s(&[HIGH + 8])), Ok(i64s(&[2])));
    assert_eq!(p.call("high", &i64s(&[END - 16])), Ok(i64s(&[0])));
    assert!(oob(p.call("high", &i64s(&[END - 8]))));
    assert!(oob(p.call("put", &i64s(&[END - 8, 1, 2]))));
    assert!(oob(p.call("lane", &i64s(&[END - 4]))));
}

/// `Config::max_memory_bytes` still caps 64-bit memories: one whose minimum is
/// over it is refused at instantiation with a message saying so, and growth
/// stops at it.
fn memory64_limit_still_applies(tier: Tier) -> Result<(), Error> {
    let engine = tier.engine(|c| {
        c.max_memory_bytes(1 << 30);
    });
    let module = Module::new(&engine, BIG)?;
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .expect_err("over the limit");
    assert!(
        matches!(&err, Error::Instantiation(m)
            if m.contains("memory of 65537 pages exceeds the limit of 16384 pages")),
        "{err}"
    );

    let engine = tier.engine(|c| {
        c.max_memory_bytes(0x1_0002 * 65536);
    });
    let mut p = Program::on(&engine, BIG);
    assert_eq!(p.call("grow", &i64s(&[1])), Ok(i64s(&[PAGES])));
    assert_eq!(p.call("grow", &i64s(&[1])), Ok(i64s(&[-1])));
    assert_eq!(p.call("size", &[]), Ok(i64s(&[PAGES + 1])));
    Ok(())
}
