//! The broker's byte stream as the host's verdict tap follows it (first byte: where the
//! stream is split into two reads).
#![no_main]
use berth_host::servicebus::fuzzing::follow_broker_stream;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    berth_fuzz::allow_contained_panics();
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    follow_broker_stream(stream, usize::from(split) * 4);
});
