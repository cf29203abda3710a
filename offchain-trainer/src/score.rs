//! Scoring of updates for reward weighting (PROTOCOL.md step 5 and "public training runs"):
//! how much an update lowers the loss on held-out data, and the reward shares that follow.
//!
//! An update's score is `loss(θ_r) − loss(θ_r − Δ)` on the held-out set ([`score_update`]).
//! The validator measures it for every update it accepts and puts it in its round result; a
//! public run weighs each update's reward by it ([`reward_weights`]): the round's best update
//! earns the full reward, the others in proportion, and one that does not lower the loss
//! (score ≤ 0, or NaN) earns nothing, never a negative amount.

use crate::{
	aggregate::apply_update,
	data::Dataset,
	error::Result,
	model::{Model, Params},
	train::evaluate,
};
use tch::Tensor;

/// An update's effect on the held-out loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
	/// Held-out loss of the round's starting weights.
	pub loss_before: f64,
	/// Held-out loss after applying the update alone (`θ_r − Δ`).
	pub loss_after: f64,
}

impl Score {
	/// `loss_before − loss_after`: positive when the update helps.
	pub fn improvement(&self) -> f64 {
		self.loss_before - self.loss_after
	}
}

/// Scores `update` (flattened `θ_r − θ_trained`) from `start` on `held_out`.
pub fn score_update(
	model: &dyn Model,
	start: &Params,
	update: &Tensor,
	held_out: &Dataset,
) -> Result<Score> {
	Scorer::new(model, start, held_out)?.score(update)
}

/// Scores several updates from one start: the start's held-out loss is evaluated once.
pub struct Scorer<'a> {
	model: &'a dyn Model,
	start: &'a Params,
	held_out: &'a Dataset,
	loss_before: f64,
}

impl<'a> Scorer<'a> {
	/// Evaluates `start` on `held_out`.
	pub fn new(model: &'a dyn Model, start: &'a Params, held_out: &'a Dataset) -> Result<Self> {
		let (loss_before, _) = evaluate(model, start, held_out)?;
		Ok(Self { model, start, held_out, loss_before })
	}

	/// The score of `update` (flattened `θ_r − θ_trained`).
	pub fn score(&self, update: &Tensor) -> Result<Score> {
		let after = apply_update(self.start, update, 1.0)?;
		let (loss_after, _) = evaluate(self.model, &after, self.held_out)?;
		Ok(Score { loss_before: self.loss_before, loss_after })
	}
}

/// An improvement as the chain records it: `FixedI64`'s inner value (10⁻⁹ loss), rounded and
/// saturating; NaN is 0 (it earns nothing).
pub fn improvement_fixed(score: &Score) -> i64 {
	let improvement = score.improvement();
	if improvement.is_nan() {
		return 0;
	}
	// `as` saturates.
	(improvement * 1e9).round() as i64
}

/// The public-run reward weight of each score, in parts per billion: the chain's rule
/// (`pot_pol_core::reward::reward_weights`) over [`improvement_fixed`], so the trainer shows
/// what the chain pays. Sign-safe: a score that does not lower the loss weighs 0.
pub fn reward_weights(scores: &[Score]) -> Vec<u32> {
	let improvements: Vec<i64> = scores.iter().map(improvement_fixed).collect();
	pot_pol_core::reward::reward_weights(&improvements)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
	use super::*;
	use crate::{
		aggregate::update,
		checkpoint::{weights_hash, Checkpoint},
		data::digits_split,
		model::ModelSpec,
		optim::{OptimizerConfig, OptimizerKind},
		task::{HexHash, RoundContext, Tolerance, TrainTask},
		train::Session,
	};

	fn s(before: f64, after: f64) -> Score {
		Score { loss_before: before, loss_after: after }
	}

	#[test]
	fn weights_are_relative_to_the_best_and_sign_safe() {
		let weights = reward_weights(&[s(2.0, 1.0), s(2.0, 3.0), s(2.0, 1.5), s(2.0, f64::NAN)]);
		assert_eq!(weights, vec![1_000_000_000, 0, 500_000_000, 0]);
		assert_eq!(reward_weights(&[s(1.0, 1.0), s(1.0, 2.0)]), vec![0, 0]);
		assert_eq!(reward_weights(&[]), Vec::<u32>::new());
		// An infinite improvement saturates: it is the best, the others weigh next to nothing.
		assert_eq!(reward_weights(&[s(f64::INFINITY, 0.0), s(1.0, 0.5)]), vec![1_000_000_000, 0]);
		assert_eq!(improvement_fixed(&s(1.0, 0.25)), 750_000_000);
		assert_eq!(improvement_fixed(&s(0.25, 1.0)), -750_000_000);
		assert_eq!(improvement_fixed(&s(f64::NAN, 1.0)), 0);
	}

	#[test]
	fn an_honest_update_scores_and_a_flipped_one_does_not() {
		tch::set_num_threads(1);
		let (train, held) = digits_split().unwrap();
		let spec = ModelSpec::Mlp { inputs: 64, hidden: vec![32], classes: 10 };
		let model = spec.build().unwrap();
		let start = model.init(2).unwrap();
		let task = TrainTask {
			model_hash: HexHash(spec.hash()),
			model: spec,
			initial_weights: HexHash(weights_hash(&start).unwrap()),
			dataset: HexHash(train.hash()),
			samples: train.len() as u32,
			optimizer: OptimizerConfig::new(OptimizerKind::Adam, 5_000_000),
			batch_size: 16,
			local_steps: 20,
			checkpoint_interval: 20,
			verification_samples: 1,
			tolerance: Tolerance::BitwiseExact,
			round: RoundContext {
				order: 1,
				round: 0,
				seed: HexHash([1; 32]),
				capacities: vec![1],
				provider: 0,
			},
		};
		let mut session = Session::new(&task, &train, tch::Device::Cpu).unwrap();
		let copy: Params = start
			.iter()
			.map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true)))
			.collect();
		let mut c = Checkpoint::initial(&task.optimizer, copy).unwrap();
		session.run(&mut c, 20).unwrap();
		let honest = update(&start, &c.params).unwrap();
		let good = score_update(model.as_ref(), &start, &honest, &held).unwrap();
		let flipped = score_update(model.as_ref(), &start, &(-&honest), &held).unwrap();
		assert!(good.improvement() > 0.1, "{good:?}");
		assert!(flipped.improvement() < 0.0, "{flipped:?}");
		assert_eq!(reward_weights(&[good, flipped]), vec![1_000_000_000, 0]);
	}
}
