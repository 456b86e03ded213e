//! Implementation limits: sizes a valid module may not exceed in Kiln.
//!
//! The spec lets an implementation bound the size of modules. Kiln uses the
//! limits that web engines agreed on for the JavaScript embedding (the same
//! numbers `wasmparser`, V8 and SpiderMonkey enforce), so a module valid in a
//! browser is valid in Kiln and the other way round. They also keep
//! validation's memory proportional to the module's real size.

/// Most types in the type section.
pub const MAX_TYPES: usize = 1_000_000;
/// Most functions, imported and defined.
pub const MAX_FUNCTIONS: usize = 1_000_000;
/// Most imports.
pub const MAX_IMPORTS: usize = 1_000_000;
/// Most exports.
pub const MAX_EXPORTS: usize = 1_000_000;
/// Most globals, imported and defined.
pub const MAX_GLOBALS: usize = 1_000_000;
/// Most element segments.
pub const MAX_ELEMENT_SEGMENTS: usize = 100_000;
/// Most data segments.
pub const MAX_DATA_SEGMENTS: usize = 100_000;
/// Most tables, imported and defined.
pub const MAX_TABLES: usize = 100_000;
/// Most memories, imported and defined.
pub const MAX_MEMORIES: usize = 100;
/// Most locals of one function, parameters included.
pub const MAX_FUNCTION_LOCALS: u64 = 50_000;
/// Most parameters of a function type.
pub const MAX_FUNCTION_PARAMS: usize = 1_000;
/// Most results of a function type.
pub const MAX_FUNCTION_RESULTS: usize = 1_000;
/// Most fields of a struct type.
pub const MAX_STRUCT_FIELDS: usize = 10_000;
/// Largest initial or maximum size of a 32-bit memory, in 64 KiB pages (4 GiB).
pub const MAX_PAGES_32: u64 = 1 << 16;
/// Largest initial or maximum size of a 64-bit memory, in 64 KiB pages (2^64 bytes).
pub const MAX_PAGES_64: u64 = 1 << 48;
