//! Service Bus connection strings as the host reads them (setting or environment), and what
//! it derives from them: TLS, port, token audience and the SAS token it signs.
#![no_main]
use berth_host::config::{resolve_connection, AppSettings};
use berth_host::servicebus::ConnectionString;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = ConnectionString::parse(text) {
        let _ = (
            parsed.uses_tls(),
            parsed.port(),
            parsed.audience("q/Subscriptions/s"),
        );
    }
    let settings = AppSettings::default().with_env([("Conn".to_owned(), text.to_owned())]);
    let _ = resolve_connection(&settings, "Conn");
});
