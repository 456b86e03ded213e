//! Section-by-section decoding of a binary module into [`Module`].
//!
//! [`parse`] feeds each of `wasmparser`'s payloads to a [`ModuleReader`],
//! which checks the sections' order and reads each section with one method.
//! The larger sections live in their own files: the type section and the
//! table, memory and global types (`type_section.rs`), imports (`imports.rs`),
//! element and data segments (`segments.rs`); the `name` section is decoded
//! on demand (`names.rs`).

mod imports;
mod names;
mod segments;
mod type_section;

use wasmparser::{Parser, Payload};

use crate::convert_val_type;
use crate::error::ParseError;
use crate::features::Features;
use crate::instr::Instr;
use crate::module::{
    ConstExpr, CustomSection, Export, ExternKind, FuncBody, Global, Module, Table,
};
use crate::operators::InstrBuilder;
use crate::types::{FuncIdx, TypeIdx};

/// Where each known section may appear; sections must come in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SectionOrder {
    None,
    Type,
    Import,
    Function,
    Table,
    Memory,
    Tag,
    Global,
    Export,
    Start,
    Element,
    DataCount,
    Code,
    Data,
}

/// A capacity for `count` items read from `bytes` bytes: never more items than bytes.
fn bounded(count: u32, bytes: &std::ops::Range<u64>) -> usize {
    (count as usize).min(usize::try_from(bytes.end - bytes.start).unwrap_or(usize::MAX))
}

/// Parses a binary module with the given feature set.
///
/// # Errors
///
/// A [`ParseError`] if the bytes are malformed, truncated, or use a proposal
/// that `features` (or Kiln) does not support.
pub fn parse(bytes: &[u8], features: Features) -> Result<Module, ParseError> {
    let mut parser = Parser::new(0);
    parser.set_features(features.reader_features());
    let mut reader = ModuleReader::new(bytes, features);
    for payload in parser.parse_all(bytes) {
        reader.payload(payload?)?;
    }
    Ok(reader.module)
}

/// One module's decoding: the module read so far, and what the checks
/// between sections need.
struct ModuleReader<'b> {
    /// The whole binary; `wasmparser`'s offsets index it.
    bytes: &'b [u8],
    module: Module,
    /// The last known section read, to reject sections out of order.
    order: SectionOrder,
    /// The code section's entry count, once it has started.
    code_count: Option<u32>,
    /// Decodes constant expressions, noting whether any uses `v128` or
    /// needs the data count section.
    instrs: InstrBuilder<Vec<Instr>>,
}

impl<'b> ModuleReader<'b> {
    fn new(bytes: &'b [u8], features: Features) -> Self {
        ModuleReader {
            bytes,
            module: Module {
                features,
                ..Module::default()
            },
            order: SectionOrder::None,
            code_count: None,
            instrs: InstrBuilder::new(features, Vec::new(), Vec::new()),
        }
    }

    /// Reads one payload: a section, the header, or the end of the module.
    fn payload(&mut self, payload: Payload<'b>) -> Result<(), ParseError> {
        match payload {
            Payload::Version {
                encoding, range, ..
            } => {
                if encoding != wasmparser::Encoding::Module {
                    return Err(ParseError::unsupported(
                        "component-model",
                        "a component",
                        range.start,
                    ));
                }
                Ok(())
            }
            Payload::TypeSection(reader) => {
                self.enter(SectionOrder::Type, reader.range().start)?;
                self.module.section_offsets.types = reader.range().start;
                type_section::read_type_section(self.bytes, reader, &mut self.module)
            }
            Payload::ImportSection(reader) => {
                self.enter(SectionOrder::Import, reader.range().start)?;
                self.read_imports(reader)
            }
            Payload::FunctionSection(reader) => self.read_functions(reader),
            Payload::TableSection(reader) => self.read_tables(reader),
            Payload::MemorySection(reader) => self.read_memories(reader),
            Payload::TagSection(reader) => self.read_tags(reader),
            Payload::GlobalSection(reader) => self.read_globals(reader),
            Payload::ExportSection(reader) => self.read_exports(reader),
            Payload::StartSection { func, range } => {
                self.enter(SectionOrder::Start, range.start)?;
                self.module.start = Some(FuncIdx(func));
                self.module.start_offset = range.start;
                Ok(())
            }
            Payload::ElementSection(reader) => {
                self.enter(SectionOrder::Element, reader.range().start)?;
                self.read_elems(reader)
            }
            Payload::DataCountSection { count, range } => {
                self.enter(SectionOrder::DataCount, range.start)?;
                self.module.data_count = Some(count);
                Ok(())
            }
            Payload::CodeSectionStart {
                count,
                unchecked_range: range,
                ..
            } => self.start_code(count, range),
            Payload::CodeSectionEntry(body) => {
                let func = read_body(&body, self.module.features)?;
                self.module.code.push(func);
                Ok(())
            }
            Payload::DataSection(reader) => {
                self.enter(SectionOrder::Data, reader.range().start)?;
                self.read_datas(reader)
            }
            Payload::CustomSection(reader) => {
                // Kept as bytes, the `name` section too: nothing on the way to
                // running a module reads names (see `Module::names`).
                self.module.customs.push(CustomSection {
                    name: reader.name().to_owned(),
                    data: reader.data().into(),
                });
                Ok(())
            }
            Payload::UnknownSection { id, range, .. } => Err(ParseError::malformed(
                format!("malformed section id {id}"),
                range.start,
            )),
            Payload::End(offset) => self.end(offset),
            other => {
                let offset = other.as_section().map_or(0, |(_, r)| r.start);
                Err(ParseError::unsupported(
                    "component-model",
                    "a component section",
                    offset,
                ))
            }
        }
    }

    /// Starts section `s` at `offset`, which must come after the last one.
    fn enter(&mut self, s: SectionOrder, offset: u64) -> Result<(), ParseError> {
        if s <= self.order {
            return Err(ParseError::malformed(
                "unexpected content after last section",
                offset,
            ));
        }
        self.order = s;
        Ok(())
    }

    fn read_functions(
        &mut self,
        reader: wasmparser::FunctionSectionReader<'b>,
    ) -> Result<(), ParseError> {
        self.enter(SectionOrder::Function, reader.range().start)?;
        self.module.section_offsets.funcs = reader.range().start;
        self.module
            .funcs
            .reserve(bounded(reader.count(), &reader.range()));
        for t in reader {
            self.module.funcs.push(TypeIdx(t?));
        }
        Ok(())
    }

    fn read_tables(
        &mut self,
        reader: wasmparser::TableSectionReader<'b>,
    ) -> Result<(), ParseError> {
        self.enter(SectionOrder::Table, reader.range().start)?;
        self.module.section_offsets.tables = reader.range().start;
        for item in reader.into_iter_with_offsets() {
            let (offset, table) = item?;
            let init = match &table.init {
                wasmparser::TableInit::RefNull => None,
                wasmparser::TableInit::Expr(_) if !self.module.features.function_references => {
                    return Err(ParseError::unsupported(
                        "function-references",
                        "a table initialiser",
                        offset,
                    ));
                }
                wasmparser::TableInit::Expr(e) => Some(self.const_expr(e)?),
            };
            let ty = type_section::table_type(table.ty, self.module.features, offset)?;
            self.module.tables.push(Table { ty, init });
        }
        Ok(())
    }

    fn read_memories(
        &mut self,
        reader: wasmparser::MemorySectionReader<'b>,
    ) -> Result<(), ParseError> {
        self.enter(SectionOrder::Memory, reader.range().start)?;
        self.module.section_offsets.memories = reader.range().start;
        for item in reader.into_iter_with_offsets() {
            let (offset, m) = item?;
            self.module
                .memories
                .push(type_section::memory_type(m, offset)?);
        }
        Ok(())
    }

    fn read_tags(&mut self, reader: wasmparser::TagSectionReader<'b>) -> Result<(), ParseError> {
        let start = reader.range().start;
        if !self.module.features.exceptions {
            return Err(ParseError::unsupported(
                "exception-handling",
                "a tag section",
                start,
            ));
        }
        self.enter(SectionOrder::Tag, start)?;
        self.module
            .tags
            .reserve(bounded(reader.count(), &reader.range()));
        for tag in reader {
            self.module.tags.push(TypeIdx(tag?.func_type_idx));
        }
        Ok(())
    }

    fn read_globals(
        &mut self,
        reader: wasmparser::GlobalSectionReader<'b>,
    ) -> Result<(), ParseError> {
        self.enter(SectionOrder::Global, reader.range().start)?;
        for item in reader.into_iter_with_offsets() {
            let (offset, g) = item?;
            let global = Global {
                ty: type_section::global_type(g.ty, self.module.features, offset)?,
                init: self.const_expr(&g.init_expr)?,
            };
            self.module.globals.push(global);
        }
        Ok(())
    }

    fn read_exports(
        &mut self,
        reader: wasmparser::ExportSectionReader<'b>,
    ) -> Result<(), ParseError> {
        self.enter(SectionOrder::Export, reader.range().start)?;
        for item in reader.into_iter_with_offsets() {
            let (offset, e) = item?;
            let kind = match e.kind {
                wasmparser::ExternalKind::Func => ExternKind::Func,
                wasmparser::ExternalKind::Table => ExternKind::Table,
                wasmparser::ExternalKind::Memory => ExternKind::Memory,
                wasmparser::ExternalKind::Global => ExternKind::Global,
                wasmparser::ExternalKind::Tag if self.module.features.exceptions => ExternKind::Tag,
                wasmparser::ExternalKind::Tag => {
                    return Err(ParseError::unsupported(
                        "exception-handling",
                        "a tag export",
                        offset,
                    ));
                }
                wasmparser::ExternalKind::FuncExact => {
                    return Err(ParseError::unsupported(
                        "custom-descriptors",
                        "an exact function export",
                        offset,
                    ));
                }
            };
            self.module.exports.push(Export {
                name: e.name.to_owned(),
                kind,
                index: e.index,
                offset,
            });
        }
        Ok(())
    }

    /// The code section's header: its count must match the function
    /// section's, and its bytes are kept for decoding the bodies later.
    fn start_code(&mut self, count: u32, range: std::ops::Range<u64>) -> Result<(), ParseError> {
        self.enter(SectionOrder::Code, range.start)?;
        self.code_count = Some(count);
        if count as usize != self.module.funcs.len() {
            return Err(ParseError::malformed(
                "function and code section have inconsistent lengths",
                range.start,
            ));
        }
        self.module.code.reserve(bounded(count, &range));
        // The bodies' operators are decoded from this copy later.
        let section = usize::try_from(range.start)
            .ok()
            .zip(usize::try_from(range.end).ok())
            .and_then(|(start, end)| self.bytes.get(start..end))
            .ok_or_else(|| {
                ParseError::malformed("unexpected end of section or function", range.start)
            })?;
        self.module.code_bytes = section.into();
        self.module.code_bytes_offset = range.start;
        Ok(())
    }

    /// The checks between sections that only the end of the module can make.
    fn end(&mut self, offset: u64) -> Result<(), ParseError> {
        let module = &mut self.module;
        if module.funcs.len() != module.code.len() {
            return Err(ParseError::malformed(
                "function and code section have inconsistent lengths",
                offset,
            ));
        }
        if self.code_count.is_none() && !module.funcs.is_empty() {
            return Err(ParseError::malformed(
                "function and code section have inconsistent lengths",
                offset,
            ));
        }
        if let Some(n) = module.data_count
            && n as usize != module.datas.len()
        {
            return Err(ParseError::malformed(
                "data count and data section have inconsistent lengths",
                offset,
            ));
        }
        // Bodies are checked for this when they are decoded.
        if self.instrs.uses_data_count && module.data_count.is_none() {
            return Err(ParseError::malformed("data count section required", offset));
        }
        module.const_exprs_use_v128 = self.instrs.uses_v128;
        Ok(())
    }

    fn const_expr(&mut self, expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, ParseError> {
        Ok(ConstExpr {
            offset: expr.get_binary_reader().original_position(),
            instrs: self.instrs.read_const_expr(expr)?,
        })
    }
}

/// Reads a body's locals and notes where its operators are; they are
/// decoded later (see `body.rs`).
fn read_body(
    body: &wasmparser::FunctionBody<'_>,
    features: Features,
) -> Result<FuncBody, ParseError> {
    let offset = body.range().start;
    let mut locals_reader = body.get_locals_reader()?;
    let n = locals_reader.get_count();
    let mut locals = Vec::with_capacity(bounded(n, &body.range()));
    for _ in 0..n {
        let pos = locals_reader.original_position();
        let (count, ty) = locals_reader.read()?;
        locals.push((count, convert_val_type(ty, features, pos)?));
    }
    Ok(FuncBody {
        locals: locals.into_boxed_slice(),
        offset,
        operators: locals_reader.original_position()..body.range().end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies are split into contiguous ranges of about equal operator bytes,
    /// covering every body once, in order.
    #[test]
    fn bodies_split_into_contiguous_ranges_of_about_equal_size() {
        // Four `[] -> []` functions whose bodies are 10, 10, 10 and 30 `nop`s.
        let nops = [10usize, 10, 10, 30];
        let mut code = vec![nops.len() as u8];
        for &n in &nops {
            code.push(u8::try_from(n + 2).expect("short body"));
            code.push(0);
            code.extend(std::iter::repeat_n(0x01, n));
            code.push(0x0b);
        }
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([1, 4, 1, 0x60, 0, 0, 3, 5, 4, 0, 0, 0, 0, 10]);
        bytes.push(u8::try_from(code.len()).expect("short section"));
        bytes.extend(code);
        let module = parse(&bytes, Features::ALL).expect("parses");
        assert_eq!(module.code_size(), 64);
        assert_eq!(module.split_bodies(1), vec![0..4]);
        assert_eq!(module.split_bodies(2), vec![0..3, 3..4]);
        assert_eq!(module.split_bodies(4), vec![0..2, 2..4]);
        assert_eq!(module.split_bodies(9), vec![0..1, 1..2, 2..3, 3..4]);
    }
}
