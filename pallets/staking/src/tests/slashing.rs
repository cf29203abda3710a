//! `ReportOffence`: slashing bonded and unbonding funds, with a reporter's reward or the
//! compensation of claimants.

use super::*;
use polkadot_sdk::{frame_support::assert_ok, sp_runtime::Perbill};
use pot_primitives::{
	Compensated, ContentHash, OffenceError, OffenceKind, ReportOffence, Slashed,
};

fn report(
	who: AccountId,
	kind: OffenceKind,
	reporter: Option<AccountId>,
) -> Result<Slashed<Balance>, OffenceError> {
	<Staking as ReportOffence<AccountId, Balance>>::report_offence(
		&who,
		kind,
		reporter.as_ref(),
		ContentHash::repeat_byte(7),
	)
}

#[test]
fn a_slash_takes_the_fraction_of_the_active_bond() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let treasury = free(TREASURY);
		// InvalidWork: 10% of V1's 1000.
		assert_eq!(
			report(V1, OffenceKind::InvalidWork, None),
			Ok(Slashed { amount: 100, reporter_reward: 0 })
		);
		assert_eq!(ledger(V1), Some((900, vec![])));
		assert_eq!(held(V1), 900);
		assert_eq!(free(TREASURY), treasury + 100);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(
			last_event(),
			Event::Slashed {
				offender: V1,
				kind: OffenceKind::InvalidWork,
				amount: 100,
				reporter: None,
				reporter_reward: 0,
				evidence: ContentHash::repeat_byte(7),
			}
		);
	});
}

#[test]
fn a_slash_reaches_unbonding_chunks_newest_first() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 1_000);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 300));
		run_to_block(2);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 400));
		// Active 300, chunks 300@11 and 400@12. UnfoundedChallenge slashes 50% of 1000 = 500:
		// 300 from the active bond, then 200 from the newest chunk.
		assert_eq!(report(ALICE, OffenceKind::UnfoundedChallenge, None).unwrap().amount, 500);
		assert_eq!(ledger(ALICE), Some((0, vec![(300, 11), (200, 12)])));
		assert_eq!(held(ALICE), 500);
		// Another 50% of 500 = 250: the rest of the newest chunk, then 50 of the older one.
		assert_eq!(report(ALICE, OffenceKind::UnfoundedChallenge, None).unwrap().amount, 250);
		assert_eq!(ledger(ALICE), Some((0, vec![(250, 11)])));
		// Unbonding funds that were slashed are not withdrawn.
		run_to_block(12);
		assert_ok!(Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)));
		assert_eq!(ledger(ALICE), None);
		assert_eq!(free(ALICE), INITIAL - 750);
	});
}

#[test]
fn a_full_slash_never_takes_more_than_held() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::set_slash_fraction(
			RuntimeOrigin::root(),
			OffenceKind::Censorship,
			Perbill::one()
		));
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 400));
		assert_eq!(report(V1, OffenceKind::Censorship, None).unwrap().amount, 1_000);
		assert_eq!(ledger(V1), Some((0, vec![])));
		assert_eq!(held(V1), 0);
		assert_eq!(free(V1), INITIAL - 1_000);
		// Nothing is left to take.
		assert_eq!(report(V1, OffenceKind::Censorship, None).unwrap().amount, 0);
	});
}

#[test]
fn the_reporter_gets_its_share() {
	ExtBuilder::default().build_and_execute(|| {
		let treasury = free(TREASURY);
		// WrongVerdict: 20% of 2000 = 400; 10% of it to the reporter.
		assert_eq!(
			report(V2, OffenceKind::WrongVerdict, Some(ALICE)),
			Ok(Slashed { amount: 400, reporter_reward: 40 })
		);
		assert_eq!(free(ALICE), INITIAL + 40);
		assert_eq!(free(TREASURY), treasury + 360);
		assert_eq!(held(V2), 1_600);
	});
}

#[test]
fn the_offender_never_rewards_itself() {
	ExtBuilder::default().build_and_execute(|| {
		let treasury = free(TREASURY);
		assert_eq!(
			report(V2, OffenceKind::WrongVerdict, Some(V2)),
			Ok(Slashed { amount: 400, reporter_reward: 0 })
		);
		assert_eq!(free(TREASURY), treasury + 400);
		assert!(matches!(last_event(), Event::Slashed { reporter: None, .. }));
	});
}

#[test]
fn a_reward_the_reporter_cannot_receive_goes_to_the_handler() {
	ExtBuilder::default().build_and_execute(|| {
		let treasury = free(TREASURY);
		// MissedDeadline: 1% of 1000 = 10; the reporter's 1 is below the existential deposit
		// of a new account.
		assert_eq!(
			report(V1, OffenceKind::MissedDeadline, Some(NOBODY)),
			Ok(Slashed { amount: 10, reporter_reward: 0 })
		);
		assert_eq!(free(NOBODY), 0);
		assert_eq!(free(TREASURY), treasury + 10);
	});
}

#[test]
fn an_unbonded_offender_is_refused() {
	ExtBuilder::default().build_and_execute(|| {
		assert_eq!(report(ALICE, OffenceKind::InvalidWork, None), Err(OffenceError::NotBonded));
		assert!(staking_events().is_empty());
	});
}

#[test]
fn a_zero_fraction_slashes_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::set_slash_fraction(
			RuntimeOrigin::root(),
			OffenceKind::InvalidWork,
			Perbill::zero()
		));
		assert_eq!(report(V1, OffenceKind::InvalidWork, Some(ALICE)), Ok(Slashed::default()));
		assert_eq!(held(V1), 1_000);
	});
}

#[test]
fn a_provider_is_slashed_like_a_validator() {
	ExtBuilder::default().build_and_execute(|| {
		provider(P1, 200, V1);
		assert_eq!(
			report(P1, OffenceKind::InvalidWork, Some(V1)).unwrap(),
			Slashed { amount: 20, reporter_reward: 2 }
		);
		assert_eq!(ledger(P1), Some((180, vec![])));
	});
}

#[test]
fn the_report_weight_is_the_benchmarked_one() {
	ExtBuilder::default().build_and_execute(|| {
		assert_eq!(
			<Staking as ReportOffence<AccountId, Balance>>::report_weight(),
			<() as WeightInfo>::report_offence()
		);
	});
}

#[test]
fn slashable_is_bonded_plus_unbonding() {
	ExtBuilder::default().build_and_execute(|| {
		let slashable = |who| <Staking as ReportOffence<AccountId, Balance>>::slashable(&who);
		assert_eq!(slashable(ALICE), 0);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 300));
		assert_eq!(slashable(V1), 1_000);
		assert_eq!(report(V1, OffenceKind::InvalidWork, None).unwrap().amount, 100);
		assert_eq!(slashable(V1), 900);
	});
}

// ---------------------------------------------------------------------------------------------
// Compensating reports

fn report_compensating(
	who: AccountId,
	kind: OffenceKind,
	claims: &[(AccountId, Balance)],
) -> Result<Compensated<Balance>, OffenceError> {
	<Staking as ReportOffence<AccountId, Balance>>::report_offence_compensating(
		&who,
		kind,
		ContentHash::repeat_byte(9),
		claims,
	)
}

/// The `Compensated` events so far: (offender, beneficiary, amount).
fn compensations() -> Vec<(AccountId, AccountId, Balance)> {
	staking_events()
		.into_iter()
		.filter_map(|e| match e {
			Event::Compensated { offender, beneficiary, amount } => {
				Some((offender, beneficiary, amount))
			},
			_ => None,
		})
		.collect()
}

#[test]
fn compensation_pays_the_claims_in_order_out_of_the_slash() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let treasury = free(TREASURY);
		// InvalidWork: 10% of V1's 1000 = 100; the claims take 80, the handler the other 20.
		assert_eq!(
			report_compensating(V1, OffenceKind::InvalidWork, &[(ALICE, 30), (BOB, 50)]),
			Ok(Compensated { amount: 100, paid: vec![30, 50] })
		);
		assert_eq!(ledger(V1), Some((900, vec![])));
		assert_eq!(held(V1), 900);
		assert_eq!(free(ALICE), INITIAL + 30);
		assert_eq!(free(BOB), INITIAL + 50);
		assert_eq!(free(TREASURY), treasury + 20);
		// The compensation moved slashed funds; the mock's handler keeps the rest.
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(
			staking_events(),
			vec![
				Event::Slashed {
					offender: V1,
					kind: OffenceKind::InvalidWork,
					amount: 100,
					reporter: None,
					reporter_reward: 0,
					evidence: ContentHash::repeat_byte(9),
				},
				Event::Compensated { offender: V1, beneficiary: ALICE, amount: 30 },
				Event::Compensated { offender: V1, beneficiary: BOB, amount: 50 },
			]
		);
	});
}

#[test]
fn claims_beyond_the_slash_are_paid_until_it_is_used_up() {
	ExtBuilder::default().build_and_execute(|| {
		let treasury = free(TREASURY);
		// A slash of 100: the first claim is paid in full, the second gets the 30 left, the
		// third nothing.
		assert_eq!(
			report_compensating(
				V1,
				OffenceKind::InvalidWork,
				&[(ALICE, 70), (BOB, 50), (CHARLIE, 10)]
			),
			Ok(Compensated { amount: 100, paid: vec![70, 30, 0] })
		);
		assert_eq!(free(ALICE), INITIAL + 70);
		assert_eq!(free(BOB), INITIAL + 30);
		assert_eq!(free(CHARLIE), INITIAL);
		assert_eq!(free(TREASURY), treasury);
		assert_eq!(held(V1), 900);
		// No event for the claim that got nothing.
		assert_eq!(compensations(), vec![(V1, ALICE, 70), (V1, BOB, 30)]);
	});
}

#[test]
fn a_part_the_claimant_cannot_receive_stays_in_the_slash() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let treasury = free(TREASURY);
		// MissedDeadline: 1% of 1000 = 10. NOBODY's 5 would not reach the existential deposit
		// of a new account: it stays in the slash, ALICE's 8 is paid from it, the handler gets
		// the last 2.
		assert_eq!(
			report_compensating(V1, OffenceKind::MissedDeadline, &[(NOBODY, 5), (ALICE, 8)]),
			Ok(Compensated { amount: 10, paid: vec![0, 8] })
		);
		assert_eq!(free(NOBODY), 0);
		assert!(!System::account_exists(&NOBODY));
		assert_eq!(free(ALICE), INITIAL + 8);
		assert_eq!(free(TREASURY), treasury + 2);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(compensations(), vec![(V1, ALICE, 8)]);
		// Alone, its part goes to the handler.
		assert_eq!(
			report_compensating(V1, OffenceKind::MissedDeadline, &[(NOBODY, 5)]),
			Ok(Compensated { amount: 9, paid: vec![0] })
		);
		assert_eq!(free(TREASURY), treasury + 2 + 9);
	});
}

#[test]
fn the_offender_never_compensates_itself() {
	ExtBuilder::default().build_and_execute(|| {
		let treasury = free(TREASURY);
		assert_eq!(
			report_compensating(V1, OffenceKind::InvalidWork, &[(V1, 50), (ALICE, 20)]),
			Ok(Compensated { amount: 100, paid: vec![0, 20] })
		);
		assert_eq!(free(V1), INITIAL - 1_000);
		assert_eq!(free(TREASURY), treasury + 80);
		assert_eq!(compensations(), vec![(V1, ALICE, 20)]);
	});
}

#[test]
fn a_compensating_report_without_claims_is_a_plain_slash() {
	ExtBuilder::default().build_and_execute(|| {
		let treasury = free(TREASURY);
		assert_eq!(
			report_compensating(V2, OffenceKind::WrongVerdict, &[]),
			Ok(Compensated { amount: 400, paid: vec![] })
		);
		assert_eq!(held(V2), 1_600);
		assert_eq!(free(TREASURY), treasury + 400);
		assert!(matches!(last_event(), Event::Slashed { reporter: None, reporter_reward: 0, .. }));
		// A zero fraction slashes nothing and pays nothing.
		assert_ok!(Staking::set_slash_fraction(
			RuntimeOrigin::root(),
			OffenceKind::InvalidWork,
			Perbill::zero()
		));
		assert_eq!(
			report_compensating(V1, OffenceKind::InvalidWork, &[(ALICE, 10)]),
			Ok(Compensated { amount: 0, paid: vec![0] })
		);
		assert_eq!(free(ALICE), INITIAL);
		assert!(compensations().is_empty());
	});
}

#[test]
fn a_compensating_slash_reaches_unbonding_chunks() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 1_000);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 800));
		// UnfoundedChallenge slashes 50% of 1000 = 500: the active 200, then 300 of the chunk.
		assert_eq!(
			report_compensating(ALICE, OffenceKind::UnfoundedChallenge, &[(BOB, 450)])
				.map(|c| c.paid),
			Ok(vec![450])
		);
		assert_eq!(ledger(ALICE), Some((0, vec![(500, 11)])));
		assert_eq!(held(ALICE), 500);
		assert_eq!(free(BOB), INITIAL + 450);
	});
}

#[test]
fn an_unbonded_offender_compensates_nobody() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let treasury = free(TREASURY);
		assert_eq!(
			report_compensating(ALICE, OffenceKind::InvalidWork, &[(BOB, 10)]),
			Err(OffenceError::NotBonded)
		);
		assert_eq!(free(BOB), INITIAL);
		assert_eq!(free(TREASURY), treasury);
		assert_eq!(Balances::total_issuance(), issuance);
		assert!(staking_events().is_empty());
	});
}

#[test]
fn the_compensating_weight_is_the_benchmarked_one() {
	ExtBuilder::default().build_and_execute(|| {
		for c in [0, 1, 3, 64] {
			assert_eq!(
				<Staking as ReportOffence<AccountId, Balance>>::report_compensating_weight(c),
				<() as WeightInfo>::report_offence_compensating(c)
			);
		}
		// Each claim costs more.
		assert!(
			<() as WeightInfo>::report_offence_compensating(2).ref_time() >
				<() as WeightInfo>::report_offence_compensating(1).ref_time()
		);
	});
}
