//! A micro-benchmark, not a test: `cargo test --release -p berth-emulator --lib
//! filter::sql::tests::bench -- --ignored --nocapture` prints what parsing once and evaluating
//! per message cost (figures in the report / BENCHMARKS.md; nothing is asserted on time).

use std::hint::black_box;
use std::time::Instant;

use super::message;
use crate::filter::{SqlAction, SqlFilter};

/// Nanoseconds per call: on-CPU time of this thread where Linux reports it
/// (`/proc/thread-self/schedstat`, so a loaded machine does not inflate it), else wall time.
fn per_call(runs: u32, mut f: impl FnMut()) -> f64 {
    let (cpu, wall) = (on_cpu_ns(), Instant::now());
    for _ in 0..runs {
        f();
    }
    let spent = match (cpu, on_cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64,
        _ => wall.elapsed().as_nanos() as f64,
    };
    spent / f64::from(runs)
}

fn on_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[test]
#[ignore = "a micro-benchmark: run by hand with --release --ignored --nocapture"]
fn bench() {
    let m = message();
    let filters = [
        "1 = 1",
        "color = 'red'",
        "color = 'red' AND n > 4",
        "sys.Label LIKE 'order%' OR user.tag IN ('queue', 'topic', 'subscription')",
        "missing = 1 OR (n * 2 + 1 > d AND color NOT IN ('blue', 'green', 'yellow'))",
        "[Name With Space] LIKE '%x%' AND pct LIKE '5_\\%' ESCAPE '\\' AND sys.Size < 1024",
        "COLOR = 'red'",
        "missing = 1",
        "n * 2 + 1 > d",
        "color NOT IN ('blue', 'green', 'yellow')",
    ];
    for expr in filters {
        let parse = per_call(20_000, || drop(black_box(SqlFilter::new(expr, &[]))));
        let f = SqlFilter::new(expr, &[]).expect("parses");
        let eval = per_call(1_000_000, || {
            black_box(f.matches(black_box(&m)));
        });
        println!("filter {expr:?}: parse {parse:.0} ns, evaluate {eval:.0} ns");
    }
    let action = SqlAction::new("SET sys.Label = sys.Label + '-routed'; SET hops = n + 1", &[])
        .expect("parses");
    let apply = per_call(200_000, || {
        let mut copy = m.clone();
        black_box(action.apply(&mut copy)).ok();
    });
    let clone = per_call(200_000, || drop(black_box(m.clone())));
    println!("action (2 statements): clone + apply {apply:.0} ns (the clone alone {clone:.0} ns)");
}
