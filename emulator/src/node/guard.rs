//! Claims on links after the attach: each link authorised by a `$cbs` token is watched, and
//! when the grant it depends on expires without a fresh token for its audience, the link is
//! force-detached with `amqp:unauthorized-access`, as Service Bus does ("The link … is force
//! detached. Code: RenewToken. Details: Unauthorized access. …"). Clients avoid this by
//! putting a fresh token before expiry (the SDKs do it minutes ahead).

use std::collections::HashMap;
use std::time::SystemTime;

use tokio::time::Instant;

use super::cbs::Denied;
use super::{errors, NodeHandler};
use crate::amqp::{Context, LinkId};
use crate::rights::Right;

/// What a watched link needs to stay attached.
#[derive(Debug, Clone)]
pub(super) struct Guarded {
    /// The entity path or `<entity>/$management` node it was authorised for.
    path: String,
    /// The claim it needs (`None`: any, for `$management` links).
    right: Option<Right>,
}

/// The links of one connection that hold on a token.
#[derive(Debug, Default)]
pub(super) struct Guards {
    links: HashMap<LinkId, Guarded>,
    /// Unix seconds of the last look: grants that ran out before were dealt with then.
    checked_at: u64,
}

impl Guards {
    /// Forgets a link that is gone.
    pub fn remove(&mut self, link: LinkId) {
        self.links.remove(&link);
    }
}

impl NodeHandler {
    /// Checks that the connection's tokens let `link` use `path` for `right` (`None`: any
    /// right) and, if so, watches it from now on.
    pub(super) fn authorise_link(
        &mut self,
        link: LinkId,
        path: &str,
        right: Option<Right>,
    ) -> Result<(), Denied> {
        self.auth.check(path, right, SystemTime::now())?;
        if self.auth.enforced() {
            let path = path.to_owned();
            self.guards.links.insert(link, Guarded { path, right });
        }
        Ok(())
    }

    /// Detaches the watched links whose grant has run out; returns when to look again (the
    /// next grant expiry).
    pub(super) fn check_guards(&mut self, cx: &mut Context<'_>) -> Option<Instant> {
        if self.guards.links.is_empty() {
            return None;
        }
        let now = SystemTime::now();
        let now_secs = super::cbs::unix_seconds(now);
        // Cheap unless a grant ran out since the last look (this runs on every wake-up).
        if !self.auth.expired_between(self.guards.checked_at, now_secs) {
            return self.next_guard_check(now);
        }
        self.guards.checked_at = now_secs;
        let lapsed: Vec<(LinkId, Denied)> = self
            .guards
            .links
            .iter()
            .filter_map(|(link, g)| {
                let denied = self.auth.check(&g.path, g.right, now).err()?;
                Some((*link, denied))
            })
            .collect();
        for (link, denied) in lapsed {
            let text = format!("The link is force detached. Code: RenewToken. Details: {denied}");
            tracing::info!(%link, resource = %denied.resource, "token expired: link detached");
            let error = errors::service_error("amqp:unauthorized-access", &text);
            if let Err(error) = cx.detach(link, Some(error)) {
                tracing::debug!(%link, %error, "expired link could not be detached (gone?)");
            }
            self.forget(link);
        }
        self.next_guard_check(now)
    }

    fn next_guard_check(&self, now: SystemTime) -> Option<Instant> {
        let next = self.auth.next_expiry(now)?;
        let wait = next.duration_since(now).unwrap_or_default();
        Some(Instant::now() + wait)
    }
}
