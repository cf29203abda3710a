//! What a forger does to a proof directory, shared by the spoof tests (`pol.rs`) and the
//! detection-rate benchmarks (`benchmarks.rs`).
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use pot_pol_core::merkle;
use pot_trainer::{
	checkpoint::{weights_hash, Checkpoint},
	model::Params,
	proof::Manifest,
	task::{HexHash, TrainTask},
};
use std::path::Path;

/// A detached copy of `p` that can be trained again.
pub fn copy_params(p: &Params) -> Params {
	p.iter().map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true))).collect()
}

/// Makes the manifest consistent with the (edited) checkpoint files: hashes, Merkle root and
/// final weights, so that only re-execution can tell.
pub fn reseal(task: &TrainTask, dir: &Path) {
	let model = task.model.build().unwrap();
	let mut m = Manifest::read(dir).unwrap();
	let mut last = None;
	for e in &mut m.checkpoints {
		let c = Checkpoint::load(&dir.join(&e.file), model.as_ref(), &task.optimizer).unwrap();
		e.hash = HexHash(c.hash().unwrap());
		last = Some(weights_hash(&c.params).unwrap());
	}
	m.merkle_root = HexHash(merkle::root(&m.hashes()).unwrap());
	m.final_weights = HexHash(last.unwrap());
	m.write(dir).unwrap();
}

/// Loads checkpoint `index` of the proof in `dir`.
pub fn load_checkpoint(task: &TrainTask, dir: &Path, index: usize) -> Checkpoint {
	let model = task.model.build().unwrap();
	let m = Manifest::read(dir).unwrap();
	Checkpoint::load(&dir.join(&m.checkpoints[index].file), model.as_ref(), &task.optimizer)
		.unwrap()
}

/// Rewrites checkpoint `index` of the proof in `dir` with `f` applied (the manifest is left
/// stale; see [`reseal`]).
pub fn edit_checkpoint(task: &TrainTask, dir: &Path, index: usize, f: impl FnOnce(&mut Checkpoint)) {
	let model = task.model.build().unwrap();
	let m = Manifest::read(dir).unwrap();
	let path = dir.join(&m.checkpoints[index].file);
	let mut c = Checkpoint::load(&path, model.as_ref(), &task.optimizer).unwrap();
	f(&mut c);
	c.save(&path).unwrap();
}
