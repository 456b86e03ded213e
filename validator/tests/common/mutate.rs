//! Byte-level mutations of a module, some aimed where they reach the validator.

use std::fmt::Write as _;
use std::ops::Range;

use super::Rng;

/// Bytes that often mean something in a module: LEB edges, `end`, the empty
/// block type, value-type codes, prefixes, `unreachable`, `nop`.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x02, 0x0b, 0x0f, 0x10, 0x11, 0x1a, 0x1b, 0x1c, 0x20, 0x21, 0x3f, 0x40, 0x41, 0x60,
    0x6f, 0x70, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0xd0, 0xd2, 0xfc, 0xfd, 0xff,
];

/// LEB128 runs that stress count handling: u32::MAX, 2^31, a five-byte
/// overflow, an unterminated run, and a padded zero.
const LEB_RUNS: &[&[u8]] = &[
    &[0xff, 0xff, 0xff, 0xff, 0x0f],
    &[0x80, 0x80, 0x80, 0x80, 0x08],
    &[0xff, 0xff, 0xff, 0xff, 0x7f],
    &[0x80, 0x80, 0x80, 0x80, 0x80],
    &[0x80, 0x80, 0x80, 0x80, 0x00],
    &[0xc0, 0x84, 0x3d],
];

/// Where in a module a mutation is most likely to reach the validator: the
/// function bodies, and the opcodes in them that can be swapped for another
/// opcode with the same immediates, so that the body still decodes but
/// (usually) no longer type-checks.
#[derive(Debug, Default)]
pub struct Hotspots {
    bodies: Vec<Range<usize>>,
    opcodes: Vec<(usize, OpcodeClass)>,
}

/// Opcodes that take the same immediates, so any can stand for any other.
#[derive(Debug, Clone, Copy)]
enum OpcodeClass {
    /// No immediates: `unreachable`, `nop`, `return`, `drop`, `select`, and
    /// the numeric instructions `0x45..=0xc4`.
    Plain,
    /// `local.get`, `local.set`, `local.tee`.
    Local,
    /// `global.get`, `global.set`.
    Global,
    /// Loads and stores (a memarg each).
    Memory,
    /// `br`, `br_if`.
    Branch,
    /// `call`, `return_call`.
    Call,
    /// `call_indirect`, `return_call_indirect`.
    CallIndirect,
    /// The one-byte block type after `block`, `loop` or `if`.
    BlockType,
}

/// One-byte block types: empty and the value types of 2.0.
const BLOCK_TYPES: &[u8] = &[0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f];

impl OpcodeClass {
    fn of(byte: u8) -> Option<OpcodeClass> {
        Some(match byte {
            0x00 | 0x01 | 0x0f | 0x1a | 0x1b | 0x45..=0xc4 => OpcodeClass::Plain,
            0x20..=0x22 => OpcodeClass::Local,
            0x23 | 0x24 => OpcodeClass::Global,
            0x28..=0x3e => OpcodeClass::Memory,
            0x0c | 0x0d => OpcodeClass::Branch,
            0x10 | 0x12 => OpcodeClass::Call,
            0x11 | 0x13 => OpcodeClass::CallIndirect,
            _ => return None,
        })
    }

    /// A random member of the class.
    fn pick(self, rng: &mut Rng) -> u8 {
        const NUMERIC: usize = 0xc4 - 0x45 + 1;
        let among = |rng: &mut Rng, set: &[u8]| set[rng.below(set.len())];
        match self {
            OpcodeClass::Plain => {
                let n = rng.below(NUMERIC + 5);
                match n.checked_sub(NUMERIC) {
                    None => 0x45 + n as u8,
                    Some(i) => [0x00, 0x01, 0x0f, 0x1a, 0x1b][i],
                }
            }
            OpcodeClass::Local => among(rng, &[0x20, 0x21, 0x22]),
            OpcodeClass::Global => among(rng, &[0x23, 0x24]),
            OpcodeClass::Memory => 0x28 + rng.below(0x3e - 0x28 + 1) as u8,
            OpcodeClass::Branch => among(rng, &[0x0c, 0x0d]),
            OpcodeClass::Call => among(rng, &[0x10, 0x12]),
            OpcodeClass::CallIndirect => among(rng, &[0x11, 0x13]),
            OpcodeClass::BlockType => among(rng, BLOCK_TYPES),
        }
    }
}

impl Hotspots {
    /// The hotspots of `bytes`, as far as it decodes.
    pub fn of(bytes: &[u8]) -> Hotspots {
        let mut spots = Hotspots::default();
        let mut parser = wasmparser::Parser::new(0);
        parser.set_features(wasmparser::WasmFeatures::all());
        for payload in parser.parse_all(bytes) {
            match payload {
                Ok(wasmparser::Payload::CodeSectionEntry(body)) => {
                    let r = body.range();
                    let r = r.start as usize..r.end as usize;
                    if !r.is_empty() && r.end <= bytes.len() {
                        spots.bodies.push(r);
                    }
                    spots.add_opcodes(bytes, &body);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        spots
    }

    fn add_opcodes(&mut self, bytes: &[u8], body: &wasmparser::FunctionBody<'_>) {
        let Ok(mut reader) = body.get_operators_reader() else {
            return;
        };
        while !reader.eof() {
            let Ok((_, offset)) = reader.read_with_offset() else {
                return;
            };
            let at = offset as usize;
            let Some(&byte) = bytes.get(at) else {
                return;
            };
            if let Some(class) = OpcodeClass::of(byte) {
                self.opcodes.push((at, class));
            } else if matches!(byte, 0x02..=0x04)
                && bytes.get(at + 1).is_some_and(|b| BLOCK_TYPES.contains(b))
            {
                self.opcodes.push((at + 1, OpcodeClass::BlockType));
            }
        }
    }
}

/// A position to mutate: half the time inside a function body, where a
/// same-length change often still decodes and so tests the validator;
/// otherwise anywhere past the 8-byte header, whose mutations are rejected
/// trivially.
fn position(rng: &mut Rng, len: usize, bodies: &[Range<usize>]) -> usize {
    if !bodies.is_empty() && rng.one_in(2) {
        let body = &bodies[rng.below(bodies.len())];
        if body.end <= len {
            return body.start + rng.below(body.len());
        }
    }
    if len > 8 && !rng.one_in(32) {
        8 + rng.below(len - 8)
    } else {
        rng.below(len.max(1))
    }
}

/// One to three random mutations of `input`, and what they were; `spots` are
/// its [`Hotspots`].
pub fn mutate(rng: &mut Rng, input: &[u8], spots: &Hotspots) -> (Vec<u8>, String) {
    let mut bytes = input.to_vec();
    let mut what = String::new();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        if bytes.is_empty() {
            break;
        }
        if !what.is_empty() {
            what.push_str(", ");
        }
        // Hotspots hold only until a mutation shifts bytes.
        let unshifted = bytes.len() == input.len();
        if unshifted && !spots.opcodes.is_empty() && rng.one_in(3) {
            let (at, class) = spots.opcodes[rng.below(spots.opcodes.len())];
            let b = class.pick(rng);
            let _ = write!(what, "opcode {:#04x} -> {b:#04x} at {at:#x}", bytes[at]);
            bytes[at] = b;
            continue;
        }
        let bodies = if unshifted { &spots.bodies[..] } else { &[] };
        let at = position(rng, bytes.len(), bodies);
        // Same-length mutations keep sections intact and so reach the
        // validator more often than the ones that shift bytes; weight them.
        match rng.below(16) {
            0..=3 => {
                let bit = rng.below(8);
                bytes[at] ^= 1 << bit;
                let _ = write!(what, "flip bit {bit} at {at:#x}");
            }
            4..=5 => {
                let b = rng.next_u64() as u8;
                bytes[at] = b;
                let _ = write!(what, "byte {b:#04x} at {at:#x}");
            }
            6..=8 => {
                let b = INTERESTING[rng.below(INTERESTING.len())];
                bytes[at] = b;
                let _ = write!(what, "byte {b:#04x} at {at:#x}");
            }
            9 => {
                let n = 1 + rng.below(4);
                let ins = rng.bytes(n);
                bytes.splice(at..at, ins);
                let _ = write!(what, "insert {n} bytes at {at:#x}");
            }
            10 => {
                let n = (1 + rng.below(8)).min(bytes.len() - at);
                bytes.drain(at..at + n);
                let _ = write!(what, "delete {n} bytes at {at:#x}");
            }
            11 => {
                bytes.truncate(at);
                let _ = write!(what, "truncate at {at:#x}");
            }
            12..=13 => {
                let run = LEB_RUNS[rng.below(LEB_RUNS.len())];
                let end = (at + run.len()).min(bytes.len());
                bytes[at..end].copy_from_slice(&run[..end - at]);
                let _ = write!(what, "overwrite {:02x?} at {at:#x}", &run[..end - at]);
            }
            14 => {
                let run = LEB_RUNS[rng.below(LEB_RUNS.len())];
                bytes.splice(at..at + 1, run.iter().copied());
                let _ = write!(what, "replace byte at {at:#x} with {run:02x?}");
            }
            _ => {
                // Copy a short run from elsewhere in the module over this spot.
                let n = (1 + rng.below(16)).min(bytes.len() - at);
                let from = rng.below(bytes.len() - n + 1);
                let chunk = bytes[from..from + n].to_vec();
                bytes[at..at + n].copy_from_slice(&chunk);
                let _ = write!(what, "copy {n} bytes from {from:#x} to {at:#x}");
            }
        }
    }
    (bytes, what)
}
