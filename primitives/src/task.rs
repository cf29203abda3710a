//! What a consumer asks to have trained: the task of an order (PROTOCOL.md, step 1).
//!
//! All fields are fixed size, so a task is cheap to store and its encoding is bounded.

use crate::{ContentHash, WorkUnits};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{FixedU64, Perbill, Percent};
use scale_info::TypeInfo;

/// The optimizer every provider of the order runs.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum OptimizerKind {
	/// Plain stochastic gradient descent.
	Sgd,
	/// SGD with momentum (the momentum is part of the hyper-parameters file of the model).
	SgdMomentum,
	/// Adam.
	Adam,
	/// Adam with decoupled weight decay.
	AdamW,
}

/// How closely a re-executed checkpoint segment must reproduce the committed one.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum ToleranceClass {
	/// Bitwise identical: the rule within one compute profile.
	BitwiseExact,
	/// A measured cross-profile tolerance class; the numbering is fixed off chain.
	Measured(u8),
}

/// How accepted updates of one round are combined into the next global weights.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum AggregationRule {
	/// θ_{t+1} = θ_t − η · mean(Δ_i).
	Mean,
	/// Coordinate-wise median of the updates (Byzantine robust).
	CoordinateMedian,
	/// Coordinate-wise mean after dropping this share of the highest and of the lowest values.
	TrimmedMean {
		/// Share dropped at each end (below 50%).
		trim_per_side: Percent,
	},
	/// Multi-Krum (Blanchard et al. 2017, Byzantine robust): the mean of the `n − f` updates
	/// with the lowest Krum scores, `f = ⌊n · byzantine⌋` (at most `n − 3`; with fewer than 3
	/// updates, the mean of all).
	MultiKrum {
		/// Share of the updates assumed Byzantine (below 50%).
		byzantine: Percent,
	},
	/// Centered clipping (Karimireddy et al. 2021, Byzantine robust) around the coordinate-wise
	/// median, the radius being the median distance of the updates from it.
	CenteredClipping {
		/// Clipping iterations, 1 to [`MAX_CLIPPING_ITERATIONS`].
		iterations: u8,
	},
}

/// Most iterations of [`AggregationRule::CenteredClipping`].
pub const MAX_CLIPPING_ITERATIONS: u8 = 16;

impl AggregationRule {
	/// Whether the rule's parameter is in range: a trimmed or Byzantine share below 50%,
	/// clipping iterations from 1 to [`MAX_CLIPPING_ITERATIONS`].
	pub fn is_valid(&self) -> bool {
		match self {
			Self::Mean | Self::CoordinateMedian => true,
			Self::TrimmedMean { trim_per_side: share } | Self::MultiKrum { byzantine: share } => {
				*share < Percent::from_percent(50)
			},
			Self::CenteredClipping { iterations } => {
				(1..=MAX_CLIPPING_ITERATIONS).contains(iterations)
			},
		}
	}
}

/// What a provider's commitment names as its update (`update_hash`), and what the validator
/// combines.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
)]
pub enum UpdateEncoding {
	/// The final weights θ_H themselves: `update_hash` is their hash and the validator combines
	/// the dense updates θ_r − θ_H.
	#[default]
	Dense,
	/// The update θ_r − θ_H plus the provider's error-feedback residual (what compression
	/// dropped from its earlier accepted updates), kept to its `kept` share of
	/// largest-magnitude coordinates (at least one) and quantized to 8 bits with one scale:
	/// `update_hash` is the hash of that payload's canonical encoding, which the provider
	/// uploads, and the validator combines the decoded payloads. The commitment names the
	/// residual it added and the one it leaves (`residual_in`, `residual_out`, both uploaded),
	/// so anyone holding the proof and the residual recomputes the payload.
	TopK {
		/// Share of the coordinates kept (not zero).
		kept: Perbill,
	},
}

/// Training hyper-parameters.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct HyperParams {
	/// The optimizer.
	pub optimizer: OptimizerKind,
	/// Learning rate as a fixed-point number (9 decimals).
	pub learning_rate: FixedU64,
	/// Samples per optimizer step.
	pub batch_size: u32,
	/// Optimizer steps each provider runs per round (H).
	pub local_steps: u32,
	/// Number of rounds (R).
	pub rounds: u32,
}

/// Proof-of-Learning parameters.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct PolParams {
	/// A checkpoint is kept every this many steps (k).
	pub checkpoint_interval: u32,
	/// Checkpoint segments re-executed per submission (Q).
	pub verification_samples: u32,
	/// Tolerance of re-execution.
	pub tolerance: ToleranceClass,
}

/// Everything a provider needs to know to train, by content hash.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct TaskSpec {
	/// The model: a built-in architecture spec or a TorchScript file.
	pub model: ContentHash,
	/// The initial weights θ_0.
	pub initial_weights: ContentHash,
	/// The dataset.
	pub dataset: ContentHash,
	/// Number of samples in the dataset.
	pub samples: u64,
	/// Training hyper-parameters.
	pub hyper: HyperParams,
	/// Proof-of-Learning parameters.
	pub pol: PolParams,
	/// How accepted updates are combined.
	pub aggregation: AggregationRule,
	/// What a commitment's update is: the dense final weights or a compressed update.
	pub update: UpdateEncoding,
}

/// Why a task is not well formed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TaskError {
	/// Samples, batch size, local steps, rounds, checkpoint interval or verification samples is 0.
	ZeroCount,
	/// The learning rate is zero.
	ZeroLearningRate,
	/// The checkpoint interval is longer than a round's local steps.
	CheckpointIntervalAboveLocalSteps,
	/// The aggregation rule's parameter is out of range ([`AggregationRule::is_valid`]).
	AggregationOutOfRange,
	/// A compressed update keeps no coordinate.
	NothingKept,
}

impl TaskSpec {
	/// Checks that the task can be trained and verified at all.
	pub fn validate(&self) -> Result<(), TaskError> {
		let counts = [
			self.samples,
			u64::from(self.hyper.batch_size),
			u64::from(self.hyper.local_steps),
			u64::from(self.hyper.rounds),
			u64::from(self.pol.checkpoint_interval),
			u64::from(self.pol.verification_samples),
		];
		if counts.contains(&0) {
			return Err(TaskError::ZeroCount);
		}
		if self.hyper.learning_rate.into_inner() == 0 {
			return Err(TaskError::ZeroLearningRate);
		}
		if self.pol.checkpoint_interval > self.hyper.local_steps {
			return Err(TaskError::CheckpointIntervalAboveLocalSteps);
		}
		if !self.aggregation.is_valid() {
			return Err(TaskError::AggregationOutOfRange);
		}
		if self.update == (UpdateEncoding::TopK { kept: Perbill::from_parts(0) }) {
			return Err(TaskError::NothingKept);
		}
		Ok(())
	}

	/// The most work the task can consume with `providers` providers: every provider runs
	/// `local_steps` steps in each of `rounds` rounds. `None` on overflow.
	pub fn max_work_units(&self, providers: u32) -> Option<WorkUnits> {
		u64::from(self.hyper.rounds)
			.checked_mul(u64::from(self.hyper.local_steps))?
			.checked_mul(u64::from(providers))
			.map(WorkUnits)
	}
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
	use super::*;

	fn task() -> TaskSpec {
		TaskSpec {
			model: ContentHash::repeat_byte(1),
			initial_weights: ContentHash::repeat_byte(2),
			dataset: ContentHash::repeat_byte(3),
			samples: 100,
			hyper: HyperParams {
				optimizer: OptimizerKind::Adam,
				learning_rate: FixedU64::from_rational(1, 1_000),
				batch_size: 8,
				local_steps: 20,
				rounds: 3,
			},
			pol: PolParams {
				checkpoint_interval: 5,
				verification_samples: 2,
				tolerance: ToleranceClass::BitwiseExact,
			},
			aggregation: AggregationRule::Mean,
			update: UpdateEncoding::Dense,
		}
	}

	#[test]
	fn validation_names_the_broken_part() {
		assert_eq!(task().validate(), Ok(()));
		let mut t = task();
		t.update = UpdateEncoding::TopK { kept: Perbill::from_parts(0) };
		assert_eq!(t.validate(), Err(TaskError::NothingKept));
		t.update = UpdateEncoding::TopK { kept: Perbill::from_parts(1) };
		assert_eq!(t.validate(), Ok(()));
		let mut t = task();
		t.pol.verification_samples = 0;
		assert_eq!(t.validate(), Err(TaskError::ZeroCount));
		let mut t = task();
		t.hyper.learning_rate = FixedU64::from_inner(0);
		assert_eq!(t.validate(), Err(TaskError::ZeroLearningRate));
		let mut t = task();
		t.pol.checkpoint_interval = 21;
		assert_eq!(t.validate(), Err(TaskError::CheckpointIntervalAboveLocalSteps));
		let half = Percent::from_percent(50);
		let just_below = Percent::from_percent(49);
		for (rule, valid) in [
			(AggregationRule::CoordinateMedian, true),
			(AggregationRule::TrimmedMean { trim_per_side: just_below }, true),
			(AggregationRule::TrimmedMean { trim_per_side: half }, false),
			(AggregationRule::MultiKrum { byzantine: Percent::from_percent(40) }, true),
			(AggregationRule::MultiKrum { byzantine: half }, false),
			(AggregationRule::CenteredClipping { iterations: 1 }, true),
			(AggregationRule::CenteredClipping { iterations: MAX_CLIPPING_ITERATIONS }, true),
			(AggregationRule::CenteredClipping { iterations: 0 }, false),
			(AggregationRule::CenteredClipping { iterations: MAX_CLIPPING_ITERATIONS + 1 }, false),
		] {
			let mut t = task();
			t.aggregation = rule;
			let expected = if valid { Ok(()) } else { Err(TaskError::AggregationOutOfRange) };
			assert_eq!(t.validate(), expected, "{rule:?}");
		}
	}

	#[test]
	fn max_work_units_multiplies_and_detects_overflow() {
		assert_eq!(task().max_work_units(4), Some(WorkUnits(3 * 20 * 4)));
		let mut t = task();
		t.hyper.rounds = u32::MAX;
		t.hyper.local_steps = u32::MAX;
		assert_eq!(t.max_work_units(2), None);
	}
}
