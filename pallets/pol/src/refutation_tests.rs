//! Tests of the policy after an upheld `WrongAggregate` claim: the round open at the resolution
//! runs to its result, then the run fails (`FailureReason::WrongAggregate`) once its rounds
//! settled; a run closing to complete fails instead; a run already failing, and a missed
//! deadline after the refutation, fail as before. Every test runs in
//! `ExtBuilder::build_and_execute` (invariants after the test).
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{challenge_tests::*, mock::*, tests::*, *};
use polkadot_sdk::frame_support::{assert_noop, assert_ok};
use pot_primitives::{OffenceKind, OpenWorkInspect, OrderId};

/// The closing of a run whose round `round` was refuted with a slash of `validator_slashed`.
fn refuted(round: RoundIndex, validator_slashed: Balance) -> Closing<Balance> {
	Closing::Fail {
		round,
		reason: FailureReason::WrongAggregate,
		validator_slashed: Some(validator_slashed),
		providers_compensated: None,
	}
}

/// The `RunFailed` event of `order` failed for a refuted aggregate of round `round`.
fn run_failed(
	order: OrderId,
	round: RoundIndex,
	refunded: Balance,
	validator_slashed: Balance,
) -> Event<Test> {
	Event::RunFailed {
		order,
		round,
		reason: FailureReason::WrongAggregate,
		refunded: Some(refunded),
		validator_slashed: Some(validator_slashed),
		providers_compensated: None,
	}
}

/// A `WrongAggregate` challenge of round `round` of `order` by STRANGER, upheld at once (it is
/// challenge `id`).
fn refute(order: OrderId, round: RoundIndex, id: ChallengeId) {
	assert_ok!(challenge(STRANGER, order, round, 0, ClaimKind::WrongAggregate, 0));
	votes(id, 2, true);
}

#[test]
fn an_upheld_wrong_aggregate_fails_the_run_after_its_open_round() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(3);
		let budget = MockMarket::order(order).unwrap().budget;
		recorded(order, 0, ALL_ACCEPTED);
		assert_eq!(round_of(order).index, 1);
		System::reset_events();
		refute(order, 0, 0);
		assert_eq!(reports(), vec![(V, OffenceKind::WrongVerdict, Some(STRANGER))]);
		assert!(pol_events().contains(&Event::ChallengeOffence {
			id: 0,
			offender: V,
			kind: OffenceKind::WrongVerdict,
			slashed: Some(1_000),
		}));
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(run.refuted, Some(Refutation { round: 0, validator_slashed: Some(1_000) }));
		assert!(run.closing.is_none());
		assert_eq!(run.round.index, 1);
		assert_ok!(Pol::do_try_state());

		// Round 1 runs to its end: its commitments and result are accepted; no round 2 opens.
		System::reset_events();
		recorded(order, 1, ALL_ACCEPTED);
		assert!(!pol_events().iter().any(|e| matches!(e, Event::RoundStarted { .. })));
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(run.closing, Some(refuted(0, 1_000)));
		assert_eq!((run.round.index, run.settled, run.unsettled), (1, 0, 2));
		assert!(ResultDeadlines::<Test>::iter().next().is_none());
		assert_noop!(commit(order, 2, P1, 4), Error::<Test>::RunClosing);
		assert_ok!(Pol::do_try_state());

		// Both rounds settle and pay; then the order fails: everything unspent, the
		// validator's fee share included, back to the consumer.
		System::reset_events();
		past_challenge_window(order, 1);
		let events = pol_events();
		assert!(events.contains(&Event::RoundSettled { order, round: 0, paid: 3, rejected: 0 }));
		assert!(events.contains(&Event::RoundSettled { order, round: 1, paid: 3, rejected: 0 }));
		assert_eq!(events.last(), Some(&run_failed(order, 0, budget - 6 * 36, 1_000)));
		assert!(!events.iter().any(|e| matches!(e, Event::RunCompleted { .. })));
		assert!(Runs::<Test>::get(order).is_none());
		assert!(!Pol::has_open_work(&P1));
		assert_eq!(assert_conserved(before, order), [72, 72, 72]);
		assert_eq!(free(V), before[1]);
		assert_eq!(free(CONSUMER), before[0] - 6 * 36);
	});
}

#[test]
fn a_refutation_of_the_last_round_turns_completion_into_failure() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(2);
		let budget = MockMarket::order(order).unwrap().budget;
		recorded(order, 0, ALL_ACCEPTED);
		recorded(order, 1, ALL_ACCEPTED);
		assert_eq!(Runs::<Test>::get(order).unwrap().closing, Some(Closing::Complete));
		// Round 0 settles; the last round is challenged in its window's last block and held.
		run_to_block(window_end(order, 1));
		assert!(RoundResults::<Test>::get(order, 0).is_none());
		assert_ok!(challenge(STRANGER, order, 1, 0, ClaimKind::WrongAggregate, 0));
		run_to_block(window_end(order, 1) + 1);
		assert!(RoundResults::<Test>::get(order, 1).is_some());
		assert_eq!(Runs::<Test>::get(order).unwrap().closing, Some(Closing::Complete));

		// Upheld after the window: the round settles at once and the order fails.
		System::reset_events();
		votes(0, 2, true);
		let events = pol_events();
		assert!(events.contains(&Event::RoundSettled { order, round: 1, paid: 3, rejected: 0 }));
		assert_eq!(events.last(), Some(&run_failed(order, 1, budget - 6 * 36, 1_000)));
		assert!(Runs::<Test>::get(order).is_none());
		assert_eq!(assert_conserved(before, order), [72, 72, 72]);
		assert_eq!(free(V), before[1]);
	});
}

#[test]
fn a_refutation_of_the_last_round_in_its_window_fails_the_run_at_settlement() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		let budget = MockMarket::order(order).unwrap().budget;
		recorded(order, 0, ALL_ACCEPTED);
		refute(order, 0, 0);
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(run.closing, Some(refuted(0, 1_000)));
		assert!(run.refuted.is_none());
		assert_ok!(Pol::do_try_state());
		System::reset_events();
		past_challenge_window(order, 0);
		assert_eq!(pol_events().last(), Some(&run_failed(order, 0, budget - 3 * 36, 1_000)));
		assert_eq!(assert_conserved(before, order), [36, 36, 36]);
		assert_eq!(free(V), before[1]);
	});
}

#[test]
fn a_rejected_wrong_aggregate_claim_changes_nothing() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(2);
		let budget = MockMarket::order(order).unwrap().budget;
		recorded(order, 0, ALL_ACCEPTED);
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::WrongAggregate, 0));
		votes(0, 2, false);
		assert_eq!(reports(), vec![(STRANGER, OffenceKind::UnfoundedChallenge, Some(V))]);
		let run = Runs::<Test>::get(order).unwrap();
		assert!(run.refuted.is_none() && run.closing.is_none());
		assert_eq!(run.round.index, 1);
		recorded(order, 1, ALL_ACCEPTED);
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(run.closing, Some(Closing::Complete));
		assert!(run.refuted.is_none());
		System::reset_events();
		past_challenge_window(order, 1);
		// 6 payments of 40: 36 to the provider, 4 to the validator; nothing left to refund.
		assert_eq!(
			pol_events().last(),
			Some(&Event::RunCompleted { order, validator_fee: 24, refunded: budget - 240 })
		);
		assert_eq!(assert_conserved(before, order), [72, 72, 72]);
		assert_eq!(free(V), before[1] + 24);
	});
}

#[test]
fn a_missed_deadline_after_a_refutation_fails_as_missed() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(3);
		let budget = MockMarket::order(order).unwrap().budget;
		recorded(order, 0, ALL_ACCEPTED);
		refute(order, 0, 0);
		assert!(Runs::<Test>::get(order).unwrap().refuted.is_some());
		// Round 1: P1 commits 4 steps, P2 3, P3 nothing; the validator never answers.
		assert_ok!(commit(order, 1, P1, 4));
		assert_ok!(commit(order, 1, P2, 3));
		System::reset_events();
		run_to_block(round_of(order).result_deadline + 1);

		// Reported for the deadline too (10% of the 9,000 left), compensating P1 and P2.
		assert_eq!(
			reports(),
			vec![
				(V, OffenceKind::WrongVerdict, Some(STRANGER)),
				(V, OffenceKind::MissedDeadline, None),
			]
		);
		assert_eq!(MockOffences::compensations(), vec![(V, P1, 4 * PRICE), (V, P2, 3 * PRICE)]);
		let events = pol_events();
		assert!(events.contains(&Event::RoundSettled { order, round: 0, paid: 3, rejected: 0 }));
		assert_eq!(
			events.last(),
			Some(&Event::RunFailed {
				order,
				round: 1,
				reason: FailureReason::MissedResultDeadline,
				refunded: Some(budget - 3 * 36),
				validator_slashed: Some(900),
				providers_compensated: Some(7 * PRICE),
			})
		);
		assert!(Runs::<Test>::get(order).is_none());
		assert_eq!(free(CONSUMER), before[0] - 3 * 36);
		assert_eq!(free(V), before[1] - 7 * PRICE);
		assert_eq!(free(P1), before[2] + 36 + 4 * PRICE);
		assert_eq!(free(P2), before[3] + 36 + 3 * PRICE);
		assert_eq!(free(P3), before[4] + 36);
	});
}

#[test]
fn a_later_refutation_leaves_a_failing_run_as_it_is() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(3);
		let budget = MockMarket::order(order).unwrap().budget;
		recorded(order, 0, ALL_ACCEPTED);
		refute(order, 0, 0);
		recorded(order, 1, ALL_ACCEPTED);
		assert_eq!(Runs::<Test>::get(order).unwrap().closing, Some(refuted(0, 1_000)));
		// Round 1's aggregate is refuted too: the validator is reported again (10% of 9,000),
		// the run still fails for round 0.
		refute(order, 1, 1);
		assert_eq!(
			reports(),
			vec![
				(V, OffenceKind::WrongVerdict, Some(STRANGER)),
				(V, OffenceKind::WrongVerdict, Some(STRANGER)),
			]
		);
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(run.closing, Some(refuted(0, 1_000)));
		assert_eq!(run.refuted, Some(Refutation { round: 0, validator_slashed: Some(1_000) }));
		System::reset_events();
		past_challenge_window(order, 1);
		assert_eq!(pol_events().last(), Some(&run_failed(order, 0, budget - 6 * 36, 1_000)));
		assert_eq!(assert_conserved(before, order), [72, 72, 72]);
	});
}

#[test]
fn try_state_catches_a_refutation_out_of_place() {
	let broken = |corrupt: fn(OrderId)| {
		ExtBuilder::build().execute_with(|| {
			let order = setup(3);
			recorded(order, 0, ALL_ACCEPTED);
			refute(order, 0, 0);
			recorded(order, 1, ALL_ACCEPTED);
			assert_ok!(Pol::do_try_state());
			corrupt(order);
			assert!(Pol::do_try_state().is_err());
		});
	};
	// A refutation of a round whose result is not in.
	broken(|order| {
		Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().refuted.as_mut().unwrap().round = 2)
	});
	// A refuted run that completes.
	broken(|order| {
		Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().closing = Some(Closing::Complete))
	});
	// A failure for the aggregate of a round never opened.
	broken(|order| {
		Runs::<Test>::mutate(order, |r| {
			if let Some(Closing::Fail { round, .. }) = &mut r.as_mut().unwrap().closing {
				*round = 2;
			}
		})
	});
}
