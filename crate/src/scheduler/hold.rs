//! A job's outputs into its cell in order and exactly once, also around a replay.
//!
//! Without a replay pending, outputs are taken by `seq` and duplicates are dropped; a gap
//! means outputs were lost on the way, so the gap is asked for again (a replay) and the
//! batch after it held. Within a replay a gap is accepted (what the kernel no longer has
//! cannot be put back in order). When this page
//! asks for outputs again (`replay`), it remembers `until`, the seq the kernel had reached,
//! and while outputs have not reached it, holds back the ones past the gap so that the
//! replay fills the gap first and the held ones follow, each once.
//!
//! Telling the replay from live outputs: the kernel sends both on this page's comm, in
//! order, a replay under a per-job lock and so consecutive. Live outputs sent while the
//! replay was asked for come first and carry seqs at or past `until`, each batch right
//! after the one before. So a batch that starts below `until` is the replay. A replay
//! starts above `since` only when the kernel's log was trimmed, and then with a marker
//! (a stream output, "N earlier outputs were dropped", at the last dropped seq): that gap
//! is accepted, and the replay's outputs take the place of held ones with the same seq.
//! When the log was trimmed past `until`, the marker lands on a held output: a batch over
//! held outputs is the replay when its first output is a stream unlike the held one, and
//! otherwise a live batch seen twice.
//!
//! Holding is bounded ([`HOLD_MAX_OUTPUTS`], [`HOLD_MAX_BYTES`]); past it, or when the
//! kernel says it cannot replay (`error` about the job) or goes away, the held outputs
//! are let out in order and a gap is accepted.

use super::{Effect, Scheduler};
use crate::protocol::{ClearOutput, DisplayData, ExecuteResult, Output, Stream, UpdateDisplayData};
use crate::text::T_HOLD_GAVE_UP;

/// The most outputs held back for one job while a replay is pending.
pub const HOLD_MAX_OUTPUTS: usize = 5_000;

/// The most text (bytes, counted roughly) held back for one job while a replay is pending.
pub const HOLD_MAX_BYTES: usize = 4 << 20;

/// A pending replay and the outputs held back until it arrives.
#[derive(Clone, Debug, Default)]
pub struct Hold {
    /// The seq the kernel had reached when the replay was asked for.
    pub until: u64,
    /// Outputs past the gap, by seq, ascending, no seq twice.
    outputs: Vec<(u64, Output)>,
    /// Roughly how many bytes `outputs` hold.
    bytes: usize,
}

impl Hold {
    /// How many outputs are held back.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// Whether nothing is held back.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// Whether `o`, the first output of a batch at `seq` over held outputs, is a replay's
    /// marker taking a held output's place (not a live output sent twice): a stream whose
    /// text is not the held one's.
    fn is_marker(&self, seq: u64, o: &Output) -> bool {
        let held = self
            .outputs
            .binary_search_by_key(&seq, |(s, _)| *s)
            .ok()
            .map(|i| &self.outputs[i].1);
        match (held, o) {
            (Some(Output::Stream(a)), Output::Stream(b)) => a.text != b.text,
            (_, o) => matches!(o, Output::Stream(_)),
        }
    }

    /// Keep `o` at `seq`; a replayed output takes the place of a held one.
    fn put(&mut self, seq: u64, o: Output, replayed: bool) {
        let size = size_of(&o);
        match self.outputs.binary_search_by_key(&seq, |(s, _)| *s) {
            Ok(i) if replayed => {
                let old = std::mem::replace(&mut self.outputs[i].1, o);
                self.bytes = (self.bytes + size).saturating_sub(size_of(&old));
            }
            Ok(_) => {}
            Err(i) => {
                self.outputs.insert(i, (seq, o));
                self.bytes += size;
            }
        }
    }
}

/// Roughly the bytes an output holds (its text, or its top-level string data).
fn size_of(o: &Output) -> usize {
    match o {
        Output::Stream(Stream { text, .. }) => text.len(),
        Output::DisplayData(DisplayData { bundle, .. })
        | Output::ExecuteResult(ExecuteResult { bundle, .. })
        | Output::UpdateDisplayData(UpdateDisplayData { bundle, .. }) => strings(&bundle.data),
        Output::Error(e) => e.traceback.iter().map(String::len).sum(),
        Output::ClearOutput(ClearOutput { .. }) => 0,
    }
}

fn strings(data: &serde_json::Map<String, serde_json::Value>) -> usize {
    data.values().filter_map(|v| v.as_str()).map(str::len).sum()
}

impl Scheduler {
    /// Ask the kernel to send job `key`'s outputs again from `since`, holding back later
    /// outputs until the replay has reached `until` (the seq the kernel had reached).
    /// Nothing happens when there is nothing to replay.
    pub(super) fn start_replay(
        &mut self,
        key: &str,
        since: u64,
        until: u64,
        out: &mut Vec<Effect>,
    ) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if since >= until {
            return;
        }
        let hold = job.hold.get_or_insert_with(Hold::default);
        hold.until = hold.until.max(until);
        job.next_seq = job.next_seq.min(since);
        job.cell_seq = job.cell_seq.min(since);
        out.push(Effect::Send {
            kernel_id: job.kernel_id.clone(),
            message: crate::protocol::ClientMsg::Replay {
                job_id: job.wire_id.clone(),
                since,
            },
        });
    }

    /// A batch of job `key`'s outputs: show what is new, in order, each once.
    pub(super) fn on_output(
        &mut self,
        key: &str,
        seq: u64,
        outputs: Vec<Output>,
        out: &mut Vec<Effect>,
    ) {
        // A gap in live outputs means messages were lost on the way (a websocket that
        // dropped, a page that was away): ask for them again and hold this batch meanwhile.
        let since = match self.jobs.get(key) {
            Some(job) if job.hold.is_none() && seq > job.next_seq && !outputs.is_empty() => {
                Some(job.next_seq)
            }
            Some(_) => None,
            None => return,
        };
        if let Some(since) = since {
            self.start_replay(key, since, seq, out);
        }
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        let mut fresh = Vec::new();
        let mut gave_up = false;
        match job.hold.as_mut() {
            None => {
                let end = seq.saturating_add(outputs.len() as u64);
                if end > job.next_seq {
                    let skip =
                        usize::try_from(job.next_seq.saturating_sub(seq)).unwrap_or(usize::MAX);
                    job.next_seq = end;
                    fresh.extend(outputs.into_iter().skip(skip));
                }
            }
            Some(hold) => {
                let held_end = hold.outputs.last().map_or(0, |(s, _)| s.saturating_add(1));
                let replayed = seq < hold.until
                    || (seq < held_end && outputs.first().is_some_and(|o| hold.is_marker(seq, o)));
                let mut s = seq;
                for o in outputs {
                    if s >= job.next_seq {
                        hold.put(s, o, replayed);
                    }
                    s = s.saturating_add(1);
                }
                if let (true, Some((first, _))) =
                    (replayed && seq > job.next_seq, hold.outputs.first())
                {
                    // The replay starts past the gap: the kernel's log was trimmed (its
                    // first output says so). Held outputs below it were live; they stay.
                    job.next_seq = *first;
                }
                let next = job.next_seq;
                let run = hold
                    .outputs
                    .iter()
                    .zip(next..)
                    .take_while(|((s, _), want)| s == want)
                    .count();
                job.next_seq += run as u64;
                let done = job.next_seq >= hold.until;
                gave_up = !done && (hold.len() > HOLD_MAX_OUTPUTS || hold.bytes > HOLD_MAX_BYTES);
                let upto = if done || gave_up { hold.len() } else { run };
                for (s, o) in hold.outputs.drain(..upto) {
                    job.next_seq = job.next_seq.max(s.saturating_add(1));
                    hold.bytes = hold.bytes.saturating_sub(size_of(&o));
                    fresh.push(o);
                }
                if done || gave_up {
                    job.hold = None;
                }
            }
        }
        if gave_up {
            out.push(Effect::Problem {
                message: self
                    .text
                    .fill(T_HOLD_GAVE_UP, "{job}", &job.describe(&self.text)),
            });
        }
        self.show(key, fresh, out);
    }

    /// Stop waiting for a replay of job `key`: let out what is held, in order.
    pub(super) fn release(&mut self, key: &str, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        let Some(hold) = job.hold.take() else {
            return;
        };
        let mut fresh = Vec::with_capacity(hold.outputs.len());
        for (s, o) in hold.outputs {
            job.next_seq = job.next_seq.max(s.saturating_add(1));
            fresh.push(o);
        }
        self.show(key, fresh, out);
    }

    /// Send `fresh` outputs to job `key`'s cell and feed its live last line.
    fn show(&mut self, key: &str, fresh: Vec<Output>, out: &mut Vec<Effect>) {
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if fresh.is_empty() {
            return;
        }
        let before = job.last_line.get().to_owned();
        for o in &fresh {
            match o {
                Output::Stream(Stream { text, .. }) => job.last_line.feed(text),
                Output::ClearOutput(ClearOutput { .. }) => job.last_line.clear(),
                _ => {}
            }
        }
        if job.last_line.get() != before {
            out.push(Effect::RowChanged {
                job_id: key.to_owned(),
            });
        }
        let from = std::mem::replace(&mut job.cell_seq, job.next_seq);
        out.push(Effect::Outputs {
            job_id: key.to_owned(),
            kernel_id: job.kernel_id.clone(),
            notebook: job.from.notebook.clone(),
            cell_id: job.from.cell_id.clone(),
            outputs: fresh,
            from,
            next_seq: job.next_seq,
        });
    }
}
