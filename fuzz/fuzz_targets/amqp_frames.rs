//! The broker's frame splitter and performative decoder (with its well-formedness check),
//! directly: the fast inner loop of `broker_connection`.
#![no_main]
use berth_emulator::amqp::{fuzzing, validate_encoded};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    berth_fuzz::allow_contained_panics();
    let _ = fuzzing::decode_frames(data, 1 << 20);
    let _ = fuzzing::decode_performative_body(data);
    let _ = validate_encoded(data);
});
