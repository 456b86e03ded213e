//! Arbitrary bytes through the peer node's parsers: its wire codec, gossip
//! announcements, the control API's HTTP parser and its exec and module
//! bodies; no panic, and decoded messages re-encode to themselves (see
//! `kiln_fuzz_replay::check_node_input`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz_replay::check_node_input(data);
});
