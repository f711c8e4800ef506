//! Any bytes given as a snapshot either restore a market that passes
//! every invariant or are refused with an error; never a panic.

#![no_main]

use agora_engine::Market;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(market) = Market::from_snapshot(data) {
        market
            .check_invariants()
            .expect("a restored market is valid");
    }
});
