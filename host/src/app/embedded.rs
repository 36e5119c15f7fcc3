//! The embedded broker of a host whose functions have no connection configured: started
//! with the entities those functions need, checked against them, and seeded with the
//! `[[emulator.seed]]` messages once the triggers are open.

use std::collections::BTreeMap;
use std::net::SocketAddr;

pub(crate) use berth_emulator::broker::RunningBroker;

use berth_emulator::broker::Broker;
use berth_emulator::entity::{EntitiesConfig, EntityConfig, TopicConfig};
use tracing::info;

use super::StartError;
use crate::config::HostConfig;
use crate::message_file;
use crate::registry::ResolvedFunction;
use crate::runtime::{Entity, FunctionSpec};
use crate::servicebus::{ClientOptions, ConnectionString, ServiceBusClient};

/// Starts the embedded broker with the entities the functions need (existing ones in a
/// data directory are kept) and refuses a session trigger on a non-session entity (or the
/// reverse).
pub(super) async fn start(
    config: &HostConfig,
    functions: &[ResolvedFunction],
) -> Result<RunningBroker, StartError> {
    start_broker(config, functions)
        .await
        .map_err(|e| StartError::new(format!("the embedded broker could not start: {e}")))
}

async fn start_broker(
    config: &HostConfig,
    functions: &[ResolvedFunction],
) -> Result<RunningBroker, String> {
    let emulator = &config.emulator;
    let ip = emulator
        .host
        .parse()
        .map_err(|e| format!("[emulator] host `{}`: {e}", emulator.host))?;
    // Development JWTs: identity-based connections (token credentials) work against it, but
    // anyone can mint one, so not on a network address unless anonymous access is allowed.
    let address = SocketAddr::new(ip, emulator.port);
    let dev_jwt = ip.is_loopback() || emulator.allow_anonymous;
    let mut entities = match &emulator.entities {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| EntitiesConfig::from_toml(&text))
            .map_err(|e| format!("[emulator] entities {}: {e}", path.display()))?,
        None => EntitiesConfig::default(),
    };
    add_missing(&mut entities, entities_for(functions));
    let mut builder = Broker::builder()
        .address(address)
        .dev_jwt(dev_jwt)
        .allow_anonymous(emulator.allow_anonymous)
        .entities(entities);
    for rule in &emulator.sas_rules {
        builder = builder.rule(rule.rule());
    }
    builder = match &emulator.data_dir {
        Some(dir) => builder.data_dir(dir),
        None => builder.in_memory(),
    };
    let broker = builder.start().await.map_err(|e| e.to_string())?;
    for f in functions.iter().filter(|f| f.connection.is_none()) {
        let path = f.spec.entity.path();
        let entity = broker
            .namespace()
            .receiver(&path)
            .map_err(|e| format!("function `{}`: {e}", f.spec.name))?;
        if entity.requires_session() != f.spec.sessions {
            let (is, wants) = if f.spec.sessions {
                ("not session-enabled", "a session trigger")
            } else {
                ("session-enabled", "a trigger without sessions")
            };
            return Err(format!(
                "function `{}` is {wants} but {} is {is} (in the broker's data directory); \
                 change `sessions` in #[service_bus_trigger] at {}, or delete the entity",
                f.spec.name, f.spec.entity, f.location
            ));
        }
    }
    info!(
        connection_string = %broker.connection_string(),
        durable = emulator.data_dir.is_some(),
        "embedded Service Bus broker started (no connection string configured); the SDKs can send to it with this connection string"
    );
    Ok(broker)
}

/// Sends the `[[emulator.seed]]` messages to the embedded broker.
pub(super) async fn seed(
    config: &HostConfig,
    broker: &RunningBroker,
    clients: &BTreeMap<String, ServiceBusClient>,
    client_options: ClientOptions,
) -> Result<(), String> {
    if config.emulator.seed.is_empty() {
        return Ok(());
    }
    let client = match clients.get(&broker.connection_string()) {
        Some(client) => client.clone(),
        None => {
            let cs =
                ConnectionString::parse(&broker.connection_string()).map_err(|e| e.to_string())?;
            ServiceBusClient::connect_with(cs, client_options)
                .await
                .map_err(|e| e.to_string())?
        }
    };
    for seed in &config.emulator.seed {
        let entity = seed.entity().ok_or_else(|| {
            format!(
                "[[emulator.seed]] for {} needs `queue` or `topic`",
                seed.file.display()
            )
        })?;
        let messages = message_file::read(&seed.file)?;
        let sender = client.sender(entity);
        for chunk in messages.chunks(500) {
            sender
                .send_batch(chunk)
                .await
                .map_err(|e| format!("seeding {entity}: {e}"))?;
        }
        info!(
            entity,
            messages = messages.len(),
            file = %seed.file.display(),
            "seeded the embedded broker"
        );
    }
    Ok(())
}

/// The queues, topics and subscriptions that functions without a connection string read.
fn entities_for(functions: &[ResolvedFunction]) -> EntitiesConfig {
    entities_of(
        functions
            .iter()
            .filter(|f| f.connection.is_none())
            .map(|f| &f.spec),
    )
}

/// The queues, topics and subscriptions that these functions read.
pub(crate) fn entities_of<'a>(functions: impl Iterator<Item = &'a FunctionSpec>) -> EntitiesConfig {
    let mut config = EntitiesConfig::default();
    let mut topics: BTreeMap<String, Vec<EntityConfig>> = BTreeMap::new();
    for f in functions {
        match &f.entity {
            Entity::Queue(name) => config.queues.push(queue(name, f.sessions)),
            Entity::Subscription {
                topic,
                subscription,
            } => topics
                .entry(topic.clone())
                .or_default()
                .push(queue(subscription, f.sessions)),
        }
    }
    config.topics = topics
        .into_iter()
        .map(|(name, subscriptions)| TopicConfig {
            name,
            subscriptions,
            ..TopicConfig::default()
        })
        .collect();
    config
}

/// Adds to `configured` (the `[emulator] entities` file) the functions' entities it does not
/// list; a listed one keeps its configured options (names compare case-insensitively, as the
/// broker's do).
fn add_missing(configured: &mut EntitiesConfig, needed: EntitiesConfig) {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    for q in needed.queues {
        if !configured.queues.iter().any(|c| same(&c.name, &q.name)) {
            configured.queues.push(q);
        }
    }
    for t in needed.topics {
        match configured
            .topics
            .iter_mut()
            .find(|c| same(&c.name, &t.name))
        {
            Some(c) => {
                for s in t.subscriptions {
                    if !c.subscriptions.iter().any(|x| same(&x.name, &s.name)) {
                        c.subscriptions.push(s);
                    }
                }
            }
            None => configured.topics.push(t),
        }
    }
}

/// A queue definition with the broker's defaults.
pub(crate) fn queue(name: &str, requires_session: bool) -> EntityConfig {
    EntityConfig {
        name: name.to_owned(),
        requires_session: Some(requires_session),
        ..EntityConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_entities_keep_their_options_and_functions_add_the_rest() {
        let mut configured = EntitiesConfig::from_toml(
            "[[queues]]\nname = \"Orders\"\nrequires_duplicate_detection = true\n\
             [[topics]]\nname = \"events\"\nstatus = \"SendDisabled\"\n\
             [[topics.subscriptions]]\nname = \"audit\"\nforward_to = \"orders\"\n",
        )
        .unwrap();
        let needed = EntitiesConfig {
            queues: vec![queue("orders", false), queue("invoices", true)],
            topics: vec![TopicConfig {
                name: "EVENTS".into(),
                subscriptions: vec![queue("audit", false), queue("mail", true)],
                ..TopicConfig::default()
            }],
        };
        add_missing(&mut configured, needed);
        let queues: Vec<_> = configured.queues.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(queues, ["Orders", "invoices"]);
        assert_eq!(
            configured.queues[0].requires_duplicate_detection,
            Some(true)
        );
        assert_eq!(configured.topics.len(), 1);
        let subs: Vec<_> = configured.topics[0]
            .subscriptions
            .iter()
            .map(|s| (s.name.as_str(), s.forward_to.as_deref()))
            .collect();
        assert_eq!(subs, [("audit", Some("orders")), ("mail", None)]);
    }
}
