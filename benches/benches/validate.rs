//! Parse + validate throughput: Kiln against `wasmparser`'s validator on the
//! same large module in the same run, and Kiln's decoding alone (the module,
//! then every body into instructions, as a tier does) to show how the time
//! splits between decoding and validating.
//!
//! Run with `cargo bench -p kiln-benches --bench validate`; criterion prints
//! the throughput of each in bytes per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln_parser::Features;

/// The module every benchmark here reads, checked valid by both validators.
fn input() -> Vec<u8> {
    let bytes = kiln_benches::large_module();
    let features = Features::ALL;
    let module = kiln_parser::parse(&bytes, features).expect("Kiln parses the benchmark module");
    kiln_validator::validate(&module, features).expect("Kiln validates the benchmark module");
    wasmparser::Validator::new_with_features(features.to_wasmparser())
        .validate_all(&bytes)
        .expect("wasmparser validates the benchmark module");
    bytes
}

/// Kiln's parse + validate beside `wasmparser`'s `validate_all`.
fn parse_and_validate(c: &mut Criterion, bytes: &[u8]) {
    let features = Features::ALL;
    let mut group = c.benchmark_group("parse+validate");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("kiln", |b| {
        b.iter(|| {
            let module = kiln_parser::parse(black_box(bytes), features).expect("parses");
            kiln_validator::validate(&module, features).expect("validates")
        });
    });
    group.bench_function("wasmparser", |b| {
        b.iter(|| {
            wasmparser::Validator::new_with_features(features.to_wasmparser())
                .validate_all(black_box(bytes))
                .expect("validates")
        });
    });
    group.finish();
}

/// Decoding alone: Kiln's parser into its IR, every body decoded into a reused
/// instruction list, and `wasmparser` reading every operator of every body
/// without validating (the floor Kiln's parser sits on).
fn parse_only(c: &mut Criterion, bytes: &[u8]) {
    let features = Features::ALL;
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("kiln", |b| {
        let mut instrs = Vec::new();
        let mut decoder = kiln_parser::BodyDecoder::new();
        b.iter(|| {
            let module = kiln_parser::parse(black_box(bytes), features).expect("parses");
            let mut n = 0;
            for i in 0..module.code.len() {
                instrs.clear();
                decoder.decode(&module, i, &mut instrs).expect("decodes");
                n += instrs.len();
            }
            n
        });
    });
    group.bench_function("wasmparser-decode", |b| {
        b.iter(|| wasmparser_decode(black_box(bytes), features.to_wasmparser()));
    });
    group.finish();
}

/// Reads every section and every operator with `wasmparser`, validating nothing;
/// returns the number of operators so the work cannot be optimised away.
fn wasmparser_decode(bytes: &[u8], features: wasmparser::WasmFeatures) -> usize {
    let mut parser = wasmparser::Parser::new(0);
    parser.set_features(features);
    let mut ops = 0;
    for payload in parser.parse_all(bytes) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload.expect("decodes") {
            let mut locals = body.get_locals_reader().expect("decodes");
            for _ in 0..locals.get_count() {
                locals.read().expect("decodes");
            }
            let mut reader = body.get_operators_reader().expect("decodes");
            while !reader.eof() {
                reader.read().expect("decodes");
                ops += 1;
            }
        }
    }
    ops
}

fn benches(c: &mut Criterion) {
    let bytes = input();
    parse_and_validate(c, &bytes);
    parse_only(c, &bytes);
}

criterion_group!(validate, benches);
criterion_main!(validate);
