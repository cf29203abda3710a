//! The `AdminOrigin` calls.

use super::*;
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	sp_runtime::{DispatchError, Perbill},
};
use pot_primitives::OffenceKind;

#[test]
fn admin_sets_the_minimum_bonds() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::set_min_validator_bond(RuntimeOrigin::root(), 500));
		assert_eq!(MinValidatorBond::<Test>::get(), 500);
		assert_eq!(last_event(), Event::MinValidatorBondSet { amount: 500 });
		assert_ok!(Staking::set_min_provider_bond(RuntimeOrigin::root(), 70));
		assert_eq!(MinProviderBond::<Test>::get(), 70);
		assert_eq!(last_event(), Event::MinProviderBondSet { amount: 70 });
		// They apply to new registrations and members.
		bond(ALICE, 499);
		assert_noop!(
			Staking::register_validator(RuntimeOrigin::signed(ALICE), ENDPOINT.to_vec()),
			Error::<Test>::BondBelowMinimum
		);
		bond(P1, 69);
		assert_noop!(
			Staking::join_cluster(RuntimeOrigin::signed(P1), V1, GPU, WorkUnits(1)),
			Error::<Test>::BondBelowMinimum
		);
	});
}

#[test]
fn admin_sets_slash_fractions() {
	ExtBuilder::default().build_and_execute(|| {
		let f = Perbill::from_percent(33);
		assert_ok!(Staking::set_slash_fraction(RuntimeOrigin::root(), OffenceKind::Censorship, f));
		assert_eq!(SlashFractions::<Test>::get(OffenceKind::Censorship), f);
		assert_eq!(
			last_event(),
			Event::SlashFractionSet { kind: OffenceKind::Censorship, fraction: f }
		);
	});
}

#[test]
fn admin_sets_the_number_of_authorities() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::set_max_authorities(RuntimeOrigin::root(), 4));
		assert_eq!(MaxAuthorityCount::<Test>::get(), 4);
		assert_eq!(last_event(), Event::MaxAuthorityCountSet { count: 4 });
		assert_ok!(Staking::set_max_authorities(RuntimeOrigin::root(), 1));
		assert_noop!(
			Staking::set_max_authorities(RuntimeOrigin::root(), 0),
			Error::<Test>::AuthorityCountOutOfRange
		);
		assert_noop!(
			Staking::set_max_authorities(RuntimeOrigin::root(), 5),
			Error::<Test>::AuthorityCountOutOfRange
		);
	});
}

#[test]
fn only_the_admin_governs() {
	ExtBuilder::default().build_and_execute(|| {
		let signed = || RuntimeOrigin::signed(ALICE);
		assert_noop!(Staking::set_min_validator_bond(signed(), 1), DispatchError::BadOrigin);
		assert_noop!(Staking::set_min_provider_bond(signed(), 1), DispatchError::BadOrigin);
		assert_noop!(
			Staking::set_slash_fraction(signed(), OffenceKind::InvalidWork, Perbill::one()),
			DispatchError::BadOrigin
		);
		assert_noop!(Staking::set_max_authorities(signed(), 2), DispatchError::BadOrigin);
	});
}
