//! The tiers the runner knows ([`Tier`]), each with its name and the
//! configuration it runs Kiln with: the one definition that test names,
//! summaries, expected failures and [`TierEngine`](crate::TierEngine) share.

use kiln::Strategy;

/// The tiers the runner knows, for command lines and test names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// `kiln-parser` followed by `kiln-validator`; executes nothing.
    Validate,
    /// The interpreter through the public `kiln` API, without fuel.
    Interp,
    /// The interpreter with fuel metering on (and plenty of fuel), which
    /// must give exactly the results of [`Tier::Interp`].
    InterpFuel,
    /// The JIT through the same API, without fuel.
    Jit,
    /// The JIT with fuel metering on.
    JitFuel,
    /// The JIT with `Config::memory_guard(false)`: every memory access checked
    /// explicitly instead of faulting on a guard region.
    JitNoGuard,
    /// `Strategy::Tiered` with fuel metering on: each module starts on the
    /// interpreter and switches to native code when its background compile
    /// finishes, in the middle of a file's directives, so that calls
    /// between modules cross tiers.
    TieredFuel,
}

impl Tier {
    /// Every tier, in the order summaries list them.
    pub const ALL: &'static [Tier] = &[
        Tier::Validate,
        Tier::Interp,
        Tier::InterpFuel,
        Tier::Jit,
        Tier::JitFuel,
        Tier::JitNoGuard,
        Tier::TieredFuel,
    ];

    /// The tier's name (`validate`, `interp`, `interp-fuel`, `jit`,
    /// `jit-fuel`, `jit-noguard`, `tiered-fuel`), as in test names.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Validate => "validate",
            Tier::Interp => "interp",
            Tier::InterpFuel => "interp-fuel",
            Tier::Jit => "jit",
            Tier::JitFuel => "jit-fuel",
            Tier::JitNoGuard => "jit-noguard",
            Tier::TieredFuel => "tiered-fuel",
        }
    }

    /// The `kiln` strategy the tier executes with; `None` for the tier that
    /// only validates.
    pub fn strategy(self) -> Option<Strategy> {
        match self {
            Tier::Validate => None,
            Tier::Interp | Tier::InterpFuel => Some(Strategy::Interpreter),
            Tier::Jit | Tier::JitFuel | Tier::JitNoGuard => Some(Strategy::Jit),
            Tier::TieredFuel => Some(Strategy::Tiered),
        }
    }

    /// Whether the tier turns on `Config::consume_fuel`.
    pub fn fuel(self) -> bool {
        matches!(self, Tier::InterpFuel | Tier::JitFuel | Tier::TieredFuel)
    }

    /// The tier's `Config::memory_guard`.
    pub fn memory_guard(self) -> bool {
        !matches!(self, Tier::JitNoGuard)
    }

    /// Whether the tier executes (runs every directive, and may skip none),
    /// rather than only validating.
    pub fn executes(self) -> bool {
        self.strategy().is_some()
    }
}
