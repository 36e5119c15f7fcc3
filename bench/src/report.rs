//! Prints a run's figures: a JSON line (for tooling) and a Markdown table row (for
//! BENCHMARKS.md).

use std::time::Duration;

use crate::load::Phase;
use crate::Options;

/// One run's figures.
pub(crate) struct Result<'a> {
    pub(crate) options: &'a Options,
    pub(crate) send: Phase,
    pub(crate) receive: Phase,
    pub(crate) elapsed: Duration,
    pub(crate) broker_cpu: Option<Duration>,
    pub(crate) broker_peak_rss_kib: Option<u64>,
}

fn rate(messages: u64, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64().max(1e-9)
}

impl Result<'_> {
    pub(crate) fn print(&self) {
        let o = self.options;
        let shape = if o.sessions > 0 {
            format!("{} sessions × {}", o.sessions, o.per_session)
        } else {
            format!("{} messages, no sessions", o.messages)
        };
        let mode = if o.data_dir.is_some() {
            "durable"
        } else {
            "in memory"
        };
        let total = self.send.messages;
        let end_to_end = rate(total, self.elapsed);
        let cpu = self.broker_cpu.map(|c| c.as_secs_f64());
        let json = serde_json::json!({
            "shape": shape,
            "mode": mode,
            "messages": total,
            "send_msg_per_s": rate(self.send.messages, self.send.elapsed).round(),
            "receive_complete_msg_per_s": rate(self.receive.messages, self.receive.elapsed).round(),
            "end_to_end_msg_per_s": end_to_end.round(),
            "broker_cpu_s": cpu,
            "broker_cpu_us_per_msg": cpu.map(|c| (c * 1e6 / total.max(1) as f64).round()),
            "broker_peak_rss_mib": self.broker_peak_rss_kib.map(|k| k / 1024),
            "senders": o.senders,
            "receivers": o.receivers,
            "body_size": o.body_size,
        });
        println!("{json}");
        println!(
            "| {shape} | {mode} | {:.0} | {:.0} | {:.0} | {} | {} |",
            rate(self.send.messages, self.send.elapsed),
            rate(self.receive.messages, self.receive.elapsed),
            end_to_end,
            cpu.map_or("-".into(), |c| format!("{c:.1} s")),
            self.broker_peak_rss_kib
                .map_or("-".into(), |k| format!("{} MiB", k / 1024)),
        );
    }
}
