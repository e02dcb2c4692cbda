//! Reconciling with the kernel's `jobs` list, natively: adopting after a reload, jobs that
//! vanished, catching up known jobs.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, Waiting};

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

#[test]
fn reconcile_adopts_queued_jobs_with_what_they_wait_for() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    let mut first = JobInfo {
        source_hash: Some("0b1c2d3e4f5a6b7c".into()),
        ..info("a", JobState::Running, 2, Origin::Frontend)
    };
    first.head.num = 1;
    let mut second = JobInfo {
        after: Some("a".into()),
        source_hash: Some("f3a9c1d27b4e8a06".into()),
        started_at: None,
        ..info("b", JobState::Queued, 0, Origin::Frontend)
    };
    second.head.num = 2;
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![first, second],
        }),
        10.0,
    );
    let b = s.job("b").unwrap();
    assert_eq!(b.state, JobState::Queued);
    assert_eq!(
        b.after.as_deref(),
        Some("a"),
        "the local key of its dependency"
    );
    assert_eq!(b.elapsed_ms(20.0), None);
    assert!(matches!(
        s.waiting(b),
        Some(Waiting::Job { num: Some(1), .. })
    ));
    assert!(fx.contains(&Effect::Adopted {
        job_id: "b".into(),
        wire_id: "b".into(),
        kernel_id: K.into(),
        notebook: Some("nb.ipynb".into()),
        cell_id: Some("c".into()),
        next_seq: 0,
        state: JobState::Queued,
        origin: Origin::Frontend,
        superseded: false,
        source_hash: Some("f3a9c1d27b4e8a06".into()),
    }));
    // Killing it asks the kernel.
    assert_eq!(sent(&s.kill("b", 11.0)), [("kill", "b".to_owned())]);
}

#[test]
fn adopted_carries_state_superseded_source_hash_and_trimmed_logs() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    let ended = JobInfo {
        superseded: true,
        source_hash: Some("0b1c2d3e4f5a6b7c".into()),
        log_trimmed: Some("the kernel keeps the logs of the last 100 ended jobs".into()),
        ..info("d", JobState::Done, 4, Origin::Frontend)
    };
    let fx = s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![ended] }), 10.0);
    let adopted: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Adopted {
                state,
                superseded,
                source_hash,
                ..
            } => Some((*state, *superseded, source_hash.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        adopted,
        [(JobState::Done, true, Some("0b1c2d3e4f5a6b7c".into()))]
    );
    let json =
        serde_json::to_value(fx.iter().find(|e| matches!(e, Effect::Adopted { .. }))).unwrap();
    assert_eq!(json["state"], "done");
    assert_eq!(json["superseded"], true);
    assert_eq!(json["origin"], "frontend");
    let d = s.job("d").unwrap();
    assert!(d.superseded);
    assert_eq!(
        d.log_trimmed.as_deref(),
        Some("the kernel keeps the logs of the last 100 ended jobs")
    );
    // A known job learns it was trimmed from a later list too.
    submit(&mut s, "a");
    s.receive(K, finished("a", JobState::Done), 11.0);
    s.receive(K, hello(), 12.0);
    let trimmed = JobInfo {
        log_trimmed: Some("freed".into()),
        ..info("a", JobState::Done, 1, Origin::Frontend)
    };
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![trimmed],
        }),
        13.0,
    );
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert_eq!(s.job("a").unwrap().log_trimmed.as_deref(), Some("freed"));
}

#[test]
fn threads_a_job_left_running_are_counted_until_the_last_ends() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    s.receive(K, finished("a", JobState::Done), 1.0);
    let threads = |n: u32| {
        KernelMsg::Threads(Threads {
            job_id: "a".into(),
            running: n,
        })
    };
    let fx = s.receive(K, threads(2), 2.0);
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert_eq!(s.job("a").unwrap().threads, 2);
    assert_eq!(
        s.job("a").unwrap().state,
        JobState::Done,
        "the job itself ended"
    );
    // The same count again changes nothing; a message about an unknown job is dropped.
    assert!(s.receive(K, threads(2), 3.0).is_empty());
    let other = KernelMsg::Threads(Threads {
        job_id: "nope".into(),
        running: 1,
    });
    assert!(s.receive(K, other, 3.5).is_empty());
    // A page that comes back learns the count from the list.
    s.receive(K, hello(), 4.0);
    let listed = JobInfo {
        threads: 1,
        ..info("a", JobState::Done, 1, Origin::Frontend)
    };
    let fx = s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![listed] }), 5.0);
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert_eq!(s.job("a").unwrap().threads, 1);
    s.receive(K, threads(0), 6.0);
    assert_eq!(s.job("a").unwrap().threads, 0);
}
