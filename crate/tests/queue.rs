//! The kernel owns the queue (protocol 2), natively: dependencies sent to the kernel and
//! ended by it, kill all, clearing here and in the kernel, trimmed logs, cells found under
//! new ids, what a queued row waits for, the source hash.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{source_hash, Effect, Scheduler, Title, Waiting};

mod common;
use common::msgs::*;

fn ready() -> Scheduler {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![] }), 0.0);
    s
}

fn submit_message(effects: &[Effect]) -> ClientMsg {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Send {
                message: m @ ClientMsg::Submit { .. },
                ..
            } => Some(m.clone()),
            _ => None,
        })
        .expect("a submit went out")
}

fn clears(effects: &[Effect]) -> Vec<(String, Vec<String>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                kernel_id,
                message: ClientMsg::Clear { job_ids },
            } => Some((kernel_id.clone(), job_ids.clone())),
            _ => None,
        })
        .collect()
}

fn dependency_failed(id: &str) -> KernelMsg {
    KernelMsg::Finished(Finished {
        job_id: id.into(),
        state: JobState::Error,
        ended_at: 3.0,
        error: Some(ErrorInfo {
            ename: "DependencyFailed".into(),
            evalue: "job 1 ended with error: this cell did not run".into(),
            traceback: vec![],
        }),
        assigned: vec![],
    })
}

#[test]
fn source_hash_is_fnv1a_64_in_hex() {
    assert_eq!(source_hash(""), "cbf29ce484222325");
    assert_eq!(source_hash("a"), "af63dc4c8601ec8c");
    assert_eq!(source_hash("foobar"), "85944171f73967e8");
    assert!(is_valid_id(&source_hash("print('é')")));
}

#[test]
fn a_job_after_another_goes_at_once_and_the_kernel_ends_it() {
    let mut s = ready();
    submit(&mut s, "a");
    let fx = submit_after(&mut s, "b", "a").unwrap();
    match submit_message(&fx) {
        ClientMsg::Submit {
            job_id,
            after,
            source_hash: hash,
            ..
        } => {
            assert_eq!(job_id, "b");
            assert_eq!(after.as_deref(), Some("a"));
            assert_eq!(hash, Some(source_hash("y = x")));
        }
        other => panic!("{other:?}"),
    }
    submit_after(&mut s, "c", "b").unwrap();
    assert!(
        submit_after(&mut s, "z", "nope").is_err(),
        "unknown dependency"
    );
    submit_to(&mut s, "other", "kernel-2");
    assert!(
        submit_after(&mut s, "g", "other").is_err(),
        "another kernel's job"
    );
    // a fails: the page does not fail b and c itself; the kernel does.
    let fx = s.receive(K, finished("a", JobState::Error), 2.0);
    assert_eq!(notified(&fx), [("a".to_owned(), JobState::Error)]);
    assert_eq!(state(&s, "b"), JobState::Queued);
    let fx = s.receive(K, dependency_failed("b"), 3.0);
    assert_eq!(notified(&fx), [("b".to_owned(), JobState::Error)]);
    assert_eq!(state(&s, "c"), JobState::Queued);
    s.receive(K, dependency_failed("c"), 3.0);
    let err = s.job("c").unwrap().error.clone().unwrap();
    assert_eq!(err.ename, "DependencyFailed");
    // After a job that the kernel had and that failed: sent, the kernel decides.
    assert_eq!(submits(&submit_after(&mut s, "f", "a").unwrap()), ["f"]);
}

#[test]
fn after_an_adopted_job_names_it_by_the_kernels_id() {
    let mut s = ready();
    submit(&mut s, "k2"); // this page's job takes the key "k2"
    let mut other = started("k2", 7);
    if let KernelMsg::Started(st) = &mut other {
        st.head.from.origin = Origin::Kernel;
    }
    s.receive("k9", hello(), 0.0);
    s.receive("k9", other, 1.0);
    assert!(s.job("k9/k2").is_some());
    let fx = s
        .submit(
            parallel_cell_core::scheduler::Submit {
                job_id: "then",
                kernel_id: "k9",
                notebook: "nb.ipynb",
                cell_id: "c",
                code: "1",
                after: Some("k9/k2"),
                target: Target::Thread,
            },
            2.0,
        )
        .unwrap();
    match submit_message(&fx) {
        ClientMsg::Submit { after, .. } => assert_eq!(after.as_deref(), Some("k2")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn kill_all_includes_queued_jobs() {
    let mut s = Scheduler::new();
    submit_to(&mut s, "unsent", "k2");
    s.receive(K, hello(), 0.0);
    for id in ["a", "b", "c"] {
        submit(&mut s, id);
    }
    s.receive(K, started("a", 1), 1.0);
    s.receive(K, queued("b", 2, None), 1.0);
    let fx = s.kill_all(2.0);
    assert_eq!(
        sent(&fx),
        [
            ("kill", "a".to_owned()),
            ("kill", "b".to_owned()),
            ("kill", "c".to_owned())
        ]
    );
    for id in ["a", "b", "c"] {
        assert_eq!(state(&s, id), JobState::Cancelling);
    }
    assert_eq!(
        state(&s, "unsent"),
        JobState::Killed,
        "never sent: ends here"
    );
}

#[test]
fn clear_sends_clear_per_kernel_and_cleared_drops_rows() {
    let mut s = ready();
    s.receive("k2", hello(), 0.0);
    submit(&mut s, "a");
    submit(&mut s, "b");
    submit_to(&mut s, "c", "k2");
    submit(&mut s, "running");
    submit_to(&mut s, "unsent", "k3");
    s.kill("unsent", 0.5);
    for (k, id) in [(K, "a"), (K, "b"), ("k2", "c")] {
        s.receive(k, finished(id, JobState::Done), 1.0);
    }
    // A job lost in the kernel's answer: the kernel does not have it.
    submit(&mut s, "gone");
    s.receive(K, hello(), 1.5);
    s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![info("running", JobState::Running, 0, Origin::Frontend)],
        }),
        1.6,
    );
    assert_eq!(state(&s, "gone"), JobState::Lost);
    let fx = s.clear_finished();
    assert_eq!(
        clears(&fx),
        [
            (K.to_owned(), vec!["a".to_owned(), "b".to_owned()]),
            ("k2".to_owned(), vec!["c".to_owned()])
        ],
        "only what each kernel has, and only ended jobs"
    );
    for id in ["a", "b", "c", "unsent", "gone"] {
        assert!(s.job(id).is_none(), "{id} stays");
        assert!(fx.contains(&Effect::RowRemoved { job_id: id.into() }));
    }
    assert_eq!(s.len(), 1);
    // Another page cleared, or `jobs.flush()` ran: the rows go here too, as a clear here.
    submit(&mut s, "d");
    s.receive(K, finished("d", JobState::Done), 2.0);
    submit_to(&mut s, "d2", "k2");
    let cleared = |ids: &[&str]| {
        KernelMsg::Cleared(Cleared {
            job_ids: ids.iter().map(|i| (*i).to_owned()).collect(),
        })
    };
    let fx = s.receive(K, cleared(&["d", "d2", "nope"]), 3.0);
    assert!(fx.contains(&Effect::CellState {
        job_id: "d".into(),
        notebook: Some("nb.ipynb".into()),
        cell_id: Some("cell-d".into()),
        state: None
    }));
    assert!(fx.contains(&Effect::RowRemoved { job_id: "d".into() }));
    assert!(s.job("d").is_none());
    assert!(s.job("d2").is_some(), "another kernel's job of that id");
    assert_eq!(s.jobs().count(), s.len(), "the order follows");
    // Nothing left to clear: nothing is sent.
    assert!(s.receive(K, cleared(&["d"]), 4.0).is_empty());
}

#[test]
fn clear_sends_at_most_10000_ids_a_message() {
    let mut s = ready();
    for i in 0..10_001 {
        let id = format!("j{i}");
        submit(&mut s, &id);
        s.receive(K, finished(&id, JobState::Done), 1.0);
    }
    let fx = s.clear_finished();
    let sizes: Vec<usize> = clears(&fx).iter().map(|(_, ids)| ids.len()).collect();
    assert_eq!(sizes, [MAX_CLEAR, 1]);
    assert!(s.is_empty());
}

#[test]
fn log_trimmed_is_kept_for_the_row() {
    let mut s = ready();
    submit(&mut s, "a");
    s.receive(K, finished("a", JobState::Done), 1.0);
    let msg = KernelMsg::LogTrimmed(LogTrimmed {
        job_id: "a".into(),
        reason: "freed <b>oldest</b> first".into(),
    });
    let fx = s.receive(K, msg.clone(), 2.0);
    assert_eq!(fx, [Effect::RowChanged { job_id: "a".into() }]);
    assert_eq!(
        s.job("a").unwrap().log_trimmed.as_deref(),
        Some("freed <b>oldest</b> first")
    );
    assert!(s.receive(K, msg, 3.0).is_empty(), "said once");
    let ghost = KernelMsg::LogTrimmed(LogTrimmed {
        job_id: "ghost".into(),
        reason: "x".into(),
    });
    assert!(s.receive(K, ghost, 3.0).is_empty());
}

#[test]
fn rebind_cell_redirects_later_effects() {
    let mut s = ready();
    submit(&mut s, "a");
    let fx = s.rebind_cell("a", "new-cell").unwrap();
    assert!(fx.contains(&Effect::CellState {
        job_id: "a".into(),
        notebook: Some("nb.ipynb".into()),
        cell_id: Some("new-cell".into()),
        state: Some(JobState::Queued)
    }));
    let fx = s.receive(K, stdout("a", 0, &["x"]), 1.0);
    let cell = fx.iter().find_map(|e| match e {
        Effect::Outputs { cell_id, .. } => cell_id.clone(),
        _ => None,
    });
    assert_eq!(cell.as_deref(), Some("new-cell"));
    assert_eq!(
        s.goto_cell("a"),
        Some(Effect::GotoCell {
            notebook: Some("nb.ipynb".into()),
            cell_id: Some("new-cell".into())
        })
    );
    let fx = s.receive(K, finished("a", JobState::Done), 2.0);
    assert!(fx.iter().any(|e| matches!(e,
        Effect::Notify { cell_id: Some(c), .. } if c == "new-cell")));
    // The same id again changes nothing; a bad id is refused; an unknown job is ignored.
    assert!(s.rebind_cell("a", "new-cell").unwrap().is_empty());
    assert!(s.rebind_cell("a", "<img src=x>").is_err());
    assert!(s.rebind_cell("a", "").is_err());
    assert!(s.rebind_cell("nope", "c").unwrap().is_empty());
    // A job adopted without a cell gets one.
    s.receive(K, started("k", 3), 3.0);
    s.rebind_cell("k", "cell-k").unwrap();
    assert!(s.goto_cell("k").is_some());
}

#[test]
fn cell_note_is_kept_for_the_row() {
    let mut s = ready();
    submit(&mut s, "a");
    let note = Some("its cell was not found; its output stays here".to_owned());
    assert_eq!(
        s.set_cell_note("a", note.clone()),
        [Effect::RowChanged { job_id: "a".into() }]
    );
    assert_eq!(s.job("a").unwrap().cell_note, note);
    assert!(s.set_cell_note("a", note).is_empty(), "unchanged");
    assert_eq!(s.set_cell_note("a", None).len(), 1);
    assert!(s.set_cell_note("nope", Some("x".into())).is_empty());
}

#[test]
fn what_a_queued_job_waits_for() {
    let mut s = ready();
    submit(&mut s, "a");
    submit_after(&mut s, "b", "a").unwrap();
    let waiting = |s: &Scheduler, id: &str| s.waiting(s.job(id).unwrap()).map(|w| format!("{w:?}"));
    assert_eq!(
        s.waiting(s.job("b").unwrap()),
        Some(Waiting::Job {
            num: None,
            title: &Title::Code("print(\"a\")".into())
        })
    );
    assert_eq!(waiting(&s, "a"), Some(format!("{:?}", Waiting::Slot)));
    // a's number arrives: b's row is redrawn to say it.
    let fx = s.receive(K, queued("a", 4, None), 1.0);
    assert!(fx.contains(&Effect::RowChanged { job_id: "b".into() }));
    assert!(matches!(
        s.waiting(s.job("b").unwrap()),
        Some(Waiting::Job { num: Some(4), .. })
    ));
    s.receive(K, started("a", 4), 2.0);
    assert_eq!(waiting(&s, "a"), None, "running");
    // a ends well: b waits for a slot now, and its row says so.
    let fx = s.receive(K, finished("a", JobState::Done), 3.0);
    assert!(fx.contains(&Effect::RowChanged { job_id: "b".into() }));
    assert_eq!(waiting(&s, "b"), Some(format!("{:?}", Waiting::Slot)));
    // A job adopted from the kernel, after a job this page does not know.
    s.receive(K, queued("q", 9, Some("elsewhere")), 4.0);
    assert_eq!(s.job("q").unwrap().after.as_deref(), Some("elsewhere"));
    assert_eq!(waiting(&s, "q"), Some(format!("{:?}", Waiting::OtherJob)));
}
