//! A reload, natively, as the page's cell sees it: the kernel's `jobs` answer and the job's
//! next outputs can come in one message, so the core has made those outputs' effects
//! before the page has adopted the job and asked for what its cell lacks. Each `outputs`
//! effect says from where it follows on (`from`), and a cell short of that asks for a
//! replay instead of taking it; the cell ends with every output once, in order.
//!
//! `Cell` below follows `JobCells.outputs` and `JobCells.adopted` (labextension/src/cells.ts)
//! for one job's cell; the UI test "a list answer that leaves with the job's next outputs,
//! in one message" (tests/ui/reload.test.mjs) drives the real page the same way.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler};

mod common;
use common::msgs::*;

fn list(next_seq: u64) -> KernelMsg {
    KernelMsg::Jobs(JobList {
        jobs: vec![info("r", JobState::Running, next_seq, Origin::Frontend)],
    })
}

/// Job "r"'s cell after a reload: loaded from a file that was never saved (no outputs, no
/// replay mark), written the way the page writes it.
#[derive(Default)]
struct Cell {
    /// The replay mark: how far the cell holds the job's outputs.
    mark: Option<u64>,
    lines: Vec<String>,
    /// Replays the cell asked for, by `since`.
    asked: Vec<u64>,
}

impl Cell {
    /// Apply the effects of one core call in order, as the page's effect handler does
    /// (a replay asked for on the way changes the core before the next effect).
    fn deliver(&mut self, s: &mut Scheduler, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Adopted { next_seq, .. } => {
                    // No mark for this job: the cell starts empty and gets the whole log.
                    self.mark = Some(0);
                    if next_seq > 0 {
                        self.ask(s, 0);
                    }
                }
                Effect::Outputs {
                    outputs,
                    from,
                    next_seq,
                    ..
                } => {
                    let mark = self.mark.unwrap_or(0);
                    if mark >= next_seq || (self.mark.is_none() && from > 0) {
                        continue;
                    }
                    if mark < from {
                        self.ask(s, mark);
                        continue;
                    }
                    self.lines.extend(outputs.into_iter().map(|o| match o {
                        Output::Stream(Stream { text, .. }) => text,
                        other => format!("{other:?}"),
                    }));
                    self.mark = Some(next_seq);
                }
                _ => {}
            }
        }
    }

    fn ask(&mut self, s: &mut Scheduler, since: u64) {
        self.asked.push(since);
        let effects = s.replay("r", since);
        self.deliver(s, effects);
    }
}

/// The effects of several kernel messages that came as one comm message (one pass).
fn receive_all(s: &mut Scheduler, msgs: Vec<KernelMsg>) -> Vec<Effect> {
    msgs.into_iter()
        .flat_map(|m| s.receive(K, m, 1.0))
        .collect()
}

#[test]
fn the_list_and_the_next_outputs_in_one_message_lose_no_line() {
    let mut s = Scheduler::default();
    let mut cell = Cell::default();
    s.receive(K, hello(), 0.0);
    // The kernel's log holds 0..22; 22..26 were put in right after its answer.
    let fx = receive_all(
        &mut s,
        vec![list(22), batch("r", 22, 24), batch("r", 24, 26)],
    );
    let froms: Vec<u64> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Outputs { from, .. } => Some(*from),
            _ => None,
        })
        .collect();
    assert_eq!(
        froms,
        [22, 24],
        "each batch follows on from where the one before ended"
    );
    cell.deliver(&mut s, fx);
    assert!(
        cell.lines.is_empty(),
        "nothing past the gap is written: {:?}",
        cell.lines
    );
    assert_eq!(cell.mark, Some(0));
    // Asked once when adopted; the early batches' own asks find the replay pending.
    assert_eq!(cell.asked, [0, 0, 0]);
    let sends = s.replay("r", 0);
    assert!(
        sends.is_empty(),
        "a replay already on its way is not asked twice"
    );
    // The replay (the whole log as the kernel then has it), then live outputs.
    let fx = s.receive(K, batch("r", 0, 26), 2.0);
    cell.deliver(&mut s, fx);
    let fx = s.receive(K, batch("r", 26, 30), 3.0);
    cell.deliver(&mut s, fx);
    assert_eq!(cell.lines, seqs(0, 30));
    assert_eq!(cell.mark, Some(30));
}

#[test]
fn outputs_from_says_where_each_batch_follows_on() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    s.receive(K, list(5), 1.0);
    let from_of = |fx: &[Effect]| {
        fx.iter().find_map(|e| match e {
            Effect::Outputs { from, next_seq, .. } => Some((*from, *next_seq)),
            _ => None,
        })
    };
    // Live outputs right after the adoption follow on from the list's seq.
    assert_eq!(from_of(&s.receive(K, batch("r", 5, 7), 2.0)), Some((5, 7)));
    // A replay from 2 lowers it: its batch follows on from 2, the held ones with it.
    s.replay("r", 2);
    assert_eq!(from_of(&s.receive(K, batch("r", 7, 8), 2.0)), None, "held");
    assert_eq!(from_of(&s.receive(K, batch("r", 2, 8), 3.0)), Some((2, 8)));
    // A log trimmed past `since`: the gap is accepted, and the batch still follows on
    // from where the cell was (so a cell there takes it, with its marker).
    s.replay("r", 0);
    let marker = stdout("r", 6, &["[6 earlier outputs were dropped]\n", "7"]);
    let fx = s.receive(K, marker, 4.0);
    assert_eq!(from_of(&fx), Some((0, 8)));
    assert_eq!(texts(&fx), ["[6 earlier outputs were dropped]\n", "7"]);
}

#[test]
fn a_cell_with_an_older_saved_mark_gets_the_gap_before_new_outputs() {
    // The cell was saved (by the server, with no page open) up to 10; the page adopted the
    // job at 12 and this cell's replay was not asked for yet when 12..14 came.
    let mut s = Scheduler::default();
    let mut cell = Cell {
        mark: Some(10),
        lines: seqs(0, 10),
        asked: vec![],
    };
    s.receive(K, hello(), 0.0);
    s.receive(K, list(12), 1.0);
    let fx = s.receive(K, batch("r", 12, 14), 2.0);
    cell.deliver(&mut s, fx);
    assert_eq!(cell.asked, [10], "the cell asks for what it lacks instead");
    assert_eq!(cell.lines, seqs(0, 10));
    let fx = s.receive(K, batch("r", 10, 14), 3.0);
    cell.deliver(&mut s, fx);
    assert_eq!(cell.lines, seqs(0, 14));
}
