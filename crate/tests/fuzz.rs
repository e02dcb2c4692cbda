//! Property test: random and mutated messages never panic the decoder or the scheduler,
//! and what the scheduler does with them keeps its invariants.
//!
//! 100,000 messages by default (plus the commands between them) (a few seconds); `PC_FUZZ_CASES=5000000 cargo test --release
//! --test fuzz` for a longer run. `PC_FUZZ_SEED` replays a run.

use std::path::PathBuf;

use parallel_cell_core::protocol::{ClientMsg, JobState, KernelMsg};
use parallel_cell_core::scheduler::{Effect, Scheduler, Submit};
use serde_json::{json, Map, Value};

/// SplitMix64: tiny, fast and good enough to drive a fuzzer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const IDS: [&str; 8] = [
    "3f2c9a7e-1b2d-4c5e-8f90-a1b2c3d4e5f6",
    "k2",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
];
const KERNELS: [&str; 2] = ["kernel-1", "kernel-2"];
const TAGS: [&str; 12] = [
    "hello",
    "started",
    "output",
    "cancelling",
    "finished",
    "jobs",
    "error",
    "submit",
    "kill",
    "",
    "HELLO",
    "output ",
];

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

fn random_string(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => String::new(),
        1 => rng.pick(&IDS).to_string(),
        2 => "x".repeat(rng.below(5000)),
        3 => "<script>alert(1)</script>\u{1b}[31m\r\n\u{0}".into(),
        4 => "\u{1b}[".repeat(rng.below(50)) + "38;5;999;2;300m",
        5 => (0..rng.below(40))
            .map(|_| char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}'))
            .collect(),
        6 => rng.pick(&TAGS).to_string(),
        _ => format!("{}", rng.next()),
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 7 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => json!(rng.next()),
        3 => json!(-(rng.below(1000) as i64)),
        4 => rng
            .pick(&[
                json!(1.5),
                json!(1e308),
                json!(-0.0),
                json!(u64::MAX),
                json!(2f64.powi(53) + 2.0),
            ])
            .clone(),
        5 | 6 => Value::String(random_string(rng)),
        7 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                m.insert(random_string(rng), random_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// Change one thing somewhere inside `v`.
fn mutate(rng: &mut Rng, v: &mut Value, depth: usize) {
    match v {
        Value::Object(m) if !m.is_empty() && depth < 4 => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            match rng.below(6) {
                0 => {
                    m.remove(&key);
                }
                1 => {
                    m.insert(key, random_value(rng, depth));
                }
                2 if key == "type" => {
                    m.insert(key, Value::String(rng.pick(&TAGS).to_string()));
                }
                3 => {
                    m.insert(random_string(rng), random_value(rng, depth));
                }
                _ => {
                    if let Some(child) = m.get_mut(&key) {
                        mutate(rng, child, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && depth < 4 => {
            let i = rng.below(items.len());
            match rng.below(4) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                _ => mutate(rng, &mut items[i], depth + 1),
            }
        }
        _ => *v = random_value(rng, depth),
    }
}

/// A plausible-or-not message: mostly mutated golden ones, retargeted at the id pool.
fn message_text(rng: &mut Rng, golden: &[Value]) -> String {
    match rng.below(20) {
        0 => {
            let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        1 => {
            let text = rng.pick(golden).to_string();
            let cut = rng.below(text.len());
            text.get(..cut).unwrap_or_default().to_owned()
        }
        2 => random_value(rng, 0).to_string(),
        _ => {
            let mut v = rng.pick(golden).clone();
            if let Some(id) = v.get_mut("job_id") {
                *id = json!(rng.pick(&IDS));
            }
            for _ in 0..rng.below(3) {
                mutate(rng, &mut v, 0);
            }
            v.to_string()
        }
    }
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
    for job in s.jobs() {
        assert_eq!(job.state.is_finished(), job.ended_at.is_some(), "{job:?}");
        if job.state == JobState::Queued {
            assert!(job.started_at.is_none() || job.sent, "{job:?}");
        }
    }
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
    let mut s = Scheduler::new(2);
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
            5 if rng.chance(10) => s.set_cap(rng.below(5), now),
            _ => {
                let text = message_text(&mut rng, &golden);
                // Client messages go through their own decoder too.
                let _ = ClientMsg::from_json(&text);
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
