//! Which WebAssembly proposals beyond 2.0 the parser accepts.

/// The feature set Kiln parses and validates.
///
/// WebAssembly 2.0 (multi-value, reference types, bulk memory, sign extension,
/// non-trapping float-to-int, SIMD) is always on. The 3.0 proposals Kiln
/// implements can be switched off one by one, so that the 2.0 spec suite runs
/// with exactly the 2.0 rules. Every other proposal is rejected with an error
/// that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features {
    /// `return_call`, `return_call_indirect`.
    pub tail_call: bool,
    /// `i32.add`/`sub`/`mul` and `i64` equivalents in constant expressions.
    pub extended_const: bool,
    /// More than one memory, memory indices on memory instructions.
    pub multi_memory: bool,
    /// 64-bit memories and tables.
    pub memory64: bool,
    /// The relaxed SIMD operators (`f32x4.relaxed_madd`, ...), executed with
    /// the results of the proposal's deterministic profile.
    pub relaxed_simd: bool,
    /// Typed function references: `(ref null? $t)`, non-null references,
    /// `call_ref`, `br_on_null`, ...; also recursion groups and declared
    /// subtypes of function types.
    pub function_references: bool,
    /// Exception handling: tags, `throw`, `throw_ref`, `try_table`, `exnref`.
    pub exceptions: bool,
    /// Garbage collection: struct and array types, `any`, `eq`, `i31`,
    /// `none` and the bottom types `nofunc` and `noextern`, and the GC
    /// instructions. Parsed and validated; the tiers do not run it yet, so
    /// it is off in [`Features::ALL`]. Needs `function_references`.
    pub gc: bool,
}

impl Features {
    /// Exactly WebAssembly 2.0.
    pub const WASM2: Features = Features {
        tail_call: false,
        extended_const: false,
        multi_memory: false,
        memory64: false,
        relaxed_simd: false,
        function_references: false,
        exceptions: false,
        gc: false,
    };

    /// Everything Kiln implements: 2.0 plus tail-call, extended-const,
    /// multi-memory, memory64, relaxed SIMD, typed function references and
    /// exception handling. This is the default.
    pub const ALL: Features = Features {
        tail_call: true,
        extended_const: true,
        multi_memory: true,
        memory64: true,
        relaxed_simd: true,
        function_references: true,
        exceptions: true,
        gc: false,
    };

    /// [`Features::ALL`] and GC, which Kiln parses and validates but does
    /// not run yet.
    pub const ALL_WITH_GC: Features = Features {
        gc: true,
        ..Features::ALL
    };

    /// The equivalent feature set for `wasmparser`, which decodes the binary.
    pub fn to_wasmparser(self) -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as W;
        let mut f = W::WASM2;
        f.set(W::TAIL_CALL, self.tail_call);
        f.set(W::EXTENDED_CONST, self.extended_const);
        f.set(W::MULTI_MEMORY, self.multi_memory);
        f.set(W::MEMORY64, self.memory64);
        f.set(W::RELAXED_SIMD, self.relaxed_simd);
        f.set(W::FUNCTION_REFERENCES, self.function_references);
        f.set(W::EXCEPTIONS, self.exceptions);
        f.set(W::GC, self.gc);
        f
    }
}

impl Features {
    /// What `wasmparser` is told when it decodes the binary for Kiln:
    /// [`Features::to_wasmparser`], and with typed function references GC
    /// too, since `wasmparser` reads the encoding of a declared subtype
    /// (`sub`, `sub final`) only under GC, where Kiln has it with typed
    /// function references. Kiln itself rejects what is GC's own (struct and
    /// array types, `any`, `eq`, `i31`, `none`, the GC instructions) as
    /// unsupported.
    pub(crate) fn reader_features(self) -> wasmparser::WasmFeatures {
        let mut f = self.to_wasmparser();
        f.set(
            wasmparser::WasmFeatures::GC,
            self.gc || self.function_references,
        );
        f
    }
}

impl Default for Features {
    fn default() -> Features {
        Features::ALL
    }
}
