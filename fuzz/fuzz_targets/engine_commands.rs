//! Any sequence of commands (decoded from the fuzzer's bytes as journal
//! inputs, each behind a two-byte length, the way journal records are
//! decoded: from a slice) leaves the market valid after every step, and a
//! rejected command changes nothing.

#![no_main]

use agora_engine::{EngineConfig, Input, Market, VersionedInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut market = Market::new(EngineConfig::default());
    let mut events = Vec::new();
    let mut rest = data;
    while rest.len() > 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let record = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let Ok(versioned) = bincode::deserialize::<VersionedInput>(record) else {
            continue;
        };
        let input = Input::from(versioned);
        let before = market.state_digest();
        events.clear();
        if market.apply(&input, &mut events).is_err() {
            assert_eq!(before, market.state_digest(), "a rejection changed state");
        }
        market
            .check_invariants()
            .expect("every step keeps the market valid");
    }
});
