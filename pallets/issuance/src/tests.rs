//! The book follows every mint and burn reported to it, and the invariant catches those that
//! bypass it.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]

use crate::{mock::*, Baseline, Burned, Emitted};
use polkadot_sdk::{
	frame_support::{
		assert_ok,
		traits::{
			fungible::{Balanced, Inspect, Mutate},
			tokens::{Fortitude, Precision, Preservation},
			OnUnbalanced,
		},
	},
	sp_runtime::DispatchError,
};
use pot_primitives::EmissionLedger;

fn total_issuance() -> Balance {
	<Balances as Inspect<AccountId>>::total_issuance()
}

#[test]
fn genesis_opens_the_book_at_the_endowed_issuance() {
	build_and_execute(|| {
		assert_eq!(Baseline::<Test>::get(), 2 * INITIAL);
		assert_eq!(total_issuance(), 2 * INITIAL);
		assert_eq!(Emitted::<Test>::get(), 0);
		assert_eq!(Burned::<Test>::get(), 0);
		assert_eq!(Issuance::booked_issuance(), Some(2 * INITIAL));
	});
}

#[test]
fn reported_emission_keeps_the_book_balanced() {
	build_and_execute(|| {
		let minted = Balances::mint_into(&BOB, 300).unwrap();
		Issuance::note_emission(minted);
		let minted = Balances::mint_into(&ALICE, 50).unwrap();
		Issuance::note_emission(minted);
		assert_eq!(Emitted::<Test>::get(), 350);
		assert_eq!(total_issuance(), 2 * INITIAL + 350);
		assert_ok!(Issuance::check_issuance());
	});
}

#[test]
fn burning_a_credit_through_the_book_lowers_the_issuance_and_books_it() {
	build_and_execute(|| {
		let credit = <Balances as Balanced<AccountId>>::withdraw(
			&ALICE,
			400,
			Precision::Exact,
			Preservation::Preserve,
			Fortitude::Polite,
		)
		.unwrap();
		// Withdrawn but not yet destroyed: the credit is still part of the issuance.
		assert_eq!(total_issuance(), 2 * INITIAL);
		Issuance::on_unbalanced(credit);
		assert_eq!(Burned::<Test>::get(), 400);
		assert_eq!(total_issuance(), 2 * INITIAL - 400);
		assert_eq!(Balances::balance(&ALICE), INITIAL - 400);
	});
}

#[test]
fn the_dust_of_a_reaped_account_is_burned_through_the_book() {
	build_and_execute(|| {
		// Alice keeps 5, below the existential deposit: her account is reaped, the 5 are dust.
		assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(ALICE),
			BOB,
			INITIAL - 5
		));
		assert_eq!(Balances::balance(&ALICE), 0);
		assert_eq!(Burned::<Test>::get(), 5);
		assert_eq!(total_issuance(), 2 * INITIAL - 5);
	});
}

#[test]
fn an_empty_credit_books_nothing() {
	build_and_execute(|| {
		Issuance::on_unbalanced(<Balances as Balanced<AccountId>>::issue(0));
		assert_eq!(Burned::<Test>::get(), 0);
	});
}

#[test]
fn a_mint_the_book_did_not_hear_of_breaks_the_invariant() {
	new_test_ext().execute_with(|| {
		Balances::mint_into(&BOB, 1).unwrap();
		assert!(matches!(Issuance::check_issuance(), Err(DispatchError::Other(_))));
		// Reported late, the book is balanced again.
		Issuance::note_emission(1);
		assert_ok!(Issuance::check_issuance());
	});
}

#[test]
fn a_burn_that_bypasses_the_book_breaks_the_invariant() {
	new_test_ext().execute_with(|| {
		Balances::burn_from(&ALICE, 7, Preservation::Preserve, Precision::Exact, Fortitude::Polite)
			.unwrap();
		assert!(matches!(Issuance::check_issuance(), Err(DispatchError::Other(_))));
	});
}

#[test]
fn a_book_that_burned_more_than_ever_existed_is_refused() {
	new_test_ext().execute_with(|| {
		Burned::<Test>::put(2 * INITIAL + 1);
		assert_eq!(Issuance::booked_issuance(), None);
		assert!(Issuance::check_issuance().is_err());
	});
}
