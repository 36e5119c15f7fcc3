//! What the test host saw: every [`InvocationReport`] the host's pipeline made, in the order
//! they came, and [`Invocations`], a test's view of some of them.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::watch;

use crate::runtime::{InvocationObserver, InvocationReport};

/// The observer the test host gives the real host: it keeps every report and wakes the
/// test's waits.
pub(super) struct Recorder(pub(super) Arc<watch::Sender<Vec<InvocationReport>>>);

impl InvocationObserver for Recorder {
    fn completed(&self, report: &InvocationReport) {
        self.0.send_modify(|reports| reports.push(report.clone()));
    }
}

/// Some invocations, in the order the host finished them: for one session, the order its
/// messages were processed in.
///
/// It derefs to a slice of [`InvocationReport`]s; the `…s()` methods pick one field of each,
/// to compare with `assert_eq!`:
///
/// ```no_run
/// # async fn t(app: berth_host::testing::TestHost) {
/// let seen = app.invocations("process_order", "cust-1");
/// assert_eq!(seen.message_ids(), ["cust-1-1", "cust-1-2"]);
/// assert_eq!(seen.settlements(), ["complete", "complete"]);
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Invocations(Vec<InvocationReport>);

impl Invocations {
    pub(super) fn new(reports: Vec<InvocationReport>) -> Self {
        Invocations(reports)
    }

    /// The message ids (empty for a message without one).
    pub fn message_ids(&self) -> Vec<&str> {
        self.0
            .iter()
            .map(|r| r.message_id.as_deref().unwrap_or(""))
            .collect()
    }

    /// The broker's sequence numbers.
    pub fn sequence_numbers(&self) -> Vec<i64> {
        self.0.iter().map(|r| r.sequence_number).collect()
    }

    /// The delivery counts (1 on a first delivery).
    pub fn delivery_counts(&self) -> Vec<u32> {
        self.0.iter().map(|r| r.delivery_count).collect()
    }

    /// The settlements' names: `complete`, `abandon`, `defer`, `dead_letter`, `unsettled`.
    pub fn settlements(&self) -> Vec<&'static str> {
        self.0
            .iter()
            .map(InvocationReport::settlement_name)
            .collect()
    }

    /// The session ids, in order, each once.
    pub fn session_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for id in self.0.iter().filter_map(|r| r.session_id.as_deref()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The reports.
    pub fn into_vec(self) -> Vec<InvocationReport> {
        self.0
    }
}

impl Deref for Invocations {
    type Target = [InvocationReport];

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl IntoIterator for Invocations {
    type Item = InvocationReport;
    type IntoIter = std::vec::IntoIter<InvocationReport>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// What `reports` show, one per line, for a failed wait.
pub(super) fn describe(reports: &[InvocationReport]) -> String {
    if reports.is_empty() {
        return "no delivery was done with yet".to_owned();
    }
    let mut text = format!(
        "{} deliver{} done with:",
        reports.len(),
        if reports.len() == 1 { "y" } else { "ies" }
    );
    for report in reports {
        text.push_str("\n  ");
        text.push_str(&report.to_string());
    }
    text
}
