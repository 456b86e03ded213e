//! Chooses how the interpreter dispatches ops (see `src/exec/threaded.rs`).
//!
//! Threaded dispatch relies on calls in tail position becoming jumps, which
//! LLVM does when it optimises (any opt-level but 0) on the targets listed;
//! elsewhere the same handlers run from a loop.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kiln_tail_dispatch)");
    println!("cargo::rerun-if-changed=build.rs");
    let optimised = std::env::var("OPT_LEVEL").is_ok_and(|level| level != "0");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if optimised && (arch == "x86_64" || arch == "aarch64") {
        println!("cargo::rustc-cfg=kiln_tail_dispatch");
    }
}
