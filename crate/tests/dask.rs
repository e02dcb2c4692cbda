//! Dask jobs in the scheduler, natively: sent at once, `queued` until a worker has the
//! task, kill and the confirmed worker restart, and reconciling after a reload.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit};

mod common;
use common::msgs::*;

const DASHBOARD: &str = "http://127.0.0.1:8787/status";
const WORKER: &str = "tcp://127.0.0.1:40123";

fn submit_dask(s: &mut Scheduler, id: &str) -> Vec<Effect> {
    let cell = format!("cell-{id}");
    s.submit(
        Submit {
            job_id: id,
            kernel_id: K,
            notebook: "nb.ipynb",
            cell_id: &cell,
            code: "total = sum(range(10**7))",
            after: None,
            target: Target::Dask,
        },
        0.0,
    )
    .unwrap()
}

fn started_dask(id: &str, worker: Option<&str>) -> KernelMsg {
    KernelMsg::Started(Started {
        place: Place {
            target: Target::Dask,
            worker: worker.map(str::to_owned),
            dashboard: Some(DASHBOARD.into()),
        },
        ..thread_started(head(id, 1), 50.0)
    })
}

fn placed(id: &str, at: f64) -> KernelMsg {
    KernelMsg::Placed(Placed {
        job_id: id.into(),
        worker: WORKER.into(),
        started_at: at,
    })
}

/// A scheduler with a ready kernel (its `list` answered).
fn ready() -> Scheduler {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![] }), 0.0);
    s
}

fn submit_targets(effects: &[Effect]) -> Vec<(String, Target)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                message: ClientMsg::Submit { job_id, target, .. },
                ..
            } => Some((job_id.clone(), *target)),
            _ => None,
        })
        .collect()
}

#[test]
fn dask_and_thread_jobs_all_go_at_once() {
    let mut s = ready();
    assert_eq!(submits(&submit(&mut s, "t1")), ["t1"]);
    assert_eq!(submits(&submit(&mut s, "t2")), ["t2"]);
    for id in ["d1", "d2", "d3"] {
        assert_eq!(
            submit_targets(&submit_dask(&mut s, id)),
            [(id.to_owned(), Target::Dask)]
        );
    }
    s.receive(K, started_dask("d1", Some(WORKER)), 1.0);
    assert!(submits(&s.receive(K, finished("t1", JobState::Done), 2.0)).is_empty());
    assert!(submits(&s.receive(K, finished("d1", JobState::Done), 3.0)).is_empty());
}

#[test]
fn dask_jobs_wait_for_hello_only() {
    let mut s = Scheduler::new();
    assert!(
        submits(&submit_dask(&mut s, "d")).is_empty(),
        "no hello yet"
    );
    let fx = s.receive(K, hello(), 0.0);
    assert_eq!(submits(&fx), ["d"]);
    submit(&mut s, "t");
    let after = s
        .submit(
            Submit {
                job_id: "d2",
                kernel_id: K,
                notebook: "nb.ipynb",
                cell_id: "c",
                code: "y = x",
                after: Some("t"),
                target: Target::Dask,
            },
            0.0,
        )
        .unwrap();
    assert_eq!(
        submits(&after),
        ["d2"],
        "the kernel holds it until t has ended"
    );
    // Queued in the kernel after t: no worker yet, and its row says what it waits for.
    s.receive(K, queued("d2", 3, Some("t")), 0.5);
    assert_eq!(state(&s, "d2"), JobState::Queued);
    assert!(matches!(
        s.waiting(s.job("d2").unwrap()),
        Some(parallel_cell_core::scheduler::Waiting::Job { .. })
    ));
    s.receive(K, started("t", 2), 1.0);
    s.receive(K, finished("t", JobState::Done), 2.0);
    assert_eq!(
        s.waiting(s.job("d2").unwrap()),
        None,
        "a Dask job waiting for a worker says so where it runs"
    );
}

#[test]
fn a_dask_job_is_queued_until_a_worker_has_it() {
    let mut s = ready();
    submit_dask(&mut s, "d");
    assert_eq!(state(&s, "d"), JobState::Queued);
    let job = s.job("d").unwrap();
    assert!(job.sent);
    assert_eq!(job.place.target, Target::Dask);
    // Accepted by the kernel, waiting on the cluster.
    s.receive(K, started_dask("d", None), 100.0);
    let job = s.job("d").unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.num, Some(1));
    assert_eq!(job.place.worker, None);
    assert_eq!(job.place.dashboard.as_deref(), Some(DASHBOARD));
    assert_eq!(job.elapsed_ms(500.0), None, "no clock while it waits");
    // A worker took it: running on that worker, the clock from the task's start.
    let fx = s.receive(K, placed("d", 400.0), 500.0);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::RowChanged { job_id } if job_id == "d")));
    let job = s.job("d").unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.place.worker.as_deref(), Some(WORKER));
    assert_eq!(job.elapsed_ms(1_000.0), Some(600.0));
    // Idempotent: a duplicate `placed` or a late `started` changes nothing.
    s.receive(K, placed("d", 450.0), 600.0);
    s.receive(K, started_dask("d", None), 700.0);
    let job = s.job("d").unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.elapsed_ms(1_000.0), Some(600.0));
    s.receive(K, finished("d", JobState::Done), 800.0);
    s.receive(K, placed("d", 900.0), 900.0);
    assert_eq!(state(&s, "d"), JobState::Done, "a late placed");
}

#[test]
fn started_with_a_worker_runs_at_once() {
    let mut s = ready();
    submit_dask(&mut s, "d");
    s.receive(K, started_dask("d", Some(WORKER)), 100.0);
    let job = s.job("d").unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.place.worker.as_deref(), Some(WORKER));
    assert_eq!(job.elapsed_ms(100.0), Some(50.0));
    // A placed for a thread job is not believed.
    submit(&mut s, "t");
    s.receive(K, placed("t", 1.0), 2.0);
    assert_eq!(s.job("t").unwrap().place.worker, None);
    assert_eq!(state(&s, "t"), JobState::Queued);
}

#[test]
fn kernel_dask_jobs_are_adopted_from_started() {
    let mut s = ready();
    let mut msg = started_dask("k7", None);
    if let KernelMsg::Started(st) = &mut msg {
        st.head.from.origin = Origin::Kernel;
        st.head.from.cell_id = None;
        st.head.from.notebook = None;
    }
    s.receive(K, msg, 100.0);
    let job = s.job("k7").unwrap();
    assert_eq!(
        (job.state, job.place.target, job.clocks.started_at),
        (JobState::Queued, Target::Dask, None)
    );
    assert_eq!(submits(&submit(&mut s, "t")), ["t"], "it took no slot");
    s.receive(K, placed("k7", 90.0), 100.0);
    assert_eq!(state(&s, "k7"), JobState::Running);
}

#[test]
fn kill_a_queued_dask_job_sends_kill() {
    let mut s = ready();
    submit_dask(&mut s, "d");
    s.receive(K, started_dask("d", None), 1.0);
    let fx = s.kill("d", 2.0);
    assert_eq!(sent(&fx), [("kill", "d".to_owned())]);
    assert_eq!(state(&s, "d"), JobState::Cancelling);
    // No worker yet: asking again asks the kernel again, no restart to confirm.
    let fx = s.kill("d", 3.0);
    assert_eq!(sent(&fx), [("kill", "d".to_owned())]);
    s.receive(K, finished("d", JobState::Killed), 4.0);
    assert_eq!(state(&s, "d"), JobState::Killed);
    // Never sent (no hello yet): it ends here.
    let mut s = Scheduler::default();
    submit_dask(&mut s, "u");
    assert!(sent(&s.kill("u", 1.0)).is_empty());
    assert_eq!(state(&s, "u"), JobState::Killed);
}

#[test]
fn a_second_kill_while_cancelling_on_a_worker_asks_to_restart_it() {
    let mut s = ready();
    submit_dask(&mut s, "d");
    s.receive(K, placed("d", 1.0), 1.0);
    assert_eq!(sent(&s.kill("d", 2.0)), [("kill", "d".to_owned())]);
    assert_eq!(state(&s, "d"), JobState::Cancelling);
    let fx = s.kill("d", 3.0);
    assert!(
        sent(&fx).is_empty(),
        "nothing goes out before the person says so"
    );
    assert_eq!(
        fx,
        [Effect::ConfirmRestart {
            job_id: "d".into(),
            worker: WORKER.into()
        }]
    );
    let json = serde_json::to_value(&fx[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "confirm_restart", "job_id": "d", "worker": WORKER})
    );
    // Kill all never restarts a worker, and does not ask.
    assert!(s.kill_all(4.0).is_empty());
    // The person said yes.
    let fx = s.restart_worker("d");
    assert_eq!(sent(&fx), [("restart_worker", "d".to_owned())]);
    let Effect::Send { message, kernel_id } = &fx[0] else {
        panic!("{fx:?}");
    };
    assert_eq!(kernel_id, K);
    assert_eq!(
        serde_json::to_value(message).unwrap(),
        serde_json::json!({"type": "kill", "job_id": "d", "restart_worker": true})
    );
    s.receive(K, finished("d", JobState::Killed), 5.0);
    assert!(s.restart_worker("d").is_empty(), "it ended");
}

#[test]
fn restart_worker_is_only_for_a_dask_job_cancelling_on_a_worker() {
    let mut s = ready();
    submit(&mut s, "t");
    s.receive(K, started("t", 1), 1.0);
    s.kill("t", 2.0);
    assert!(s.restart_worker("t").is_empty(), "a thread job");
    assert_eq!(
        sent(&s.kill("t", 3.0)),
        [("kill", "t".to_owned())],
        "a thread job's second kill escalates in the kernel"
    );
    submit_dask(&mut s, "q");
    s.kill("q", 4.0);
    assert!(
        s.restart_worker("q").is_empty(),
        "cancelling, but on no worker"
    );
    submit_dask(&mut s, "r");
    s.receive(K, placed("r", 1.0), 1.0);
    assert!(s.restart_worker("r").is_empty(), "running, not cancelling");
    assert!(s.restart_worker("nope").is_empty(), "unknown");
}

#[test]
fn reconcile_keeps_target_worker_and_dashboard() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    let dask = |id: &str, state: JobState, worker: Option<&str>| JobInfo {
        place: Place {
            target: Target::Dask,
            worker: worker.map(str::to_owned),
            dashboard: Some(DASHBOARD.into()),
        },
        started_at: worker.map(|_| 100.0),
        ..info(id, state, 0, Origin::Frontend)
    };
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![
                dask("q", JobState::Queued, None),
                dask("r", JobState::Running, Some(WORKER)),
            ],
        }),
        1_000.0,
    );
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::Adopted { .. }))
            .count(),
        2
    );
    let q = s.job("q").unwrap();
    assert_eq!(
        (
            q.state,
            q.place.target,
            q.place.worker.as_deref(),
            q.place.dashboard.as_deref()
        ),
        (JobState::Queued, Target::Dask, None, Some(DASHBOARD))
    );
    let r = s.job("r").unwrap();
    assert_eq!(
        (r.state, r.place.target, r.place.worker.as_deref()),
        (JobState::Running, Target::Dask, Some(WORKER))
    );
    assert_eq!(r.elapsed_ms(1_000.0), Some(900.0));
    assert_eq!(submits(&submit(&mut s, "t")), ["t"]);
    // The queued one is placed later, as if it had never been away.
    s.receive(K, placed("q", 1_100.0), 1_200.0);
    assert_eq!(state(&s, "q"), JobState::Running);
    // A job this page sent and knows: the kernel's answer fills in worker and dashboard.
    let mut s = ready();
    submit_dask(&mut s, "d");
    s.receive(K, hello(), 0.0);
    s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![dask("d", JobState::Running, Some(WORKER))],
        }),
        500.0,
    );
    let d = s.job("d").unwrap();
    assert_eq!(d.state, JobState::Running);
    assert_eq!(d.place.worker.as_deref(), Some(WORKER));
    assert_eq!(d.place.dashboard.as_deref(), Some(DASHBOARD));
    assert_eq!(d.elapsed_ms(500.0), Some(400.0), "from the kernel's start");
}

#[test]
fn submit_writes_target_only_for_dask() {
    let message = |fx: Vec<Effect>| {
        fx.into_iter()
            .find_map(|e| match e {
                Effect::Send { message, .. } => serde_json::to_value(message).ok(),
                _ => None,
            })
            .expect("a submit went out")
    };
    let mut s = ready();
    assert!(message(submit(&mut s, "t")).get("target").is_none());
    assert_eq!(message(submit_dask(&mut s, "d"))["target"], "dask");
}
