//! A row's optional lines of text under its live line: what a queued job waits for, why
//! a kill has not taken, threads it started that still run, names another cell rebinds,
//! a note about its cell, why its replay log was freed. Each is
//! created when it has something to say and removed when it has not; kernel text only
//! ever becomes `textContent`.

use web_sys::{Document, Element};

use super::dom_err;
use crate::error::Result;

/// What a queued job waits for (`data-role="waits-for"`).
pub const WAITS_FOR: usize = 0;
/// Why a kill has not taken effect yet, as the kernel says (`data-role="note"`).
pub const NOTE: usize = 1;
/// Threads the job started that still run after its code ended (`data-role="threads"`).
pub const THREADS: usize = 2;
/// Names of the job another cell rebinds (`data-role="conflict"`).
pub const CONFLICT: usize = 3;
/// The frontend's note about the job's cell (`data-role="cell-note"`).
pub const CELL_NOTE: usize = 4;
/// Why the kernel freed the job's replay log (`data-role="log-note"`).
pub const LOG_NOTE: usize = 5;

/// `(class, data-role)` of each line, in the order they appear in a row.
const KINDS: [(&str, &str); 6] = [
    ("pc-job-waits-for", "waits-for"),
    ("pc-job-note", "note"),
    ("pc-job-threads", "threads"),
    ("pc-job-conflict", "conflict"),
    ("pc-job-cell-note", "cell-note"),
    ("pc-job-log-note", "log-note"),
];

/// The optional lines of one row: each its element and the text it shows.
#[derive(Default)]
pub struct Lines {
    shown: [Option<(Element, String)>; 6],
}

impl Lines {
    /// Show `text` in line `i` (one of the constants above) of the row `li`, whose lines
    /// follow `anchor`; `None` removes the line.
    pub fn set(
        &mut self,
        document: &Document,
        li: &Element,
        anchor: &Element,
        i: usize,
        text: Option<&str>,
    ) -> Result<()> {
        let Some(slot) = self.shown.get(i) else {
            return Ok(());
        };
        match (text, slot) {
            (None, None) => {}
            (Some(t), Some((_, shown))) if shown == t => {}
            (Some(t), Some((el, _))) => {
                el.set_text_content(Some(t));
                let el = el.clone();
                self.shown[i] = Some((el, t.to_owned()));
            }
            (None, Some((el, _))) => {
                el.remove();
                self.shown[i] = None;
            }
            (Some(t), None) => {
                let (class, role) = KINDS[i];
                let el = document.create_element("div").map_err(dom_err)?;
                el.set_class_name(class);
                el.set_attribute("data-role", role).map_err(dom_err)?;
                el.set_text_content(Some(t));
                // After the last shown line before it, or right after `anchor`.
                let prev = self.shown[..i]
                    .iter()
                    .rev()
                    .find_map(|s| s.as_ref().map(|(e, _)| e))
                    .unwrap_or(anchor);
                li.insert_before(&el, prev.next_sibling().as_ref())
                    .map_err(dom_err)?;
                self.shown[i] = Some((el, t.to_owned()));
            }
        }
        Ok(())
    }
}
