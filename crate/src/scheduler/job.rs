//! One background job as the frontend sees it.

use std::borrow::Cow;

use super::LastLine;
use crate::protocol::{ErrorInfo, JobState, Origin, Place, Provenance};
use crate::text::{Text, T_EMPTY_CELL, T_JOB_DESCRIBE, T_JOB_NUM, T_JOB_NUM_KERNEL};

/// The longest title kept (characters of the code's first line).
pub const MAX_TITLE: usize = 120;

/// A job: where it came from, where it is, and what the panel shows of it.
#[derive(Clone, Debug)]
pub struct Job {
    /// The key the frontend uses (`data-job-id`, `kill(job_id)`).
    pub id: String,
    /// The id the kernel uses; equal to `id` except for adopted jobs whose id clashed.
    pub wire_id: String,
    /// The kernel it runs in.
    pub kernel_id: String,
    /// Where it came from: its notebook and cell (`None` for some kernel-originated jobs),
    /// and who started it.
    pub from: Provenance,
    /// The code still to be sent (taken when the `submit` goes out).
    pub code: Option<String>,
    /// What the panel shows: the code's first non-blank line, or words of ours.
    pub title: Title,
    /// Its state.
    pub state: JobState,
    /// Where it runs: a kernel thread or a Dask task, the Dask worker running it once placed
    /// (kernel text: shown as text only) and the cluster's dashboard URL as the kernel says
    /// (checked before it is a link).
    pub place: Place,
    /// The kernel's small job number, once known.
    pub num: Option<u64>,
    /// Whether the `submit` has gone to the kernel.
    pub sent: bool,
    /// When it was learned of, started and ended.
    pub clocks: Clocks,
    /// The live last line of its stream output.
    pub last_line: LastLine,
    /// The exception that ended it.
    pub error: Option<ErrorInfo>,
    /// Why a kill has not taken effect yet, as the kernel says.
    pub cancel_reason: Option<String>,
    /// Global names it bound.
    pub assigned: Vec<String>,
    /// The seq expected for its next output.
    pub next_seq: u64,
    /// How far its cell is taken to hold its outputs: the `next_seq` of the last
    /// `outputs` effect, lowered to where a replay was asked from.
    pub cell_seq: u64,
    /// A replay asked for and the outputs held back until it comes.
    pub hold: Option<super::Hold>,
    /// The job that must end `done` before this one runs: its key here, or the kernel's id
    /// for it when this page does not know it.
    pub after: Option<String>,
    /// The hash of its code ([`super::source_hash`]), when known.
    pub source_hash: Option<String>,
    /// Its cell was run again since: its outputs no longer belong there (the kernel says).
    pub superseded: bool,
    /// Why the kernel freed its replay log, if it did (kernel text).
    pub log_trimmed: Option<String>,
    /// Threads it started that still run after its own code ended (the kernel says).
    pub threads: u32,
    /// Names it uses that another cell rebound while it ran or waited (the kernel says).
    pub conflicts: Vec<String>,
    /// A note about its cell the frontend set (`Core.set_cell_note`).
    pub cell_note: Option<String>,
    /// How many submits to its kernel went out before its own (orders it against the
    /// `list` requests when reconciling).
    pub send_no: u64,
    /// Its place in arrival order (the scheduler's, from 1): a larger one is newer.
    pub serial: u64,
}

impl Job {
    /// A job known by its ids, title and where it came from only: every other field empty,
    /// `queued`, not sent. `submit` and adoption say the rest.
    pub(super) fn new(
        id: String,
        wire_id: String,
        kernel_id: &str,
        title: Title,
        from: Provenance,
        now: f64,
    ) -> Job {
        Job {
            id,
            wire_id,
            kernel_id: kernel_id.to_owned(),
            from,
            code: None,
            title,
            state: JobState::Queued,
            place: Place::default(),
            num: None,
            sent: false,
            clocks: Clocks {
                created_at: now,
                started_at: None,
                ended_at: None,
            },
            last_line: LastLine::default(),
            error: None,
            cancel_reason: None,
            assigned: Vec::new(),
            next_seq: 0,
            cell_seq: 0,
            hold: None,
            after: None,
            source_hash: None,
            superseded: false,
            log_trimmed: None,
            threads: 0,
            conflicts: Vec::new(),
            cell_note: None,
            send_no: 0,
            serial: 0,
        }
    }

    /// Add `names` to the names another cell stepped on; true when any was new.
    pub fn add_conflicts(&mut self, names: &[String]) -> bool {
        let before = self.conflicts.len();
        for name in names {
            if self.conflicts.len() >= crate::protocol::MAX_CONFLICT_NAMES {
                break;
            }
            if !self.conflicts.contains(name) {
                self.conflicts.push(name.clone());
            }
        }
        self.conflicts.len() != before
    }

    /// Milliseconds it has run (or ran), if it started.
    pub fn elapsed_ms(&self, now: f64) -> Option<f64> {
        let start = self.clocks.started_at?;
        let end = self.clocks.ended_at.unwrap_or(now);
        Some((end - start).max(0.0))
    }

    /// The job number and title for places where space is short, in `text`'s words.
    pub fn describe(&self, text: &Text) -> String {
        let title = self.title.words(text);
        match (self.num, &self.title) {
            (Some(n), Title::Code(_) | Title::Empty) => text.fill_all(
                T_JOB_DESCRIBE,
                &[("{n}", &n.to_string()), ("{title}", &title)],
            ),
            _ => title.into_owned(),
        }
    }
}

/// A job's clocks: local time (ms), whatever the kernel's clock says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clocks {
    /// When the frontend learned of it.
    pub created_at: f64,
    /// When it started running (a Dask job: when it was placed).
    pub started_at: Option<f64>,
    /// When it ended.
    pub ended_at: Option<f64>,
}

/// What a job is called. Only the code's line is kept as text: the titles the core makes
/// are put in words when shown, so they follow `Core.set_strings`.
#[derive(Clone, Debug, PartialEq)]
pub enum Title {
    /// The code's first non-blank line, trimmed and shortened.
    Code(String),
    /// The code was blank.
    Empty,
    /// A job adopted from a kernel whose code this page never saw: the kernel's number
    /// for it, and who started it.
    Numbered(u64, Origin),
}

impl Title {
    /// The title in `text`'s words.
    pub fn words<'a>(&'a self, text: &'a Text) -> Cow<'a, str> {
        match self {
            Title::Code(line) => Cow::Borrowed(line),
            Title::Empty => Cow::Borrowed(text.get(T_EMPTY_CELL)),
            Title::Numbered(n, origin) => {
                let i = match origin {
                    Origin::Kernel => T_JOB_NUM_KERNEL,
                    Origin::Frontend => T_JOB_NUM,
                };
                Cow::Owned(text.fill(i, "{n}", &n.to_string()))
            }
        }
    }
}

/// The title for a piece of code: its first non-blank line, trimmed and shortened.
pub fn title_of(code: &str) -> Title {
    let line = code.lines().map(str::trim).find(|l| !l.is_empty());
    match line {
        None => Title::Empty,
        Some(l) => {
            let short = crate::protocol::truncate(l, MAX_TITLE);
            Title::Code(if short.len() < l.len() {
                format!("{short}…")
            } else {
                short.to_owned()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        let en = Text::default();
        let words = |code: &str| title_of(code).words(&en).into_owned();
        assert_eq!(words("\n  \n  import time\nx=1"), "import time");
        assert_eq!(words(" \n"), "(empty cell)");
        assert_eq!(words(&"é".repeat(500)).chars().count(), MAX_TITLE + 1);
        let kernel = Title::Numbered(3, Origin::Kernel);
        assert_eq!(kernel.words(&en), "Job 3 (started in the kernel)");
        assert_eq!(Title::Numbered(4, Origin::Frontend).words(&en), "Job 4");
        let fr = Text::from_map(&serde_json::json!({
            "(empty cell)": "(cellule vide)",
            "Job {n} (started in the kernel)": "Tâche {n} (lancée dans le noyau)",
        }));
        assert_eq!(Title::Empty.words(&fr), "(cellule vide)");
        assert_eq!(kernel.words(&fr), "Tâche 3 (lancée dans le noyau)");
    }
}
