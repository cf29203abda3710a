//! Public runs: each verified update's reward is weighted by the loss improvement the
//! validator measured, relative to the round's best, and never below zero.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{challenge_tests::*, mock::*, settlement::reward_weights, tests::*, *};
use polkadot_sdk::{
	frame_support::assert_ok,
	sp_core::H256,
	sp_runtime::{FixedI64, FixedU64, Perbill},
};
use pot_primitives::OrderId;

fn accepted(improvement: i64) -> Verdict {
	Verdict::Accepted { improvement: FixedI64::from_inner(improvement) }
}

fn rejected() -> Verdict {
	Verdict::Rejected(Rejection {
		segment: 0,
		distance: FixedU64::from_rational(1, 1000),
		evidence: H256::repeat_byte(0xee),
	})
}

fn verdict(position: Position, verdict: Verdict, overturned: bool) -> RecordedVerdict {
	RecordedVerdict { position, commitment: commitment(4), verdict, overturned }
}

/// Three GPU providers of capacities 1, 2, 1 in `V`'s cluster and a started public run of one
/// round of 4 steps for them, at `PRICE` per unit, whose cap covers every step.
fn started_public_run() -> OrderId {
	cluster(&[(P1, GPU, 1), (P2, GPU, 2), (P3, GPU, 1)]);
	let order = MockMarket::create_public(V, task(1, 4), 3, PRICE, 1_000);
	assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), order));
	order
}

#[test]
fn a_public_run_rewards_each_update_by_its_improvement_against_the_rounds_best() {
	ExtBuilder::build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let order = started_public_run();
		let before = [free(P1), free(P2), free(P3)];
		recorded(order, 0, [accepted(400_000), accepted(100_000), accepted(-50_000)]);
		past_challenge_window(order, 0);

		// The round was the last: the run completed and the market forgot the order.
		assert!(MockMarket::order(order).is_none());
		// 4 steps at 10: P1 (the best) 40, P2 a quarter, 10; the 10% fee stays with the run.
		// P3 made the model worse: nothing, and never a negative amount.
		assert_eq!(free(P1), before[0] + 36);
		assert_eq!(free(P2), before[1] + 9);
		assert_eq!(free(P3), before[2]);
		// Minted: 36 + 9 to the providers and the fee 4 + 1 to the validator at completion.
		assert_eq!(Balances::total_issuance(), issuance + 50);
		let paid: Vec<_> = pol_events()
			.into_iter()
			.filter_map(|e| match e {
				Event::ProviderPaid { provider, work_units, amount, .. } => {
					Some((provider, work_units.0, amount))
				}
				_ => None,
			})
			.collect();
		assert_eq!(paid, vec![(P1, 4, 36), (P2, 4, 9), (P3, 4, 0)]);
	});
}

#[test]
fn a_round_in_which_no_update_helped_mints_nothing() {
	ExtBuilder::build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let order = started_public_run();
		recorded(order, 0, [accepted(0), accepted(-1), accepted(i64::MIN)]);
		past_challenge_window(order, 0);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn a_consumers_order_pays_verified_work_in_full_whatever_its_improvement() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		recorded(order, 0, [accepted(-5), accepted(0), accepted(7)]);
		past_challenge_window(order, 0);
		let o = MockMarket::order(order).unwrap();
		// The weights go to the market, which ignores them for a consumer's order.
		assert_eq!(
			o.weights,
			vec![(P1, Perbill::zero()), (P2, Perbill::zero()), (P3, Perbill::one())]
		);
		assert_eq!(o.spent, 3 * 36);
	});
}

#[test]
fn reward_weights_count_only_work_that_stands() {
	let weights = reward_weights(&[
		// Accepted, then found invalid by a challenge: paid nothing and not the round's best.
		verdict(0, accepted(1_000), true),
		// Rejected, then upheld as valid: the censoring validator measured nothing for it, so
		// it is paid in full.
		verdict(1, rejected(), true),
		// The best update that stands.
		verdict(2, accepted(400), false),
		verdict(3, accepted(100), false),
		// A rejection that stands: nothing.
		verdict(4, rejected(), false),
		verdict(5, accepted(-400), false),
	]);
	assert_eq!(
		weights,
		vec![
			Perbill::zero(),
			Perbill::one(),
			Perbill::one(),
			Perbill::from_percent(25),
			Perbill::zero(),
			Perbill::zero(),
		]
	);
	assert!(reward_weights(&[]).is_empty());
}
