//! Text the panel shows that is computed, not copied from the kernel.

use crate::protocol::{truncate, JobState, Target};
use crate::scheduler::{Title, Waiting};
use crate::text::{
    Text, T_COUNT_RUNNING, T_SECONDS, T_WAITS_JOB, T_WHERE_DASK, T_WHERE_DASK_WAITING,
    T_WHERE_THREAD,
};

/// The longest worker address shown (characters).
pub const MAX_WORKER: usize = 100;

/// The longest dashboard URL made a link.
pub const MAX_URL: usize = 2048;

/// Where a job runs, in `text`'s words: `thread`, `Dask · waiting for a worker` or
/// `Dask · tcp://…` (the worker's address as the kernel gives it, shortened).
pub fn place(target: Target, worker: Option<&str>, text: &Text) -> String {
    match (target, worker) {
        (Target::Thread, _) => text.get(T_WHERE_THREAD).to_owned(),
        (Target::Dask, None) => text.get(T_WHERE_DASK_WAITING).to_owned(),
        (Target::Dask, Some(w)) => text.fill(T_WHERE_DASK, "{worker}", truncate(w, MAX_WORKER)),
    }
}

/// What a queued job waits for, in `text`'s words: `waits for job 3: train()`, `waits for
/// Job 3` (a job whose code this page never saw: its title has the number), `waits for
/// another job`, `waits for a free slot in the kernel`.
pub fn waits_for(w: Waiting<'_>, text: &Text) -> String {
    match w {
        Waiting::Job {
            num: Some(n),
            title: title @ (Title::Code(_) | Title::Empty),
        } => text.fill_all(
            T_WAITS_JOB,
            &[("{n}", &n.to_string()), ("{title}", &title.words(text))],
        ),
        Waiting::Job { title, .. } => text.fill(T_WAITS_JOB + 1, "{title}", &title.words(text)),
        Waiting::OtherJob => text.get(T_WAITS_JOB + 2).to_owned(),
        Waiting::Slot => text.get(T_WAITS_JOB + 3).to_owned(),
    }
}

/// `url` if it may be a link's `href`: an `http:` or `https:` URL with a host and without
/// spaces or control characters (a browser drops those, so `java\tscript:` would be
/// `javascript:`). Kernel text is untrusted: anything else is no link.
pub fn web_link(url: &str) -> Option<&str> {
    let scheme = |s: &str| {
        url.get(..s.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(s))
            .then(|| &url[s.len()..])
    };
    let rest = scheme("http://").or_else(|| scheme("https://"))?;
    let clean = url.len() <= MAX_URL && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (clean && !host.is_empty()).then_some(url)
}

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
    fn where_a_job_runs() {
        let en = Text::default();
        assert_eq!(place(Target::Thread, None, &en), "thread");
        assert_eq!(place(Target::Thread, Some("tcp://x:1"), &en), "thread");
        assert_eq!(
            place(Target::Dask, None, &en),
            "Dask · waiting for a worker"
        );
        assert_eq!(
            place(Target::Dask, Some("tcp://127.0.0.1:40123"), &en),
            "Dask · tcp://127.0.0.1:40123"
        );
        let long = "x".repeat(500);
        assert_eq!(
            place(Target::Dask, Some(&long), &en).chars().count(),
            "Dask · ".chars().count() + MAX_WORKER
        );
        let fr = Text::from_map(&serde_json::json!({
            "thread": "fil",
            "Dask · {worker}": "Dask · {worker} (nœud)",
        }));
        assert_eq!(place(Target::Thread, None, &fr), "fil");
        assert_eq!(
            place(Target::Dask, Some("{worker}"), &fr),
            "Dask · {worker} (nœud)"
        );
    }

    #[test]
    fn what_a_queued_job_waits_for() {
        let en = Text::default();
        let code = Title::Code("train(<b>)".into());
        let job = |num| Waiting::Job { num, title: &code };
        assert_eq!(waits_for(job(Some(3)), &en), "waits for job 3: train(<b>)");
        assert_eq!(waits_for(job(None), &en), "waits for train(<b>)");
        let numbered = Title::Numbered(4, crate::protocol::Origin::Frontend);
        let adopted = Waiting::Job {
            num: Some(4),
            title: &numbered,
        };
        assert_eq!(waits_for(adopted, &en), "waits for Job 4");
        assert_eq!(waits_for(Waiting::OtherJob, &en), "waits for another job");
        assert_eq!(
            waits_for(Waiting::Slot, &en),
            "waits for a free slot in the kernel"
        );
        let fr = Text::from_map(&serde_json::json!({
            "waits for job {n}: {title}": "attend la tâche {n} : {title}",
        }));
        let tricky = Title::Code("{n}".into());
        let w = Waiting::Job {
            num: Some(2),
            title: &tricky,
        };
        assert_eq!(waits_for(w, &fr), "attend la tâche 2 : {n}");
    }

    #[test]
    fn only_web_urls_are_links() {
        for ok in [
            "http://127.0.0.1:8787/status",
            "https://dask.example.org/dashboard?x=1#y",
            "HTTPS://Example.org",
        ] {
            assert_eq!(web_link(ok), Some(ok));
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            " http://x",
            "http://x\ny",
            "http:///path",
            "http://",
            "https:x",
            "//example.org",
            "/status",
            "ftp://x",
            "vbscript:x",
            "",
            "é",
        ] {
            assert_eq!(web_link(bad), None, "{bad:?}");
        }
        assert_eq!(web_link(&format!("http://x/{}", "a".repeat(MAX_URL))), None);
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
