//! Scoring of updates for reward weighting (PROTOCOL.md step 5 and "public training runs"):
//! how much an update lowers the loss on held-out data, and the reward shares that follow.
//!
//! An update's score is `loss(θ_r) − loss(θ_r − Δ)` on the held-out set ([`score_update`]).
//! Shares are sign-safe ([`reward_shares`]): an update that does not lower the loss (score ≤ 0,
//! or not finite) gets nothing, never a negative amount; the others split 10⁶ ppm in proportion
//! to their scores, measured in units of 10⁻⁹ loss, by the largest-remainder method (ties: lower
//! index first), so the shares are integers that sum to exactly 10⁶ whenever any score is positive.

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
	let (loss_before, _) = evaluate(model, start, held_out)?;
	let after = apply_update(start, update, 1.0)?;
	let (loss_after, _) = evaluate(model, &after, held_out)?;
	Ok(Score { loss_before, loss_after })
}

/// Reward shares in ppm, one per score; all zero when no score is positive.
pub fn reward_shares(scores: &[Score]) -> Vec<u32> {
	const TOTAL: u128 = 1_000_000;
	let units: Vec<u128> = scores
		.iter()
		.map(|s| {
			let i = s.improvement();
			// Saturating float-to-int conversion; NaN becomes 0.
			if i.is_finite() && i > 0.0 {
				(i * 1e9) as u64 as u128
			} else {
				0
			}
		})
		.collect();
	let sum: u128 = units.iter().sum();
	if sum == 0 {
		return vec![0; scores.len()];
	}
	let mut shares: Vec<u32> = Vec::with_capacity(units.len());
	let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(units.len());
	let mut given: u128 = 0;
	for (i, &u) in units.iter().enumerate() {
		let exact = u.saturating_mul(TOTAL);
		let share = exact.checked_div(sum).unwrap_or(0);
		remainders.push((exact.checked_rem(sum).unwrap_or(0), i));
		given = given.saturating_add(share);
		shares.push(u32::try_from(share).unwrap_or(u32::MAX));
	}
	remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
	let left = usize::try_from(TOTAL.saturating_sub(given)).unwrap_or(0);
	for &(_, i) in
		remainders.iter().filter(|(_, i)| units.get(*i).is_some_and(|&u| u > 0)).take(left)
	{
		if let Some(s) = shares.get_mut(i) {
			*s = s.saturating_add(1);
		}
	}
	shares
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
	fn shares_are_sign_safe_and_sum_to_a_million() {
		let shares = reward_shares(&[s(2.0, 1.0), s(2.0, 3.0), s(2.0, 1.5), s(2.0, f64::NAN)]);
		assert_eq!(shares, vec![666_667, 0, 333_333, 0]);
		assert_eq!(reward_shares(&[s(1.0, 1.0), s(1.0, 2.0)]), vec![0, 0]);
		assert_eq!(reward_shares(&[]), Vec::<u32>::new());
		let three = reward_shares(&[s(1.0, 0.0), s(1.0, 0.0), s(1.0, 0.0)]);
		assert_eq!(three, vec![333_334, 333_333, 333_333]);
		assert_eq!(reward_shares(&[s(f64::INFINITY, 0.0), s(1.0, 0.5)]), vec![0, 1_000_000]);
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
		assert_eq!(reward_shares(&[good, flipped]), vec![1_000_000, 0]);
	}
}
