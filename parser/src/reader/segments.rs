//! The element and data sections.

use crate::convert_ref_type;
use crate::error::ParseError;
use crate::module::{DataMode, DataSegment, ElemItems, ElemMode, ElemSegment};
use crate::types::{FuncIdx, HeapType, MemIdx, RefType, TableIdx};

use super::{ModuleReader, bounded};

impl ModuleReader<'_> {
    /// Reads the element section into `module.elems`.
    pub(super) fn read_elems(
        &mut self,
        reader: wasmparser::ElementSectionReader<'_>,
    ) -> Result<(), ParseError> {
        for item in reader.into_iter_with_offsets() {
            let (offset, e) = item?;
            let mode = match e.kind {
                wasmparser::ElementKind::Passive => ElemMode::Passive,
                wasmparser::ElementKind::Declared => ElemMode::Declared,
                wasmparser::ElementKind::Active {
                    table_index,
                    offset_expr,
                } => ElemMode::Active {
                    table: TableIdx(table_index.unwrap_or(0)),
                    offset: self.const_expr(&offset_expr)?,
                },
            };
            let (ty, items) = self.elem_items(e.items, offset)?;
            self.module.elems.push(ElemSegment {
                ty,
                mode,
                items,
                offset,
            });
        }
        Ok(())
    }

    /// An element segment's items and their type; `offset` is the segment's.
    fn elem_items(
        &mut self,
        items: wasmparser::ElementItems<'_>,
        offset: u64,
    ) -> Result<(RefType, ElemItems), ParseError> {
        match items {
            wasmparser::ElementItems::Functions(funcs) => {
                let mut list = Vec::with_capacity(bounded(funcs.count(), &funcs.range()));
                for f in funcs {
                    list.push(FuncIdx(f?));
                }
                // A list of indices holds no null: 3.0 types it `(ref func)`.
                let ty = if self.module.features.function_references {
                    RefType::non_null(HeapType::Func)
                } else {
                    RefType::FUNCREF
                };
                Ok((ty, ElemItems::Funcs(list.into_boxed_slice())))
            }
            wasmparser::ElementItems::Expressions(ty, exprs) => {
                let ty = convert_ref_type(ty, self.module.features, offset)?;
                let mut list = Vec::with_capacity(bounded(exprs.count(), &exprs.range()));
                for expr in exprs {
                    list.push(self.const_expr(&expr?)?);
                }
                Ok((ty, ElemItems::Exprs(list.into_boxed_slice())))
            }
        }
    }

    /// Reads the data section into `module.datas`; its count must match the
    /// data count section's, if there is one.
    pub(super) fn read_datas(
        &mut self,
        reader: wasmparser::DataSectionReader<'_>,
    ) -> Result<(), ParseError> {
        if let Some(n) = self.module.data_count
            && n != reader.count()
        {
            return Err(ParseError::malformed(
                "data count and data section have inconsistent lengths",
                reader.range().start,
            ));
        }
        self.module
            .datas
            .reserve(bounded(reader.count(), &reader.range()));
        for item in reader {
            let d = item?;
            let offset = d.range.start;
            let mode = match d.kind {
                wasmparser::DataKind::Passive => DataMode::Passive,
                wasmparser::DataKind::Active {
                    memory_index,
                    offset_expr,
                } => DataMode::Active {
                    memory: MemIdx(memory_index),
                    offset: self.const_expr(&offset_expr)?,
                },
            };
            self.module.datas.push(DataSegment {
                mode,
                bytes: d.data.into(),
                offset,
            });
        }
        Ok(())
    }
}
