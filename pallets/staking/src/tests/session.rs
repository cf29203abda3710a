//! The consensus set: `SessionManager`.

use super::*;
use polkadot_sdk::{
	frame_support::{assert_ok, dispatch::DispatchClass},
	pallet_session::SessionManager,
};
use pot_primitives::OffenceKind;

fn elected() -> Vec<AccountId> {
	Staking::elect().into_inner()
}

#[test]
fn the_top_validators_by_bond_are_elected() {
	ExtBuilder::default().max_authorities(3).build_and_execute(|| {
		validator(ALICE, 1_500);
		validator(BOB, 500);
		// V2 2000, ALICE 1500, V1 1000, BOB 500: the top three.
		assert_eq!(rotate(1), Some(vec![V2, ALICE, V1]));
		assert_eq!(QueuedAuthorities::<Test>::get().into_inner(), vec![V2, ALICE, V1]);
		assert_eq!(
			last_event(),
			Event::AuthoritiesElected { session: 2, authorities: vec![V2, ALICE, V1] }
		);
		// BOB bonds more and overtakes V1.
		assert_ok!(Staking::bond_extra(RuntimeOrigin::signed(BOB), 600));
		assert_eq!(rotate(2), Some(vec![V2, ALICE, BOB]));
	});
}

#[test]
fn equal_bonds_rank_by_registration_order() {
	ExtBuilder::default().validators(vec![]).max_authorities(4).build_and_execute(|| {
		validator(CHARLIE, 500);
		validator(ALICE, 500);
		validator(BOB, 700);
		validator(DAVE, 500);
		assert_eq!(elected(), vec![BOB, CHARLIE, ALICE, DAVE]);
	});
}

#[test]
fn validators_without_keys_are_not_elected() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 5_000);
		assert_ok!(Staking::register_validator(RuntimeOrigin::signed(ALICE), ENDPOINT.to_vec()));
		assert_eq!(elected(), vec![V2, V1]);
		MockKeys::set(ALICE);
		assert_eq!(elected(), vec![ALICE, V2, V1]);
		MockKeys::purge(V2);
		assert_eq!(elected(), vec![ALICE, V1]);
	});
}

#[test]
fn chilled_validators_are_not_elected() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V2)));
		assert_eq!(rotate(1), Some(vec![V1]));
		assert_ok!(Staking::register_validator(RuntimeOrigin::signed(V2), ENDPOINT.to_vec()));
		assert_eq!(rotate(2), Some(vec![V2, V1]));
	});
}

#[test]
fn validators_below_the_minimum_are_not_elected() {
	ExtBuilder::default().build_and_execute(|| {
		// V1 unbonds below the minimum: it leaves at the next session.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 901));
		assert_eq!(rotate(1), Some(vec![V2]));
		// Governance raises the minimum above V2's bond too: nobody qualifies.
		assert_ok!(Staking::set_min_validator_bond(RuntimeOrigin::root(), 2_001));
		assert_eq!(rotate(2), None);
	});
}

#[test]
fn a_validator_slashed_below_the_minimum_leaves_at_the_next_session() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 880));
		assert_eq!(rotate(1), Some(vec![V2, V1]));
		// 120 bonded: a 20% slash takes it to 96, below the minimum of 100.
		assert_ok!(Staking::do_slash(&V1, OffenceKind::WrongVerdict, None, Default::default()));
		assert_eq!(rotate(2), Some(vec![V2]));
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2, V1]);
		rotate(3);
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2]);
	});
}

#[test]
fn the_maximum_number_of_authorities_is_respected() {
	ExtBuilder::default().max_authorities(1).build_and_execute(|| {
		validator(ALICE, 3_000);
		assert_eq!(rotate(1), Some(vec![ALICE]));
		assert_ok!(Staking::set_max_authorities(RuntimeOrigin::root(), 4));
		validator(BOB, 100);
		validator(CHARLIE, 100);
		assert_eq!(rotate(2), Some(vec![ALICE, V2, V1, BOB]));
	});
}

#[test]
fn nobody_qualified_keeps_the_current_set() {
	ExtBuilder::default().validators(vec![]).build_and_execute(|| {
		assert_eq!(rotate(1), None);
		assert_eq!(last_event(), Event::NoAuthoritiesQualified { session: 2 });
		assert!(QueuedAuthorities::<Test>::get().is_empty());
		// A validator without keys does not qualify either.
		bond(ALICE, 500);
		assert_ok!(Staking::register_validator(RuntimeOrigin::signed(ALICE), ENDPOINT.to_vec()));
		assert_eq!(rotate(2), None);
	});
}

#[test]
fn keeping_the_set_keeps_the_tracked_sets() {
	ExtBuilder::default().build_and_execute(|| {
		assert_eq!(rotate(1), Some(vec![V2, V1]));
		MockKeys::purge(V1);
		MockKeys::purge(V2);
		assert_eq!(rotate(2), None);
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2, V1]);
		assert_eq!(QueuedAuthorities::<Test>::get().into_inner(), vec![V2, V1]);
		rotate(3);
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2, V1]);
	});
}

#[test]
fn genesis_sessions_set_the_current_and_queued_sets() {
	ExtBuilder::default().build_and_execute(|| {
		// The mock builds staking's genesis after the keys exist (like a runtime that declares
		// it after pallet-session): the genesis set is tracked already.
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2, V1]);
		Authorities::<Test>::kill();
		QueuedAuthorities::<Test>::kill();
		assert_eq!(
			<Staking as SessionManager<AccountId>>::new_session_genesis(0),
			Some(vec![V2, V1])
		);
		assert_eq!(
			<Staking as SessionManager<AccountId>>::new_session_genesis(1),
			Some(vec![V2, V1])
		);
		<Staking as SessionManager<AccountId>>::start_session(0);
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2, V1]);
		assert_eq!(QueuedAuthorities::<Test>::get().into_inner(), vec![V2, V1]);
	});
}

#[test]
fn a_rotation_applies_the_queued_set() {
	ExtBuilder::default().build_and_execute(|| {
		rotate(1);
		validator(ALICE, 5_000);
		assert_eq!(rotate(2), Some(vec![ALICE, V2, V1]));
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2, V1]);
		rotate(3);
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![ALICE, V2, V1]);
	});
}

#[test]
fn a_zero_bond_never_qualifies() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::set_min_validator_bond(RuntimeOrigin::root(), 0));
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 1_000));
		assert_eq!(elected(), vec![V2]);
	});
}

#[test]
fn planning_a_session_charges_its_weight_to_the_block() {
	ExtBuilder::default().build_and_execute(|| {
		validator(ALICE, 1_500);
		let registered = RegisteredValidators::<Test>::decode_len().unwrap() as u32;
		let before = System::block_weight().get(DispatchClass::Mandatory).ref_time();
		assert!(<Staking as SessionManager<AccountId>>::new_session(1).is_some());
		let charged = System::block_weight().get(DispatchClass::Mandatory).ref_time() - before;
		assert_eq!(charged, <() as crate::WeightInfo>::new_session(registered).ref_time());
		assert!(charged > 0);
	});
}
