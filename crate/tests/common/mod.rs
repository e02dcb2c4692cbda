//! Test helpers: random and mutated messages for the property tests (native `fuzz.rs`,
//! browser `web.rs`), and in `msgs` the messages the native scheduler tests share.
#![allow(dead_code)]

pub mod msgs;

use serde_json::{json, Map, Value};

/// SplitMix64: tiny, fast and good enough to drive a fuzzer.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub const IDS: [&str; 8] = [
    "3f2c9a7e-1b2d-4c5e-8f90-a1b2c3d4e5f6",
    "k2",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
];
pub const KERNELS: [&str; 2] = ["kernel-1", "kernel-2"];
pub const TAGS: [&str; 19] = [
    "hello",
    "conflict",
    "threads",
    "queued",
    "cleared",
    "log_trimmed",
    "clear",
    "started",
    "placed",
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

pub fn random_string(rng: &mut Rng) -> String {
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

pub fn random_value(rng: &mut Rng, depth: usize) -> Value {
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
pub fn mutate(rng: &mut Rng, v: &mut Value, depth: usize) {
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
pub fn message_text(rng: &mut Rng, golden: &[Value]) -> String {
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
            if let Some(after) = v.get_mut("after").filter(|a| !a.is_null()) {
                *after = json!(rng.pick(&IDS));
            }
            if let Some(ids) = v.get_mut("job_ids") {
                *ids = json!((0..rng.below(4))
                    .map(|_| *rng.pick(&IDS))
                    .collect::<Vec<_>>());
            }
            for _ in 0..rng.below(3) {
                mutate(rng, &mut v, 0);
            }
            v.to_string()
        }
    }
}
