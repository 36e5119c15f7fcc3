//! Percentiles of a set of durations.

use std::time::Duration;

/// p50, p99 and the maximum of some durations.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Percentiles {
    pub(crate) count: usize,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

impl Percentiles {
    /// Sorts `values` and reads the percentiles off them (all zero when empty).
    pub(crate) fn of(mut values: Vec<Duration>) -> Self {
        values.sort_unstable();
        let at = |q: f64| {
            let index = ((values.len() as f64 * q).ceil() as usize).saturating_sub(1);
            values.get(index).copied().unwrap_or_default()
        };
        Percentiles {
            count: values.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: values.last().copied().unwrap_or_default(),
        }
    }

    /// `p50 / p99 / max` in milliseconds.
    pub(crate) fn millis(&self) -> String {
        format!(
            "{:.2} / {:.2} / {:.2} ms",
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        )
    }
}

/// A duration in milliseconds.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_hundred_values() {
        let values: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let p = Percentiles::of(values);
        assert_eq!(p.count, 100);
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(Vec::new()).p99, Duration::ZERO);
    }
}
