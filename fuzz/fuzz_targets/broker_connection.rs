//! Raw bytes from a client socket into the embedded broker: protocol headers, SASL, framing,
//! every performative and the Service Bus node layer behind them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    berth_fuzz::allow_contained_panics();
    berth_fuzz::broker::serve(data, berth_fuzz::broker::Auth::Open);
});
