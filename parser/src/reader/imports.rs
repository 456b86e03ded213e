//! The import section, in all three of its encodings.

use crate::error::ParseError;
use crate::module::{Import, ImportKind};
use crate::types::TypeIdx;

use super::ModuleReader;
use super::type_section::{global_type, memory_type, table_type};

impl ModuleReader<'_> {
    /// Reads the import section into `module.imports`, counting the
    /// imports of each kind.
    pub(super) fn read_imports(
        &mut self,
        reader: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), ParseError> {
        for group in reader.into_iter_with_offsets() {
            let (offset, group) = group?;
            match group {
                wasmparser::Imports::Single(_, imp) => {
                    self.import(imp.module, imp.name, imp.ty, offset)?;
                }
                wasmparser::Imports::Compact1 { module: m, items } => {
                    for item in items {
                        let item = item?;
                        self.import(m, item.name, item.ty, offset)?;
                    }
                }
                wasmparser::Imports::Compact2 {
                    module: m,
                    ty,
                    names,
                } => {
                    for name in names {
                        self.import(m, name?, ty, offset)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds one import of `ty` named `module_name`::`name`, from the group
    /// at `offset`.
    fn import(
        &mut self,
        module_name: &str,
        name: &str,
        ty: wasmparser::TypeRef,
        offset: u64,
    ) -> Result<(), ParseError> {
        let module = &mut self.module;
        let kind = match ty {
            wasmparser::TypeRef::Func(t) => {
                module.num_imported_funcs += 1;
                ImportKind::Func(TypeIdx(t))
            }
            wasmparser::TypeRef::Table(t) => {
                module.num_imported_tables += 1;
                ImportKind::Table(table_type(t, module.features, offset)?)
            }
            wasmparser::TypeRef::Memory(m) => {
                module.num_imported_memories += 1;
                ImportKind::Memory(memory_type(m, offset)?)
            }
            wasmparser::TypeRef::Global(g) => {
                module.num_imported_globals += 1;
                ImportKind::Global(global_type(g, module.features, offset)?)
            }
            wasmparser::TypeRef::Tag(t) => {
                if !module.features.exceptions {
                    return Err(ParseError::unsupported(
                        "exception-handling",
                        "a tag import",
                        offset,
                    ));
                }
                module.num_imported_tags += 1;
                ImportKind::Tag(TypeIdx(t.func_type_idx))
            }
            wasmparser::TypeRef::FuncExact(_) => {
                return Err(ParseError::unsupported(
                    "custom-descriptors",
                    "an exact function import",
                    offset,
                ));
            }
        };
        module.imports.push(Import {
            module: module_name.to_owned(),
            name: name.to_owned(),
            kind,
            offset,
        });
        Ok(())
    }
}
