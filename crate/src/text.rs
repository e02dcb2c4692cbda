//! The words the core shows a person, in English or as their translator gives them: the
//! panel's, the job titles the scheduler makes, the `problem` messages, elapsed-time units.
//!
//! The English strings are listed once, in [`SOURCES`]; JavaScript reads them
//! (`Core.strings()`), asks JupyterLab's translator for each, and hands back an object
//! English → translated (`Core.set_strings`). Placeholders (`{n}`) stay in the
//! translation. A string without a translation stays English. Details that come from
//! elsewhere (a decode error, the kernel's own message) are filled in as they are.

use serde_json::Value;

/// Every English string the core shows, indexed by the `T_*` constants.
pub const SOURCES: [&str; 44] = [
    "Background jobs",
    "Kill all",
    "Clear finished",
    "No background jobs yet. Right-click a code cell → Run in Background.",
    "Show {n} more of {total} jobs not shown",
    "Started in a kernel",
    "Jobs of {notebook}",
    "Show the cell",
    "Kill job",
    "{n} running",
    "{n} cancelling",
    "{n} queued",
    // The state badges, in the order of `JobState::ALL` (`T_STATE + state as usize`).
    "queued",
    "running",
    "done",
    "error",
    "cancelling",
    "killed",
    "lost",
    "Assigned: {names}",
    // Job titles the scheduler makes.
    "(empty cell)",
    "Job {n}",
    "Job {n} (started in the kernel)",
    "job {n} ({title})",
    // `problem` messages.
    "A message from the kernel was not understood: {error}",
    "The kernel reported an error: {message}",
    "The kernel reported an error about {job}: {message}",
    "Stopped waiting for the kernel to resend the missed outputs of {job}: some may be missing from its cell.",
    "The kernel's parallel-cell runtime speaks protocol {theirs}, this extension speaks {ours}: restart the kernel.",
    // A job that was to run after one that failed (its error's `evalue`).
    "it was to run after \"{title}\", which ended as {state}",
    // Elapsed time: seconds; minutes and seconds; hours and minutes.
    "{s}s",
    "{m}m {s}s",
    "{h}h {m}m",
    // Where a job runs; a link to the Dask cluster's dashboard.
    "thread",
    "Dask · waiting for a worker",
    "Dask · {worker}",
    "Dashboard",
    // What a queued job waits for: the job it runs after (numbered, or only its title, or
    // one this page does not show), or a free slot under the kernel's cap.
    "waits for job {n}: {title}",
    "waits for {title}",
    "waits for another job",
    "waits for a free slot in the kernel",
    // A job whose code ended while threads it started still run (and write to its cell).
    "threads it started still running: {n}",
    // Global names of the job that another cell rebound or deleted while it ran or waited.
    "another cell rebinds names this job uses: {names}",
    // The row's button that saves the job's logged text to a file.
    "Save output",
];

/// The header toolbar's label.
pub const T_TOOLBAR: usize = 0;
/// "Kill all".
pub const T_KILL_ALL: usize = 1;
/// "Clear finished".
pub const T_CLEAR_FINISHED: usize = 2;
/// The empty panel's hint.
pub const T_EMPTY: usize = 3;
/// "Show more" (`{n}`, `{total}`).
pub const T_SHOW_MORE: usize = 4;
/// The group of jobs without a notebook.
pub const T_KERNEL_GROUP: usize = 5;
/// A group's list label (`{notebook}`).
pub const T_GROUP_LIST: usize = 6;
/// The title button's tooltip.
pub const T_GOTO: usize = 7;
/// The kill button's label.
pub const T_KILL: usize = 8;
/// The header's counts (`{n}`): running, cancelling, queued.
pub const T_COUNT_RUNNING: usize = 9;
/// The first state badge (`T_STATE + state as usize`).
pub const T_STATE: usize = 12;
/// A finished row's assigned names (`{names}`).
pub const T_ASSIGNED: usize = 19;
/// The title of a cell with no code.
pub const T_EMPTY_CELL: usize = 20;
/// The title of an adopted job this page never saw the code of (`{n}`).
pub const T_JOB_NUM: usize = 21;
/// The same, for a job started in the kernel (`%job`, `map`) (`{n}`).
pub const T_JOB_NUM_KERNEL: usize = 22;
/// A job named where space is short (`{n}`, `{title}`).
pub const T_JOB_DESCRIBE: usize = 23;
/// `problem`: a kernel message that could not be decoded (`{error}`).
pub const T_NOT_UNDERSTOOD: usize = 24;
/// `problem`: the kernel's `error` message (`{message}`).
pub const T_KERNEL_ERROR: usize = 25;
/// `problem`: the kernel's `error` message about a job (`{job}`, `{message}`).
pub const T_KERNEL_ERROR_JOB: usize = 26;
/// `problem`: a replay's hold was given up (`{job}`).
pub const T_HOLD_GAVE_UP: usize = 27;
/// `problem`: the kernel speaks another protocol version (`{theirs}`, `{ours}`).
pub const T_PROTOCOL: usize = 28;
/// A failed dependency's `evalue` (`{title}`, `{state}`).
pub const T_DEPENDENCY_FAILED: usize = 29;
/// Elapsed seconds (`{s}`); then minutes and seconds, hours and minutes (`{h}`, `{m}`).
pub const T_SECONDS: usize = 30;

/// Where a thread job runs.
pub const T_WHERE_THREAD: usize = 33;
/// Where a Dask job runs before a worker took it.
pub const T_WHERE_DASK_WAITING: usize = 34;
/// Where a Dask job runs (`{worker}`).
pub const T_WHERE_DASK: usize = 35;
/// The link to the Dask cluster's dashboard.
pub const T_DASHBOARD: usize = 36;
/// A queued job waits for job `{n}`, `{title}`; then: for `{title}` (no number), for a job
/// this page does not show, for a free slot.
pub const T_WAITS_JOB: usize = 37;
/// Threads a job started still run after its code ended (`{n}`).
pub const T_THREADS_RUNNING: usize = 41;
/// Names of the job another cell rebinds (`{names}`).
pub const T_CONFLICT: usize = 42;
/// The row's "Save output" button.
pub const T_SAVE: usize = 43;

/// The strings in use: English until translations are set.
#[derive(Clone, Debug, Default)]
pub struct Text {
    translated: Vec<Option<String>>,
}

impl Text {
    /// The string `i` (a `T_*` constant).
    pub fn get(&self, i: usize) -> &str {
        match self.translated.get(i) {
            Some(Some(t)) => t,
            _ => SOURCES.get(i).copied().unwrap_or_default(),
        }
    }

    /// The string `i` with `{key}` replaced by `value`.
    pub fn fill(&self, i: usize, key: &str, value: &str) -> String {
        self.get(i).replace(key, value)
    }

    /// The string `i` with each `{key}` of `values` replaced, in one pass: a value that
    /// holds a placeholder itself (kernel text can) is not replaced again.
    pub fn fill_all(&self, i: usize, values: &[(&str, &str)]) -> String {
        let mut rest = self.get(i);
        let mut out = String::with_capacity(rest.len() + 32);
        while let Some(at) = rest.find('{') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            match values.iter().find(|(k, _)| rest.starts_with(k)) {
                Some((k, v)) => {
                    out.push_str(v);
                    rest = &rest[k.len()..];
                }
                None => {
                    out.push('{');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Take translations from a JSON object English → translated; what is missing,
    /// empty or not a string stays English.
    pub fn from_map(map: &Value) -> Text {
        let translated = SOURCES
            .iter()
            .map(|s| {
                map.get(s)
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
            })
            .collect();
        Text { translated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobState;

    #[test]
    fn english_until_translated() {
        let t = Text::default();
        assert_eq!(t.get(T_KILL), "Kill job");
        assert_eq!(t.get(T_STATE + JobState::Lost as usize), "lost");
        let t = Text::from_map(&serde_json::json!({
            "Kill job": "Tâche à tuer",
            "{n} running": "{n} en cours",
            "Kill all": 7,
            "Clear finished": "",
        }));
        assert_eq!(t.get(T_KILL), "Tâche à tuer");
        assert_eq!(t.fill(T_COUNT_RUNNING, "{n}", "3"), "3 en cours");
        assert_eq!(t.get(T_KILL_ALL), "Kill all", "not a string: English");
        assert_eq!(t.get(T_CLEAR_FINISHED), "Clear finished", "empty: English");
        assert_eq!(t.get(99), "");
    }

    #[test]
    fn fill_all_is_one_pass() {
        let t = Text::from_map(&serde_json::json!({
            "The kernel reported an error about {job}: {message}":
                "{message} ← {job} (erreur du noyau)",
        }));
        assert_eq!(
            t.fill_all(
                T_KERNEL_ERROR_JOB,
                &[("{job}", "job {message}"), ("{message}", "{ oops {job}")]
            ),
            "{ oops {job} ← job {message} (erreur du noyau)"
        );
        assert_eq!(t.fill_all(T_EMPTY_CELL, &[]), "(empty cell)");
    }

    #[test]
    fn states_line_up() {
        for s in JobState::ALL {
            assert_eq!(SOURCES[T_STATE + s as usize], s.as_str());
        }
    }
}
