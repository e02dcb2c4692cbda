//! The scheduler, natively: cap and FIFO queue, waiting for `hello`, kills, duplicate and
//! out-of-order messages, lost kernels, adopted jobs, reconcile, dependencies.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit};

const K: &str = "kernel-1";

fn hello() -> KernelMsg {
    KernelMsg::Hello(Hello {
        protocol: 1,
        runtime: "0.1.0".into(),
        python: "3.11.7".into(),
        ipykernel: "7.4.0".into(),
        implementation: "ipython".into(),
    })
}

fn started(id: &str, num: u64) -> KernelMsg {
    KernelMsg::Started(Started {
        job_id: id.into(),
        num,
        cell_id: Some(format!("cell-{id}")),
        notebook: Some("nb.ipynb".into()),
        started_at: 1.0,
        origin: Origin::Frontend,
    })
}

fn finished(id: &str, state: JobState) -> KernelMsg {
    KernelMsg::Finished(Finished {
        job_id: id.into(),
        state,
        ended_at: 2.0,
        error: (state == JobState::Error).then(|| ErrorInfo {
            ename: "ZeroDivisionError".into(),
            evalue: "division by zero".into(),
            traceback: vec!["\u{1b}[0;31mZeroDivisionError\u{1b}[0m: division by zero".into()],
        }),
        assigned: vec!["x".into()],
    })
}

fn stdout(id: &str, seq: u64, texts: &[&str]) -> KernelMsg {
    KernelMsg::Output(Outputs {
        job_id: id.into(),
        seq,
        outputs: texts
            .iter()
            .map(|t| {
                Output::Stream(Stream {
                    name: StreamName::Stdout,
                    text: (*t).into(),
                })
            })
            .collect(),
    })
}

fn submit(s: &mut Scheduler, id: &str) -> Vec<Effect> {
    submit_to(s, id, K)
}

fn submit_to(s: &mut Scheduler, id: &str, kernel: &str) -> Vec<Effect> {
    let cell = format!("cell-{id}");
    s.submit(
        Submit {
            job_id: id,
            kernel_id: kernel,
            notebook: "nb.ipynb",
            cell_id: &cell,
            code: &format!("print({id:?})\nx = 1"),
            after: None,
        },
        0.0,
    )
    .unwrap()
}

/// The messages sent, as `(kind, job_id)`.
fn sent(effects: &[Effect]) -> Vec<(&'static str, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { message, .. } => Some(match message {
                ClientMsg::Submit { job_id, .. } => ("submit", job_id.clone()),
                ClientMsg::Kill { job_id } => ("kill", job_id.clone()),
                ClientMsg::List => ("list", String::new()),
                ClientMsg::Replay { job_id, .. } => ("replay", job_id.clone()),
                ClientMsg::Configure { .. } => ("configure", String::new()),
            }),
            _ => None,
        })
        .collect()
}

fn submits(effects: &[Effect]) -> Vec<String> {
    sent(effects)
        .into_iter()
        .filter(|(k, _)| *k == "submit")
        .map(|(_, id)| id)
        .collect()
}

fn state(s: &Scheduler, id: &str) -> JobState {
    s.job(id).map(|j| j.state).expect("job exists")
}

fn notified(effects: &[Effect]) -> Vec<(String, JobState)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { job_id, state, .. } => Some((job_id.clone(), *state)),
            _ => None,
        })
        .collect()
}

#[test]
fn submits_wait_for_hello_then_list_goes_first() {
    let mut s = Scheduler::new(4);
    let fx = submit(&mut s, "a");
    assert!(sent(&fx).is_empty(), "nothing goes out before hello");
    assert_eq!(state(&s, "a"), JobState::Queued);
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert!(fx.iter().any(|e| matches!(e,
        Effect::CellState { state: JobState::Queued, cell_id: Some(c), .. } if c == "cell-a")));

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
    assert_eq!(submits(&s.set_cap(10, 4.0)), ["e"]);
    assert!(submits(&s.set_cap(1, 5.0)).is_empty());
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
                after: None
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
    assert_eq!(
        fx,
        [
            Effect::RowRemoved { job_id: "b".into() },
            Effect::RowRemoved { job_id: "c".into() }
        ]
    );
    assert_eq!(s.len(), 1);
    assert!(s.job("b").is_none());
    // Cleared ids may be used again.
    assert!(!submit(&mut s, "b").is_empty());
}

#[test]
fn duplicate_and_overlapping_outputs_are_dropped() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    let texts = |fx: &[Effect]| -> Vec<String> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Outputs { outputs, .. } => Some(outputs.clone()),
                _ => None,
            })
            .flatten()
            .map(|o| match o {
                Output::Stream(Stream { text, .. }) => text,
                other => format!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(
        texts(&s.receive(K, stdout("a", 0, &["0\n", "1\n"]), 1.0)),
        ["0\n", "1\n"]
    );
    assert!(texts(&s.receive(K, stdout("a", 0, &["0\n", "1\n"]), 1.0)).is_empty());
    assert!(texts(&s.receive(K, stdout("a", 1, &["1\n"]), 1.0)).is_empty());
    // Overlap: only the new part.
    assert_eq!(
        texts(&s.receive(K, stdout("a", 1, &["1\n", "2\n"]), 1.0)),
        ["2\n"]
    );
    assert_eq!(s.job("a").unwrap().next_seq, 3);
    // A gap is accepted (what was missed cannot be put back in order).
    assert_eq!(texts(&s.receive(K, stdout("a", 5, &["5\n"]), 1.0)), ["5\n"]);
    assert_eq!(s.job("a").unwrap().next_seq, 6);
    // Empty batches and absurd seqs neither panic nor emit.
    assert!(texts(&s.receive(K, stdout("a", 7, &[]), 1.0)).is_empty());
    assert_eq!(
        texts(&s.receive(K, stdout("a", u64::MAX, &["x", "y"]), 1.0)),
        ["x", "y"]
    );
    assert!(texts(&s.receive(K, stdout("a", u64::MAX, &["z"]), 1.0)).is_empty());
    let outputs = s.receive(K, stdout("a", 0, &["late\n"]), 1.0);
    assert!(texts(&outputs).is_empty());
}

#[test]
fn outputs_carry_the_cell_and_update_the_last_line() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    let fx = s.receive(K, stdout("a", 0, &["step 1\nstep", " 2"]), 1.0);
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    let Some(Effect::Outputs {
        job_id,
        kernel_id,
        notebook,
        cell_id,
        outputs,
    }) = fx.iter().find(|e| matches!(e, Effect::Outputs { .. }))
    else {
        panic!("no outputs effect in {fx:?}");
    };
    assert_eq!((job_id.as_str(), kernel_id.as_str()), ("a", K));
    assert_eq!(notebook.as_deref(), Some("nb.ipynb"));
    assert_eq!(cell_id.as_deref(), Some("cell-a"));
    assert_eq!(outputs.len(), 2);
    assert_eq!(s.job("a").unwrap().last_line.get(), "step 2");
    s.receive(K, stdout("a", 2, &["\r 50%", "\r 75%"]), 2.0);
    assert_eq!(s.job("a").unwrap().last_line.get(), " 75%");
    let fx = s.receive(
        K,
        KernelMsg::Output(Outputs {
            job_id: "a".into(),
            seq: 4,
            outputs: vec![Output::ClearOutput(ClearOutput { wait: false })],
        }),
        3.0,
    );
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert_eq!(s.job("a").unwrap().last_line.get(), "");
}

#[test]
fn finished_without_started_and_late_messages() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    // A SyntaxError: finished comes without started.
    let fx = s.receive(K, finished("a", JobState::Error), 1.0);
    assert_eq!(state(&s, "a"), JobState::Error);
    assert_eq!(notified(&fx), [("a".to_owned(), JobState::Error)]);
    // Late and duplicate messages change nothing.
    for msg in [
        started("a", 1),
        finished("a", JobState::Done),
        KernelMsg::Cancelling(Cancelling {
            job_id: "a".into(),
            reason: None,
        }),
    ] {
        let fx = s.receive(K, msg, 2.0);
        assert!(notified(&fx).is_empty());
        assert_eq!(state(&s, "a"), JobState::Error);
    }
    // Messages about unknown jobs do not panic and create nothing.
    assert!(s
        .receive(K, finished("ghost", JobState::Done), 3.0)
        .is_empty());
    assert!(s.receive(K, stdout("ghost", 0, &["x"]), 3.0).is_empty());
    assert!(s
        .receive(
            K,
            KernelMsg::Cancelling(Cancelling {
                job_id: "ghost".into(),
                reason: None
            }),
            3.0
        )
        .is_empty());
    assert_eq!(s.len(), 1);
}

#[test]
fn kernel_error_messages_are_problems() {
    let mut s = Scheduler::default();
    submit(&mut s, "a");
    let fx = s.receive(
        K,
        KernelMsg::Error(KernelError {
            message: "unknown job".into(),
            job_id: Some("a".into()),
        }),
        1.0,
    );
    match fx.as_slice() {
        [Effect::Problem { message }] => {
            assert!(message.contains("unknown job"));
            assert!(message.contains("print(\"a\")"), "names the job: {message}");
        }
        other => panic!("expected one problem, got {other:?}"),
    }
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
fn kernel_jobs_are_adopted() {
    let mut s = Scheduler::default();
    let fx = s.receive(
        K,
        KernelMsg::Started(Started {
            job_id: "k2".into(),
            num: 2,
            cell_id: None,
            notebook: None,
            started_at: 5.0,
            origin: Origin::Kernel,
        }),
        10.0,
    );
    assert!(fx.contains(&Effect::RowChanged {
        job_id: "k2".into()
    }));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::CellState { .. })),
        "no cell to mark"
    );
    let job = s.job("k2").unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.num, Some(2));
    assert_eq!(job.origin, Origin::Kernel);
    assert!(job.title.contains('2'), "{}", job.title);
    assert_eq!(s.goto_cell("k2"), None, "no cell to go to");
    // The same id from another kernel is a different job.
    s.receive(
        "k9",
        KernelMsg::Started(Started {
            job_id: "k2".into(),
            num: 7,
            cell_id: None,
            notebook: None,
            started_at: 5.0,
            origin: Origin::Kernel,
        }),
        10.0,
    );
    assert_eq!(s.len(), 2);
    assert_eq!(s.job("k9/k2").unwrap().num, Some(7));
    s.receive("k9", finished("k2", JobState::Done), 11.0);
    assert_eq!(state(&s, "k9/k2"), JobState::Done);
    assert_eq!(state(&s, "k2"), JobState::Running);
    // Killing an adopted job names it by the kernel's id.
    let fx = s.kill("k2", 12.0);
    assert_eq!(sent(&fx), [("kill", "k2".to_owned())]);
    let fx = s.kill("k9/k2", 12.0);
    assert!(sent(&fx).is_empty(), "already done");
    // Kernel jobs do not use the frontend's cap.
    let mut s = Scheduler::new(1);
    s.receive(K, hello(), 0.0);
    s.receive(
        K,
        KernelMsg::Started(Started {
            job_id: "k1".into(),
            num: 1,
            cell_id: None,
            notebook: None,
            started_at: 0.0,
            origin: Origin::Kernel,
        }),
        1.0,
    );
    assert_eq!(submits(&submit(&mut s, "a")), ["a"]);
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

fn info(id: &str, state: JobState, next_seq: u64, origin: Origin) -> JobInfo {
    JobInfo {
        job_id: id.into(),
        num: 1,
        cell_id: Some("c".into()),
        notebook: Some("nb.ipynb".into()),
        state,
        started_at: Some(100.0),
        ended_at: state.is_finished().then_some(200.0),
        next_seq,
        error: None,
        assigned: vec![],
        origin,
    }
}

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

#[test]
fn run_after_a_job() {
    let mut s = Scheduler::new(4);
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    let after = |s: &mut Scheduler, id: &str, dep: &str| {
        s.submit(
            Submit {
                job_id: id,
                kernel_id: K,
                notebook: "nb.ipynb",
                cell_id: "c",
                code: "y = x",
                after: Some(dep),
            },
            0.0,
        )
    };
    assert!(
        submits(&after(&mut s, "b", "a").unwrap()).is_empty(),
        "b waits for a"
    );
    assert!(after(&mut s, "z", "nope").is_err(), "unknown dependency");
    // Jobs without dependencies are not held up behind b.
    assert_eq!(submits(&submit(&mut s, "c")), ["c"]);
    assert_eq!(
        submits(&s.receive(K, finished("a", JobState::Done), 1.0)),
        ["b"]
    );
    // A failed dependency fails its dependents, transitively, without sending them.
    after(&mut s, "d", "b").unwrap();
    after(&mut s, "e", "d").unwrap();
    let fx = s.receive(K, finished("b", JobState::Error), 2.0);
    assert!(submits(&fx).is_empty());
    assert_eq!(state(&s, "d"), JobState::Error);
    assert_eq!(state(&s, "e"), JobState::Error);
    assert_eq!(
        s.job("d").unwrap().error.as_ref().unwrap().ename,
        "DependencyFailed"
    );
}
