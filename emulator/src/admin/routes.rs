//! What each admin request does.

use std::borrow::Cow;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::properties;
use crate::entity::{
    Commit, EntityConfig, EntityError, EntityInfo, EntityKind, EntityStatus, Namespace,
    TopicConfig, TopicOptions,
};

/// Answers one request; `segments` are the path's, each decoded (see [`segments`]).
pub(super) async fn route(
    namespace: &Namespace,
    method: &Method,
    segments: &[&str],
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let result = match (method, segments) {
        (&Method::GET, ["health"]) => Ok((StatusCode::OK, json!({"status": "ok"}))),
        (&Method::GET, ["entities"]) => Ok((
            StatusCode::OK,
            Value::Array(namespace.entities().iter().map(entity_json).collect()),
        )),
        (&Method::GET, ["entities", rest @ ..]) => find(namespace, &rest.join("/")),
        (&Method::PUT, ["queues", name]) => {
            create(namespace, name, body, |c| match c.rules {
                Some(_) => Err(EntityError::InvalidArgument(
                    "rules belong to topic subscriptions, not queues".into(),
                )),
                None => namespace.create_queue(name, c.options()),
            })
            .await
        }
        (&Method::PUT, ["topics", name]) => create_topic(namespace, name, body).await,
        (&Method::PATCH, ["entities", rest @ ..]) if !rest.is_empty() => {
            update(namespace, &rest.join("/"), body).await
        }
        (&Method::PUT, ["topics", topic, "subscriptions", name]) => {
            let path = format!("{topic}/Subscriptions/{name}");
            create(namespace, &path, body, |c| match c.rule_set()? {
                Some(rules) => {
                    namespace.create_subscription_with_rules(topic, name, c.options(), rules)
                }
                None => namespace.create_subscription(topic, name, c.options()),
            })
            .await
        }
        (_, ["topics", topic, "subscriptions", subscription, "rules", rest @ ..]) => {
            let path = format!("{topic}/Subscriptions/{subscription}");
            super::rules::route(namespace, method, &path, rest, body).await
        }
        (&Method::DELETE, ["entities", rest @ ..]) if !rest.is_empty() => {
            match namespace.delete(&rest.join("/")) {
                Ok(commit) => commit
                    .wait()
                    .await
                    .map(|()| (StatusCode::NO_CONTENT, Value::Null))
                    .map_err(into_error),
                Err(e) => Err(into_error(e)),
            }
        }
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("no admin route for {method} /{}; see GET /entities, PUT /queues/NAME, PUT /topics/NAME, PUT /topics/T/subscriptions/NAME, PATCH /entities/PATH, GET /topics/T/subscriptions/S/rules, PUT|DELETE /topics/T/subscriptions/S/rules/NAME, DELETE /entities/PATH", segments.join("/")),
            "amqp:not-found",
        )),
    };
    match result {
        Ok((status, Value::Null)) => respond(status, Bytes::new()),
        Ok((status, value)) => respond(status, Bytes::from(value.to_string())),
        Err((status, message, condition)) => error_response(status.as_u16(), &message, condition),
    }
}

pub(super) type Outcome = Result<(StatusCode, Value), (StatusCode, String, &'static str)>;

fn find(namespace: &Namespace, path: &str) -> Outcome {
    namespace
        .entities()
        .iter()
        .find(|e| e.path.eq_ignore_ascii_case(path))
        .map(|e| (StatusCode::OK, entity_json(e)))
        .ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                format!("no queue, topic or subscription `{path}`"),
                "amqp:not-found",
            )
        })
}

async fn create(
    namespace: &Namespace,
    path: &str,
    body: &Bytes,
    make: impl FnOnce(&EntityConfig) -> Result<Commit, EntityError>,
) -> Outcome {
    let config = config_from(path, body)?;
    let commit = make(&config).map_err(into_error)?;
    commit.wait().await.map_err(into_error)?;
    find(namespace, path).map(|(_, v)| (StatusCode::CREATED, v))
}

async fn create_topic(namespace: &Namespace, name: &str, body: &Bytes) -> Outcome {
    let mut object = json_object(body)?;
    if object.contains_key("subscriptions") {
        return Err(bad_request(
            "invalid topic options: create subscriptions with PUT /topics/T/subscriptions/NAME"
                .into(),
        ));
    }
    object.insert("name".into(), Value::String(name.to_owned()));
    let config: TopicConfig = serde_json::from_value(Value::Object(object))
        .map_err(|e| bad_request(format!("invalid topic options: {e}")))?;
    if config.max_size_bytes.is_some() && config.max_size_in_megabytes.is_some() {
        return Err(bad_request(
            "give max_size_bytes or max_size_in_megabytes, not both".into(),
        ));
    }
    let options = config.options();
    options.validate().map_err(|e| bad_request(e.to_string()))?;
    let commit = namespace
        .create_topic_with(name, options)
        .map_err(into_error)?;
    commit.wait().await.map_err(into_error)?;
    find(namespace, name).map(|(_, v)| (StatusCode::CREATED, v))
}

/// `PATCH /entities/PATH`: changes what Service Bus lets an update change here (`status`).
async fn update(namespace: &Namespace, path: &str, body: &Bytes) -> Outcome {
    let mut object = json_object(body)?;
    let status = object.remove("status");
    if let Some(key) = object.keys().next() {
        return Err(bad_request(format!(
            "`{key}` cannot be changed on an existing entity; only `status` can"
        )));
    }
    let Some(status) = status else {
        return Err(bad_request("nothing to change: give `status`".into()));
    };
    let status: EntityStatus = serde_json::from_value(status).map_err(|e| {
        bad_request(format!(
            "invalid status ({e}): use Active, Disabled, SendDisabled or ReceiveDisabled"
        ))
    })?;
    let commit = namespace.set_status(path, status).map_err(into_error)?;
    commit.wait().await.map_err(into_error)?;
    find(namespace, path)
}

fn json_object(
    body: &Bytes,
) -> Result<serde_json::Map<String, Value>, (StatusCode, String, &'static str)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request(
            "the body must be a JSON object of entity options".into(),
        )),
        Err(e) => Err(bad_request(format!("the body is not valid JSON: {e}"))),
    }
}

/// An entity's configuration from a JSON body (empty body: the defaults), its options checked.
fn config_from(
    name: &str,
    body: &Bytes,
) -> Result<EntityConfig, (StatusCode, String, &'static str)> {
    let mut object = json_object(body)?;
    object.insert("name".into(), Value::String(name.to_owned()));
    let config: EntityConfig = serde_json::from_value(Value::Object(object))
        .map_err(|e| bad_request(format!("invalid entity options: {e}")))?;
    config
        .options()
        .validate()
        .map_err(|e| bad_request(e.to_string()))?;
    Ok(config)
}

pub(super) fn bad_request(message: String) -> (StatusCode, String, &'static str) {
    (
        StatusCode::BAD_REQUEST,
        message,
        "com.microsoft:argument-error",
    )
}

pub(super) fn into_error(e: EntityError) -> (StatusCode, String, &'static str) {
    let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, e.to_string(), e.condition())
}

fn entity_json(info: &EntityInfo) -> Value {
    let kind = match info.kind {
        EntityKind::Queue => "queue",
        EntityKind::Topic => "topic",
        EntityKind::Subscription => "subscription",
    };
    let mut value = json!({ "path": info.path, "kind": kind });
    value["properties"] = match (&info.options, &info.topic_options) {
        (Some(o), _) => properties::description(o, info.kind == EntityKind::Subscription),
        (None, Some(t)) => properties::topic_description(t),
        (None, None) => properties::topic_description(&TopicOptions::default()),
    };
    value["runtime"] = properties::runtime(&info.runtime);
    if let Some(o) = &info.topic_options {
        value["options"] = json!({
            "default_message_time_to_live_ms": millis(o.default_message_time_to_live),
            "max_size_bytes": o.max_size_bytes,
            "requires_duplicate_detection": o.requires_duplicate_detection,
            "duplicate_detection_history_time_window_ms": millis(o.duplicate_detection_history_time_window),
            "status": o.status.as_str(),
            "auto_delete_on_idle_ms": millis(o.auto_delete_on_idle),
        });
    }
    if let Some(o) = &info.options {
        value["options"] = json!({
            "requires_session": o.requires_session,
            "lock_duration_ms": o.lock_duration.as_millis() as u64,
            "max_delivery_count": o.max_delivery_count,
            "default_message_time_to_live_ms": u64::try_from(o.default_message_time_to_live.as_millis()).unwrap_or(u64::MAX),
            "dead_lettering_on_message_expiration": o.dead_lettering_on_message_expiration,
            "max_size_bytes": o.max_size_bytes,
            "requires_duplicate_detection": o.requires_duplicate_detection,
            "duplicate_detection_history_time_window_ms": millis(o.duplicate_detection_history_time_window),
            "forward_to": o.forward_to,
            "forward_dead_lettered_messages_to": o.forward_dead_lettered_messages_to,
            "status": o.status.as_str(),
            "auto_delete_on_idle_ms": millis(o.auto_delete_on_idle),
        });
        let c = &info.counts;
        value["counts"] = json!({
            "active": c.active,
            "scheduled": c.scheduled,
            "deferred": c.deferred,
            "dead_lettered": c.dead_lettered,
            "locked": c.locked,
            "sessions": c.sessions,
            "size_bytes": c.size_bytes,
        });
    }
    value
}

/// A duration in ms for JSON (`Duration::MAX`, "never", saturates to `u64::MAX`).
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// An error answer: `{"error": message, "condition": condition}`.
pub(super) fn error_response(status: u16, message: &str, condition: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    respond(
        status,
        Bytes::from(json!({"error": message, "condition": condition}).to_string()),
    )
}

/// The non-empty segments of a request path, split on `/` first and then each
/// percent-decoded, so an escaped `%2F` stays inside its segment (a queue named `a/b` is
/// `PUT /queues/a%2Fb`) and never adds a route segment. Decoding is
/// `percent_encoding`'s: an escape that is not `%` and two hex digits is kept as written.
/// `Err` (the reason) when a decoded segment is not UTF-8.
pub(super) fn segments(path: &str) -> Result<Vec<String>, String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .map(Cow::into_owned)
                .map_err(|_| format!("the path segment `{segment}` does not decode to UTF-8"))
        })
        .collect()
}
