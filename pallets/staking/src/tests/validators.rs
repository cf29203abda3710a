//! `register_validator`, `chill`, `unregister_validator`.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, assert_ok};

fn register(who: AccountId, endpoint: &[u8]) -> polkadot_sdk::sp_runtime::DispatchResult {
	Staking::register_validator(RuntimeOrigin::signed(who), endpoint.to_vec())
}

#[test]
fn register_validator_lists_the_validator() {
	ExtBuilder::default().build_and_execute(|| {
		bond(ALICE, 100);
		assert_ok!(register(ALICE, b"https://alice.example/artifacts"));
		assert_eq!(RegisteredValidators::<Test>::get().into_inner(), vec![V1, V2, ALICE]);
		let record = ValidatorInfo::<Test>::get(ALICE).unwrap();
		assert_eq!(record.endpoint.into_inner(), b"https://alice.example/artifacts".to_vec());
		assert!(!record.chilled);
		assert_eq!(
			last_event(),
			Event::ValidatorRegistered {
				validator: ALICE,
				endpoint: b"https://alice.example/artifacts".to_vec()
			}
		);
	});
}

#[test]
fn registering_again_updates_the_endpoint_and_resumes() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V1)));
		assert_ok!(register(V1, b"http://[::1]:9000"));
		let record = ValidatorInfo::<Test>::get(V1).unwrap();
		assert_eq!(record.endpoint.into_inner(), b"http://[::1]:9000".to_vec());
		assert!(!record.chilled);
		assert_eq!(RegisteredValidators::<Test>::get().into_inner(), vec![V1, V2]);
		assert_eq!(
			last_event(),
			Event::ValidatorUpdated { validator: V1, endpoint: b"http://[::1]:9000".to_vec() }
		);
	});
}

#[test]
fn register_validator_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(register(ALICE, ENDPOINT), Error::<Test>::NotBonded);
		bond(ALICE, 99);
		assert_noop!(register(ALICE, ENDPOINT), Error::<Test>::BondBelowMinimum);
		assert_noop!(register(ALICE, &[b'a'; 49]), Error::<Test>::EndpointTooLong);
		for bad in [&b"ftp://x"[..], b"http://a b", b"http://x\n", b"http://", b"x"] {
			assert_noop!(register(ALICE, bad), Error::<Test>::InvalidEndpoint);
		}
		provider(P1, 500, V1);
		assert_noop!(register(P1, ENDPOINT), Error::<Test>::IsProvider);
	});
}

#[test]
fn the_validator_list_is_bounded() {
	ExtBuilder::default().build_and_execute(|| {
		for who in [ALICE, BOB, CHARLIE, DAVE] {
			validator(who, 100);
		}
		bond(EVE, 100);
		assert_noop!(register(EVE, ENDPOINT), Error::<Test>::TooManyValidators);
		// Chilled validators with their bond keep their slots.
		assert_ok!(Staking::chill(RuntimeOrigin::signed(ALICE)));
		assert_noop!(register(EVE, ENDPOINT), Error::<Test>::TooManyValidators);
	});
}

#[test]
fn a_full_list_evicts_the_first_idle_validator() {
	ExtBuilder::default().build_and_execute(|| {
		for who in [ALICE, BOB, CHARLIE, DAVE] {
			validator(who, 100);
		}
		provider(P1, 100, BOB);
		provider(P2, 100, BOB);
		// Bob and Dave unbond below the minimum; Bob registered first.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(BOB), 1));
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(DAVE), 1));
		bond(EVE, 100);
		assert_ok!(register(EVE, ENDPOINT));
		assert_eq!(
			RegisteredValidators::<Test>::get().into_inner(),
			vec![V1, V2, ALICE, CHARLIE, DAVE, EVE]
		);
		assert!(ValidatorInfo::<Test>::get(BOB).is_none());
		assert!(Providers::<Test>::get(P1).is_none() && Providers::<Test>::get(P2).is_none());
		assert!(!Clusters::<Test>::contains_key(BOB));
		// Bonds are untouched.
		assert_eq!(ledger(BOB), Some((99, vec![(1, 11)])));
		assert_eq!(ledger(P1), Some((100, vec![])));
		let events = staking_events();
		assert_eq!(
			events[events.len() - 4..],
			[
				Event::ProviderKicked { provider: P1, validator: BOB },
				Event::ProviderKicked { provider: P2, validator: BOB },
				Event::ValidatorEvicted { validator: BOB, by: EVE },
				Event::ValidatorRegistered { validator: EVE, endpoint: ENDPOINT.to_vec() },
			]
		);
	});
}

#[test]
fn an_idle_authority_is_not_evicted() {
	ExtBuilder::default().build_and_execute(|| {
		for who in [ALICE, BOB, CHARLIE, DAVE] {
			validator(who, 100);
		}
		// Every validator but V1 is below the minimum; V1 is queued, then current.
		for who in [V2, ALICE, BOB, CHARLIE, DAVE] {
			let bond = ledger(who).unwrap().0;
			assert_ok!(Staking::unbond(RuntimeOrigin::signed(who), bond));
		}
		// V2 leaves the sets in two rotations; V1 is then elected alone.
		assert_eq!(rotate(1), Some(vec![V1]));
		assert!(Authorities::<Test>::get().contains(&V2));
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 901));
		assert_eq!(rotate(2), None);
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V1]);
		bond(EVE, 100);
		// V1 is idle but an authority; V2 is the first idle non-authority.
		assert_ok!(register(EVE, ENDPOINT));
		assert!(ValidatorInfo::<Test>::get(V1).is_some());
		assert!(ValidatorInfo::<Test>::get(V2).is_none());
		// An empty ledger of an evicted validator is dropped.
		run_to_block(11);
		assert_ok!(Staking::withdraw_unbonded(RuntimeOrigin::signed(V2)));
		assert_eq!(ledger(V2), None);
	});
}

#[test]
fn chill_stops_validating() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V1)));
		assert!(ValidatorInfo::<Test>::get(V1).unwrap().chilled);
		assert_eq!(last_event(), Event::Chilled { validator: V1 });
		assert_noop!(Staking::chill(RuntimeOrigin::signed(V1)), Error::<Test>::AlreadyChilled);
		assert_noop!(Staking::chill(RuntimeOrigin::signed(ALICE)), Error::<Test>::NotValidator);
	});
}

#[test]
fn unregister_frees_the_registration() {
	ExtBuilder::default().build_and_execute(|| {
		validator(ALICE, 100);
		assert_ok!(Staking::unregister_validator(RuntimeOrigin::signed(ALICE)));
		assert_eq!(RegisteredValidators::<Test>::get().into_inner(), vec![V1, V2]);
		assert!(ValidatorInfo::<Test>::get(ALICE).is_none());
		// The bond is untouched.
		assert_eq!(ledger(ALICE), Some((100, vec![])));
		assert_eq!(last_event(), Event::ValidatorUnregistered { validator: ALICE });
	});
}

#[test]
fn unregister_drops_an_empty_ledger() {
	ExtBuilder::default().build_and_execute(|| {
		validator(ALICE, 100);
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(ALICE), 100));
		run_to_block(11);
		assert_ok!(Staking::withdraw_unbonded(RuntimeOrigin::signed(ALICE)));
		assert_eq!(ledger(ALICE), Some((0, vec![])));
		assert_ok!(Staking::unregister_validator(RuntimeOrigin::signed(ALICE)));
		assert_eq!(ledger(ALICE), None);
	});
}

#[test]
fn unregister_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Staking::unregister_validator(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NotValidator
		);
		// V1 is elected for the next session.
		assert!(rotate(1).unwrap().contains(&V1));
		assert_noop!(
			Staking::unregister_validator(RuntimeOrigin::signed(V1)),
			Error::<Test>::StillAuthority
		);
		// Chilled, it is out of the queued set at the next rotation but still current.
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V1)));
		rotate(2);
		assert!(Authorities::<Test>::get().contains(&V1));
		assert!(!QueuedAuthorities::<Test>::get().contains(&V1));
		assert_noop!(
			Staking::unregister_validator(RuntimeOrigin::signed(V1)),
			Error::<Test>::StillAuthority
		);
		rotate(3);
		assert!(!Authorities::<Test>::get().contains(&V1));
		provider(P1, 100, V2);
		// V1 has no providers; V2 has one but is an authority anyway, so use another.
		validator(ALICE, 100);
		provider(P2, 100, ALICE);
		assert_noop!(
			Staking::unregister_validator(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::ClusterNotEmpty
		);
		assert_ok!(Staking::unregister_validator(RuntimeOrigin::signed(V1)));
	});
}
