//! What a dishonest provider does to a proof directory: edit checkpoints, then reseal the
//! manifest (checkpoint hashes, Merkle root, final weights) so that every hash is consistent
//! and only re-execution can tell. Used by the spoof tests, the detection benchmarks and the
//! `pot-malus` binary that plays a cheating provider in end-to-end tests; an honest provider
//! never calls it.

use crate::{
	checkpoint::{weights_hash, Checkpoint},
	error::{Error, Result},
	proof::{entry_path, Manifest},
	task::{HexHash, TrainTask},
};
use pot_pol_core::merkle;
use std::path::Path;

/// A forgery `pot-malus` applies to each proof it submits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Forgery {
	/// Shift every weight of the final checkpoint by 0.01 (a tampered final update): the last
	/// segment no longer re-executes to it.
	TamperFinal,
	/// Replace every checkpoint after the first by the initial weights shifted a little (no
	/// training done at all).
	SkipTraining,
}

/// Loads checkpoint `index` of the proof in `dir`.
pub fn load_checkpoint(task: &TrainTask, dir: &Path, index: usize) -> Result<Checkpoint> {
	let model = task.model.build()?;
	let m = Manifest::read(dir)?;
	let entry = m
		.checkpoints
		.get(index)
		.ok_or_else(|| Error::Checkpoint(format!("the proof has no checkpoint {index}")))?;
	Checkpoint::load(&entry_path(dir, entry)?, model.as_ref(), &task.optimizer)
}

/// Rewrites checkpoint `index` of the proof in `dir` with `f` applied; the manifest is left
/// stale until [`reseal`].
pub fn edit_checkpoint(
	task: &TrainTask,
	dir: &Path,
	index: usize,
	f: impl FnOnce(&mut Checkpoint),
) -> Result<()> {
	let m = Manifest::read(dir)?;
	let entry = m
		.checkpoints
		.get(index)
		.ok_or_else(|| Error::Checkpoint(format!("the proof has no checkpoint {index}")))?;
	let mut c = load_checkpoint(task, dir, index)?;
	f(&mut c);
	c.save(&entry_path(dir, entry)?)
}

/// Makes the manifest consistent with the (edited) checkpoint files again: every checkpoint
/// hash, the Merkle root and the final weights hash. Returns the new manifest.
pub fn reseal(task: &TrainTask, dir: &Path) -> Result<Manifest> {
	let model = task.model.build()?;
	let mut m = Manifest::read(dir)?;
	let mut last = None;
	for e in &mut m.checkpoints {
		let c = Checkpoint::load(&entry_path(dir, e)?, model.as_ref(), &task.optimizer)?;
		e.hash = HexHash(c.hash()?);
		last = Some(weights_hash(&c.params)?);
	}
	m.merkle_root = HexHash(
		merkle::root(&m.hashes())
			.map_err(|e| Error::Checkpoint(format!("no Merkle root: {e:?}")))?,
	);
	m.final_weights =
		HexHash(last.ok_or_else(|| Error::Checkpoint("the proof has no checkpoints".into()))?);
	m.write(dir)?;
	Ok(m)
}

fn shift(c: &mut Checkpoint, by: f64) {
	tch::no_grad(|| {
		for p in c.params.values_mut() {
			let _ = p.g_add_scalar_(by);
		}
	});
}

/// Applies `forgery` to the honest proof in `dir` and reseals it.
pub fn apply(forgery: Forgery, task: &TrainTask, dir: &Path) -> Result<Manifest> {
	let count = Manifest::read(dir)?.checkpoints.len();
	let last = count
		.checked_sub(1)
		.ok_or_else(|| Error::Checkpoint("the proof has no checkpoints".into()))?;
	match forgery {
		Forgery::TamperFinal => edit_checkpoint(task, dir, last, |c| shift(c, 0.01))?,
		Forgery::SkipTraining => {
			let initial = load_checkpoint(task, dir, 0)?;
			for index in 1..count {
				edit_checkpoint(task, dir, index, |c| {
					for (name, p) in c.params.iter_mut() {
						if let Some(start) = initial.params.get(name) {
							*p = start.detach().copy().set_requires_grad(true);
						}
					}
					shift(c, 0.001);
				})?;
			}
		},
	}
	reseal(task, dir)
}
