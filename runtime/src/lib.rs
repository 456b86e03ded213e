//! `kiln-runtime` holds what both execution tiers share at run time: values
//! and references, trap codes with the spec's messages, linear memories,
//! tables, globals, element and data segments, instances, the store that
//! owns them, host functions, instantiation, the memory and table management
//! instructions ([`ops`]), what a tier compiles with and how it refuses
//! a module ([`compile`]), epoch interruption ([`epoch`]), calls that survive running out of fuel
//! ([`resumable`]), and the part of a call from the host that does not
//! depend on the tier ([`invoke`]).
//!
//! It must not depend on either tier: the interpreter and the JIT depend on
//! it, and the embedding API (`kiln`) wraps it. Memories are laid out so that
//! native code can reach a memory's base and length directly
//! ([`memory::MemoryView`]) and never move when they grow.

pub mod artifact;
mod bulk_op;
pub mod compile;
pub mod fuel;
pub mod gc;
pub mod gc_ops;
pub mod gc_store;
pub mod instantiate;
pub mod invoke;
pub mod limiter;
pub mod memory;
pub mod nan;
pub mod ops;
pub mod resumable;
pub mod store;
pub mod table;
pub mod trap;
pub mod value;

pub use artifact::ArtifactError;
pub use compile::{CompileError, CompileOptions, TierName};
pub use limiter::{Limiter, ResourceLimiter};
pub use memory::{LinearMemory, MemoryConfig, MemoryError, PAGE_SIZE};
pub use store::epoch;
pub use store::{
    DataAddr, ElemAddr, ExnEntity, Extern, FuncEntity, GlobalAddr, GlobalEntity, HostCaller,
    HostFn, InstanceAddr, InstanceData, MemAddr, SigId, Store, StoreLimits, TableAddr, TagAddr,
    TagEntity, store_ref_type, store_val_type,
};
pub use table::Table;
pub use trap::{Trap, TrapCode};
pub use value::{ExnAddr, ExternAddr, FuncAddr, GcRef, RawRef, Val};
