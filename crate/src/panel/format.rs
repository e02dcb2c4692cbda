//! Text the panel shows that is computed, not copied from the kernel.

use super::text::{Text, T_COUNT_RUNNING};
use crate::protocol::JobState;

/// Elapsed time as a person reads it: `7s`, `2m 05s`, `1h 02m`.
pub fn elapsed(ms: f64) -> String {
    let s = if ms.is_finite() && ms > 0.0 {
        (ms / 1000.0) as u64
    } else {
        0
    };
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The header's summary, e.g. `2 running · 1 queued`, from counts indexed like
/// [`JobState::ALL`]; empty when nothing is live.
pub fn summary(counts: &[usize; 7], text: &Text) -> String {
    let live = [JobState::Running, JobState::Cancelling, JobState::Queued];
    let parts: Vec<String> = live
        .iter()
        .enumerate()
        .filter_map(|(i, &s)| {
            let n = counts[s as usize];
            (n > 0).then(|| text.fill(T_COUNT_RUNNING + i, "{n}", &n.to_string()))
        })
        .collect();
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_reads_naturally() {
        assert_eq!(elapsed(0.0), "0s");
        assert_eq!(elapsed(-5.0), "0s");
        assert_eq!(elapsed(f64::NAN), "0s");
        assert_eq!(elapsed(59_999.0), "59s");
        assert_eq!(elapsed(125_000.0), "2m 05s");
        assert_eq!(elapsed(3_720_000.0), "1h 02m");
    }

    #[test]
    fn summary_lists_live_states() {
        let mut c = [0; 7];
        let t = Text::default();
        assert_eq!(summary(&c, &t), "");
        c[JobState::Running as usize] = 2;
        c[JobState::Queued as usize] = 1;
        c[JobState::Done as usize] = 5;
        assert_eq!(summary(&c, &t), "2 running · 1 queued");
    }
}
