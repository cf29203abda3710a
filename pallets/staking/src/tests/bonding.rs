//! `bond`, `bond_extra`, `unbond`, `withdraw_unbonded`, `rebond`.

use super::*;
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	sp_runtime::TokenError,
};

#[test]
fn bond_holds_the_amount() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::bond(RuntimeOrigin::signed(ALICE), 500));
		assert_eq!(ledger(ALICE), Some((500, vec![])));
		assert_eq!(held(ALICE), 500);
		assert_eq!(free(ALICE), INITIAL - 500);
		assert_eq!(last_event(), Event::Bonded { who: ALICE, amount: 500 });
	});
}

#[test]
fn bond_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(Staking::bond(RuntimeOrigin::signed(ALICE), 0), Error::<Test>::ZeroAmount);
		assert_noop!(
			Staking::bond(RuntimeOrigin::signed(ALICE), INITIAL),
			TokenError::FundsUnavailable
		);
		assert_noop!(Staking::bond(RuntimeOrigin::signed(NOBODY), 1), TokenError::FundsUnavailable);
		bond(ALICE, 500);
		assert_noop!(Staking::bond(RuntimeOrigin::signed(ALICE), 1), Error::<Test>::AlreadyBonded);
		assert_noop!(
			Staking::bond(RuntimeOrigin::none(), 1),
			polkadot_sdk::sp_runtime::DispatchError::BadOrigin
		);
	});
}

#[test]
fn bond_extra_adds_to_the_active_bond() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 500);
		assert_ok!(Staking::bond_extra(RuntimeOrigin::signed(ALICE), 250));
		assert_eq!(ledger(ALICE), Some((750, vec![])));
		assert_eq!(held(ALICE), 750);
		assert_eq!(last_event(), Event::Bonded { who: ALICE, amount: 250 });
	});
}

#[test]
fn bond_extra_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Staking::bond_extra(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::NotBonded
		);
		bond(ALICE, 500);
		assert_noop!(
			Staking::bond_extra(RuntimeOrigin::signed(ALICE), 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			Staking::bond_extra(RuntimeOrigin::signed(ALICE), INITIAL),
			TokenError::FundsUnavailable
		);
		assert_noop!(
			Staking::bond_extra(RuntimeOrigin::signed(ALICE), Balance::MAX),
			Error::<Test>::Overflow
		);
	});
}

#[test]
fn unbond_moves_funds_into_a_held_chunk() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 500);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 200));
		assert_eq!(ledger(ALICE), Some((300, vec![(200, 11)])));
		assert_eq!(held(ALICE), 500);
		assert_eq!(last_event(), Event::Unbonded { who: ALICE, amount: 200, unlock_at: 11 });
		// A second unbond in the same block adds to the same chunk.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 100));
		assert_eq!(ledger(ALICE), Some((200, vec![(300, 11)])));
		run_to_block(2);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 200));
		assert_eq!(ledger(ALICE), Some((0, vec![(300, 11), (200, 12)])));
	});
}

#[test]
fn unbond_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(Staking::unbond(RuntimeOrigin::signed(ALICE), 1), Error::<Test>::NotBonded);
		bond(ALICE, 500);
		assert_noop!(Staking::unbond(RuntimeOrigin::signed(ALICE), 0), Error::<Test>::ZeroAmount);
		assert_noop!(
			Staking::unbond(RuntimeOrigin::signed(ALICE), 501),
			Error::<Test>::InsufficientBond
		);
	});
}

#[test]
fn unbond_chunks_are_bounded() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 500);
		for block in 2..5 {
			run_to_block(block);
			assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 10));
		}
		run_to_block(5);
		assert_noop!(
			Staking::unbond(RuntimeOrigin::signed(ALICE), 10),
			Error::<Test>::TooManyUnbondingChunks
		);
		// Withdrawing the first chunk makes room.
		run_to_block(12);
		assert_ok!(Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)));
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 10));
		assert_eq!(ledger(ALICE), Some((460, vec![(10, 13), (10, 14), (10, 22)])));
	});
}

#[test]
fn a_provider_cannot_unbond_below_the_minimum_but_a_validator_can() {
	ExtBuilder::default().build_and_execute(|| {
		provider(P1, 80, V1);
		assert_noop!(
			Staking::unbond(RuntimeOrigin::signed(P1), 31),
			Error::<Test>::ProviderBondBelowMinimum
		);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(P1), 30));
		// V1 (bond 1000, minimum 100) may go below the minimum; it then stops being active.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 950));
		assert_eq!(ledger(V1), Some((50, vec![(950, 11)])));
	});
}

#[test]
fn withdraw_unbonded_releases_unlocked_chunks() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 500);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 200));
		run_to_block(2);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 100));
		run_to_block(10);
		assert_noop!(
			Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NothingToWithdraw
		);
		run_to_block(11);
		assert_ok!(Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)));
		assert_eq!(ledger(ALICE), Some((200, vec![(100, 12)])));
		assert_eq!(held(ALICE), 300);
		assert_eq!(free(ALICE), INITIAL - 300);
		assert_eq!(last_event(), Event::Withdrawn { who: ALICE, amount: 200 });
	});
}

#[test]
fn withdrawing_everything_removes_the_ledger_of_an_account_without_role() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 500);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 500));
		run_to_block(11);
		assert_ok!(Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)));
		assert_eq!(ledger(ALICE), None);
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), INITIAL);
	});
}

#[test]
fn a_validator_keeps_an_empty_ledger() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 1_000));
		run_to_block(11);
		assert_ok!(Staking::withdraw_unbonded(RuntimeOrigin::signed(V1)));
		assert_eq!(ledger(V1), Some((0, vec![])));
		assert_eq!(free(V1), INITIAL);
	});
}

#[test]
fn withdraw_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NotBonded
		);
		bond(ALICE, 500);
		assert_noop!(
			Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NothingToWithdraw
		);
	});
}

#[test]
fn rebond_takes_the_newest_chunks_first() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 500);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 100));
		run_to_block(2);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 50));
		assert_ok!(Staking::rebond(RuntimeOrigin::signed(ALICE), 70));
		assert_eq!(ledger(ALICE), Some((420, vec![(80, 11)])));
		assert_eq!(held(ALICE), 500);
		assert_eq!(last_event(), Event::Rebonded { who: ALICE, amount: 70 });
		assert_ok!(Staking::rebond(RuntimeOrigin::signed(ALICE), 80));
		assert_eq!(ledger(ALICE), Some((500, vec![])));
	});
}

#[test]
fn rebond_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(Staking::rebond(RuntimeOrigin::signed(ALICE), 1), Error::<Test>::NotBonded);
		bond(ALICE, 500);
		assert_noop!(Staking::rebond(RuntimeOrigin::signed(ALICE), 0), Error::<Test>::ZeroAmount);
		assert_noop!(
			Staking::rebond(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::RebondAboveUnbonding
		);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 100));
		assert_noop!(
			Staking::rebond(RuntimeOrigin::signed(ALICE), 101),
			Error::<Test>::RebondAboveUnbonding
		);
	});
}
