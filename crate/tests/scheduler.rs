//! The scheduler, natively: waiting for `hello`, submits sent at once (the kernel owns the
//! queue), kills, clearing, lost kernels, dependencies.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{source_hash as source_hash_of, Effect, Scheduler, Submit};

mod common;
use common::msgs::*;

#[test]
fn submits_wait_for_hello_then_list_goes_first() {
    let mut s = Scheduler::new();
    let fx = submit(&mut s, "a");
    assert!(sent(&fx).is_empty(), "nothing goes out before hello");
    assert_eq!(state(&s, "a"), JobState::Queued);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::RowChanged { .. })),
        "a new job's row is drawn by the panel's flush"
    );
    assert!(fx.iter().any(|e| matches!(e,
        Effect::CellState { state: Some(JobState::Queued), cell_id: Some(c), .. } if c == "cell-a")));

    let fx = s.receive(K, hello(), 1.0);
    assert_eq!(
        sent(&fx),
        [("list", String::new()), ("submit", "a".to_owned())]
    );
    match &fx[1] {
        Effect::Send {
            kernel_id,
            message:
                ClientMsg::Submit {
                    code,
                    cell_id,
                    notebook,
                    after,
                    source_hash,
                    ..
                },
        } => {
            assert_eq!(kernel_id, K);
            assert_eq!(code, "print(\"a\")\nx = 1");
            assert_eq!(cell_id, "cell-a");
            assert_eq!(notebook, "nb.ipynb");
            assert_eq!(after, &None);
            assert_eq!(
                source_hash.as_deref(),
                Some(source_hash_of("print(\"a\")\nx = 1").as_str())
            );
        }
        other => panic!("expected the submit, got {other:?}"),
    }
    // A second hello (a reopened comm) asks for the list again but sends no job twice.
    assert_eq!(sent(&s.receive(K, hello(), 2.0)), [("list", String::new())]);
}

#[test]
fn submits_before_hello_go_in_order_on_hello() {
    let mut s = Scheduler::new();
    for id in ["a", "b", "c", "d"] {
        assert!(sent(&submit(&mut s, id)).is_empty());
    }
    submit_after(&mut s, "e", "a").unwrap();
    let fx = s.receive(K, hello(), 1.0);
    assert_eq!(
        sent(&fx),
        [
            ("list", String::new()),
            ("submit", "a".to_owned()),
            ("submit", "b".to_owned()),
            ("submit", "c".to_owned()),
            ("submit", "d".to_owned()),
            ("submit", "e".to_owned()),
        ]
    );
    for id in ["a", "b", "c", "d", "e"] {
        assert_eq!(state(&s, id), JobState::Queued, "queued until started");
        assert!(s.job(id).unwrap().sent);
    }
}

#[test]
fn wrong_protocol_is_a_problem_and_not_ready() {
    let mut s = Scheduler::default();
    submit(&mut s, "a");
    let fx = s.receive(
        K,
        KernelMsg::Hello(Hello {
            protocol: 1,
            runtime: String::new(),
            python: String::new(),
            ipykernel: String::new(),
            implementation: String::new(),
        }),
        1.0,
    );
    assert!(matches!(fx.as_slice(), [Effect::Problem { .. }]));
    assert_eq!(state(&s, "a"), JobState::Queued);
    assert!(!s.job("a").unwrap().sent);
}

#[test]
fn submit_sends_at_once_and_the_kernel_keeps_the_queue() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    let mut out = Vec::new();
    for id in ["a", "b", "c", "d", "e"] {
        out.extend(submits(&submit(&mut s, id)));
    }
    assert_eq!(out, ["a", "b", "c", "d", "e"], "no cap in the page");
    s.receive(K, started("a", 1), 1.0);
    assert_eq!(state(&s, "a"), JobState::Running);
    // The kernel says b waits in its queue: still queued, now with its number.
    let fx = s.receive(K, queued("b", 2, None), 1.0);
    assert!(fx.contains(&Effect::RowChanged { job_id: "b".into() }));
    assert!(sent(&fx).is_empty());
    assert_eq!(state(&s, "b"), JobState::Queued);
    assert_eq!(s.job("b").unwrap().num, Some(2));
    // A duplicate or late `queued` changes nothing else; a `queued` after `started` does
    // not move the job back.
    s.receive(K, queued("b", 2, None), 1.5);
    s.receive(K, queued("a", 1, None), 1.5);
    assert_eq!(state(&s, "a"), JobState::Running);
    let fx = s.receive(K, finished("a", JobState::Error), 3.0);
    assert!(
        submits(&fx).is_empty(),
        "the kernel starts the next job itself"
    );
    assert_eq!(notified(&fx), [("a".to_owned(), JobState::Error)]);
    assert_eq!(
        s.job("a").unwrap().error.as_ref().unwrap().ename,
        "ZeroDivisionError"
    );
    assert_eq!(s.job("a").unwrap().assigned, ["x"]);
    s.receive(K, started("b", 2), 4.0);
    assert_eq!(state(&s, "b"), JobState::Running);
}

#[test]
fn kernels_are_separate() {
    let mut s = Scheduler::new();
    s.receive("k1", hello(), 0.0);
    assert_eq!(submits(&submit_to(&mut s, "a", "k1")), ["a"]);
    assert_eq!(submits(&submit_to(&mut s, "b", "k1")), ["b"]);
    assert!(
        submits(&submit_to(&mut s, "c", "k2")).is_empty(),
        "k2 said no hello yet"
    );
    assert_eq!(submits(&s.receive("k2", hello(), 0.5)), ["c"]);
    // A message from the wrong kernel does not touch another kernel's job.
    s.receive("k2", finished("a", JobState::Done), 1.0);
    assert_eq!(state(&s, "a"), JobState::Queued);
}

#[test]
fn invalid_and_duplicate_submits_are_errors() {
    let mut s = Scheduler::default();
    submit(&mut s, "a");
    assert!(s
        .submit(
            Submit {
                job_id: "a",
                kernel_id: K,
                notebook: "n",
                cell_id: "c",
                code: "",
                after: None,
                target: Target::Thread,
            },
            0.0
        )
        .is_err());
    for (job, kernel, nb, cell) in [
        ("", K, "n", "c"),
        ("x y", K, "n", "c"),
        ("b", "", "n", "c"),
        ("b", K, "", "c"),
        ("b", K, "n", "<img>"),
    ] {
        let r = s.submit(
            Submit {
                job_id: job,
                kernel_id: kernel,
                notebook: nb,
                cell_id: cell,
                code: "1",
                after: None,
                target: Target::Thread,
            },
            0.0,
        );
        assert!(
            r.is_err(),
            "{job:?} {kernel:?} {nb:?} {cell:?} should be refused"
        );
    }
    assert_eq!(s.len(), 1);
}

#[test]
fn kill_of_an_unsent_job_ends_here_and_fails_its_unsent_dependents() {
    let mut s = Scheduler::new();
    submit(&mut s, "a");
    submit(&mut s, "b");
    submit_after(&mut s, "c", "b").unwrap();
    submit_after(&mut s, "d", "c").unwrap();
    let fx = s.kill("b", 1.0);
    assert!(sent(&fx).is_empty(), "the kernel never heard of b");
    assert_eq!(state(&s, "b"), JobState::Killed);
    assert_eq!(
        notified(&fx),
        [
            ("b".to_owned(), JobState::Killed),
            ("c".to_owned(), JobState::Error),
            ("d".to_owned(), JobState::Error)
        ]
    );
    let err = s.job("d").unwrap().error.clone().unwrap();
    assert_eq!(err.ename, "DependencyFailed");
    // None of them ever goes out; a job after b submitted now ends at once, unsent.
    let fx = submit_after(&mut s, "e", "b").unwrap();
    assert_eq!(notified(&fx), [("e".to_owned(), JobState::Error)]);
    assert_eq!(submits(&s.receive(K, hello(), 2.0)), ["a"]);
}

#[test]
fn kill_of_a_job_queued_in_the_kernel_asks_the_kernel() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    submit_after(&mut s, "b", "a").unwrap();
    s.receive(K, queued("a", 1, None), 0.5);
    let fx = s.kill("a", 1.0);
    assert_eq!(sent(&fx), [("kill", "a".to_owned())]);
    assert_eq!(state(&s, "a"), JobState::Cancelling);
    assert_eq!(
        state(&s, "b"),
        JobState::Queued,
        "the kernel ends b, not the page"
    );
    let fx = s.receive(K, finished("a", JobState::Killed), 2.0);
    assert_eq!(notified(&fx), [("a".to_owned(), JobState::Killed)]);
    assert_eq!(state(&s, "b"), JobState::Queued);
}

#[test]
fn kill_running_is_cancelling_until_finished() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    s.receive(K, started("a", 1), 1.0);
    let fx = s.kill("a", 2.0);
    assert_eq!(sent(&fx), [("kill", "a".to_owned())]);
    assert_eq!(state(&s, "a"), JobState::Cancelling);
    assert!(notified(&fx).is_empty(), "not finished yet");
    // A second click asks again (the kernel escalates); kill_all does not repeat it.
    assert_eq!(sent(&s.kill("a", 2.5)), [("kill", "a".to_owned())]);
    assert!(sent(&s.kill_all(2.6)).is_empty());
    let fx = s.receive(
        K,
        KernelMsg::Cancelling(Cancelling {
            job_id: "a".into(),
            reason: Some("inside a native call".into()),
        }),
        3.0,
    );
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert_eq!(
        s.job("a").unwrap().cancel_reason.as_deref(),
        Some("inside a native call")
    );
    let fx = s.receive(K, finished("a", JobState::Killed), 4.0);
    assert_eq!(state(&s, "a"), JobState::Killed);
    assert_eq!(notified(&fx), [("a".to_owned(), JobState::Killed)]);
    assert_eq!(s.job("a").unwrap().cancel_reason, None);
    // The kernel decides: a kill that came too late ends as done.
    submit(&mut s, "b");
    s.kill("b", 5.0);
    s.receive(K, finished("b", JobState::Done), 6.0);
    assert_eq!(state(&s, "b"), JobState::Done);
    // Killing a finished or unknown job does nothing.
    assert!(s.kill("b", 7.0).is_empty());
    assert!(s.kill("nope", 7.0).is_empty());
}

#[test]
fn kernel_lost_loses_every_unfinished_job() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    submit(&mut s, "b");
    submit(&mut s, "done");
    s.receive(K, finished("a", JobState::Done), 1.0);
    s.receive(K, started("b", 2), 1.0);
    submit_to(&mut s, "other", "k2");
    let fx = s.kernel_lost(K, 2.0);
    assert_eq!(state(&s, "a"), JobState::Done);
    assert_eq!(state(&s, "b"), JobState::Lost);
    assert_eq!(
        state(&s, "done"),
        JobState::Lost,
        "queued jobs are lost too"
    );
    assert_eq!(
        state(&s, "other"),
        JobState::Queued,
        "other kernels are untouched"
    );
    assert_eq!(
        notified(&fx),
        [
            ("b".to_owned(), JobState::Lost),
            ("done".to_owned(), JobState::Lost)
        ]
    );
    // After a restart the kernel must say hello again before anything is sent.
    assert!(submits(&submit(&mut s, "c")).is_empty());
    assert_eq!(submits(&s.receive(K, hello(), 3.0)), ["c"]);
    // Messages about lost jobs are ignored.
    s.receive(K, finished("b", JobState::Done), 4.0);
    assert_eq!(state(&s, "b"), JobState::Lost);
}

#[test]
fn goto_cell_names_the_cell() {
    let mut s = Scheduler::default();
    submit(&mut s, "a");
    assert_eq!(
        s.goto_cell("a"),
        Some(Effect::GotoCell {
            notebook: Some("nb.ipynb".into()),
            cell_id: Some("cell-a".into())
        })
    );
    assert_eq!(s.goto_cell("nope"), None);
}

#[test]
fn elapsed_uses_the_local_clock() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    assert_eq!(s.job("a").unwrap().elapsed_ms(100.0), None, "not started");
    s.receive(K, started("a", 1), 1_000.0);
    assert_eq!(s.job("a").unwrap().elapsed_ms(4_000.0), Some(3_000.0));
    s.receive(K, finished("a", JobState::Done), 6_000.0);
    assert_eq!(s.job("a").unwrap().elapsed_ms(60_000.0), Some(5_000.0));
}
