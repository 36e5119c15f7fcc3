//! The Service Bus SQL filter and rule-action language: arbitrary text parsed as a filter and
//! as an action, evaluated and applied against a message built from the input (see
//! `berth_fuzz::sql`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_fuzz::sql::run(data));
