//! One fuzzed message put by a scripted client to `$cbs`, an entity's `$management` node or
//! an entity (see `berth_fuzz::script`), through the broker's real connection.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    berth_fuzz::allow_contained_panics();
    berth_fuzz::script::run(data);
});
