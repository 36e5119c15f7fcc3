//! A message's encoded sections as the broker reads and rewrites them: inspection, batch
//! splitting, re-encoding for delivery, message-id and application-property rewriting, the
//! properties subscription rules read and the copy a rule action rewrites, and request
//! decoding.
#![no_main]
use berth_emulator::filter::{decode_view, encode_changes, Value};
use berth_emulator::node::{codec, request::Request};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    berth_fuzz::allow_contained_panics();
    let _ = codec::inspect(data);
    for message in codec::batch_messages(data).take(64) {
        let Ok(message) = message else { break };
        let _ = codec::inspect(message);
    }
    let stamp = codec::Stamp {
        lock_token: Some([1; 16]),
        delivery_count: 2,
        time_to_live_ms: Some(6),
        sequence_number: 3,
        enqueued_time_ms: 4,
        locked_until_ms: Some(5),
        state: 0,
        enqueue_sequence_number: 0,
        dead_letter_reason: Some("reason"),
        dead_letter_description: None,
        dead_letter_source: Some("source"),
    };
    let mut out = Vec::new();
    let _ = codec::encode_delivery(data, &stamp, &mut out);
    let _ = codec::with_message_id(data, "fuzz-id");
    let _ = codec::rewrite_application_properties(data, &[("k", b"\xa1\x01v")]);
    if let Ok(view) = decode_view(data) {
        let mut changed = view.clone();
        changed.label = Some("fuzz".into());
        changed.time_to_live = None;
        changed.user.insert("RuleName".into(), Value::String("r".into()));
        if let Some(first) = view.user.keys().next() {
            changed.user.remove(first);
        }
        let _ = encode_changes(data, &view, &changed);
    }
    let _ = Request::decode(data);
});
