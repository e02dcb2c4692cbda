//! The words the panel shows, in English or as the person's translator gives them.
//!
//! The panel's English strings are listed once, in [`SOURCES`]; JavaScript reads them
//! (`Core.strings()`), asks JupyterLab's translator for each, and hands back an object
//! English → translated (`Core.set_strings`). Placeholders (`{n}`) stay in the
//! translation. A string without a translation stays English.

use serde_json::Value;

/// Every English string the panel shows, indexed by the `T_*` constants.
pub const SOURCES: [&str; 20] = [
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
    fn states_line_up() {
        for s in JobState::ALL {
            assert_eq!(SOURCES[T_STATE + s as usize], s.as_str());
        }
    }
}
