//! Reconciling with the kernel's `jobs` list, natively: adopting after a reload, jobs that
//! vanished, catching up known jobs.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler};

mod common;
use common::msgs::*;

#[test]
fn reconcile_adopts_running_jobs_after_a_reload() {
    let mut s = Scheduler::default();
    let fx = s.receive(K, hello(), 0.0);
    assert_eq!(sent(&fx), [("list", String::new())]);
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![
                info("r", JobState::Running, 7, Origin::Frontend),
                info("d", JobState::Done, 3, Origin::Kernel),
            ],
        }),
        1_000.0,
    );
    assert!(
        sent(&fx).is_empty(),
        "adopted jobs' outputs are already in the cell"
    );
    assert_eq!(state(&s, "r"), JobState::Running);
    assert_eq!(state(&s, "d"), JobState::Done);
    assert_eq!(s.job("r").unwrap().next_seq, 7);
    assert_eq!(s.job("r").unwrap().elapsed_ms(1_000.0), Some(900.0));
    // Outputs already seen are dropped, new ones pass.
    assert!(!s.receive(K, stdout("r", 7, &["x"]), 2.0).is_empty());
    assert!(s.receive(K, stdout("r", 6, &["x"]), 2.0).is_empty());
    // An adopted frontend job holds a slot.
    let mut s2 = Scheduler::new(1);
    s2.receive(K, hello(), 0.0);
    s2.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![info("r", JobState::Running, 0, Origin::Frontend)],
        }),
        1.0,
    );
    assert!(submits(&submit(&mut s2, "a")).is_empty());
    assert_eq!(
        submits(&s2.receive(K, finished("r", JobState::Done), 2.0)),
        ["a"]
    );
}

#[test]
fn reconcile_marks_vanished_jobs_lost_but_not_newer_ones() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![] }), 0.5);
    submit(&mut s, "a");
    submit(&mut s, "b");
    s.receive(K, started("a", 1), 1.0);
    // The comm reopens (a reconnect): hello again asks for the list again...
    let fx = s.receive(K, hello(), 2.0);
    assert_eq!(
        sent(&fx),
        [("list", String::new())],
        "nothing is sent twice"
    );
    // ...and a job submitted after that request cannot be in its answer.
    assert_eq!(submits(&submit(&mut s, "c")), ["c"]);
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![info("a", JobState::Running, 0, Origin::Frontend)],
        }),
        3.0,
    );
    assert_eq!(state(&s, "a"), JobState::Running);
    assert_eq!(
        state(&s, "b"),
        JobState::Lost,
        "the kernel no longer knows b"
    );
    assert_eq!(
        state(&s, "c"),
        JobState::Queued,
        "c was sent after the list"
    );
    assert_eq!(notified(&fx), [("b".to_owned(), JobState::Lost)]);
    // An answer nobody asked for marks nothing lost.
    s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![] }), 4.0);
    assert_eq!(state(&s, "a"), JobState::Running);
    assert_eq!(state(&s, "c"), JobState::Queued);
}

#[test]
fn reconcile_catches_up_known_jobs() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![] }), 0.1);
    submit(&mut s, "a");
    submit(&mut s, "b");
    s.receive(K, stdout("a", 0, &["x"]), 0.2);
    s.receive(K, hello(), 0.5);
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![
                info("a", JobState::Running, 4, Origin::Frontend),
                info("b", JobState::Error, 0, Origin::Frontend),
            ],
        }),
        1.0,
    );
    assert_eq!(state(&s, "a"), JobState::Running);
    assert_eq!(state(&s, "b"), JobState::Error);
    assert_eq!(notified(&fx), [("b".to_owned(), JobState::Error)]);
    assert!(
        fx.iter().any(|e| matches!(e,
            Effect::Send { message: ClientMsg::Replay { job_id, since: 1 }, .. } if job_id == "a")),
        "missed outputs are asked for again: {fx:?}"
    );
}
