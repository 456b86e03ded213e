//! Saved compiled modules (`Module::serialize` / `Module::deserialize`): a
//! loaded module runs as the compiled one does, and an artifact that is
//! truncated, corrupted, from another version, for another processor or for
//! other settings is refused before anything of it runs.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use kiln::artifact::MAGIC;
use kiln::{ArtifactError, Config, Engine, Error, Linker, Module, Store, Strategy, Val};

/// Bytes of an artifact's checksum (a CRC-32), at its end.
const CHECKSUM_LEN: usize = 4;

/// A module that exercises what the saved code depends on: direct calls,
/// traps (their table), a bulk-memory libcall, exceptions (handler sites),
/// an indirect call through a table, a global and float rounding.
const WAT: &str = r#"(module
    (import "host" "add" (func $add (param i32 i32) (result i32)))
    (memory 1)
    (table 2 funcref)
    (elem (i32.const 0) $fib $square)
    (global $g (mut i32) (i32.const 7))
    (tag $t (param i32))
    (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
            (then (local.get 0))
            (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                           (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
    (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
    (func (export "indirect") (param i32 i32) (result i32)
        (call_indirect (param i32) (result i32) (local.get 1) (local.get 0)))
    (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func (export "fill") (param i32 i32 i32) (result i32)
        (memory.fill (local.get 0) (local.get 1) (local.get 2))
        (i32.load8_u (local.get 0)))
    (func (export "host") (param i32) (result i32)
        (call $add (local.get 0) (global.get $g)))
    (func (export "catch") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $t $h) (call $throw (local.get 0)))
            (i32.const -1)))
    (func $throw (param i32) (throw $t (i32.mul (local.get 0) (i32.const 3))))
    (func (export "floor") (param f64) (result f64) (f64.floor (local.get 0))))"#;

fn jit_engine(fuel: bool) -> Engine {
    let mut config = Config::new();
    config.strategy(Strategy::Jit).consume_fuel(fuel);
    Engine::new(&config).expect("JIT engine")
}

/// Calls every export of a `WAT` instance and returns what each gave, traps
/// as their messages.
fn run_all(engine: &Engine, module: &Module, fuel: bool) -> Vec<String> {
    let mut store = Store::new(engine, ());
    if fuel {
        store.set_fuel(1_000_000).expect("fuel");
    }
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("host", "add", |a: i32, b: i32| a.wrapping_add(b))
        .expect("host function");
    let instance = linker.instantiate(&mut store, module).expect("instantiate");
    let calls: [(&str, &[Val]); 9] = [
        ("fib", &[Val::I32(20)]),
        ("indirect", &[Val::I32(1), Val::I32(9)]),
        ("indirect", &[Val::I32(5), Val::I32(9)]),
        ("div", &[Val::I32(7), Val::I32(0)]),
        ("div", &[Val::I32(i32::MIN), Val::I32(-1)]),
        ("fill", &[Val::I32(100), Val::I32(0xab), Val::I32(10)]),
        ("host", &[Val::I32(35)]),
        ("catch", &[Val::I32(14)]),
        ("floor", &[Val::F64((-2.5f64).to_bits())]),
    ];
    let mut out = Vec::new();
    for (name, args) in calls {
        let func = instance.get_func(&store, name).expect(name);
        let mut results = vec![Val::I32(0); func.ty(&store).results.len()];
        let r = func.call(&mut store, args, &mut results);
        out.push(match r {
            Ok(()) => format!("{name}: {results:?}"),
            Err(e) => format!("{name}: error {e}"),
        });
    }
    if fuel {
        out.push(format!("fuel left {:?}", store.get_fuel()));
    }
    out
}

#[test]
fn a_loaded_module_runs_as_the_compiled_one() {
    for fuel in [false, true] {
        let engine = jit_engine(fuel);
        let module = Module::new(&engine, WAT).expect("compile");
        let bytes = module.serialize().expect("serialize");
        assert!(bytes.starts_with(MAGIC));
        // SAFETY: the bytes were just written by this build.
        let loaded = unsafe { Module::deserialize(&engine, &bytes) }.expect("deserialize");
        let expected = run_all(&engine, &module, fuel);
        assert_eq!(run_all(&engine, &loaded, fuel), expected);
        assert!(
            expected
                .iter()
                .any(|l| l.contains("integer divide by zero"))
        );
        assert!(expected.iter().any(|l| l == "catch: [I32(42)]"));
        // Saving a loaded module gives the same bytes.
        assert_eq!(loaded.serialize().expect("serialize again"), bytes);
    }
}

/// Rewrites an artifact's version string and fixes its length and checksum,
/// as another build would have written them.
fn with_version(bytes: &[u8], version: &str) -> Vec<u8> {
    let mut at = MAGIC.len() + 8;
    let old_len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    at += 8;
    let mut out = bytes[..MAGIC.len() + 8].to_vec();
    out.extend_from_slice(&(version.len() as u64).to_le_bytes());
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(&bytes[at + old_len..bytes.len() - CHECKSUM_LEN]);
    reseal(out)
}

/// Sets an artifact's length field and appends its checksum.
fn reseal(mut body: Vec<u8>) -> Vec<u8> {
    let len = (body.len() + CHECKSUM_LEN) as u64;
    body[MAGIC.len()..MAGIC.len() + 8].copy_from_slice(&len.to_le_bytes());
    let sum = crc32fast::hash(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    body
}

fn load(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
    // SAFETY: every artifact these tests load is refused before it runs, or
    // was written by this build.
    unsafe { Module::deserialize(engine, bytes) }
}

fn artifact_error(r: Result<Module, Error>) -> ArtifactError {
    match r {
        Err(Error::Artifact(e)) => *e,
        Err(other) => panic!("expected an artifact error, got {other}"),
        Ok(_) => panic!("expected an artifact error, the artifact loaded"),
    }
}

#[test]
fn truncated_artifacts_are_refused() {
    let engine = jit_engine(false);
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    assert_eq!(
        artifact_error(load(&engine, &bytes[..4])),
        ArtifactError::NotAnArtifact
    );
    for len in [
        8,
        12,
        16,
        20,
        40,
        bytes.len() / 2,
        bytes.len() - CHECKSUM_LEN - 1,
        bytes.len() - 1,
    ] {
        assert_eq!(
            artifact_error(load(&engine, &bytes[..len])),
            ArtifactError::Truncated,
            "{len} of {} bytes",
            bytes.len()
        );
    }
}

#[test]
fn corrupted_artifacts_are_refused() {
    let engine = jit_engine(false);
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    // A flipped bit anywhere after the version: in the binary, in the code
    // section's tables, in the code, in the checksum.
    let start = MAGIC.len() + 16 + kiln::artifact::version().len();
    for at in (start..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        assert_eq!(
            artifact_error(load(&engine, &bad)),
            ArtifactError::Corrupted,
            "bit flipped at {at}"
        );
    }
    // Extra bytes at the end.
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        artifact_error(load(&engine, &long)),
        ArtifactError::Corrupted
    );
    assert_eq!(
        artifact_error(load(&engine, b"(module)")),
        ArtifactError::NotAnArtifact
    );
}

#[test]
fn artifacts_of_another_version_are_refused() {
    let engine = jit_engine(false);
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    // The helper reproduces this build's artifact when given its own version.
    assert!(load(&engine, &with_version(&bytes, &kiln::artifact::version())).is_ok());
    // Another build of the same version from other sources.
    let this = kiln::artifact::version();
    let source = kiln_jit_source(&this);
    let rebuilt = this.replace(source, &"0".repeat(source.len()));
    for other in ["0.0.1 (code format 1)", "99.0.0", "", rebuilt.as_str()] {
        match artifact_error(load(&engine, &with_version(&bytes, other))) {
            ArtifactError::Version { found, expected } => {
                assert_eq!(found, other);
                assert_eq!(expected, kiln::artifact::version());
            }
            e => panic!("expected a version error, got {e}"),
        }
    }
}

/// The source hash in a version string: `... source HASH)`.
fn kiln_jit_source(version: &str) -> &str {
    let hash = version
        .rsplit_once("source ")
        .map(|(_, h)| h.trim_end_matches(')'))
        .unwrap_or_default();
    assert_eq!(hash.len(), 16, "{version}");
    hash
}

#[test]
fn artifacts_for_another_processor_are_refused() {
    let engine = jit_engine(false);
    let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
    // Each line of the host fingerprint in turn, changed as another processor
    // (an ISA flag) or other code generator settings would have it.
    let key = engine.compatibility_key().unwrap();
    let fingerprint = key
        .split_once("triple=")
        .map(|(_, f)| format!("triple={f}"))
        .unwrap();
    let at = find(&bytes, fingerprint.as_bytes()).expect("the fingerprint in the artifact");
    let mut flags_tried = 0;
    for (i, line) in fingerprint.lines().enumerate() {
        let Some(flipped) = flip_flag(line) else {
            continue;
        };
        let other: Vec<&str> = fingerprint
            .lines()
            .enumerate()
            .map(|(j, l)| if i == j { flipped.as_str() } else { l })
            .collect();
        let other = other.join("\n");
        let mut bad = bytes[..bytes.len() - CHECKSUM_LEN].to_vec();
        bad[at..at + other.len()].copy_from_slice(other.as_bytes());
        match artifact_error(load(&engine, &reseal(bad))) {
            ArtifactError::Host { found, expected } => {
                assert_eq!(found, flipped);
                assert_eq!(expected, line);
            }
            e => panic!("expected a host error for {line}, got {e}"),
        }
        flags_tried += 1;
    }
    assert!(
        flags_tried > 10,
        "only {flags_tried} flags in the fingerprint"
    );
}

/// `name=1` as `name=0` and the other way round.
fn flip_flag(line: &str) -> Option<String> {
    if let Some(name) = line.strip_suffix("=1") {
        Some(format!("{name}=0"))
    } else {
        line.strip_suffix("=0").map(|name| format!("{name}=1"))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn artifacts_for_other_settings_are_refused() {
    let plain = jit_engine(false);
    let fueled = jit_engine(true);
    let bytes = Module::new(&fueled, WAT).unwrap().serialize().unwrap();
    match artifact_error(load(&plain, &bytes)) {
        ArtifactError::Settings { what } => {
            assert!(what.contains("fuel on in the module"), "{what}")
        }
        e => panic!("expected a settings error, got {e}"),
    }
    let mut config = Config::new();
    config
        .strategy(Strategy::Jit)
        .features(kiln::Features::WASM2);
    let wasm2 = Engine::new(&config).unwrap();
    let bytes = Module::new(&wasm2, "(module)")
        .unwrap()
        .serialize()
        .unwrap();
    assert!(matches!(
        artifact_error(load(&plain, &bytes)),
        ArtifactError::Settings { .. }
    ));
    // Keys differ as the artifacts do.
    assert_ne!(
        plain.compatibility_key().unwrap(),
        fueled.compatibility_key().unwrap()
    );
    assert_ne!(
        plain.compatibility_key().unwrap(),
        wasm2.compatibility_key().unwrap()
    );
    assert_eq!(
        plain.compatibility_key().unwrap(),
        jit_engine(false).compatibility_key().unwrap()
    );
}

#[test]
fn the_interpreter_saves_nothing() {
    let mut config = Config::new();
    config.strategy(Strategy::Interpreter);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    assert!(matches!(module.serialize(), Err(Error::Unsupported(_))));
    let jit = Module::new(&jit_engine(false), WAT)
        .unwrap()
        .serialize()
        .unwrap();
    assert!(matches!(load(&engine, &jit), Err(Error::Unsupported(_))));
    assert!(engine.compatibility_key().is_err());
}
