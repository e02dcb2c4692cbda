//! What the kernel says, natively: outputs in order and once, late, duplicate and
//! out-of-order messages, kernel `error`s, jobs the kernel started.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, Title, MAX_TITLE};

mod common;
use common::msgs::*;

#[test]
fn duplicate_and_overlapping_outputs_are_dropped() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
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
    // A gap: the missing outputs are asked for again and the batch after it is held…
    assert!(texts(&s.receive(K, stdout("a", 5, &["5\n"]), 1.0)).is_empty());
    // …until the kernel's replay fills it: everything once, in order.
    assert_eq!(
        texts(&s.receive(K, stdout("a", 3, &["3\n", "4\n", "5\n"]), 1.0)),
        ["3\n", "4\n", "5\n"]
    );
    assert_eq!(s.job("a").unwrap().next_seq, 6);
    // Empty batches and absurd seqs neither panic nor emit.
    assert!(texts(&s.receive(K, stdout("a", 7, &[]), 1.0)).is_empty());
    assert!(texts(&s.receive(K, stdout("a", u64::MAX, &["x", "y"]), 1.0)).is_empty());
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
        from,
        next_seq,
    }) = fx.iter().find(|e| matches!(e, Effect::Outputs { .. }))
    else {
        panic!("no outputs effect in {fx:?}");
    };
    assert_eq!((job_id.as_str(), kernel_id.as_str()), ("a", K));
    assert_eq!(notebook.as_deref(), Some("nb.ipynb"));
    assert_eq!(cell_id.as_deref(), Some("cell-a"));
    assert_eq!(outputs.len(), 2);
    assert_eq!(
        (*from, *next_seq),
        (0, 2),
        "follows on from 0; up to date until 2"
    );
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
fn kernel_jobs_are_adopted() {
    let mut s = Scheduler::default();
    let fx = s.receive(
        K,
        KernelMsg::Started(thread_started(kernel_head("k2", 2), 5.0)),
        10.0,
    );
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::CellState { .. })),
        "no cell to mark (its row is drawn by the panel's flush)"
    );
    let job = s.job("k2").unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.num, Some(2));
    assert_eq!(job.from.origin, Origin::Kernel);
    assert_eq!(job.title, Title::Numbered(2, Origin::Kernel));
    assert_eq!(s.goto_cell("k2"), None, "no cell to go to");
    // The same id from another kernel is a different job.
    s.receive(
        "k9",
        KernelMsg::Started(thread_started(kernel_head("k2", 7), 5.0)),
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
}

#[test]
fn an_adopted_job_is_named_by_the_kernel_s_line_of_its_code() {
    // A reloaded page, a second tab: the code's first line, as the kernel gives it.
    let mut s = Scheduler::default();
    let mut named = head("a", 3);
    named.first_line = Some("  df = load('<b>pages</b>.csv')  ".into());
    s.receive(K, KernelMsg::Started(thread_started(named, 5.0)), 10.0);
    assert_eq!(
        s.job("a").unwrap().title,
        Title::Code("df = load('<b>pages</b>.csv')".into())
    );
    // A long line is shortened as the page's own titles are; none: the number.
    let mut long = head("b", 4);
    long.first_line = Some("x".repeat(500));
    s.receive(K, KernelMsg::Started(thread_started(long, 5.0)), 10.0);
    let Title::Code(line) = &s.job("b").unwrap().title else {
        panic!("a line of code")
    };
    assert_eq!(line.chars().count(), MAX_TITLE + 1, "{line}");
    assert!(line.ends_with('…'));
    s.receive(
        K,
        KernelMsg::Started(thread_started(head("c", 5), 5.0)),
        10.0,
    );
    assert_eq!(
        s.job("c").unwrap().title,
        Title::Numbered(5, Origin::Frontend)
    );
}

fn kernel_started(id: &str) -> KernelMsg {
    KernelMsg::Started(thread_started(kernel_head(id, 1), 0.0))
}

#[test]
fn jobs_queued_in_the_kernel_are_adopted() {
    // Another tab's job, or `%job` while the kernel's cap is full: the kernel says
    // `queued`; the page adopts it as queued, after the job it waits for.
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    s.receive(K, kernel_started("k1"), 1.0);
    let mut q = queued("other", 2, Some("k1"));
    if let KernelMsg::Queued(m) = &mut q {
        m.source_hash = Some("0b1c2d3e4f5a6b7c".into());
    }
    let fx = s.receive(K, q, 1.5);
    assert!(
        fx.iter().any(|e| matches!(e,
            Effect::CellState { state: Some(JobState::Queued), cell_id: Some(c), .. } if c == "cell-other")),
        "{fx:?}"
    );
    let job = s.job("other").unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!((job.num, job.after.as_deref()), (Some(2), Some("k1")));
    assert_eq!(job.source_hash.as_deref(), Some("0b1c2d3e4f5a6b7c"));
    assert_eq!(job.title, Title::Numbered(2, Origin::Frontend));
    assert!(job.sent, "the kernel has it: a kill goes to the kernel");
    assert_eq!(job.clocks.started_at, None);
    s.receive(K, finished("k1", JobState::Done), 2.0);
    s.receive(K, started("other", 2), 3.0);
    assert_eq!(state(&s, "other"), JobState::Running);
    assert_eq!(sent(&s.kill("other", 4.0)), [("kill", "other".to_owned())]);
}

#[test]
fn a_renamed_notebook_is_named_in_its_jobs_later_effects() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    submit_to(&mut s, "b", "other-kernel");
    let fx = s.rename_notebook("nb.ipynb", "analysis.ipynb");
    assert!(
        fx.contains(&Effect::RowChanged { job_id: "a".into() }),
        "{fx:?}"
    );
    assert_eq!(fx.len(), 2, "each of its jobs once: {fx:?}");
    let fx = s.receive(K, stdout("a", 0, &["x\n"]), 1.0);
    let notebooks: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Outputs { notebook, .. } | Effect::CellState { notebook, .. } => {
                Some(notebook.as_deref())
            }
            _ => None,
        })
        .collect();
    assert!(!notebooks.is_empty());
    assert!(
        notebooks.iter().all(|n| *n == Some("analysis.ipynb")),
        "{notebooks:?}"
    );
    // Another name's jobs, and a rename to the same name, change nothing.
    assert!(s.rename_notebook("other.ipynb", "x.ipynb").is_empty());
    assert!(s
        .rename_notebook("analysis.ipynb", "analysis.ipynb")
        .is_empty());
}

#[test]
fn a_bogus_seq_holds_up_none_of_the_jobs_later_outputs() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    s.receive(K, started("a", 1), 0.5);
    assert_eq!(texts(&s.receive(K, stdout("a", 0, &["0\n"]), 1.0)), ["0\n"]);
    // A seq far past the job's outputs (a kernel's bug): held, and what is missing before
    // it asked for again from the seq the cell has reached.
    let fx = s.receive(K, stdout("a", u64::MAX - 1, &["bogus\n"]), 1.0);
    assert!(texts(&fx).is_empty());
    assert_eq!(sent(&fx), [("replay", "a".to_owned())]);
    // The job's real outputs go on into the cell at once, in order, each once; the
    // kernel's answer to the replay adds nothing twice.
    assert_eq!(texts(&s.receive(K, stdout("a", 1, &["1\n"]), 2.0)), ["1\n"]);
    assert_eq!(
        texts(&s.receive(K, stdout("a", 2, &["2\n", "3\n"]), 2.0)),
        ["2\n", "3\n"]
    );
    assert!(texts(&s.receive(K, stdout("a", 1, &["1\n", "2\n", "3\n"]), 3.0)).is_empty());
    assert_eq!(s.job("a").unwrap().next_seq, 4);
    assert_eq!(s.job("a").unwrap().last_line.get(), "3");
    s.receive(K, finished("a", JobState::Done), 4.0);
    assert_eq!(state(&s, "a"), JobState::Done);
}
