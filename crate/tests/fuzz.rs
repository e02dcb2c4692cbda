//! Property test: random and mutated messages never panic the decoder or the scheduler,
//! and what the scheduler does with them keeps its invariants.
//!
//! 100,000 messages by default, plus the commands between them (seconds);
//! `PC_FUZZ_CASES=5000000 cargo test --release --test fuzz` for a longer run;
//! `PC_FUZZ_SEED` replays a run. The browser runs the same generator (`web.rs`).
//! Our own generator rather than proptest, measured in a probe crate (2026-12): proptest 1.12
//! adds 13 crates and ~11 s CPU to a cold test build and needs getrandom's `wasm_js` backend
//! in the browser, while the strategies (mutating goldens) would stay ours; it would replace
//! only the 20-line SplitMix64 in `common`, and add shrinking, not coverage.

use std::path::PathBuf;

use parallel_cell_core::protocol::{ClientMsg, JobState, KernelMsg, Target};
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit, HOLD_MAX_OUTPUTS};
use serde_json::Value;

mod common;
use common::*;

fn golden() -> Vec<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
    let mut out = Vec::new();
    for side in ["kernel", "client"] {
        for entry in std::fs::read_dir(root.join(side)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            out.push(serde_json::from_str(&text).unwrap());
        }
    }
    assert!(out.len() >= 15, "golden messages missing");
    out
}

fn check(s: &Scheduler, effects: &[Effect]) {
    for e in effects {
        match e {
            Effect::Send { message, .. } => {
                message
                    .validate()
                    .expect("the core only sends valid messages");
                let text = serde_json::to_string(message).unwrap();
                assert_eq!(&ClientMsg::from_json(&text).unwrap(), message);
            }
            Effect::RowChanged { job_id } | Effect::Notify { job_id, .. } => {
                let _ = s.job(job_id); // may be gone after clear; must not panic
            }
            _ => {}
        }
        serde_json::to_value(e).ok();
    }
    let mut counts = [0; 7];
    for job in s.jobs() {
        counts[job.state as usize] += 1;
        assert_eq!(
            job.state.is_finished(),
            job.clocks.ended_at.is_some(),
            "{job:?}"
        );
        if let Some(hold) = &job.hold {
            // Held outputs are past the gap, and bounded.
            assert!(hold.len() <= HOLD_MAX_OUTPUTS, "{job:?}");
            assert!(job.next_seq < hold.until, "{job:?}");
        }
        if job.state == JobState::Queued {
            assert!(job.clocks.started_at.is_none() || job.sent, "{job:?}");
        }
    }
    assert_eq!(s.counts(), counts, "the scheduler's counts drifted");
}

/// Whether a message uses a form serde's derives accept and the protocol (and the core's
/// reader) does not: a nested struct (`error`, a `jobs` entry) written as a JSON array, or
/// an enum (`state`, `origin`, `target`, a stream's `name`) written as an object
/// `{"done": null}`.
fn serde_only_form(v: &Value) -> bool {
    let quirky = |v: &Value| {
        v.get("error").is_some_and(Value::is_array)
            || ["state", "origin", "target", "name"]
                .iter()
                .any(|k| v.get(k).is_some_and(Value::is_object))
    };
    let nested = |key: &str| {
        v.get(key)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|i| i.is_array() || quirky(i)))
    };
    quirky(v) || nested("jobs") || nested("outputs")
}

#[test]
fn random_and_mutated_messages_never_panic() {
    let cases: usize = std::env::var("PC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("PC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_CE11);
    let golden = golden();
    let mut rng = Rng(seed);
    let mut s = Scheduler::new();
    let (mut decoded, mut refused) = (0usize, 0usize);
    let mut now = 0.0;
    let mut i = 0usize;
    while decoded + refused < cases {
        i += 1;
        now += rng.below(1000) as f64;
        let kernel = *rng.pick(&KERNELS);
        let effects = match rng.below(12) {
            0 => {
                let id = *rng.pick(&IDS);
                let code = random_string(&mut rng);
                let after = rng.chance(4).then(|| *rng.pick(&IDS));
                s.submit(
                    Submit {
                        job_id: id,
                        kernel_id: kernel,
                        notebook: "nb.ipynb",
                        cell_id: "c1",
                        code: &code,
                        after,
                        target: if rng.chance(3) {
                            Target::Dask
                        } else {
                            Target::Thread
                        },
                    },
                    now,
                )
                .unwrap_or_default()
            }
            1 => {
                let id = *rng.pick(&IDS);
                s.kill(id, now)
            }
            2 if rng.chance(10) => s.kill_all(now),
            3 if rng.chance(5) => s.clear_finished(),
            4 if rng.chance(20) => s.kernel_lost(kernel, now),
            5 if rng.chance(10) => {
                let id = *rng.pick(&IDS);
                let cell = random_string(&mut rng);
                s.rebind_cell(id, &cell).unwrap_or_default()
            }
            8 if rng.chance(10) => {
                let id = *rng.pick(&IDS);
                let note = rng.chance(2).then(|| random_string(&mut rng));
                s.set_cell_note(id, note)
            }
            7 if rng.chance(3) => {
                let id = *rng.pick(&IDS);
                s.restart_worker(id)
            }
            6 if rng.chance(3) => {
                let id = *rng.pick(&IDS);
                s.replay(id, rng.below(8) as u64)
            }
            _ => {
                let text = message_text(&mut rng, &golden);
                // Client messages go through their own decoder too.
                let _ = ClientMsg::from_json(&text);
                // The core's reader and serde's derives agree on every message.
                if let Ok(value) = serde_json::from_str::<Value>(&text) {
                    let by_serde = serde_json::from_value::<KernelMsg>(value.clone()).ok();
                    let serde_only = serde_only_form(&value);
                    let by_hand = KernelMsg::read(value).ok();
                    if !(serde_only && by_hand.is_none()) {
                        assert_eq!(by_hand, by_serde, "the readers disagree on {text}");
                    }
                }
                match KernelMsg::from_json(&text) {
                    Ok(msg) => {
                        decoded += 1;
                        s.receive(kernel, msg, now)
                    }
                    Err(_) => {
                        refused += 1;
                        Vec::new()
                    }
                }
            }
        };
        check(&s, &effects);
        if i % 5000 == 0 {
            s.clear_finished();
        }
    }
    // The mix must exercise both paths, or the test proves little.
    assert!(decoded > cases / 20, "only {decoded} of {cases} decoded");
    assert!(refused > cases / 20, "only {refused} of {cases} refused");
    println!("fuzz: {cases} messages ({decoded} decoded, {refused} refused) and {} commands (seed {seed})", i - cases);
}
