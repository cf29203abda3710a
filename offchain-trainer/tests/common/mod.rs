//! Panicking shorthands for the forger's tools (`pot_trainer::forge`), shared by the spoof tests
//! (`pol.rs`) and the detection-rate benchmarks (`benchmarks.rs`).
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use pot_trainer::{checkpoint::Checkpoint, forge, model::Params, task::TrainTask};
use std::path::Path;

/// A detached copy of `p` that can be trained again.
pub fn copy_params(p: &Params) -> Params {
	p.iter().map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true))).collect()
}

/// Makes the manifest consistent with the (edited) checkpoint files: hashes, Merkle root and
/// final weights, so that only re-execution can tell.
pub fn reseal(task: &TrainTask, dir: &Path) {
	forge::reseal(task, dir).unwrap();
}

/// Loads checkpoint `index` of the proof in `dir`.
pub fn load_checkpoint(task: &TrainTask, dir: &Path, index: usize) -> Checkpoint {
	forge::load_checkpoint(task, dir, index).unwrap()
}

/// Rewrites checkpoint `index` of the proof in `dir` with `f` applied (the manifest is left
/// stale; see [`reseal`]).
pub fn edit_checkpoint(task: &TrainTask, dir: &Path, index: usize, f: impl FnOnce(&mut Checkpoint)) {
	forge::edit_checkpoint(task, dir, index, f).unwrap();
}
