//! The genesis config.

use super::*;
use polkadot_sdk::sp_runtime::Perbill;
use pot_primitives::OffenceKind;

#[test]
fn genesis_bonds_and_registers_the_validators() {
	ExtBuilder::default().build_and_execute(|| {
		assert_eq!(ledger(V1), Some((1_000, vec![])));
		assert_eq!(ledger(V2), Some((2_000, vec![])));
		assert_eq!(held(V1), 1_000);
		assert_eq!(held(V2), 2_000);
		assert_eq!(free(V2), INITIAL - 2_000);
		assert_eq!(RegisteredValidators::<Test>::get().into_inner(), vec![V1, V2]);
		let record = ValidatorInfo::<Test>::get(V1).unwrap();
		assert_eq!(record.endpoint.into_inner(), ENDPOINT.to_vec());
		assert!(!record.chilled);
		assert_eq!(MinValidatorBond::<Test>::get(), MIN_VALIDATOR_BOND);
		assert_eq!(MinProviderBond::<Test>::get(), MIN_PROVIDER_BOND);
		assert_eq!(MaxAuthorityCount::<Test>::get(), 3);
		assert_eq!(
			SlashFractions::<Test>::get(OffenceKind::InvalidWork),
			Perbill::from_percent(10)
		);
		assert_eq!(
			SlashFractions::<Test>::get(OffenceKind::WrongVerdict),
			Perbill::from_percent(20)
		);
		assert_eq!(SlashFractions::<Test>::get(OffenceKind::Censorship), Perbill::from_percent(5));
		assert_eq!(
			SlashFractions::<Test>::get(OffenceKind::MissedDeadline),
			Perbill::from_percent(1)
		);
		assert_eq!(
			SlashFractions::<Test>::get(OffenceKind::UnfoundedChallenge),
			Perbill::from_percent(50)
		);
		assert_eq!(
			SlashFractions::<Test>::get(OffenceKind::MissedVote),
			Perbill::from_parts(1_000_000)
		);
	});
}

#[test]
fn genesis_tracks_the_set_the_keys_allow() {
	// Keys exist before staking's genesis in the mock: the elected set is tracked.
	ExtBuilder::default().build_and_execute(|| {
		assert_eq!(Authorities::<Test>::get().into_inner(), vec![V2, V1]);
		assert_eq!(QueuedAuthorities::<Test>::get().into_inner(), vec![V2, V1]);
	});
	// No validators: nothing to track.
	ExtBuilder::default().validators(vec![]).build_and_execute(|| {
		assert!(Authorities::<Test>::get().is_empty());
	});
}

#[test]
fn genesis_max_authorities_zero_means_the_bound() {
	ExtBuilder::default().max_authorities(0).build_and_execute(|| {
		assert_eq!(MaxAuthorityCount::<Test>::get(), 4);
	});
}

#[test]
#[should_panic(expected = "genesis validator cannot register")]
fn genesis_rejects_an_invalid_endpoint() {
	ExtBuilder::default().validators(vec![(V1, 1_000, b"not a url".to_vec())]).build();
}

#[test]
#[should_panic(expected = "genesis validator cannot bond")]
fn genesis_rejects_a_bond_above_the_balance() {
	ExtBuilder::default().validators(vec![(V1, INITIAL, ENDPOINT.to_vec())]).build();
}

#[test]
#[should_panic(expected = "genesis max_authorities is above MaxAuthorities")]
fn genesis_rejects_too_many_authorities() {
	ExtBuilder::default().max_authorities(5).build();
}

#[test]
fn default_genesis_has_slash_fractions() {
	let config = crate::GenesisConfig::<Test>::default();
	assert_eq!(config.slash_invalid_work, Perbill::from_percent(10));
	assert!(config.validators.is_empty());
}
