//! Replays, natively: outputs missed while away reach the cell once and in order, also when
//! live outputs arrive before the replay, when the kernel's log was trimmed, when the hold
//! fills up, and when the kernel cannot answer; "Save output" asks for a job's logged text.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, HOLD_MAX_OUTPUTS};

mod common;
use common::msgs::*;

fn replays(effects: &[Effect]) -> Vec<(String, u64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                message: ClientMsg::Replay { job_id, since },
                ..
            } => Some((job_id.clone(), *since)),
            _ => None,
        })
        .collect()
}

/// A page that reloaded: job "r" was adopted from the kernel's list at seq `next`.
fn adopted_at(next: u64) -> Scheduler {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![info("r", JobState::Running, next, Origin::Frontend)],
        }),
        1.0,
    );
    assert!(
        fx.contains(&Effect::Adopted {
            job_id: "r".into(),
            wire_id: "r".into(),
            kernel_id: K.into(),
            notebook: Some("nb.ipynb".into()),
            cell_id: Some("c".into()),
            next_seq: next,
            state: JobState::Running,
            origin: Origin::Frontend,
            superseded: false,
            source_hash: None,
        }),
        "{fx:?}"
    );
    s
}

#[test]
fn replay_fills_the_gap_then_releases_held_outputs_in_order() {
    let mut s = adopted_at(5);
    // The cell was saved up to seq 2: ask for 2.. again.
    let fx = s.replay("r", 2);
    assert_eq!(replays(&fx), [("r".to_owned(), 2)]);
    assert_eq!(s.job("r").unwrap().next_seq, 2);
    // Live outputs reach this page before the replay's answer: held back.
    assert!(texts(&s.receive(K, batch("r", 5, 7), 2.0)).is_empty());
    assert!(texts(&s.receive(K, batch("r", 7, 8), 2.0)).is_empty());
    assert_eq!(s.job("r").unwrap().hold.as_ref().unwrap().len(), 3);
    // The replay: the gap first, then what was held, each once.
    let fx = s.receive(K, batch("r", 2, 8), 3.0);
    assert_eq!(texts(&fx), seqs(2, 8));
    let next: Vec<u64> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Outputs { next_seq, .. } => Some(*next_seq),
            _ => None,
        })
        .collect();
    assert_eq!(next, [8]);
    assert!(s.job("r").unwrap().hold.is_none(), "the replay is complete");
    // Later outputs flow as before; the replay's duplicates change nothing.
    assert_eq!(texts(&s.receive(K, batch("r", 8, 9), 4.0)), seqs(8, 9));
    assert!(texts(&s.receive(K, batch("r", 2, 9), 4.0)).is_empty());
}

#[test]
fn replay_in_pieces_interleaved_with_nothing_lost() {
    let mut s = adopted_at(4);
    s.replay("r", 0);
    // The replay comes in several batches; the first fills part of the gap.
    assert_eq!(texts(&s.receive(K, batch("r", 0, 2), 1.0)), seqs(0, 2));
    assert!(s.job("r").unwrap().hold.is_some(), "not up to 4 yet");
    assert_eq!(texts(&s.receive(K, batch("r", 2, 6), 1.0)), seqs(2, 6));
    assert!(s.job("r").unwrap().hold.is_none());
    // Once complete, a later gap in live outputs is asked for again (see below).
    let fx = s.receive(K, batch("r", 9, 10), 1.0);
    assert!(texts(&fx).is_empty());
    assert_eq!(replays(&fx), [("r".to_owned(), 6)]);
}

/// Job "j", which this page submitted: outputs 0..3 arrive, 3..5 are lost on the way (a
/// websocket that dropped), 5..7 arrive, held, and 3.. is asked for again.
fn with_a_gap() -> Scheduler {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "j");
    s.receive(K, started("j", 1), 1.0);
    assert_eq!(texts(&s.receive(K, batch("j", 0, 3), 1.0)), seqs(0, 3));
    let fx = s.receive(K, batch("j", 5, 7), 2.0);
    assert!(texts(&fx).is_empty(), "held until the gap is filled");
    assert_eq!(replays(&fx), [("j".to_owned(), 3)]);
    s
}

#[test]
fn a_gap_in_live_outputs_is_asked_for_again_and_the_batch_after_it_held() {
    let mut s = with_a_gap();
    // More live outputs while the replay is on its way: held too, nothing asked twice.
    let fx = s.receive(K, batch("j", 7, 8), 2.0);
    assert!(texts(&fx).is_empty());
    assert!(replays(&fx).is_empty());
    // The kernel's log answers from 3: every output once, in order.
    assert_eq!(texts(&s.receive(K, batch("j", 3, 8), 3.0)), seqs(3, 8));
    assert!(s.job("j").unwrap().hold.is_none());
    assert_eq!(texts(&s.receive(K, batch("j", 8, 9), 4.0)), seqs(8, 9));
}

#[test]
fn a_trimmed_log_replays_from_its_marker_and_completes() {
    let mut s = adopted_at(10);
    s.replay("r", 0);
    // Live output first, then the replay: its log lost seqs 0..5, so it starts with a
    // marker that takes the last dropped seq (5), above `since`.
    assert!(texts(&s.receive(K, batch("r", 10, 12), 1.0)).is_empty());
    let marker = stdout("r", 5, &["[5 earlier outputs were dropped]\n", "6", "7"]);
    assert_eq!(
        texts(&s.receive(K, marker, 2.0)),
        ["[5 earlier outputs were dropped]\n", "6", "7"]
    );
    let fx = s.receive(K, batch("r", 8, 12), 2.0);
    assert_eq!(texts(&fx), seqs(8, 12), "the gap, then the held outputs");
    assert!(s.job("r").unwrap().hold.is_none());
    assert_eq!(s.job("r").unwrap().next_seq, 12);
}

#[test]
fn a_log_trimmed_past_what_the_page_saw_keeps_the_live_outputs() {
    let mut s = adopted_at(3);
    s.replay("r", 0);
    // Live outputs 3..8 arrive; meanwhile the kernel's log dropped up to seq 5.
    assert!(texts(&s.receive(K, batch("r", 3, 8), 1.0)).is_empty());
    let marker = stdout("r", 5, &["[dropped]\n", "6", "7"]);
    // The gap 0..3 is accepted; the held 3, 4 come before the marker, which takes seq 5.
    assert_eq!(
        texts(&s.receive(K, marker, 2.0)),
        ["3", "4", "[dropped]\n", "6", "7"]
    );
    assert!(s.job("r").unwrap().hold.is_none());
}

#[test]
fn the_catch_up_after_a_reconnect_holds_the_same_way() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![] }), 0.1);
    submit(&mut s, "a");
    s.receive(K, started("a", 1), 0.2);
    s.receive(K, batch("a", 0, 2), 0.3);
    // The comm reconnects; the kernel has reached seq 5.
    s.receive(K, hello(), 1.0);
    let mut info = info("a", JobState::Running, 5, Origin::Frontend);
    info.head.from.cell_id = Some("cell-a".into());
    let fx = s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![info] }), 1.0);
    assert_eq!(replays(&fx), [("a".to_owned(), 2)]);
    assert!(
        texts(&s.receive(K, batch("a", 5, 6), 1.1)).is_empty(),
        "held"
    );
    assert_eq!(texts(&s.receive(K, batch("a", 2, 6), 1.2)), seqs(2, 6));
    assert!(s.job("a").unwrap().hold.is_none());
}

#[test]
fn a_replay_answer_lost_after_the_job_ended_is_asked_for_again_on_reconnect() {
    // A gap, so a replay is asked for; the job's `finished` comes; then the websocket
    // drops and the replay's answer with it. The list after the reconnect asks again.
    let mut s = with_a_gap();
    s.receive(K, finished("j", JobState::Done), 2.1);
    s.receive(K, hello(), 3.0);
    let ended = || {
        let mut info = info("j", JobState::Done, 7, Origin::Frontend);
        info.head.from.cell_id = Some("cell-j".into());
        KernelMsg::Jobs(JobList { jobs: vec![info] })
    };
    assert_eq!(replays(&s.receive(K, ended(), 3.0)), [("j".to_owned(), 3)]);
    assert_eq!(texts(&s.receive(K, batch("j", 3, 7), 3.1)), seqs(3, 7));
    assert!(s.job("j").unwrap().hold.is_none());
    // Once the cell has it all, a later list asks nothing.
    assert!(replays(&s.receive(K, ended(), 4.0)).is_empty());
}

#[test]
fn an_ended_job_whose_kernel_has_nothing_more_lets_the_hold_go() {
    // Held outputs past a gap the kernel can no longer fill (it lists the job at a seq
    // the page has): shown, not kept waiting for ever.
    let mut s = adopted_at(2);
    s.replay("r", 0);
    assert!(texts(&s.receive(K, batch("r", 2, 4), 1.0)).is_empty());
    s.receive(K, finished("r", JobState::Done), 1.1);
    let mut info = info("r", JobState::Done, 0, Origin::Frontend);
    info.head.from.cell_id = Some("c".into());
    let fx = s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![info] }), 2.0);
    assert!(replays(&fx).is_empty());
    assert_eq!(texts(&fx), seqs(2, 4));
    assert!(s.job("r").unwrap().hold.is_none());
}

#[test]
fn nothing_to_replay_asks_nothing() {
    let mut s = adopted_at(5);
    assert!(s.replay("r", 5).is_empty());
    assert!(s.replay("r", 9).is_empty());
    assert!(s.replay("ghost", 0).is_empty());
    assert!(s.job("r").unwrap().hold.is_none());
    // Outputs flow on as usual.
    assert_eq!(texts(&s.receive(K, batch("r", 5, 6), 1.0)), seqs(5, 6));
}

#[test]
fn duplicates_while_holding_are_dropped() {
    let mut s = adopted_at(4);
    s.replay("r", 0);
    // The same live batch twice, and an overlapping one.
    for (from, to) in [(4, 6), (4, 6), (5, 7)] {
        assert!(texts(&s.receive(K, batch("r", from, to), 1.0)).is_empty());
    }
    assert_eq!(s.job("r").unwrap().hold.as_ref().unwrap().len(), 3);
    // The replay twice (a second `replay` call asks again): each output once.
    assert_eq!(texts(&s.receive(K, batch("r", 0, 7), 2.0)), seqs(0, 7));
    assert!(texts(&s.receive(K, batch("r", 0, 7), 2.0)).is_empty());
}

#[test]
fn a_full_hold_gives_up_visibly() {
    let mut s = adopted_at(1);
    s.replay("r", 0);
    let mut shown = Vec::new();
    let mut problems = 0;
    for n in 0..=HOLD_MAX_OUTPUTS as u64 {
        let fx = s.receive(K, batch("r", 1 + n, 2 + n), 1.0);
        problems += fx
            .iter()
            .filter(|e| matches!(e, Effect::Problem { .. }))
            .count();
        shown.extend(texts(&fx));
    }
    assert_eq!(problems, 1, "the person is told outputs may be missing");
    assert_eq!(
        shown,
        seqs(1, HOLD_MAX_OUTPUTS as u64 + 2),
        "in order, once"
    );
    assert!(s.job("r").unwrap().hold.is_none());
    // The replay's answer, when it comes at last, adds only what was missing... which
    // is now behind: nothing.
    assert!(texts(&s.receive(K, batch("r", 0, 3), 2.0)).is_empty());
}

#[test]
fn big_outputs_fill_the_hold_sooner() {
    let mut s = adopted_at(1);
    s.replay("r", 0);
    let big = "x".repeat(1 << 20);
    let mut problems = 0;
    for n in 1..=5 {
        let fx = s.receive(K, stdout("r", n, &[&big]), 1.0);
        problems += fx
            .iter()
            .filter(|e| matches!(e, Effect::Problem { .. }))
            .count();
    }
    assert_eq!(problems, 1);
    assert!(s.job("r").unwrap().hold.is_none());
}

#[test]
fn a_kernel_error_about_the_job_releases_the_hold() {
    let mut s = adopted_at(2);
    s.replay("r", 0);
    s.receive(K, batch("r", 2, 4), 1.0);
    let fx = s.receive(
        K,
        KernelMsg::Error(KernelError {
            message: "unknown job: r".into(),
            job_id: Some("r".into()),
        }),
        2.0,
    );
    assert_eq!(texts(&fx), seqs(2, 4));
    assert!(fx.iter().any(|e| matches!(e, Effect::Problem { .. })));
    assert!(s.job("r").unwrap().hold.is_none());
    assert_eq!(texts(&s.receive(K, batch("r", 4, 5), 3.0)), seqs(4, 5));
}

#[test]
fn a_lost_kernel_releases_the_hold() {
    let mut s = adopted_at(2);
    s.replay("r", 0);
    s.receive(K, batch("r", 3, 4), 1.0);
    s.receive(K, batch("r", 2, 3), 1.0); // from the replay: 0..2 were trimmed
    assert!(s.job("r").unwrap().hold.is_none());
    s.replay("r", 0);
    s.receive(K, batch("r", 4, 6), 1.0);
    let fx = s.kernel_lost(K, 2.0);
    assert_eq!(texts(&fx), seqs(4, 6));
    assert_eq!(state(&s, "r"), JobState::Lost);
    assert!(s.job("r").unwrap().hold.is_none());
}

#[test]
fn save_output_asks_the_jobs_kernel_and_hands_the_parts_on() {
    let mut s = Scheduler::new();
    assert!(s.save_output("a").is_empty(), "an unknown job: nothing");
    submit(&mut s, "a");
    assert!(
        sent(&s.save_output("a")).is_empty(),
        "a job its kernel does not have yet: nothing to ask"
    );
    s.receive(K, hello(), 1.0);
    s.receive(K, started("a", 3), 2.0);
    assert_eq!(sent(&s.save_output("a")), [("text", "a".to_owned())]);
    let part = |text: &str, last| {
        KernelMsg::Text(JobText {
            job_id: "a".into(),
            text: text.into(),
            last,
        })
    };
    let fx = s.receive(K, part("tick 0\n", false), 3.0);
    assert_eq!(
        fx,
        [Effect::OutputText {
            job_id: "a".into(),
            num: Some(3),
            notebook: Some("nb.ipynb".into()),
            text: "tick 0\n".into(),
            last: false,
        }]
    );
    assert!(matches!(&s.receive(K, part("", true), 4.0)[..],
        [Effect::OutputText { last: true, text, .. }] if text.is_empty()));
    assert!(
        s.receive("other-kernel", part("x", true), 5.0).is_empty(),
        "another kernel's job of that id is not this one"
    );
}
