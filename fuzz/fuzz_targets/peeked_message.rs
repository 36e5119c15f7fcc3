//! One encoded message of a `$management` peek reply, decoded as `host peek` does (the
//! broker's bytes, decoded by our code with serde_amqp).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    berth_fuzz::allow_contained_panics();
    berth_host::servicebus::fuzzing::decode_peeked(data);
});
