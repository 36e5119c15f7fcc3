//! The session hooks: `session_opened` after the accept, `session_closing` before the
//! release. A hook runs like a handler: its `SessionContext` requests are served by the
//! pump, the lock keeps being renewed, and a panic is caught.

use std::sync::Arc;
use std::time::Instant;

use berth::host::HookKind;
use berth::{HookContext, SessionContext};
use tracing::{error, info, info_span, warn, Instrument};

use super::{Pump, SessionEnd};
use crate::runtime::catch_panic::CatchPanic;
use crate::runtime::source::SourceSession;

impl<S: SourceSession> Pump<S> {
    /// Calls the group's hook of `kind`, if it has one. `Err(OpenHookFailed)` when the hook
    /// failed or panicked (it is logged here), `Err(LockLost)` when the lock was lost
    /// meanwhile.
    pub(super) async fn call_hook(&mut self, kind: HookKind) -> Result<(), SessionEnd> {
        let hook = match kind {
            HookKind::Opened => self.group.hooks.opened.clone(),
            HookKind::Closing => self.group.hooks.closing.clone(),
        };
        let Some(hook) = hook else {
            return Ok(());
        };
        let span = info_span!("session_hook", hook = %hook.name, kind = %kind);
        async move {
            let cancellation = self.shutdown.child_token();
            let ops: Arc<dyn berth::host::SessionOps> = Arc::new(self.handle.clone());
            let session = SessionContext::new(self.session_id.clone(), ops);
            let context = HookContext::new(session, cancellation.clone())
                .with_app_state(self.group.app_state.clone());
            let started = Instant::now();
            let future = CatchPanic::new(hook.hook.call(&context));
            let (output, lock_lost) = self.drive(future, None, &cancellation).await;
            let duration_ms = started.elapsed().as_millis() as u64;
            if lock_lost {
                error!(duration_ms, "session lock lost during the session hook");
                return Err(SessionEnd::LockLost);
            }
            match output {
                Ok(Ok(())) => {
                    info!(duration_ms, "session hook completed");
                    Ok(())
                }
                Ok(Err(e)) => {
                    warn!(duration_ms, error = %e, "the session hook failed");
                    Err(SessionEnd::OpenHookFailed(e.to_string()))
                }
                Err(panic) => {
                    error!(duration_ms, panic = %panic, "the session hook panicked");
                    Err(SessionEnd::OpenHookFailed(format!("panic: {panic}")))
                }
            }
        }
        .instrument(span)
        .await
    }
}
