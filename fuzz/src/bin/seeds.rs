//! Writes the seed inputs of every target into `corpus/<target>/seed-N` (run by
//! `scripts/fuzz seeds`, built without libFuzzer).

use std::{fs, path::Path};

use berth_fuzz::seeds;

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "corpus".to_owned());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &str| fs::read(repo.join(p)).unwrap_or_default();
    let sets: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("broker_connection", seeds::connections()),
        ("broker_request", seeds::scripts()),
        (
            "amqp_frames",
            seeds::connections()
                .into_iter()
                .map(|c| c[8..].to_vec())
                .collect(),
        ),
        (
            "message_sections",
            seeds::requests().into_iter().map(|(_, p)| p).collect(),
        ),
        ("verdict_stream", seeds::broker_streams()),
        (
            "peeked_message",
            seeds::requests()
                .into_iter()
                .skip(13)
                .map(|(_, p)| p)
                .collect(),
        ),
        (
            "sas_token",
            vec![seeds::sas_token("sb://localhost/q").into_bytes()],
        ),
        ("dev_jwt", vec![seeds::dev_jwt().into_bytes()]),
        ("entities_config", seeds::entities_toml()),
        ("connection_string", seeds::connection_strings()),
        ("sql_filter", berth_fuzz::sql::seeds()),
        (
            "host_config",
            [
                "host.toml.example",
                "local.settings.toml.example",
                "examples/servicebus_sessions/host.toml",
                "examples/gateway_commands/host.toml",
                "examples/gateway_commands/local.settings.toml",
                "examples/session_state/host.toml",
            ]
            .iter()
            .map(|p| read(p))
            .chain([
                b"lock_renewal = \"5m\"\n#--env\nSERVICE_BUS__MAX_CONCURRENT_SESSIONS=8\n".to_vec(),
            ])
            .collect(),
        ),
    ];
    for (target, inputs) in sets {
        let dir = Path::new(&root).join(target);
        fs::create_dir_all(&dir).expect("corpus directory");
        for (i, input) in inputs.iter().enumerate() {
            fs::write(dir.join(format!("seed-{i}")), input).expect("seed file");
        }
        println!("{target}: {} seeds", inputs.len());
    }
}
