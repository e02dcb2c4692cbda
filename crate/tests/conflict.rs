//! Name conflicts: the kernel's `conflict` marks the rows of the jobs concerned and
//! asks once for a warning; `jobs` carries the marks to a page that comes back.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler};

mod common;
use common::msgs::*;

fn conflict(id: &str, names: &[&str], by: Option<&str>) -> KernelMsg {
    KernelMsg::Conflict(Conflict {
        job_id: id.into(),
        names: names.iter().map(|n| n.to_string()).collect(),
        by: by.map(str::to_owned),
    })
}

fn warnings(fx: &[Effect]) -> Vec<(String, Vec<String>, Option<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Conflict {
                job_id, names, by, ..
            } => Some((job_id.clone(), names.clone(), by.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_foreground_rebind_marks_the_job_and_warns_once() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    s.receive(K, started("a", 1), 1.0);
    let fx = s.receive(K, conflict("a", &["acc_pages"], None), 2.0);
    assert_eq!(
        warnings(&fx),
        [("a".to_owned(), vec!["acc_pages".to_owned()], None)]
    );
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert_eq!(s.job("a").unwrap().conflicts, ["acc_pages"]);
    // The same names again: the person is told again (a new rebind), the row unchanged.
    let fx = s.receive(K, conflict("a", &["acc_pages"], None), 3.0);
    assert_eq!(warnings(&fx).len(), 1);
    assert!(!fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    // New names join the old ones.
    s.receive(K, conflict("a", &["model", "acc_pages"], None), 4.0);
    assert_eq!(s.job("a").unwrap().conflicts, ["acc_pages", "model"]);
}

#[test]
fn a_job_that_steps_on_another_is_marked_too() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    submit(&mut s, "b");
    s.receive(K, started("a", 1), 1.0);
    s.receive(K, started("b", 2), 1.5);
    let fx = s.receive(K, conflict("a", &["model"], Some("b")), 2.0);
    let w = warnings(&fx);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].0, "a");
    let by = w[0].2.as_deref().unwrap();
    assert!(by.contains('2'), "the stepping job in words: {by}");
    assert_eq!(s.job("a").unwrap().conflicts, ["model"]);
    assert_eq!(s.job("b").unwrap().conflicts, ["model"]);
    assert!(fx.contains(&Effect::RowChanged { job_id: "b".into() }));
}

#[test]
fn unknown_jobs_and_bad_names_change_nothing() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    assert!(s.receive(K, conflict("nope", &["x"], None), 1.0).is_empty());
    // A `by` this page does not know: the job is still marked, `by` is not named.
    let fx = s.receive(K, conflict("a", &["x"], Some("nope")), 1.5);
    assert_eq!(
        warnings(&fx),
        [("a".to_owned(), vec!["x".to_owned()], None)]
    );
    for bad in [
        r#"{"type":"conflict","job_id":"a","names":["a b"],"by":null}"#,
        r#"{"type":"conflict","job_id":"a","names":[""],"by":null}"#,
        r#"{"type":"conflict","job_id":"a","names":["x\u0000"],"by":null}"#,
        r#"{"type":"conflict","job_id":"a","names":"x","by":null}"#,
        r#"{"type":"conflict","job_id":"a","names":["x"],"by":"not an id"}"#,
        r#"{"type":"conflict","names":["x"],"by":null}"#,
    ] {
        assert!(KernelMsg::from_json(bad).is_err(), "{bad}");
    }
    let many: Vec<String> = (0..=MAX_CONFLICT_NAMES)
        .map(|i| format!("\"n{i}\""))
        .collect();
    let text = format!(
        r#"{{"type":"conflict","job_id":"a","names":[{}],"by":null}}"#,
        many.join(",")
    );
    assert!(KernelMsg::from_json(&text).is_err());
    // Names in other scripts are Python names too.
    let text = r#"{"type":"conflict","job_id":"a","names":["données"],"by":null}"#;
    assert!(KernelMsg::from_json(text).is_ok());
}

#[test]
fn a_page_that_comes_back_learns_the_marks_from_the_list() {
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    let listed = JobInfo {
        conflicts: vec!["acc_pages".into()],
        ..info("a", JobState::Running, 0, Origin::Frontend)
    };
    let fx = s.receive(
        K,
        KernelMsg::Jobs(JobList {
            jobs: vec![listed.clone()],
        }),
        1.0,
    );
    assert!(warnings(&fx).is_empty(), "a list is no new conflict");
    assert_eq!(s.job("a").unwrap().conflicts, ["acc_pages"]);
    // A known job catches up.
    let mut s = Scheduler::new();
    s.receive(K, hello(), 0.0);
    submit(&mut s, "a");
    s.receive(K, started("a", 1), 1.0);
    s.receive(K, hello(), 2.0);
    let fx = s.receive(K, KernelMsg::Jobs(JobList { jobs: vec![listed] }), 3.0);
    assert!(fx.contains(&Effect::RowChanged { job_id: "a".into() }));
    assert_eq!(s.job("a").unwrap().conflicts, ["acc_pages"]);
    // `conflicts` may be missing or null in a list (older runtimes).
    let text = r#"{"type":"jobs","jobs":[{"job_id":"z","num":3,"cell_id":null,"notebook":null,"state":"done","started_at":null,"ended_at":null,"next_seq":0,"error":null,"assigned":[],"origin":"kernel","conflicts":null}]}"#;
    match KernelMsg::from_json(text).unwrap() {
        KernelMsg::Jobs(list) => assert!(list.jobs[0].conflicts.is_empty()),
        other => panic!("{other:?}"),
    }
}
