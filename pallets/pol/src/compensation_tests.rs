//! Tests of the compensation of providers when their validator misses a round's result
//! deadline: the providers that committed to the round are paid their committed steps at the
//! order's price out of the validator's slash (the mock's compensating report transfers them
//! from the validator's free balance), in position order, as far as the slash reaches; the
//! consumer is refunded as before. Every test runs in `ExtBuilder::build_and_execute`
//! (invariants after the test).
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{mock::*, tests::*, *};
use polkadot_sdk::frame_support::assert_ok;
use pot_primitives::{OffenceKind, OpenWorkInspect, OrderId};

/// Runs to the block after the result deadline of `order`'s open round: its hook fails the run.
fn past_result_deadline(order: OrderId) {
	run_to_block(round_of(order).result_deadline + 1);
}

/// The `RunFailed` event of `order`'s round `round`, failed for a missed result deadline.
fn run_failed(
	order: OrderId,
	round: RoundIndex,
	refunded: Balance,
	validator_slashed: Option<Balance>,
	providers_compensated: Option<Balance>,
) -> Event<Test> {
	Event::RunFailed {
		order,
		round,
		reason: FailureReason::MissedResultDeadline,
		refunded: Some(refunded),
		validator_slashed,
		providers_compensated,
	}
}

#[test]
fn the_committed_providers_are_paid_their_steps_from_the_validators_slash() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let budget = MockMarket::order(order).unwrap().budget;
		let issuance = Balances::total_issuance();
		let before = [free(CONSUMER), free(V), free(P1), free(P2), free(P3)];
		// P1 commits 4 steps, P2 3, P3 nothing; the validator never answers.
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P2, 3));
		System::reset_events();
		past_result_deadline(order);

		// The slash (10% of V's 10,000) covers both claims: 4 and 3 steps at the price.
		assert_eq!(
			MockOffences::reports(),
			vec![(V, OffenceKind::MissedDeadline, None, Pol::missed_deadline_evidence(order, 0))]
		);
		assert_eq!(MockOffences::compensations(), vec![(V, P1, 4 * PRICE), (V, P2, 3 * PRICE)]);
		assert_eq!(free(P1), before[2] + 4 * PRICE);
		assert_eq!(free(P2), before[3] + 3 * PRICE);
		assert_eq!(free(P3), before[4], "no commitment, no compensation");
		assert_eq!(free(V), before[1] - 7 * PRICE);
		// The consumer gets its whole budget back, as without compensation.
		assert_eq!(free(CONSUMER), before[0] + budget);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(pol_events(), vec![run_failed(order, 0, budget, Some(1_000), Some(7 * PRICE))]);
		assert!(Runs::<Test>::get(order).is_none());
		assert_eq!(Commitments::<Test>::iter().count(), 0);
		assert!([P1, P2, P3].iter().all(|p| !Pol::has_open_work(p)));
	});
}

#[test]
fn a_slash_smaller_than_the_claims_pays_them_in_position_order() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let budget = MockMarket::order(order).unwrap().budget;
		// A slash of 50 (10% of 500) for three claims of 40.
		MockOffences::bond(V, 500);
		let before = [free(V), free(P1), free(P2), free(P3)];
		for p in [P1, P2, P3] {
			assert_ok!(commit(order, 0, p, 4));
		}
		System::reset_events();
		past_result_deadline(order);

		// P1 (position 0) gets its 40, P2 the 10 left, P3 nothing.
		assert_eq!(MockOffences::compensations(), vec![(V, P1, 40), (V, P2, 10)]);
		assert_eq!(free(P1), before[1] + 40);
		assert_eq!(free(P2), before[2] + 10);
		assert_eq!(free(P3), before[3]);
		assert_eq!(free(V), before[0] - 50);
		assert_eq!(pol_events(), vec![run_failed(order, 0, budget, Some(50), Some(50))]);
	});
}

#[test]
fn an_unbonded_validator_compensates_nobody() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let budget = MockMarket::order(order).unwrap().budget;
		assert_ok!(commit(order, 0, P1, 4));
		MockOffences::unbond(V);
		let (consumer, p1) = (free(CONSUMER), free(P1));
		System::reset_events();
		past_result_deadline(order);

		// The report is refused: nothing is slashed, so nothing is paid; the order fails all the
		// same.
		assert!(MockOffences::reports().is_empty());
		assert!(MockOffences::compensations().is_empty());
		assert_eq!(free(P1), p1);
		assert_eq!(free(CONSUMER), consumer + budget);
		assert_eq!(pol_events(), vec![run_failed(order, 0, budget, None, None)]);
		assert!(Runs::<Test>::get(order).is_none());
	});
}

#[test]
fn only_the_missed_round_is_compensated_earlier_rounds_are_paid_by_the_market() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let budget = MockMarket::order(order).unwrap().budget;
		let before = [free(P1), free(P2), free(P3)];
		// Round 0: everyone commits 4 steps, all accepted.
		for p in [P1, P2, P3] {
			assert_ok!(commit(order, 0, p, 4));
		}
		past_commit_deadline(order);
		let verdicts = vec![(0, ACCEPTED), (1, ACCEPTED), (2, ACCEPTED)];
		assert_ok!(Pol::submit_round_result(RuntimeOrigin::signed(V), order, 0, result(verdicts)));
		// Round 1: only P1 commits, 2 steps; the validator misses the deadline after round 0
		// settled.
		assert_ok!(commit(order, 1, P1, 2));
		assert!(window_end(order, 0) < round_of(order).result_deadline);
		System::reset_events();
		past_result_deadline(order);

		// Round 0 paid 36 a provider through the market (40 less the fee); round 1 compensates
		// P1's 2 steps from the slash.
		assert_eq!(MockOffences::compensations(), vec![(V, P1, 2 * PRICE)]);
		assert_eq!(free(P1), before[0] + 36 + 2 * PRICE);
		assert_eq!(free(P2), before[1] + 36);
		assert_eq!(free(P3), before[2] + 36);
		// The validator's fee share of round 0 goes back to the consumer with the rest.
		assert_eq!(
			pol_events().last(),
			Some(&run_failed(order, 1, budget - 3 * 36, Some(1_000), Some(2 * PRICE)))
		);
		assert!(Runs::<Test>::get(order).is_none());
	});
}
