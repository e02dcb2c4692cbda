//! Text the panel shows that is computed, not copied from the kernel.

use crate::protocol::JobState;
use crate::text::{Text, T_COUNT_RUNNING, T_SECONDS};

/// Elapsed time as a person reads it: `7s`, `2m 05s`, `1h 02m` (units from `text`).
pub fn elapsed(ms: f64, text: &Text) -> String {
    let s = if ms.is_finite() && ms > 0.0 {
        (ms / 1000.0) as u64
    } else {
        0
    };
    let (i, big, small, big_key, small_key) = match s {
        0..=59 => return text.fill(T_SECONDS, "{s}", &s.to_string()),
        60..=3599 => (T_SECONDS + 1, s / 60, s % 60, "{m}", "{s}"),
        _ => (T_SECONDS + 2, s / 3600, (s % 3600) / 60, "{h}", "{m}"),
    };
    text.fill_all(
        i,
        &[
            (big_key, &big.to_string()),
            (small_key, &format!("{small:02}")),
        ],
    )
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
        let en = Text::default();
        assert_eq!(elapsed(0.0, &en), "0s");
        assert_eq!(elapsed(-5.0, &en), "0s");
        assert_eq!(elapsed(f64::NAN, &en), "0s");
        assert_eq!(elapsed(59_999.0, &en), "59s");
        assert_eq!(elapsed(125_000.0, &en), "2m 05s");
        assert_eq!(elapsed(3_720_000.0, &en), "1h 02m");
    }

    #[test]
    fn elapsed_units_translate() {
        let de = Text::from_map(&serde_json::json!({
            "{s}s": "{s} s",
            "{m}m {s}s": "{m} min {s} s",
            "{h}h {m}m": "{h} Std. {m} min",
        }));
        assert_eq!(elapsed(7_000.0, &de), "7 s");
        assert_eq!(elapsed(125_000.0, &de), "2 min 05 s");
        assert_eq!(elapsed(3_720_000.0, &de), "1 Std. 02 min");
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
