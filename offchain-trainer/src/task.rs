//! What a provider is asked to train in one round, and what a verifier checks against.
//!
//! [`TrainTask`] mirrors the on-chain `TaskSpec` (`primitives/src/task.rs`): content hashes of
//! model, initial weights and dataset, the sample count, the hyper-parameters (learning rate as
//! a 9-decimal fixed-point integer like `FixedU64`), local steps H, checkpoint interval k and
//! verification samples Q; plus the round context the chain fixes (order id, round, seed,
//! provider capacities and this provider's position). The model spec is inline; its hash must
//! equal `model_hash`.

use crate::{
	error::{Error, Result},
	model::ModelSpec,
	optim::OptimizerConfig,
};
use pot_pol_core::{assign::RoundKey, Hash};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A 32-byte hash written as 64 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct HexHash(pub Hash);

impl Serialize for HexHash {
	fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
		s.serialize_str(&hex::encode(self.0))
	}
}

impl<'de> Deserialize<'de> for HexHash {
	fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
		let s = String::deserialize(d)?;
		let mut out = [0u8; 32];
		hex::decode_to_slice(s.trim_start_matches("0x"), &mut out)
			.map_err(serde::de::Error::custom)?;
		Ok(Self(out))
	}
}

impl std::fmt::Display for HexHash {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(&hex::encode(self.0))
	}
}

/// How closely a re-executed segment must match the committed checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tolerance {
	/// The re-executed checkpoint's hash equals the committed one (same compute profile).
	BitwiseExact,
	/// Explicit bounds on the distance between re-executed and committed weights (across
	/// profiles). The on-chain `Measured(n)` classes will name such bounds once measured.
	Bounds {
		/// Largest allowed l2 distance of the weights.
		max_l2: f64,
		/// Largest allowed l∞ distance of the weights.
		max_linf: f64,
		/// Smallest allowed cosine similarity of the two segment updates.
		min_cosine: f64,
	},
}

/// The round context: who trains what (PROTOCOL.md step 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundContext {
	/// Order id.
	pub order: u64,
	/// Round number.
	pub round: u32,
	/// The round's public seed.
	pub seed: HexHash,
	/// Capacities of the round's providers, in the validator's order.
	pub capacities: Vec<u64>,
	/// This provider's position in `capacities`.
	pub provider: u32,
}

impl RoundContext {
	/// The key of `pot-pol-core`'s assignment.
	pub fn key(&self) -> RoundKey {
		RoundKey { order: self.order, round: self.round, seed: self.seed.0 }
	}
}

/// One provider's training task in one round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainTask {
	/// The architecture.
	pub model: ModelSpec,
	/// Hash of `model` (checked).
	pub model_hash: HexHash,
	/// Hash of the round's starting weights.
	pub initial_weights: HexHash,
	/// Hash of the training dataset (only the embedded digits set so far).
	pub dataset: HexHash,
	/// Samples in the dataset.
	pub samples: u32,
	/// Optimizer and hyper-parameters.
	pub optimizer: OptimizerConfig,
	/// Samples per step.
	pub batch_size: u32,
	/// Steps this round (H).
	pub local_steps: u32,
	/// Checkpoint interval (k).
	pub checkpoint_interval: u32,
	/// Segments re-executed per submission (Q).
	pub verification_samples: u32,
	/// Re-execution tolerance.
	pub tolerance: Tolerance,
	/// Round context.
	pub round: RoundContext,
}

impl TrainTask {
	/// Checks the task is consistent and trainable (the checks of `TaskSpec::validate` and more).
	pub fn validate(&self) -> Result<()> {
		if self.model.hash() != self.model_hash.0 {
			return Err(Error::Task("model_hash is not the hash of model".into()));
		}
		self.model.build()?;
		self.optimizer.validate()?;
		if [
			self.samples,
			self.batch_size,
			self.local_steps,
			self.checkpoint_interval,
			self.verification_samples,
		]
		.contains(&0)
		{
			return Err(Error::Task(
				"samples, batch size, steps, checkpoint interval and Q must be positive".into(),
			));
		}
		if self.checkpoint_interval > self.local_steps {
			return Err(Error::Task("checkpoint interval above local steps".into()));
		}
		if self.round.provider as usize >= self.round.capacities.len() {
			return Err(Error::Task("provider position outside the capacity list".into()));
		}
		Ok(())
	}

	/// Reads a task from JSON.
	pub fn read(path: &Path) -> Result<Self> {
		let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
		serde_json::from_str(&text).map_err(|source| Error::Json { path: path.into(), source })
	}

	/// Writes the task as JSON.
	pub fn write(&self, path: &Path) -> Result<()> {
		let text = serde_json::to_string_pretty(self)
			.map_err(|source| Error::Json { path: path.into(), source })?;
		std::fs::write(path, text).map_err(|e| Error::io(path, e))
	}
}
