//! `ReportOffence`: slashing bonded and unbonding funds.

use super::*;
use polkadot_sdk::{frame_support::assert_ok, sp_runtime::Perbill};
use pot_primitives::{ContentHash, OffenceError, OffenceKind, ReportOffence, Slashed};

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
