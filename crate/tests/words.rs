//! The scheduler speaks the person's language: the titles it makes, its `problem`
//! messages and a failed dependency's error come from `Scheduler::set_text`, also for
//! jobs it knew before the words changed.

use parallel_cell_core::protocol::*;
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit, Title, HOLD_MAX_OUTPUTS};
use parallel_cell_core::text::Text;
use serde_json::json;

mod common;
use common::msgs::*;

fn french() -> Text {
    Text::from_map(&json!({
        "(empty cell)": "(cellule vide)",
        "Job {n}": "Tâche {n}",
        "Job {n} (started in the kernel)": "Tâche {n} (lancée dans le noyau)",
        "job {n} ({title})": "tâche {n} ({title})",
        "The kernel reported an error: {message}": "Erreur du noyau : {message}",
        "The kernel reported an error about {job}: {message}":
            "Erreur du noyau pour {job} : {message}",
        "Stopped waiting for the kernel to resend the missed outputs of {job}: some may be missing from its cell.":
            "Sorties manquantes pour {job}.",
        "The kernel's parallel-cell runtime speaks protocol {theirs}, this extension speaks {ours}: restart the kernel.":
            "Protocole {theirs} ≠ {ours}.",
        "it was to run after \"{title}\", which ended as {state}":
            "devait suivre « {title} », terminée : {state}",
        "killed": "tuée",
    }))
}

fn problems(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Problem { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn notified_titles(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { title, .. } => Some(title.clone()),
            _ => None,
        })
        .collect()
}

fn submit_code(s: &mut Scheduler, id: &str, code: &str, after: Option<&str>) -> Vec<Effect> {
    let cell = format!("cell-{id}");
    let submit = Submit {
        job_id: id,
        kernel_id: K,
        notebook: "nb.ipynb",
        cell_id: &cell,
        code,
        after,
        target: Target::Thread,
    };
    s.submit(submit, 0.0).unwrap()
}

#[test]
fn titles_it_makes_are_translated() {
    let mut s = Scheduler::default();
    s.set_text(french());
    submit_code(&mut s, "blank", "  \n\t\n", None);
    assert_eq!(
        notified_titles(&s.kill("blank", 1.0)),
        ["(cellule vide)"],
        "a blank cell's title"
    );
    s.receive(K, hello(), 0.0);
    let started_in_kernel = KernelMsg::Started(thread_started(kernel_head("k", 3), 1.0));
    s.receive(K, started_in_kernel, 1.0);
    let fx = s.receive(K, finished("k", JobState::Done), 2.0);
    assert_eq!(notified_titles(&fx), ["Tâche 3 (lancée dans le noyau)"]);
    // Adopted from another page's list: numbered, not started in the kernel.
    let list = KernelMsg::Jobs(JobList {
        jobs: vec![info("other", JobState::Running, 0, Origin::Frontend)],
    });
    s.receive(K, list, 3.0);
    let job = s.job("other").unwrap();
    assert_eq!(job.title.words(s.text()), "Tâche 1");
}

#[test]
fn titles_follow_words_set_later() {
    let mut s = Scheduler::default();
    s.receive(K, hello(), 0.0);
    s.receive(K, started("adopted", 5), 1.0);
    assert_eq!(
        s.job("adopted").unwrap().title,
        Title::Numbered(5, Origin::Frontend)
    );
    s.set_text(french());
    let fx = s.receive(K, finished("adopted", JobState::Done), 2.0);
    assert_eq!(notified_titles(&fx), ["Tâche 5"]);
}

#[test]
fn problems_are_translated() {
    let mut s = Scheduler::default();
    s.set_text(french());
    submit(&mut s, "a");
    s.receive(K, hello(), 0.0);
    s.receive(K, started("a", 2), 1.0);
    let about_a = KernelMsg::Error(KernelError {
        message: "unknown job {job}".into(),
        job_id: Some("a".into()),
    });
    assert_eq!(
        problems(&s.receive(K, about_a, 2.0)),
        ["Erreur du noyau pour tâche 2 (print(\"a\")) : unknown job {job}"],
        "the kernel's own words stay as they are, placeholders included"
    );
    let about_nothing = KernelMsg::Error(KernelError {
        message: "bad message".into(),
        job_id: None,
    });
    assert_eq!(
        problems(&s.receive(K, about_nothing, 2.0)),
        ["Erreur du noyau : bad message"]
    );
    let newer = KernelMsg::Hello(Hello {
        protocol: 99,
        runtime: "9".into(),
        python: "3".into(),
        ipykernel: "7".into(),
        implementation: "ipython".into(),
    });
    assert_eq!(
        problems(&s.receive(K, newer, 3.0)),
        [format!("Protocole 99 ≠ {PROTOCOL_VERSION}.")]
    );
}

#[test]
fn a_full_hold_says_so_translated() {
    let mut s = Scheduler::default();
    s.set_text(french());
    s.receive(K, hello(), 0.0);
    let list = KernelMsg::Jobs(JobList {
        jobs: vec![info("r", JobState::Running, 1, Origin::Frontend)],
    });
    s.receive(K, list, 1.0);
    s.replay("r", 0);
    let mut said = Vec::new();
    for n in 0..=HOLD_MAX_OUTPUTS as u64 {
        said.extend(problems(&s.receive(K, stdout("r", 2 + n, &["x"]), 1.0)));
    }
    assert_eq!(said, ["Sorties manquantes pour Tâche 1."]);
}

#[test]
fn a_failed_dependency_says_why_translated() {
    let mut s = Scheduler::default();
    s.set_text(french());
    submit_code(&mut s, "first", "train()", None);
    submit_code(&mut s, "then", "plot()", Some("first"));
    s.kill("first", 1.0);
    let error = s.job("then").and_then(|j| j.error.clone()).unwrap();
    assert_eq!(error.ename, "DependencyFailed");
    assert_eq!(error.evalue, "devait suivre « train() », terminée : tuée");
}
