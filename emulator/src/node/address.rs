//! Node addresses as clients send them, reduced to what they name (invariant 2).
//!
//! Python sends `amqps://host:port/queue`, JS bare `queue`, .NET `/queue`; subscriptions come as
//! `topic/Subscriptions/sub` or `topic/subscriptions/sub`. The address is only *interpreted*
//! here: attach replies echo the client's text byte for byte.

/// What a link's address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node<'a> {
    /// `$cbs`: claims-based security (put-token).
    Cbs,
    /// `<entity>/$management`: request/response operations on the entity.
    Management(&'a str),
    /// An entity path (queue, topic, `topic/Subscriptions/sub`, `…/$DeadLetterQueue`).
    Entity(&'a str),
}

const MANAGEMENT_SUFFIX: &str = "/$management";

/// The path part of an address: scheme and `host[:port]` dropped (when a scheme is present),
/// surrounding `/` trimmed. `amqps://h:1/q/` → `q`; `/q` → `q`; `q` → `q`.
pub fn path(address: &str) -> &str {
    let path = match address.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => address,
    };
    path.trim_matches('/')
}

/// Classifies an address (case-insensitively for the `$cbs` and `$management` parts).
pub fn classify(address: &str) -> Node<'_> {
    let path = path(address);
    if path.eq_ignore_ascii_case("$cbs") {
        return Node::Cbs;
    }
    let cut = path.len().saturating_sub(MANAGEMENT_SUFFIX.len());
    if path.len() > MANAGEMENT_SUFFIX.len()
        && path.is_char_boundary(cut)
        && path[cut..].eq_ignore_ascii_case(MANAGEMENT_SUFFIX)
    {
        return Node::Management(&path[..cut]);
    }
    Node::Entity(path)
}

/// Whether two addresses name the same node (used to match reply links by source).
pub fn same_node(a: &str, b: &str) -> bool {
    path(a).eq_ignore_ascii_case(path(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_scheme_host_port_and_slashes() {
        assert_eq!(path("amqps://localhost:5672/orders"), "orders");
        assert_eq!(path("sb://ns.servicebus.windows.net/orders/"), "orders");
        assert_eq!(path("/orders"), "orders");
        assert_eq!(path("orders"), "orders");
        assert_eq!(path("amqp://host"), "");
    }

    #[test]
    fn classifies_cbs_management_and_entities() {
        assert_eq!(classify("$cbs"), Node::Cbs);
        assert_eq!(classify("amqps://h:1/$CBS"), Node::Cbs);
        assert_eq!(classify("orders/$management"), Node::Management("orders"));
        assert_eq!(
            classify("amqps://h/t/Subscriptions/s/$Management"),
            Node::Management("t/Subscriptions/s")
        );
        assert_eq!(
            classify("t/subscriptions/s"),
            Node::Entity("t/subscriptions/s")
        );
        assert_eq!(classify("$management"), Node::Entity("$management"));
    }

    #[test]
    fn same_node_ignores_case_and_host() {
        assert!(same_node(
            "amqps://h:5672/Orders/$management",
            "orders/$management"
        ));
        assert!(!same_node("orders/$management", "orders"));
    }
}
