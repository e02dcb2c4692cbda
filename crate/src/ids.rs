//! Maps and sets keyed by ids (jobs, kernels, notebooks), with rustc's fast hasher.
//!
//! std's SipHash resists crafted keys only when its keys are random, and on
//! wasm32-unknown-unknown they are not; the ids here come from this page and its kernels.
//! FxHash (`rustc-hash`) is several times faster on the 36-character job ids.

/// A `HashMap` keyed by ids.
pub type IdMap<V> = std::collections::HashMap<String, V, rustc_hash::FxBuildHasher>;

/// A `HashSet` of ids.
pub type IdSet = std::collections::HashSet<String, rustc_hash::FxBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn maps_work_and_spread() {
        let mut m: IdMap<usize> = IdMap::default();
        for i in 0..10_000 {
            m.insert(format!("3f2c9a7e-1b2d-4c5e-8f90-{i:012}"), i);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get("3f2c9a7e-1b2d-4c5e-8f90-000000000042"), Some(&42));
        let mut hashes: Vec<u64> = (0..1000)
            .map(|i| rustc_hash::FxBuildHasher.hash_one(format!("job-{i}")))
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 1000, "no collisions among 1000 ids");
    }
}
