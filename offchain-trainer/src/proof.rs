//! The proof directory a provider writes (PROTOCOL.md step 4) and the training run that fills it.
//!
//! ```text
//! proof/
//!   manifest.json                 this module's `Manifest`
//!   ckpt-000000.safetensors …     checkpoints after steps 0, k, 2k, …, H (weights + optimizer state)
//!   final.safetensors             the final weights alone
//! ```
//! The manifest records the checkpoint hashes, their Merkle root (`pot-pol-core`), the hash of
//! the final weights, and the loss and sample indices of every step.

use crate::{
	checkpoint::{params_to, save_weights, weights_hash, Checkpoint},
	data::Samples,
	error::{Error, Result},
	model::Params,
	profile::ComputeProfile,
	task::{HexHash, TrainTask},
	train::Session,
};
use pot_pol_core::{merkle, schedule};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Device;

/// Manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// One checkpoint of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
	/// Steps done.
	pub step: u64,
	/// Canonical hash.
	pub hash: HexHash,
	/// File name inside the proof directory.
	pub file: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
	/// [`MANIFEST_VERSION`].
	pub version: u32,
	/// Where it was computed.
	pub profile: ComputeProfile,
	/// Model spec hash.
	pub model_hash: HexHash,
	/// Dataset hash.
	pub dataset: HexHash,
	/// Starting weights hash.
	pub initial_weights: HexHash,
	/// Order id.
	pub order: u64,
	/// Round.
	pub round: u32,
	/// Provider position.
	pub provider: u32,
	/// Steps trained (H).
	pub steps: u64,
	/// Checkpoint interval (k).
	pub checkpoint_interval: u64,
	/// Checkpoints after steps 0, k, 2k, …, H.
	pub checkpoints: Vec<CheckpointEntry>,
	/// Merkle root of the checkpoint hashes (committed on chain).
	pub merkle_root: HexHash,
	/// Hash of the final weights (the update's result).
	pub final_weights: HexHash,
	/// Loss of every step.
	pub losses: Vec<f32>,
	/// Sample indices of every step.
	pub batches: Vec<Vec<u32>>,
}

impl Manifest {
	/// Reads `dir/manifest.json`.
	pub fn read(dir: &Path) -> Result<Self> {
		let path = dir.join("manifest.json");
		let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
		serde_json::from_str(&text).map_err(|source| Error::Json { path, source })
	}

	/// Writes `dir/manifest.json`.
	pub fn write(&self, dir: &Path) -> Result<()> {
		let path = dir.join("manifest.json");
		let text = serde_json::to_string_pretty(self)
			.map_err(|source| Error::Json { path: path.clone(), source })?;
		std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
	}

	/// The checkpoint hashes in order.
	pub fn hashes(&self) -> Vec<pot_pol_core::Hash> {
		self.checkpoints.iter().map(|c| c.hash.0).collect()
	}
}

/// File name of the final weights alone in a proof directory.
pub const FINAL_WEIGHTS_FILE: &str = "final.safetensors";

/// File name of checkpoint `index`.
pub fn checkpoint_file(index: u32) -> String {
	format!("ckpt-{index:06}.safetensors")
}

/// What training produced.
pub struct TrainOutcome {
	/// The manifest (also written to the directory).
	pub manifest: Manifest,
	/// The final weights.
	pub final_params: Params,
}

/// Trains `task` from `initial` on `train` under the CPU profile with `threads` threads,
/// writing the proof directory `out`.
pub fn train(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	out: &Path,
	threads: u32,
) -> Result<TrainOutcome> {
	train_under(task, train, initial, out, ComputeProfile::cpu(threads))
}

/// [`train`] on the host, recording `profile` in the manifest (the caller has set it up).
pub fn train_under(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	out: &Path,
	profile: ComputeProfile,
) -> Result<TrainOutcome> {
	train_observed(task, train, initial, out, profile, Device::Cpu, &mut |_, _| {})
}

/// [`train_under`] on `device` (prepared by [`crate::profile::prepare_device`]), calling
/// `at_checkpoint(step, last loss)` after each checkpoint is written. The final weights come
/// back on `device`.
pub fn train_observed(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	out: &Path,
	profile: ComputeProfile,
	device: Device,
	at_checkpoint: &mut dyn FnMut(u64, f32),
) -> Result<TrainOutcome> {
	if weights_hash(&initial)? != task.initial_weights.0 {
		return Err(Error::Task(
			"the initial weights do not match the task's initial_weights hash".into(),
		));
	}
	std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
	let mut session = Session::new(task, train, device)?;
	let steps = u64::from(task.local_steps);
	let k = u64::from(task.checkpoint_interval);
	let count = schedule::checkpoint_count(steps, k).map_err(|e| Error::Pol(format!("{e:?}")))?;

	let mut checkpoint = Checkpoint::initial(&task.optimizer, params_to(initial, device)?)?;
	let mut entries = Vec::new();
	let mut losses = Vec::new();
	let mut batches = Vec::new();
	for index in 0..count {
		let at = schedule::checkpoint_step(steps, k, index)
			.ok_or_else(|| Error::Pol("schedule".into()))?;
		let log = session.run(&mut checkpoint, at)?;
		losses.extend(log.losses);
		batches.extend(log.batches);
		let file = checkpoint_file(index);
		checkpoint.save(&out.join(&file))?;
		entries.push(CheckpointEntry { step: at, hash: HexHash(checkpoint.hash()?), file });
		tracing::debug!(step = at, loss = losses.last().copied(), "checkpoint");
		at_checkpoint(at, losses.last().copied().unwrap_or(f32::NAN));
	}
	let hashes: Vec<_> = entries.iter().map(|e| e.hash.0).collect();
	let root = merkle::root(&hashes).map_err(|e| Error::Pol(format!("{e:?}")))?;
	save_weights(&checkpoint.params, &out.join(FINAL_WEIGHTS_FILE))?;
	let manifest = Manifest {
		version: MANIFEST_VERSION,
		profile,
		model_hash: task.model_hash,
		dataset: task.dataset,
		initial_weights: task.initial_weights,
		order: task.round.order,
		round: task.round.round,
		provider: task.round.provider,
		steps,
		checkpoint_interval: k,
		checkpoints: entries,
		merkle_root: HexHash(root),
		final_weights: HexHash(weights_hash(&checkpoint.params)?),
		losses,
		batches,
	};
	manifest.write(out)?;
	Ok(TrainOutcome { manifest, final_params: checkpoint.params })
}

/// Path of a manifest's checkpoint file.
pub fn entry_path(dir: &Path, entry: &CheckpointEntry) -> Result<PathBuf> {
	// A manifest names files inside its directory only.
	if entry.file.contains('/') || entry.file.contains('\\') || entry.file.starts_with('.') {
		return Err(Error::Checkpoint(format!(
			"checkpoint file name {:?} leaves the proof directory",
			entry.file
		)));
	}
	Ok(dir.join(&entry.file))
}
