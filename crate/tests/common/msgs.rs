//! Kernel messages and scheduler calls the native scheduler tests share.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit};

pub const K: &str = "kernel-1";

pub fn hello() -> KernelMsg {
    KernelMsg::Hello(Hello {
        protocol: 2,
        runtime: "0.1.0".into(),
        python: "3.11.7".into(),
        ipykernel: "7.4.0".into(),
        implementation: "ipython".into(),
    })
}

/// The head of a message about job `id`, number `num`, from cell `cell-{id}` of `nb.ipynb`.
pub fn head(id: &str, num: u64) -> JobHead {
    JobHead {
        job_id: id.into(),
        num,
        first_line: None,
        from: Provenance {
            cell_id: Some(format!("cell-{id}")),
            notebook: Some("nb.ipynb".into()),
            origin: Origin::Frontend,
        },
    }
}

/// The head of a job the kernel started from code: no cell, no notebook.
pub fn kernel_head(id: &str, num: u64) -> JobHead {
    JobHead {
        job_id: id.into(),
        num,
        first_line: None,
        from: Provenance {
            cell_id: None,
            notebook: None,
            origin: Origin::Kernel,
        },
    }
}

/// `started` of a thread job, not chained, at kernel time `at`.
pub fn thread_started(head: JobHead, at: f64) -> Started {
    Started {
        head,
        started_at: at,
        place: Place::default(),
        after: None,
        source_hash: None,
    }
}

pub fn started(id: &str, num: u64) -> KernelMsg {
    KernelMsg::Started(thread_started(head(id, num), 1.0))
}

/// The kernel took job `id` in line as number `num`, after job `after` if any.
pub fn queued(id: &str, num: u64, after: Option<&str>) -> KernelMsg {
    KernelMsg::Queued(Queued {
        head: head(id, num),
        after: after.map(str::to_owned),
        source_hash: None,
        target: Target::Thread,
    })
}

pub fn finished(id: &str, state: JobState) -> KernelMsg {
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

pub fn stdout(id: &str, seq: u64, texts: &[&str]) -> KernelMsg {
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

/// `["3", "4", …]` for seqs `from..to`.
pub fn seqs(from: u64, to: u64) -> Vec<String> {
    (from..to).map(|n| n.to_string()).collect()
}

/// A batch of stream outputs of job `id` whose texts are their seqs, `from..to`.
pub fn batch(id: &str, from: u64, to: u64) -> KernelMsg {
    let texts = seqs(from, to);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    stdout(id, from, &refs)
}

pub fn submit(s: &mut Scheduler, id: &str) -> Vec<Effect> {
    submit_to(s, id, K)
}

pub fn submit_to(s: &mut Scheduler, id: &str, kernel: &str) -> Vec<Effect> {
    let cell = format!("cell-{id}");
    s.submit(
        Submit {
            job_id: id,
            kernel_id: kernel,
            notebook: "nb.ipynb",
            cell_id: &cell,
            code: &format!("print({id:?})\nx = 1"),
            after: None,
            target: Target::Thread,
        },
        0.0,
    )
    .unwrap()
}

/// The messages sent, as `(kind, job_id)`.
pub fn sent(effects: &[Effect]) -> Vec<(&'static str, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { message, .. } => Some(match message {
                ClientMsg::Submit { job_id, .. } => ("submit", job_id.clone()),
                ClientMsg::Kill {
                    job_id,
                    restart_worker: false,
                } => ("kill", job_id.clone()),
                ClientMsg::Kill {
                    job_id,
                    restart_worker: true,
                } => ("restart_worker", job_id.clone()),
                ClientMsg::List => ("list", String::new()),
                ClientMsg::Replay { job_id, .. } => ("replay", job_id.clone()),
                ClientMsg::Configure { .. } => ("configure", String::new()),
                ClientMsg::Clear { job_ids } => ("clear", job_ids.join(",")),
                ClientMsg::Saved { job_ids } => ("saved", job_ids.join(",")),
                ClientMsg::Text { job_id } => ("text", job_id.clone()),
            }),
            _ => None,
        })
        .collect()
}

pub fn submits(effects: &[Effect]) -> Vec<String> {
    sent(effects)
        .into_iter()
        .filter(|(k, _)| *k == "submit")
        .map(|(_, id)| id)
        .collect()
}

pub fn state(s: &Scheduler, id: &str) -> JobState {
    s.job(id).map(|j| j.state).expect("job exists")
}

pub fn notified(effects: &[Effect]) -> Vec<(String, JobState)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { job_id, state, .. } => Some((job_id.clone(), *state)),
            _ => None,
        })
        .collect()
}

pub fn info(id: &str, state: JobState, next_seq: u64, origin: Origin) -> JobInfo {
    let mut head = head(id, 1);
    head.from.cell_id = Some("c".into());
    head.from.origin = origin;
    JobInfo {
        head,
        state,
        started_at: Some(100.0),
        ended_at: state.is_finished().then_some(200.0),
        next_seq,
        error: None,
        assigned: vec![],
        place: Place::default(),
        after: None,
        source_hash: None,
        superseded: false,
        log_trimmed: None,
        threads: 0,
        conflicts: vec![],
    }
}

/// The texts of every output effect, in order (other outputs as their debug form).
pub fn texts(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
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
}

/// Submit job `id` to run after job `dep`.
pub fn submit_after(
    s: &mut Scheduler,
    id: &str,
    dep: &str,
) -> parallel_cell_core::error::Result<Vec<Effect>> {
    s.submit(
        Submit {
            job_id: id,
            kernel_id: K,
            notebook: "nb.ipynb",
            cell_id: "c",
            code: "y = x",
            after: Some(dep),
            target: Target::Thread,
        },
        0.0,
    )
}
