//! The broker's entities configuration (TOML), parsed and applied to a fresh namespace.
#![no_main]
use berth_emulator::entity::{EntitiesConfig, Namespace};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = EntitiesConfig::from_toml(text) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let _ = Namespace::in_memory().apply_config(&config);
    });
});
