//! Decoding function bodies on demand, from the code section the module keeps.
//!
//! [`parse`](crate::parse) reads each body's locals and notes where its
//! operators are, without decoding them. The validator decodes each body once
//! and checks every instruction as it comes ([`InstrSink`]); a tier decodes a
//! body again when it translates it. A module's instructions are thus never
//! all held at once: for a large module that list took more time to build
//! and free than decoding itself (see RATIONALE.md).

use wasmparser::{BinaryReader, FrameKind};

use crate::error::ParseError;
use crate::instr::Instr;
use crate::module::Module;
use crate::operators::{BodyFacts, InstrBuilder, InstrSink};

/// Decodes function bodies; reusable across the bodies of a module, so that
/// its frame stack is allocated once.
#[derive(Debug, Default)]
pub struct BodyDecoder {
    frames: Vec<FrameKind>,
}

impl BodyDecoder {
    /// A decoder with nothing allocated yet.
    pub fn new() -> BodyDecoder {
        BodyDecoder::default()
    }

    /// Decodes the body of the `index`th function defined in `module` (not
    /// counting imports), handing each instruction to `sink`, `end` included,
    /// until the body ends or `sink` stops.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] if the body is malformed, uses a proposal that the
    /// module's features (or Kiln) do not support, names a data segment in a
    /// module without a data count section, or if `index` is out of range.
    pub fn decode<S: InstrSink>(
        &mut self,
        module: &Module,
        index: usize,
        sink: S,
    ) -> Result<BodyFacts, ParseError> {
        let Some(body) = module.code.get(index) else {
            return Err(ParseError::malformed(
                "function body out of range",
                module.code_bytes_offset,
            ));
        };
        // `operators` is a public field: a range a caller changed must give
        // an error, not an overflow.
        let range = |at: u64| {
            at.checked_sub(module.code_bytes_offset)
                .and_then(|i| usize::try_from(i).ok())
        };
        let bytes = range(body.operators.start)
            .zip(range(body.operators.end))
            .and_then(|(start, end)| module.code_bytes.get(start..end));
        let Some(bytes) = bytes else {
            return Err(ParseError::malformed(
                "function body outside the code section",
                body.offset,
            ));
        };
        let reader = BinaryReader::new_features(
            bytes,
            body.operators.start,
            module.features.reader_features(),
        );
        let mut builder =
            InstrBuilder::new(module.features, sink, std::mem::take(&mut self.frames));
        let facts = builder.read_body(reader);
        let uses_data_count = builder.uses_data_count;
        self.frames = builder.frames;
        let facts = facts?;
        if !facts.stopped && uses_data_count && module.data_count.is_none() {
            return Err(ParseError::malformed(
                "data count section required",
                body.offset,
            ));
        }
        Ok(facts)
    }
}

impl Module {
    /// Decodes the body of the `index`th function defined here (not counting
    /// imports) into `sink`; see [`BodyDecoder::decode`], which reuses its
    /// allocations across bodies.
    ///
    /// # Errors
    ///
    /// As [`BodyDecoder::decode`].
    pub fn decode_body<S: InstrSink>(
        &self,
        index: usize,
        sink: S,
    ) -> Result<BodyFacts, ParseError> {
        BodyDecoder::new().decode(self, index, sink)
    }

    /// The instructions of the body of the `index`th function defined here,
    /// `end` included.
    ///
    /// # Errors
    ///
    /// As [`BodyDecoder::decode`]; never for a module that validated.
    pub fn body_instrs(&self, index: usize) -> Result<Vec<Instr>, ParseError> {
        let mut instrs = Vec::new();
        self.decode_body(index, &mut instrs)?;
        Ok(instrs)
    }
}

#[cfg(test)]
mod tests {
    use crate::Features;

    #[test]
    fn a_body_range_outside_the_code_section_is_an_error() {
        // One `[] -> []` function with the body `end`.
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b]);
        let mut module = crate::parse(&bytes, Features::ALL).expect("parses");
        assert!(module.body_instrs(0).is_ok());
        module.code[0].operators = 0..1;
        assert!(module.body_instrs(0).is_err());
        module.code[0].operators = 0..u64::MAX;
        assert!(module.body_instrs(0).is_err());
    }
}
