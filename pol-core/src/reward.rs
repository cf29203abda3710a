//! Reward weights of a public run (PROTOCOL.md, "public training runs"): each verified update is
//! paid its work units at the run's reward per unit, times a weight in `[0, 1]` set by the
//! held-out loss improvement the validator measured for it.
//!
//! The weight of an update is its improvement divided by the round's best improvement, so the
//! most useful update of a round earns the full reward and the others earn in proportion.
//! Weights are sign-safe: an improvement of zero or less (the update did not help, or made the
//! model worse) weighs zero, never a negative amount, and a round in which no update helped
//! mints nothing. Improvements are fixed-point integers (`FixedI64` inner values: 10⁻⁹ loss);
//! weights are parts per billion (`Perbill` inner values).

use alloc::vec::Vec;

/// Parts per billion of a whole weight.
pub const FULL_WEIGHT: u32 = 1_000_000_000;

/// The weight of each improvement, in parts per billion: `max(0, i) / max(0, max_j i_j)`, rounded
/// down; all zero when no improvement is positive. The largest positive improvement weighs
/// exactly [`FULL_WEIGHT`].
pub fn reward_weights(improvements: &[i64]) -> Vec<u32> {
	let best = improvements.iter().copied().max().unwrap_or(0);
	improvements
		.iter()
		.map(|&improvement| {
			if best <= 0 || improvement <= 0 {
				return 0;
			}
			// 0 < improvement ≤ best, so the quotient is at most FULL_WEIGHT.
			let scaled = u128::from(improvement.unsigned_abs())
				.saturating_mul(u128::from(FULL_WEIGHT))
				.checked_div(u128::from(best.unsigned_abs()))
				.unwrap_or(0);
			u32::try_from(scaled).unwrap_or(FULL_WEIGHT)
		})
		.collect()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	#[test]
	fn the_best_update_weighs_fully_and_the_others_in_proportion() {
		assert_eq!(
			reward_weights(&[400, 100, 200, 0]),
			vec![FULL_WEIGHT, 250_000_000, 500_000_000, 0]
		);
		assert_eq!(reward_weights(&[3, 3]), vec![FULL_WEIGHT, FULL_WEIGHT]);
		assert_eq!(reward_weights(&[1, 3]), vec![333_333_333, FULL_WEIGHT]);
		assert_eq!(reward_weights(&[]), Vec::<u32>::new());
	}

	#[test]
	fn updates_that_do_not_help_weigh_nothing() {
		// Negative improvements never combine into a positive weight.
		assert_eq!(reward_weights(&[-5, -1]), vec![0, 0]);
		assert_eq!(reward_weights(&[-5, 10]), vec![0, FULL_WEIGHT]);
		assert_eq!(reward_weights(&[0, 0]), vec![0, 0]);
		assert_eq!(reward_weights(&[i64::MIN, i64::MAX]), vec![0, FULL_WEIGHT]);
		assert_eq!(reward_weights(&[1, i64::MAX]), vec![0, FULL_WEIGHT]);
	}

	proptest! {
		#[test]
		fn weights_are_bounded_sign_safe_and_monotone(
			improvements in proptest::collection::vec(any::<i64>(), 0..20)
		) {
			let weights = reward_weights(&improvements);
			prop_assert_eq!(weights.len(), improvements.len());
			let best = improvements.iter().copied().max().unwrap_or(0);
			for (i, (&improvement, &weight)) in improvements.iter().zip(&weights).enumerate() {
				prop_assert!(weight <= FULL_WEIGHT);
				if improvement <= 0 {
					prop_assert_eq!(weight, 0);
				}
				if improvement > 0 && improvement == best {
					prop_assert_eq!(weight, FULL_WEIGHT);
				}
				for (j, &other) in improvements.iter().enumerate() {
					if other >= improvement {
						prop_assert!(weights[j] >= weights[i]);
					}
				}
			}
		}
	}
}
