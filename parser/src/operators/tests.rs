//! The decoder's unit tests: operators to `Instr`s, sinks, unsupported proposals.

use crate::error::ParseErrorKind;
use crate::{Features, Instr, LoadOp, NumOp, StoreOp};

/// A module with one `[] -> []` function whose body (without locals) is `code`.
fn one_function(code: &[u8]) -> Vec<u8> {
    let mut body = vec![0];
    body.extend_from_slice(code);
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend([1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10]);
    bytes.push(u8::try_from(body.len() + 2).expect("short body"));
    bytes.push(1);
    bytes.push(u8::try_from(body.len()).expect("short body"));
    bytes.extend(body);
    bytes
}

fn decode(code: &[u8], features: Features) -> Result<Box<[Instr]>, ParseErrorKind> {
    crate::parse(&one_function(code), features)
        .and_then(|m| m.body_instrs(0))
        .map(|instrs| instrs.into_boxed_slice())
        .map_err(|e| e.kind())
}

#[test]
fn operators_map_to_instrs() {
    // i32.const 8; i64.load offset=4; i32.wrap_i64; i32.const 0; i32.store; end
    let code = [0x41, 8, 0x29, 3, 4, 0xa7, 0x41, 0, 0x36, 2, 0, 0x0b];
    let instrs = decode(&code, Features::ALL).expect("decodes");
    assert_eq!(instrs.len(), 6);
    assert_eq!(instrs[0], Instr::I32Const(8));
    assert!(matches!(&instrs[1], Instr::Load(LoadOp::I64Load, m) if m.offset == 4 && m.align == 3));
    assert_eq!(instrs[2], Instr::Num(NumOp::I32WrapI64));
    assert!(matches!(&instrs[4], Instr::Store(StoreOp::I32Store, _)));
    assert_eq!(instrs[5], Instr::End);
}

#[test]
fn sinks_see_each_instruction_offset() {
    let module = crate::parse(
        &one_function(&[0x41, 0x80, 0x01, 0x1a, 0x0b]),
        Features::ALL,
    )
    .expect("decodes");
    struct Offsets(Vec<u64>);
    impl crate::InstrSink for Offsets {
        fn push(&mut self, _: Instr, offset: u64) -> bool {
            self.0.push(offset);
            true
        }
    }
    let mut offsets = Offsets(Vec::new());
    let facts = module.decode_body(0, &mut offsets).expect("decodes");
    assert!(!facts.stopped);
    let start = module.code[0].operators.start;
    assert_eq!(offsets.0, [start, start + 3, start + 4]);
}

#[test]
fn a_sink_can_stop_the_decoding() {
    // A malformed opcode (0xff) after the first two instructions.
    let module = crate::parse(&one_function(&[0x41, 1, 0x1a, 0xff, 0x0b]), Features::ALL)
        .expect("bodies are decoded later");
    struct FirstTwo(usize);
    impl crate::InstrSink for FirstTwo {
        fn push(&mut self, _: Instr, _: u64) -> bool {
            self.0 += 1;
            self.0 < 2
        }
    }
    let mut sink = FirstTwo(0);
    let facts = module.decode_body(0, &mut sink).expect("stops before 0xff");
    assert!(facts.stopped);
    assert_eq!(sink.0, 2);
    assert!(module.body_instrs(0).is_err());
    assert!(module.decode_body(1, Vec::new()).is_err(), "no second body");
}

#[test]
fn unsupported_operators_name_their_proposal() {
    let unsupported = |proposal| Err(ParseErrorKind::Unsupported { proposal });
    // return_call 0, without tail-call.
    assert_eq!(
        decode(&[0x12, 0, 0x0b], Features::WASM2),
        unsupported("tail-call")
    );
    assert!(decode(&[0x12, 0, 0x0b], Features::ALL).is_ok());
    // i32.atomic.load
    assert_eq!(
        decode(&[0x41, 0, 0xfe, 0x10, 2, 0, 0x1a, 0x0b], Features::ALL),
        unsupported("threads")
    );
    // ref.i31
    assert_eq!(
        decode(&[0x41, 0, 0xfb, 0x1c, 0x1a, 0x0b], Features::ALL),
        unsupported("gc")
    );
    // throw 0
    assert_eq!(
        decode(&[0x08, 0, 0x0b], Features::WASM2),
        unsupported("exception-handling")
    );
    assert_eq!(
        decode(&[0x08, 0, 0x0b], Features::ALL),
        Ok(vec![Instr::Throw(crate::TagIdx(0)), Instr::End].into_boxed_slice())
    );
    // call_ref 0, br_on_null 0
    assert_eq!(
        decode(&[0x14, 0, 0x0b], Features::WASM2),
        unsupported("function-references")
    );
    assert_eq!(
        decode(&[0xd5, 0, 0x0b], Features::ALL),
        Ok(vec![Instr::BrOnNull(crate::LabelIdx(0)), Instr::End].into_boxed_slice())
    );
    // A typed select with two result types is invalid, not malformed.
    assert_eq!(
        decode(&[0x1c, 2, 0x7f, 0x7f, 0x0b], Features::ALL),
        Err(ParseErrorKind::Invalid)
    );
}
