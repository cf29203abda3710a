//! `ValidatorInspect` for the market and `ClusterInspect` for PoL.

use super::*;
use polkadot_sdk::{frame_support::assert_ok, sp_runtime::Perbill};
use pot_primitives::{ClusterInspect, ClusterMember, OffenceKind, ValidatorInspect};

fn active(who: AccountId) -> bool {
	<Staking as ValidatorInspect<AccountId, Balance>>::is_active_validator(&who)
}
fn bond_of(who: AccountId) -> Balance {
	<Staking as ValidatorInspect<AccountId, Balance>>::bond_of(&who)
}
fn capacity(who: AccountId) -> WorkUnits {
	<Staking as ValidatorInspect<AccountId, Balance>>::capacity_allowed(&who)
}

#[test]
fn an_active_validator_is_registered_not_chilled_and_bonded_enough() {
	ExtBuilder::default().build_and_execute(|| {
		assert!(active(V1));
		// Bonded but not registered.
		bond(ALICE, 5_000);
		assert!(!active(ALICE));
		assert_eq!(bond_of(ALICE), 0);
		assert_eq!(capacity(ALICE), WorkUnits::ZERO);
		// Session keys are not needed to sell compute.
		assert_ok!(Staking::register_validator(RuntimeOrigin::signed(ALICE), ENDPOINT.to_vec()));
		assert!(active(ALICE));
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V1)));
		assert!(!active(V1));
		assert_eq!(capacity(V1), WorkUnits::ZERO);
		// Below the minimum.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V2), 1_901));
		assert!(!active(V2));
		assert_eq!(bond_of(V2), 99);
	});
}

#[test]
fn capacity_follows_the_active_bond() {
	ExtBuilder::default().build_and_execute(|| {
		// BondPerWorkUnit = 10.
		assert_eq!(bond_of(V1), 1_000);
		assert_eq!(capacity(V1), WorkUnits(100));
		assert_ok!(Staking::bond_extra(RuntimeOrigin::signed(V1), 15));
		assert_eq!(capacity(V1), WorkUnits(101));
		// Unbonding funds do not count.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 515));
		assert_eq!(bond_of(V1), 500);
		assert_eq!(capacity(V1), WorkUnits(50));
	});
}

#[test]
fn clusters_are_visible_to_pol() {
	ExtBuilder::default().build_and_execute(|| {
		provider(P1, 100, V1);
		provider(P2, 60, V1);
		assert_eq!(<Staking as ClusterInspect<AccountId>>::cluster_of(&P1), Some(V1));
		assert_eq!(<Staking as ClusterInspect<AccountId>>::cluster_of(&P3), None);
		assert_eq!(<Staking as ClusterInspect<AccountId>>::max_members(), 3);
		let member =
			|provider| ClusterMember { provider, hardware_class: GPU, capacity: WorkUnits(100) };
		assert_eq!(
			<Staking as ClusterInspect<AccountId>>::members(&V1),
			vec![member(P1), member(P2)]
		);
		// P2 slashed below the minimum provider bond gets no work.
		SlashFractions::<Test>::insert(OffenceKind::InvalidWork, Perbill::from_percent(50));
		assert_ok!(Staking::do_slash(&P2, OffenceKind::InvalidWork, None, Default::default()));
		assert_eq!(<Staking as ClusterInspect<AccountId>>::members(&V1), vec![member(P1)]);
		assert!(<Staking as ClusterInspect<AccountId>>::members(&V2).is_empty());
	});
}

#[test]
fn active_validators_are_the_committee_pool() {
	ExtBuilder::default().build_and_execute(|| {
		let pool = <Staking as ClusterInspect<AccountId>>::active_validators;
		assert_eq!(pool(), vec![V1, V2]);
		// MaxValidators of the mock.
		assert_eq!(<Staking as ClusterInspect<AccountId>>::max_validators(), 6);
		// A newcomer in registration order; a chilled one and one bonded below the minimum
		// are left out, a provider never is a validator.
		bond(ALICE, 5_000);
		assert_ok!(Staking::register_validator(RuntimeOrigin::signed(ALICE), ENDPOINT.to_vec()));
		assert_eq!(pool(), vec![V1, V2, ALICE]);
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V1)));
		assert_eq!(pool(), vec![V2, ALICE]);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V2), 1_901));
		assert_eq!(pool(), vec![ALICE]);
		provider(P1, 100, ALICE);
		assert_eq!(pool(), vec![ALICE]);
	});
}

/// The market's benchmarks rely on `set_active_validator` really making a validator.
#[cfg(feature = "runtime-benchmarks")]
#[test]
fn set_active_validator_bonds_and_registers() {
	ExtBuilder::default().build_and_execute(|| {
		// Funds are minted as needed: NOBODY has none.
		for who in [ALICE, NOBODY] {
			<Staking as ValidatorInspect<AccountId, Balance>>::set_active_validator(
				&who,
				5,
				WorkUnits(1_000),
			);
			assert!(active(who));
			assert_eq!(capacity(who), WorkUnits(1_000));
			assert_eq!(bond_of(who), 10_000);
		}
		// A chilled validator is resumed; a large bond is honoured.
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V1)));
		<Staking as ValidatorInspect<AccountId, Balance>>::set_active_validator(
			&V1,
			5_000,
			WorkUnits(1),
		);
		assert!(active(V1));
		assert_eq!(bond_of(V1), 5_000);
	});
}

#[test]
fn endpoint_of_is_the_registered_endpoint() {
	ExtBuilder::default().build_and_execute(|| {
		let endpoint = |who| <Staking as ClusterInspect<AccountId>>::endpoint_of(&who);
		assert_eq!(endpoint(V1), Some(ENDPOINT.to_vec()));
		let new = b"http://[::1]:9000".to_vec();
		assert_ok!(Staking::register_validator(RuntimeOrigin::signed(V1), new));
		assert_eq!(endpoint(V1), Some(b"http://[::1]:9000".to_vec()));
		// Chilled validators keep their endpoint; accounts that never registered have none.
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V1)));
		assert_eq!(endpoint(V1), Some(b"http://[::1]:9000".to_vec()));
		assert_eq!(endpoint(ALICE), None);
	});
}
