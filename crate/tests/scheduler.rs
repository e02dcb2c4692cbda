//! The scheduler, natively: waiting for `hello`, the cap and FIFO queue, kills, clearing,
//! lost kernels, dependencies.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit};

mod common;
use common::msgs::*;

#[test]
fn submits_wait_for_hello_then_list_goes_first() {
    let mut s = Scheduler::new(4);
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
                    ..
                },
        } => {
            assert_eq!(kernel_id, K);
            assert_eq!(code, "print(\"a\")\nx = 1");
            assert_eq!(cell_id, "cell-a");
            assert_eq!(notebook, "nb.ipynb");
        }
        other => panic!("expected the submit, got {other:?}"),
    }
    // A second hello (a reopened comm) asks for the list again but sends no job twice.
    assert_eq!(sent(&s.receive(K, hello(), 2.0)), [("list", String::new())]);
}

#[test]
fn wrong_protocol_is_a_problem_and_not_ready() {
    let mut s = Scheduler::default();
    submit(&mut s, "a");
    let fx = s.receive(
        K,
        KernelMsg::Hello(Hello {
            protocol: 2,
            runtime: String::new(),
            python: String::new(),
            ipykernel: String::new(),
            implementation: String::new(),
        }),
        1.0,
    );
    assert!(matches!(fx.as_slice(), [Effect::Problem { .. }]));
    assert_eq!(state(&s, "a"), JobState::Queued);
}

#[test]
fn cap_and_fifo_queue() {
    let mut s = Scheduler::new(2);
    s.receive(K, hello(), 0.0);
    let mut out = Vec::new();
    for id in ["a", "b", "c", "d", "e"] {
        out.extend(submits(&submit(&mut s, id)));
    }
    assert_eq!(out, ["a", "b"], "only `cap` jobs go out");
    for id in ["a", "b"] {
        s.receive(K, started(id, 1), 1.0);
        assert_eq!(state(&s, id), JobState::Running);
    }
    let fx = s.receive(K, finished("b", JobState::Done), 2.0);
    assert_eq!(
        submits(&fx),
        ["c"],
        "a finished job frees a slot for the oldest queued"
    );
    assert_eq!(notified(&fx), [("b".to_owned(), JobState::Done)]);
    let fx = s.receive(K, finished("a", JobState::Error), 3.0);
    assert_eq!(submits(&fx), ["d"]);
    assert_eq!(
        s.job("a").unwrap().error.as_ref().unwrap().ename,
        "ZeroDivisionError"
    );
    assert_eq!(s.job("a").unwrap().assigned, ["x"]);
    // Raising the cap sends more at once; lowering it never recalls sent jobs.
    assert_eq!(submits(&s.set_cap(10)), ["e"]);
    assert!(submits(&s.set_cap(1)).is_empty());
    assert_eq!(s.cap(), 1);
    assert_eq!(Scheduler::new(0).cap(), 1, "the cap is at least 1");
}

#[test]
fn caps_are_per_kernel() {
    let mut s = Scheduler::new(1);
    s.receive("k1", hello(), 0.0);
    s.receive("k2", hello(), 0.0);
    assert_eq!(submits(&submit_to(&mut s, "a", "k1")), ["a"]);
    assert!(submits(&submit_to(&mut s, "b", "k1")).is_empty());
    assert_eq!(submits(&submit_to(&mut s, "c", "k2")), ["c"]);
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
fn kill_queued_unsent_is_local() {
    let mut s = Scheduler::new(1);
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    submit(&mut s, "b");
    let fx = s.kill("b", 1.0);
    assert!(sent(&fx).is_empty(), "the kernel never heard of b");
    assert_eq!(state(&s, "b"), JobState::Killed);
    assert_eq!(notified(&fx), [("b".to_owned(), JobState::Killed)]);
    // b never goes out, even when a slot frees.
    let fx = s.receive(K, finished("a", JobState::Done), 2.0);
    assert!(submits(&fx).is_empty());
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
fn kill_all_and_clear_finished() {
    let mut s = Scheduler::new(1);
    s.receive(K, hello(), 0.0);
    for id in ["a", "b", "c"] {
        submit(&mut s, id);
    }
    s.receive(K, started("a", 1), 1.0);
    let fx = s.kill_all(2.0);
    assert_eq!(sent(&fx), [("kill", "a".to_owned())]);
    assert_eq!(state(&s, "a"), JobState::Cancelling);
    assert_eq!(state(&s, "b"), JobState::Killed);
    assert_eq!(state(&s, "c"), JobState::Killed);
    let fx = s.clear_finished();
    let cleared = |id: &str| Effect::CellState {
        job_id: id.into(),
        notebook: Some("nb.ipynb".into()),
        cell_id: Some(format!("cell-{id}")),
        state: None,
    };
    // The cells carry no job any more; the rows go.
    assert_eq!(
        fx,
        [
            cleared("b"),
            Effect::RowRemoved { job_id: "b".into() },
            cleared("c"),
            Effect::RowRemoved { job_id: "c".into() }
        ]
    );
    assert_eq!(s.len(), 1);
    assert!(s.job("b").is_none());
    // Cleared ids may be used again.
    assert!(!submit(&mut s, "b").is_empty());
}

#[test]
fn kernel_lost_loses_every_unfinished_job() {
    let mut s = Scheduler::new(1);
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

#[test]
fn run_after_a_job() {
    let mut s = Scheduler::new(4);
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    assert!(
        submits(&submit_after(&mut s, "b", "a").unwrap()).is_empty(),
        "b waits for a"
    );
    assert!(
        submit_after(&mut s, "z", "nope").is_err(),
        "unknown dependency"
    );
    // Jobs without dependencies are not held up behind b.
    assert_eq!(submits(&submit(&mut s, "c")), ["c"]);
    assert_eq!(
        submits(&s.receive(K, finished("a", JobState::Done), 1.0)),
        ["b"]
    );
    // A failed dependency fails its dependents, transitively, without sending them.
    submit_after(&mut s, "d", "b").unwrap();
    submit_after(&mut s, "e", "d").unwrap();
    let fx = s.receive(K, finished("b", JobState::Error), 2.0);
    assert!(submits(&fx).is_empty());
    assert_eq!(state(&s, "d"), JobState::Error);
    assert_eq!(state(&s, "e"), JobState::Error);
    assert_eq!(
        s.job("d").unwrap().error.as_ref().unwrap().ename,
        "DependencyFailed"
    );
    // After a job that already failed: fails at once.
    let fx = submit_after(&mut s, "f", "b").unwrap();
    assert_eq!(state(&s, "f"), JobState::Error);
    assert_eq!(notified(&fx), [("f".to_owned(), JobState::Error)]);
    // Another kernel's job: refused.
    submit_to(&mut s, "other", "kernel-2");
    assert!(submit_after(&mut s, "g", "other").is_err());
}

#[test]
fn dependencies_settle_even_when_the_cap_is_full_and_survive_clearing() {
    let mut s = Scheduler::new(1);
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a"); // sent: the one slot, until the end
    submit(&mut s, "bad");
    submit_after(&mut s, "c", "bad").unwrap();
    submit(&mut s, "ok");
    submit_after(&mut s, "b", "ok").unwrap();
    // "bad" is killed while the cap is full: c fails at once, not when a slot frees (and
    // so not never, if "bad" were cleared first).
    s.kill("bad", 1.0);
    assert_eq!(state(&s, "c"), JobState::Error);
    // "ok" ends done (another tab ran it) while the cap is still full: b waits for a slot.
    s.receive(K, finished("ok", JobState::Done), 2.0);
    assert_eq!(state(&s, "b"), JobState::Queued);
    // Clearing "ok" does not change that b may run; clearing "bad" does not revive c.
    let _ = s.clear_finished();
    assert!(s.job("ok").is_none() && s.job("c").is_none());
    assert_eq!(
        submits(&s.receive(K, finished("a", JobState::Done), 3.0)),
        ["b"]
    );
    // Unknown (or cleared) dependencies are refused, with a typed error.
    let err = s
        .submit(
            Submit {
                job_id: "d",
                kernel_id: K,
                notebook: "nb.ipynb",
                cell_id: "c",
                code: "",
                after: Some("ok"),
                target: Target::Thread,
            },
            4.0,
        )
        .unwrap_err();
    assert_eq!(
        err,
        parallel_cell_core::error::Error::UnknownJob("ok".into())
    );
}
