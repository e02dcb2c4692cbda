//! Maps and sets keyed by ids (jobs, kernels, notebooks), with a fast hasher.
//!
//! std's SipHash resists crafted keys only when its keys are random, and on
//! wasm32-unknown-unknown they are not; the ids here come from this page and its kernels.
//! So the maps use FxHash (rustc's: a multiply and a rotate per word), which is several
//! times faster on the 36-character job ids and smaller in the wasm.

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by ids.
pub type IdMap<V> = std::collections::HashMap<String, V, BuildHasherDefault<FxHasher>>;

/// A `HashSet` of ids.
pub type IdSet = std::collections::HashSet<String, BuildHasherDefault<FxHasher>>;

/// FxHash, as rustc uses it (`rustc-hash`), over 32-bit words.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u32);

const SEED: u32 = 0x9e37_79b9;

impl FxHasher {
    fn add(&mut self, word: u32) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            self.add(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        for &b in chunks.remainder() {
            self.add(u32::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u32::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u32);
    }

    fn finish(&self) -> u64 {
        u64::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_spread() {
        let mut m: IdMap<usize> = IdMap::default();
        for i in 0..10_000 {
            m.insert(format!("3f2c9a7e-1b2d-4c5e-8f90-{i:012}"), i);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get("3f2c9a7e-1b2d-4c5e-8f90-000000000042"), Some(&42));
        let mut hashes: Vec<u64> = (0..1000)
            .map(|i| {
                let mut h = FxHasher::default();
                h.write(format!("job-{i}").as_bytes());
                h.finish()
            })
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 1000, "no collisions among 1000 ids");
    }
}
