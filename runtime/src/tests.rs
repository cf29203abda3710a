//! Runtime-level checks: presets build a working genesis, pallet integrity, documented metadata.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{
	genesis_config_presets::{self, DEV_ENDOWMENT, GENESIS_VALIDATOR_BOND},
	AllPalletsWithSystem, Aura, Balances, Executive, Grandpa, Runtime, RuntimeGenesisConfig,
	RuntimeHoldReason, Session, System,
};
use polkadot_sdk::{
	pallet_sudo,
	frame_support::{
		__private::metadata::{RuntimeMetadata, RuntimeMetadataPrefixed},
		genesis_builder_helper::build_state,
		traits::IntegrityTest,
	},
	frame_system::offchain::CreateSignedTransaction,
	sp_core::{crypto::key_types, sr25519},
	sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET},
	sp_io::TestExternalities,
	sp_keyring::Sr25519Keyring,
	sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt},
	sp_runtime::{transaction_validity::TransactionSource, AccountId32, MultiSigner},
};
use polkadot_sdk::frame_support::traits::fungible::{Inspect, InspectHold};
use pot_primitives::ValidatorInspect;
use serde_json::Value;

/// Applies a preset patch onto the default genesis config, as the node's chain-spec builder does.
fn merge(base: &mut Value, patch: Value) {
	match (base, patch) {
		(Value::Object(base), Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(Value::Null), value);
			}
		},
		(base, patch) => *base = patch,
	}
}

fn externalities_for_preset(name: &str) -> TestExternalities {
	let patch = genesis_config_presets::get_preset(&PresetId::from(name))
		.unwrap_or_else(|| panic!("preset {name} missing"));
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	merge(&mut config, serde_json::from_slice(&patch).unwrap());
	let json = serde_json::to_vec(&config).unwrap();
	let mut ext = TestExternalities::default();
	ext.execute_with(|| build_state::<RuntimeGenesisConfig>(json).unwrap());
	ext
}

/// Runs `test` on the genesis of preset `name`, then checks the supply invariant: the total
/// issuance is the genesis issuance plus booked emission minus booked burns.
fn in_preset(name: &str, test: impl FnOnce()) {
	externalities_for_preset(name).execute_with(|| {
		test();
		crate::Issuance::check_issuance().expect("the supply changed only through the issuance book");
	});
}

fn assert_genesis(preset: &str, authorities: &[Sr25519Keyring]) {
	in_preset(preset, || {
		let expected: Vec<_> = authorities.iter().map(|k| k.to_account_id()).collect();
		assert_eq!(Session::validators(), expected, "session validators of {preset}");
		let aura: Vec<_> = pallet_aura_authorities();
		let expected_aura: Vec<crate::AuraId> =
			authorities.iter().map(|k| k.public().into()).collect();
		assert_eq!(aura, expected_aura, "aura authorities of {preset}");
		assert_eq!(Grandpa::grandpa_authorities().len(), authorities.len());
		for account in Sr25519Keyring::well_known() {
			let who = account.to_account_id();
			assert_eq!(<Balances as Inspect<_>>::total_balance(&who), DEV_ENDOWMENT);
			let bonded = <Balances as InspectHold<_>>::balance_on_hold(
				&RuntimeHoldReason::Staking(pallet_pot_staking::HoldReason::Bond),
				&who,
			);
			let is_authority = expected.contains(&who);
			assert_eq!(bonded, if is_authority { GENESIS_VALIDATOR_BOND } else { 0 });
			assert_eq!(
				<crate::Staking as ValidatorInspect<_, _>>::is_active_validator(&who),
				is_authority,
				"{account:?} active validator in {preset}"
			);
		}
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(Sr25519Keyring::Alice.to_account_id()));
		assert_eq!(System::block_number(), 0);
		let endowed = Sr25519Keyring::well_known().count() as u128;
		assert_eq!(pallet_pot_issuance::Baseline::<Runtime>::get(), DEV_ENDOWMENT * endowed);
	});
}

fn pallet_aura_authorities() -> Vec<crate::AuraId> {
	polkadot_sdk::pallet_aura::Authorities::<Runtime>::get().into_inner()
}

#[test]
fn development_preset_builds_genesis_with_alice_alone() {
	assert_genesis(DEV_RUNTIME_PRESET, &[Sr25519Keyring::Alice]);
}

#[test]
fn local_testnet_preset_builds_genesis_with_four_authorities() {
	use Sr25519Keyring::*;
	assert_genesis(LOCAL_TESTNET_RUNTIME_PRESET, &[Alice, Bob, Charlie, Dave]);
}

#[test]
fn unknown_preset_is_refused() {
	assert!(genesis_config_presets::get_preset(&PresetId::from("mainnet")).is_none());
	assert_eq!(genesis_config_presets::preset_names().len(), 2);
}

#[test]
fn aura_slot_matches_block_time() {
	in_preset(DEV_RUNTIME_PRESET, || {
		assert_eq!(Aura::slot_duration(), crate::SLOT_DURATION);
	});
}

#[test]
fn integrity_test_passes() {
	TestExternalities::default().execute_with(AllPalletsWithSystem::integrity_test);
}

#[test]
fn every_call_in_metadata_is_documented() {
	let RuntimeMetadataPrefixed(_, RuntimeMetadata::V14(metadata)) = Runtime::metadata() else {
		panic!("expected metadata V14 from Runtime::metadata()");
	};
	let mut checked = 0;
	for pallet in &metadata.pallets {
		let Some(calls) = &pallet.calls else { continue };
		let ty = metadata.types.resolve(calls.ty.id).expect("call type is registered");
		let scale_info::TypeDef::Variant(variants) =
			&ty.type_def
		else {
			panic!("calls of {} are not an enum", pallet.name);
		};
		for call in &variants.variants {
			assert!(
				call.docs.iter().any(|line| !line.trim().is_empty()),
				"{}::{} has no documentation",
				pallet.name,
				call.name
			);
			checked += 1;
		}
	}
	assert!(checked > 10, "only {checked} calls found in metadata");
}

/// Signs offchain-worker transactions with the Aura key of the node's keystore.
struct AuraSigner;

impl polkadot_sdk::frame_system::offchain::AppCrypto<MultiSigner, crate::Signature> for AuraSigner {
	type RuntimeAppPublic = crate::AuraId;
	type GenericPublic = sr25519::Public;
	type GenericSignature = sr25519::Signature;
}

fn offchain_signed_remark(public: sr25519::Public, nonce: crate::Nonce) -> Option<crate::UncheckedExtrinsic> {
	let call = polkadot_sdk::frame_system::Call::<Runtime>::remark { remark: b"from offchain".to_vec() };
	<Runtime as CreateSignedTransaction<polkadot_sdk::frame_system::Call<Runtime>>>::create_signed_transaction::<
		AuraSigner,
	>(call.into(), MultiSigner::from(public), AccountId32::from(public), nonce)
}

#[test]
fn offchain_workers_can_sign_valid_transactions() {
	let keystore = MemoryKeystore::new();
	let alice = keystore.sr25519_generate_new(key_types::AURA, Some("//Alice")).unwrap();
	let mut ext = externalities_for_preset(DEV_RUNTIME_PRESET);
	ext.register_extension(KeystoreExt::new(keystore));
	ext.execute_with(|| {
		let genesis = System::block_hash(0);
		let valid = offchain_signed_remark(alice, 0).expect("Alice's key is in the keystore");
		let validity = Executive::validate_transaction(TransactionSource::Local, valid, genesis);
		assert!(validity.is_ok(), "signed offchain transaction rejected: {validity:?}");

		let stale_nonce = offchain_signed_remark(alice, 7).unwrap();
		assert!(Executive::validate_transaction(TransactionSource::Local, stale_nonce, genesis)
			.is_ok_and(|v| v.requires.len() == 1), "a future nonce must wait for its predecessor");

		let bob = Sr25519Keyring::Bob.public();
		assert!(offchain_signed_remark(bob, 0).is_none(), "signed without the key in the keystore");
	});
}

/// Charges Bob a fee of `amount` and hands it to the runtime's fee handler, as transaction
/// payment does.
fn charge_bob_a_fee(amount: crate::Balance) {
	use polkadot_sdk::frame_support::traits::{
		fungible::Balanced,
		tokens::{Fortitude, Precision, Preservation},
		OnUnbalanced,
	};
	let fee = <Balances as Balanced<crate::AccountId>>::withdraw(
		&Sr25519Keyring::Bob.to_account_id(),
		amount,
		Precision::Exact,
		Preservation::Preserve,
		Fortitude::Polite,
	)
	.unwrap();
	crate::configs::FeesToBlockAuthor::on_unbalanced(fee);
}

#[test]
fn transaction_fees_go_to_the_block_author() {
	use codec::Encode;
	use polkadot_sdk::{
		sp_consensus_aura::{Slot, AURA_ENGINE_ID},
		sp_runtime::{Digest, DigestItem},
	};
	in_preset(DEV_RUNTIME_PRESET, || {
		let digest = Digest {
			logs: vec![DigestItem::PreRuntime(AURA_ENGINE_ID, Slot::from(7u64).encode())],
		};
		System::initialize(&1, &System::parent_hash(), &digest);
		let alice = Sr25519Keyring::Alice.to_account_id();
		assert_eq!(crate::Authorship::author(), Some(alice.clone()));

		let before = Balances::free_balance(&alice);
		let issuance = Balances::total_issuance();
		charge_bob_a_fee(5 * crate::MILLI_UNIT);
		assert_eq!(Balances::free_balance(&alice), before + 5 * crate::MILLI_UNIT);
		assert_eq!(Balances::total_issuance(), issuance, "fees must not leave circulation");
	});
}

#[test]
fn a_fee_no_block_author_can_receive_is_burned_through_the_issuance_book() {
	in_preset(DEV_RUNTIME_PRESET, || {
		assert_eq!(crate::Authorship::author(), None);
		let issuance = Balances::total_issuance();
		charge_bob_a_fee(5 * crate::MILLI_UNIT);
		assert_eq!(Balances::total_issuance(), issuance - 5 * crate::MILLI_UNIT);
		assert_eq!(pallet_pot_issuance::Burned::<Runtime>::get(), 5 * crate::MILLI_UNIT);
	});
}

#[test]
fn the_dust_of_a_reaped_account_is_burned_through_the_issuance_book() {
	use crate::RuntimeOrigin;
	in_preset(DEV_RUNTIME_PRESET, || {
		let (dave, eve) = (Sr25519Keyring::Dave.to_account_id(), Sr25519Keyring::Eve.to_account_id());
		let dust = crate::EXISTENTIAL_DEPOSIT / 2;
		let issuance = Balances::total_issuance();
		// Dave keeps less than the existential deposit: his account is reaped, the rest is dust.
		polkadot_sdk::frame_support::assert_ok!(Balances::transfer_allow_death(
			RuntimeOrigin::signed(dave.clone()),
			eve.into(),
			DEV_ENDOWMENT - dust,
		));
		assert_eq!(<Balances as Inspect<_>>::total_balance(&dave), 0);
		assert_eq!(Balances::total_issuance(), issuance - dust);
		assert_eq!(pallet_pot_issuance::Burned::<Runtime>::get(), dust);
	});
}

#[test]
fn signed_origins_cannot_burn_balance_outside_the_protocol() {
	use crate::{RuntimeCall, RuntimeOrigin};
	use polkadot_sdk::{frame_support::assert_noop, frame_system, sp_runtime::traits::Dispatchable};
	in_preset(DEV_RUNTIME_PRESET, || {
		let bob = Sr25519Keyring::Bob.to_account_id();
		let burn = RuntimeCall::Balances(polkadot_sdk::pallet_balances::Call::burn {
			value: crate::UNIT,
			keep_alive: true,
		});
		assert_noop!(
			burn.dispatch(RuntimeOrigin::signed(bob.clone())).map_err(|e| e.error),
			frame_system::Error::<Runtime>::CallFiltered
		);
		assert_eq!(<Balances as Inspect<_>>::total_balance(&bob), DEV_ENDOWMENT);
	});
}

#[test]
fn market_matches_an_order_to_a_session_validators_ask_and_serves_it_through_the_api() {
	use crate::{
		MILLI_UNIT, RuntimeCall, RuntimeOrigin, UNIT,
	};
	use pallet_pot_market::Call as MarketCall;
	use pallet_pot_market_runtime_api::runtime_decl_for_market_api::MarketApiV1;
	use polkadot_sdk::frame_support::{
		assert_noop, assert_ok,
		dispatch::GetDispatchInfo,
		traits::UnfilteredDispatchable,
	};
	use pot_primitives::{
		fixtures::sample_task, HardwareClass, OrderConditionsInput, OrderState, WorkUnits,
	};

	in_preset(DEV_RUNTIME_PRESET, || {
		System::set_block_number(1);
		let alice = Sr25519Keyring::Alice.to_account_id();
		let bob = Sr25519Keyring::Bob.to_account_id();
		let charlie = Sr25519Keyring::Charlie.to_account_id();
		let gpu = HardwareClass(1);
		let place_ask = MarketCall::<Runtime>::place_ask {
			price_per_unit: MILLI_UNIT,
			capacity: WorkUnits(1_000),
			hardware_classes: vec![gpu],
			regions: vec![],
		};
		assert!(RuntimeCall::Market(place_ask.clone()).get_dispatch_info().call_weight.ref_time() > 0);

		assert_noop!(
			place_ask.clone().dispatch_bypass_filter(RuntimeOrigin::signed(charlie)),
			pallet_pot_market::Error::<Runtime>::NotActiveValidator
		);
		let too_big = MarketCall::<Runtime>::place_ask {
			price_per_unit: MILLI_UNIT,
			capacity: WorkUnits(u64::MAX),
			hardware_classes: vec![gpu],
			regions: vec![],
		};
		assert_noop!(
			too_big.dispatch_bypass_filter(RuntimeOrigin::signed(alice.clone())),
			pallet_pot_market::Error::<Runtime>::CapacityAboveBond
		);
		assert_ok!(place_ask.dispatch_bypass_filter(RuntimeOrigin::signed(alice.clone())));

		let conditions = OrderConditionsInput {
			max_price_per_unit: 2 * MILLI_UNIT,
			deadline: 100,
			min_providers: 1,
			max_providers: 1,
			hardware_class: gpu,
			regions: vec![],
		};
		let offered = Runtime::best_asks(conditions.clone(), 5);
		assert_eq!(offered.len(), 1);
		assert_eq!(offered[0].validator, alice);

		let budget = UNIT;
		assert_ok!(MarketCall::<Runtime>::create_order {
			task: sample_task(2, 5),
			conditions,
			budget,
			metadata: b"digits".to_vec(),
		}
		.dispatch_bypass_filter(RuntimeOrigin::signed(bob.clone())));

		let held = Balances::balance_on_hold(
			&RuntimeHoldReason::Market(pallet_pot_market::HoldReason::OrderEscrow),
			&bob,
		);
		assert_eq!(held, budget, "the whole budget is held on the consumer's account");
		let order = Runtime::order(pot_primitives::OrderId(0)).expect("order 0 is live");
		let OrderState::Matched(assignment) = order.state else {
			panic!("order not matched: {:?}", order.state)
		};
		assert_eq!(assignment.validator, alice);
		assert_eq!(assignment.price_per_unit, MILLI_UNIT);
		assert_eq!(assignment.work_units, WorkUnits(10));
		assert_eq!(Runtime::orders_of(bob).len(), 1);
		assert_eq!(Runtime::orders_of(alice).len(), 1);
	});
}

/// Clients (subxt) generate their types from `metadata/pot.scale`; this fails when the runtime's
/// metadata moved away from it. `POT_UPDATE_METADATA=1 cargo test -p pot-runtime metadata`
/// rewrites the file (see `scripts/gen-metadata.sh`).
#[test]
fn checked_in_metadata_matches_the_runtime() {
	use codec::Decode;
	const VERSION: u32 = 16;
	// Read at run time: checkouts sharing a target dir share test binaries (see docs/building.md).
	let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
	let path = std::path::Path::new(&manifest).join("../metadata/pot.scale");
	let metadata = Runtime::metadata_at_version(VERSION).expect("metadata v16 is supported");
	let current: &[u8] = &metadata;
	if std::env::var_os("POT_UPDATE_METADATA").is_some() {
		std::fs::write(&path, current).expect("metadata/pot.scale is writable");
	}
	let checked_in = std::fs::read(&path).expect("metadata/pot.scale exists");
	assert!(
		checked_in == current,
		"metadata/pot.scale is stale: run `bash scripts/gen-metadata.sh` and commit it"
	);
	let prefixed = RuntimeMetadataPrefixed::decode(&mut &checked_in[..]).expect("decodes");
	assert!(matches!(prefixed.1, RuntimeMetadata::V16(_)));
}

#[test]
fn session_authorities_follow_staking_bonds_and_session_keys() {
	use crate::{RuntimeOrigin, SessionKeys, UNIT};
	use codec::Encode;
	use pallet_pot_staking::Call as StakingCall;
	use polkadot_sdk::{
		frame_support::{assert_ok, traits::UnfilteredDispatchable},
		pallet_session,
	};

	let mut ext = externalities_for_preset(LOCAL_TESTNET_RUNTIME_PRESET);
	ext.register_extension(KeystoreExt::new(MemoryKeystore::new()));
	ext.execute_with(|| {
		use Sr25519Keyring::*;
		System::set_block_number(1);
		let genesis_set: Vec<_> = [Alice, Bob, Charlie, Dave].map(|k| k.to_account_id()).to_vec();
		assert_eq!(Session::validators(), genesis_set);
		let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());

		// Eve bonds more than anyone, registers and sets keys whose ownership she proves.
		assert_ok!(StakingCall::<Runtime>::bond { amount: 20_000 * UNIT }
			.dispatch_bypass_filter(signed(Eve)));
		assert_ok!(StakingCall::<Runtime>::register_validator {
			endpoint: b"http://127.0.0.1:8804".to_vec()
		}
		.dispatch_bypass_filter(signed(Eve)));
		let generated = SessionKeys::generate(&Eve.to_account_id().encode(), None);
		assert_ok!(pallet_session::Call::<Runtime>::set_keys {
			keys: generated.keys.clone(),
			proof: generated.proof.encode(),
		}
		.dispatch_bypass_filter(signed(Eve)));

		// Elected at the next rotation, active at the one after (pallet-session queues a set).
		Session::rotate_session();
		assert_eq!(Session::validators(), genesis_set);
		Session::rotate_session();
		let validators = Session::validators();
		assert_eq!(validators.first(), Some(&Eve.to_account_id()), "largest bond ranks first");
		assert_eq!(validators.len(), 5);
		assert!(pallet_aura_authorities().contains(&generated.keys.aura));
		let grandpa_change = polkadot_sdk::pallet_grandpa::PendingChange::<Runtime>::get()
			.expect("GRANDPA schedules the new set");
		assert!(grandpa_change
			.next_authorities
			.iter()
			.any(|(id, _)| *id == generated.keys.grandpa));

		// Bob unbonds below the minimum: he leaves the set two rotations later.
		assert_ok!(StakingCall::<Runtime>::unbond { amount: 9_500 * UNIT }
			.dispatch_bypass_filter(signed(Bob)));
		Session::rotate_session();
		Session::rotate_session();
		let validators = Session::validators();
		assert!(!validators.contains(&Bob.to_account_id()));
		assert_eq!(validators.len(), 4);
	});
}

#[test]
fn session_length_is_read_from_its_storage_key_and_never_zero() {
	use crate::configs::{SessionLength, SessionPeriod};
	use polkadot_sdk::{frame_support::traits::Get, sp_io::hashing::twox_128};
	in_preset(DEV_RUNTIME_PRESET, || {
		assert_eq!(SessionLength::key(), twox_128(b":SessionLength:"), "key documented for chain specs");
		let key_hex: String = SessionLength::key().iter().map(|b| format!("{b:02x}")).collect();
		assert_eq!(key_hex, "783270be59b0ce1db793a4e469870e12", "the key the network tests use");
		assert_eq!(SessionPeriod::get(), crate::MINUTES * 10);
		polkadot_sdk::frame_support::storage::unhashed::put(&twox_128(b":SessionLength:"), &7u32);
		assert_eq!(SessionPeriod::get(), 7);
		SessionLength::set(&0);
		assert_eq!(SessionPeriod::get(), 1, "a zero length would divide by zero in pallet-session");
	});
}

/// Alice's cluster (Eve, then Ferdie, each bonded 1,000 POT) and her ask at 0.001 POT per unit;
/// Bob's order for `rounds` × `steps` with both providers and a budget of 1 POT, matched to
/// her. Returns the order's id.
fn order_in_alices_cluster(rounds: u32, steps: u32) -> pot_primitives::OrderId {
	use crate::{RuntimeOrigin, MILLI_UNIT, UNIT};
	use polkadot_sdk::frame_support::assert_ok;
	use pot_primitives::{fixtures::sample_task, HardwareClass, OrderConditionsInput, WorkUnits};
	use Sr25519Keyring::*;
	let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());
	let gpu = HardwareClass(0);
	for provider in [Eve, Ferdie] {
		assert_ok!(crate::Staking::bond(signed(provider), 1_000 * UNIT));
		assert_ok!(crate::Staking::join_cluster(signed(provider), Alice.to_account_id(), gpu, WorkUnits(100)));
	}
	assert_ok!(crate::Market::place_ask(signed(Alice), MILLI_UNIT, WorkUnits(1_000), vec![gpu], vec![]));
	let conditions = OrderConditionsInput {
		max_price_per_unit: 2 * MILLI_UNIT,
		deadline: 1_000,
		min_providers: 2,
		max_providers: 2,
		hardware_class: gpu,
		regions: vec![],
	};
	let order = pallet_pot_market::NextOrderId::<Runtime>::get();
	assert_ok!(crate::Market::create_order(signed(Bob), sample_task(rounds, steps), conditions, UNIT, vec![]));
	order
}

/// Runs the PoL hook of every block after the current one up to `to`, as block import would.
fn run_pol_hooks_to(to: crate::BlockNumber) {
	use polkadot_sdk::frame_support::traits::Hooks;
	while System::block_number() < to {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		<crate::Pol as Hooks<crate::BlockNumber>>::on_initialize(next);
	}
}

/// The challenge window of `order`'s round `round`: its last block.
fn challenge_window_end(order: pot_primitives::OrderId, round: u32) -> crate::BlockNumber {
	System::events()
		.into_iter()
		.find_map(|r| match r.event {
			crate::RuntimeEvent::Pol(pallet_pot_pol::Event::ChallengeWindowOpened {
				order: o,
				round: n,
				window_end,
			}) if o == order && n == round => Some(window_end),
			_ => None,
		})
		.expect("the round's result opened a challenge window")
}

/// A commitment of `steps` steps (one checkpoint per step) over the checkpoint hashes
/// `checkpoints(tag, steps)`.
fn commitment_over(tag: u8, steps: u32) -> pallet_pot_pol::Commitment {
	use polkadot_sdk::{sp_core::H256, sp_runtime::FixedU64};
	let leaves = checkpoints(tag, steps);
	pallet_pot_pol::Commitment {
		update_hash: H256::repeat_byte(tag),
		checkpoint_root: H256(pot_pol_core::merkle::root(&leaves).unwrap()),
		proof_hash: H256::repeat_byte(tag ^ 0x50),
		checkpoint_count: leaves.len() as u32,
		steps_done: steps,
		loss_before: FixedU64::from_rational(23, 10),
		loss_after: FixedU64::from_rational(9, 10),
		residual_in: H256::zero(),
		residual_out: H256::zero(),
	}
}

/// A verdict accepting an update that lowered the held-out loss by 0.01.
fn accepted() -> pallet_pot_pol::Verdict {
	accepted_with(polkadot_sdk::sp_runtime::FixedI64::from_rational(1, 100))
}

/// A verdict accepting an update that lowered the held-out loss by `improvement`.
fn accepted_with(improvement: polkadot_sdk::sp_runtime::FixedI64) -> pallet_pot_pol::Verdict {
	pallet_pot_pol::Verdict::Accepted { improvement }
}

/// The checkpoint hashes of a provider's (made-up) run: distinct per tag and index.
fn checkpoints(tag: u8, steps: u32) -> Vec<[u8; 32]> {
	let count = pot_pol_core::schedule::checkpoint_count(steps.into(), 1).unwrap();
	(0..count).map(|i| [[tag, i as u8], [0; 2]].concat().repeat(8).try_into().unwrap()).collect()
}

/// Sum of every dev account's total balance: with no other account holding funds, this is the
/// total issuance.
fn dev_accounts_total() -> crate::Balance {
	Sr25519Keyring::well_known()
		.map(|k| <Balances as Inspect<_>>::total_balance(&k.to_account_id()))
		.sum()
}

/// The whole paid flow on the real pallets: an order is matched to Alice's ask, her cluster of
/// two providers trains it for two rounds, every verified step is paid once the round's
/// challenge window closes, Alice gets her fee, Bob the rest of his budget, and no balance is
/// created or lost at any step.
#[test]
fn a_training_order_runs_through_pol_rounds_and_settles_exactly() {
	use crate::{MILLI_UNIT, Pol, RuntimeOrigin, UNIT};
	use pallet_pot_pol::{EvalMetrics, RoundResult};
	use polkadot_sdk::{
		frame_support::{assert_noop, assert_ok, BoundedVec},
		sp_core::H256,
		sp_runtime::{FixedU64, Perbill},
	};
	use pot_primitives::OrderId;

	in_preset(DEV_RUNTIME_PRESET, || {
		use Sr25519Keyring::*;
		System::set_block_number(1);
		let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());
		let issuance = Balances::total_issuance();
		let everyone = dev_accounts_total();
		assert_eq!(everyone, issuance, "only dev accounts hold funds");
		let (steps, rounds) = (5u32, 2u32);
		let bob_before = <Balances as Inspect<_>>::total_balance(&Bob.to_account_id());
		let order = order_in_alices_cluster(rounds, steps);
		assert_eq!(order, OrderId(0));
		assert_noop!(
			Pol::start_order(signed(Bob), order),
			pallet_pot_pol::Error::<Runtime>::NotOrderValidator
		);
		assert_ok!(Pol::start_order(signed(Alice), order));
		assert_eq!(dev_accounts_total(), everyone, "escrow only holds, nothing moves");
		let eve_free = Balances::free_balance(Eve.to_account_id());

		for round in 0..rounds {
			let run = pallet_pot_pol::Runs::<Runtime>::get(order).expect("run is live");
			assert_eq!(run.round.index, round);
			for (i, provider) in [Eve, Ferdie].into_iter().enumerate() {
				let commitment = commitment_over(i as u8 + 1, steps);
				assert_ok!(Pol::submit_commitment(signed(provider), order, round, commitment));
			}
			let closed = pallet_pot_pol::Runs::<Runtime>::get(order).unwrap().round.commit_deadline;
			assert_eq!(closed, System::block_number(), "the last commitment closes the window");
			run_pol_hooks_to(closed + 1);
			let verdicts: BoundedVec<_, _> =
				vec![(0, accepted()), (1, accepted())].try_into().unwrap();
			let result = RoundResult {
				verdicts,
				new_weights: H256::repeat_byte(0xA0 + round as u8),
				eval: EvalMetrics { loss: FixedU64::from_rational(8, 10), accuracy: Perbill::from_percent(90) },
			};
			assert_ok!(Pol::submit_round_result(signed(Alice), order, round, result));
			assert_eq!(
				challenge_window_end(order, round),
				System::block_number() + crate::configs::ChallengeWindow::get()
			);
			assert_eq!(dev_accounts_total(), everyone, "round {round}: nothing is created or lost");
		}
		assert_eq!(Balances::free_balance(Eve.to_account_id()), eve_free, "nothing paid inside the windows");
		let closing = pallet_pot_pol::Runs::<Runtime>::get(order).expect("the run waits for settlement");
		assert!(closing.closing.is_some());

		run_pol_hooks_to(challenge_window_end(order, rounds - 1) + 1);
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_none(), "the run completed");
		assert!(crate::Market::order(order).is_none(), "the order is final");
		let paid_per_provider = MILLI_UNIT * u128::from(steps * rounds);
		let fee = Perbill::from_percent(10).mul_floor(paid_per_provider) * 2;
		let bob_after = <Balances as Inspect<_>>::total_balance(&Bob.to_account_id());
		assert_eq!(bob_before - bob_after, 2 * paid_per_provider, "Bob pays exactly the verified work");
		let escrow = RuntimeHoldReason::Market(pallet_pot_market::HoldReason::OrderEscrow);
		assert_eq!(Balances::balance_on_hold(&escrow, &Bob.to_account_id()), 0, "refund released");
		for provider in [Eve, Ferdie] {
			let free = Balances::free_balance(provider.to_account_id());
			assert_eq!(free, DEV_ENDOWMENT - 1_000 * UNIT + paid_per_provider - fee / 2);
		}
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(dev_accounts_total(), everyone);
	});
}

/// A public run on the real pallets: governance (Sudo, as root) opens it, Alice's cluster
/// trains it, and each verified update mints its reward weighted by the improvement Alice
/// measured: Eve's update (the round's best) earns the full reward, Ferdie's a third. The
/// total issuance grows by exactly what was minted, within the cap, and nothing is held.
#[test]
fn a_public_run_mints_rewards_weighted_by_improvement_within_its_cap() {
	use crate::{RuntimeCall, RuntimeOrigin, MILLI_UNIT, UNIT};
	use pallet_pot_pol::{EvalMetrics, RoundResult};
	use polkadot_sdk::{
		frame_support::{assert_noop, assert_ok, BoundedVec},
		sp_core::H256,
		sp_runtime::{traits::BadOrigin, FixedI64, FixedU64, Perbill},
	};
	use pot_primitives::{fixtures::sample_task, Funding, HardwareClass, OrderConditionsInput, WorkUnits};

	in_preset(DEV_RUNTIME_PRESET, || {
		use Sr25519Keyring::*;
		System::set_block_number(1);
		let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());
		let gpu = HardwareClass(0);
		for provider in [Eve, Ferdie] {
			assert_ok!(crate::Staking::bond(signed(provider), 1_000 * UNIT));
			assert_ok!(crate::Staking::join_cluster(signed(provider), Alice.to_account_id(), gpu, WorkUnits(100)));
		}
		assert_ok!(crate::Market::place_ask(signed(Alice), MILLI_UNIT, WorkUnits(1_000), vec![gpu], vec![]));
		let issuance = Balances::total_issuance();
		let (steps, reward, cap) = (6u32, 3 * MILLI_UNIT, UNIT);
		let conditions = || OrderConditionsInput {
			max_price_per_unit: reward,
			deadline: 1_000,
			min_providers: 2,
			max_providers: 2,
			hardware_class: gpu,
			regions: vec![],
		};
		let open = pallet_pot_market::Call::<Runtime>::open_public_run {
			task: sample_task(1, steps),
			conditions: conditions(),
			cap,
			metadata: b"an open digits model".to_vec(),
		};
		assert_noop!(
			crate::Market::open_public_run(signed(Bob), sample_task(1, steps), conditions(), cap, vec![]),
			BadOrigin
		);
		let order = pallet_pot_market::NextOrderId::<Runtime>::get();
		assert_ok!(crate::Sudo::sudo(signed(Alice), Box::new(RuntimeCall::Market(open))));
		let view = crate::Market::order(order).expect("the run is live");
		assert_eq!(view.funding, Funding::Emission);
		assert_eq!(view.consumer, crate::Market::public_run_account());
		let pot_primitives::OrderState::Matched(assignment) = view.state else { panic!("matched to Alice's ask") };
		assert_eq!((assignment.price_per_unit, assignment.validator), (reward, Alice.to_account_id()));
		assert_eq!(Balances::total_issuance(), issuance, "opening a run mints nothing");

		assert_ok!(crate::Pol::start_order(signed(Alice), order));
		for (i, provider) in [Eve, Ferdie].into_iter().enumerate() {
			assert_ok!(crate::Pol::submit_commitment(signed(provider), order, 0, commitment_over(i as u8 + 1, steps)));
		}
		run_pol_hooks_to(System::block_number() + 1);
		let (eve_free, ferdie_free) =
			(Balances::free_balance(Eve.to_account_id()), Balances::free_balance(Ferdie.to_account_id()));
		let alice_before = <Balances as Inspect<_>>::total_balance(&Alice.to_account_id());
		let verdicts: BoundedVec<_, _> = vec![
			(0, accepted_with(FixedI64::from_rational(3, 100))),
			(1, accepted_with(FixedI64::from_rational(1, 100))),
		]
		.try_into()
		.unwrap();
		let result = RoundResult {
			verdicts,
			new_weights: H256::repeat_byte(0xA0),
			eval: EvalMetrics { loss: FixedU64::from_rational(8, 10), accuracy: Perbill::from_percent(90) },
		};
		assert_ok!(crate::Pol::submit_round_result(signed(Alice), order, 0, result));
		run_pol_hooks_to(challenge_window_end(order, 0) + 1);
		assert!(crate::Market::order(order).is_none(), "the run completed");

		let full = reward * u128::from(steps);
		let fee_share = Perbill::from_percent(10);
		let eve_reward = full - fee_share.mul_floor(full);
		let ferdie_gross = Perbill::from_parts(333_333_333).mul_floor(full);
		let ferdie_reward = ferdie_gross - fee_share.mul_floor(ferdie_gross);
		let fee = fee_share.mul_floor(full) + fee_share.mul_floor(ferdie_gross);
		assert_eq!(Balances::free_balance(Eve.to_account_id()), eve_free + eve_reward);
		assert_eq!(Balances::free_balance(Ferdie.to_account_id()), ferdie_free + ferdie_reward);
		assert_eq!(<Balances as Inspect<_>>::total_balance(&Alice.to_account_id()), alice_before + fee);
		let minted = eve_reward + ferdie_reward + fee;
		assert!(minted <= cap);
		assert_eq!(Balances::total_issuance(), issuance + minted, "issuance grows by the emission alone");
		assert_eq!(pallet_pot_issuance::Emitted::<Runtime>::get(), minted, "the book holds every mint");
		assert_eq!(<Balances as Inspect<_>>::total_balance(&crate::Market::public_run_account()), 0);
		assert_eq!(dev_accounts_total(), Balances::total_issuance());
	});
}

/// Issue 5's whole dispute flow on the real pallets of the local testnet (validators Alice,
/// Bob, Charlie, Dave): Alice censors Ferdie's valid work by rejecting it, Ferdie challenges
/// with a Merkle proof of the segment, the committee (Bob, Charlie, Dave) upholds the claim,
/// Alice is slashed for censorship and Ferdie is paid after all. At every step the dev
/// accounts hold the total issuance: nothing is created, and only the slash is burned.
#[test]
fn a_censoring_validator_is_challenged_slashed_and_the_provider_paid() {
	use crate::{Pol, RuntimeEvent, RuntimeOrigin, Staking, MILLI_UNIT, UNIT};
	use pallet_pot_pol::{
		ClaimKind, EvalMetrics, Event as PolEvent, ProofPath, Rejection, RoundResult, SegmentProof,
		Verdict,
	};
	use polkadot_sdk::{
		frame_support::{assert_noop, assert_ok, BoundedVec},
		sp_core::H256,
		sp_runtime::{FixedU64, Perbill},
	};
	use pot_primitives::{OffenceKind, ReportOffence};

	in_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
		use Sr25519Keyring::*;
		System::set_block_number(1);
		let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());
		assert_eq!(dev_accounts_total(), Balances::total_issuance());
		let endowed = Sr25519Keyring::well_known().count() as u128;
		assert_eq!(Balances::total_issuance(), DEV_ENDOWMENT * endowed);
		let conserved = |burned: u128, step: &str| {
			assert_eq!(dev_accounts_total(), Balances::total_issuance(), "{step}: funds outside dev accounts");
			assert_eq!(dev_accounts_total() + burned, DEV_ENDOWMENT * endowed, "{step}: funds created or lost");
		};
		let steps = 5u32;
		let order = order_in_alices_cluster(1, steps);
		assert_ok!(Pol::start_order(signed(Alice), order));
		for (i, provider) in [Eve, Ferdie].into_iter().enumerate() {
			assert_ok!(Pol::submit_commitment(signed(provider), order, 0, commitment_over(i as u8 + 1, steps)));
		}
		let closed = pallet_pot_pol::Runs::<Runtime>::get(order).unwrap().round.commit_deadline;
		assert_eq!(closed, System::block_number(), "the last commitment closes the window");
		run_pol_hooks_to(closed + 1);
		// Alice rejects Ferdie's (position 1) valid work at segment 2.
		let censored = Verdict::Rejected(Rejection {
			segment: 2,
			distance: FixedU64::from_rational(1, 10),
			evidence: H256::repeat_byte(0xee),
		});
		let verdicts: BoundedVec<_, _> = vec![(0, accepted()), (1, censored)].try_into().unwrap();
		let result = RoundResult {
			verdicts,
			new_weights: H256::repeat_byte(0xA0),
			eval: EvalMetrics { loss: FixedU64::from_rational(8, 10), accuracy: Perbill::from_percent(90) },
		};
		assert_ok!(Pol::submit_round_result(signed(Alice), order, 0, result));
		let window_end = challenge_window_end(order, 0);
		conserved(0, "result recorded");

		// Ferdie proves checkpoints 2 and 3 of its committed root and challenges.
		let leaves = checkpoints(2, steps);
		let path = |i: u32| -> ProofPath {
			let proof = pot_pol_core::merkle::prove(&leaves, i).unwrap();
			proof.siblings.into_iter().map(H256).collect::<Vec<_>>().try_into().unwrap()
		};
		let proof_of = |segment: u32| SegmentProof {
			start: H256(leaves[segment as usize]),
			start_path: path(segment),
			end: H256(leaves[segment as usize + 1]),
			end_path: path(segment + 1),
		};
		let mut forged = proof_of(2);
		forged.end = H256::repeat_byte(0x55);
		assert_noop!(
			Pol::challenge(signed(Ferdie), order, 0, 1, ClaimKind::ValidWorkRejected, 2, forged),
			pallet_pot_pol::Error::<Runtime>::InvalidProof
		);
		assert_noop!(
			Pol::challenge(signed(Ferdie), order, 0, 1, ClaimKind::ValidWorkRejected, 1, proof_of(1)),
			pallet_pot_pol::Error::<Runtime>::WrongSegment
		);
		assert_ok!(Pol::challenge(signed(Ferdie), order, 0, 1, ClaimKind::ValidWorkRejected, 2, proof_of(2)));
		let (id, committee) = System::events()
			.into_iter()
			.find_map(|r| match r.event {
				RuntimeEvent::Pol(PolEvent::ChallengeOpened { id, committee, .. }) => Some((id, committee)),
				_ => None,
			})
			.unwrap();
		let mut members = committee.into_inner();
		members.sort();
		let mut expected: Vec<_> = [Bob, Charlie, Dave].iter().map(|k| k.to_account_id()).collect();
		expected.sort();
		assert_eq!(members, expected, "the committee is every validator but the challenged one");

		// The window closes, but the challenged round does not settle: nobody is paid yet.
		let ferdie_free = Balances::free_balance(Ferdie.to_account_id());
		run_pol_hooks_to(window_end + 1);
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_some(), "settlement waits for the vote");
		assert_eq!(Balances::free_balance(Ferdie.to_account_id()), ferdie_free);
		assert_noop!(
			Pol::vote(signed(Alice), id, false),
			pallet_pot_pol::Error::<Runtime>::NotCommitteeMember
		);

		// Bob and Charlie re-executed the segment and uphold the claim.
		let alice_stake = <Staking as ReportOffence<_, _>>::slashable(&Alice.to_account_id());
		let issuance = Balances::total_issuance();
		assert_ok!(Pol::vote(signed(Bob), id, true));
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_some(), "one vote decides nothing");
		assert_ok!(Pol::vote(signed(Charlie), id, true));
		let events: Vec<_> = System::events().into_iter().map(|r| r.event).collect();
		assert!(events.iter().any(|e| matches!(e,
			RuntimeEvent::Pol(PolEvent::ChallengeResolved { id: i, upheld: true, ayes: 2, nays: 0, .. }) if *i == id)));
		let slashed = events
			.iter()
			.find_map(|e| match e {
				RuntimeEvent::Pol(PolEvent::ChallengeOffence { id: i, offender, kind: OffenceKind::Censorship, slashed })
					if *i == id && *offender == Alice.to_account_id() => *slashed,
				_ => None,
			})
			.expect("Alice was slashed for censorship");
		assert_eq!(slashed, Perbill::from_percent(5) * alice_stake);
		assert_eq!(<Staking as ReportOffence<_, _>>::slashable(&Alice.to_account_id()), alice_stake - slashed);
		let burned = issuance - Balances::total_issuance();
		assert!(burned > 0 && burned <= slashed, "the slash is burned, less the reporter's share");
		assert_eq!(pallet_pot_issuance::Burned::<Runtime>::get(), burned, "the book holds the burn");
		conserved(burned, "challenge resolved");

		// The round settled at once: both providers are paid for their steps, Ferdie was not
		// reported, and the order completed.
		let paid = MILLI_UNIT * u128::from(steps);
		let fee = Perbill::from_percent(10).mul_floor(paid);
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_none(), "the run completed");
		assert!(crate::Market::order(order).is_none(), "the order is final");
		assert!(!events.iter().any(|e| matches!(e, RuntimeEvent::Pol(PolEvent::SubmissionRejected { .. }))));
		let reward = Balances::free_balance(Ferdie.to_account_id()) - ferdie_free - (paid - fee);
		assert_eq!(reward, slashed - burned, "Ferdie, the reporter, got the rest of the slash");
		assert_eq!(<Staking as ReportOffence<_, _>>::slashable(&Ferdie.to_account_id()), 1_000 * UNIT);
	});
}

/// A validator that misses a round's result deadline on the real pallets: the order fails and
/// Bob gets his whole budget back, Alice is slashed for the missed deadline, and Eve, who had
/// committed her steps to the round, is paid them at the order's price out of that slash;
/// Ferdie, who committed nothing, gets nothing. Only the rest of the slash is burned.
#[test]
fn a_missed_result_deadline_compensates_the_committed_providers_from_the_slash() {
	use crate::{Pol, RuntimeEvent, RuntimeOrigin, Staking, MILLI_UNIT};
	use pallet_pot_pol::{Event as PolEvent, FailureReason};
	use polkadot_sdk::{frame_support::assert_ok, sp_runtime::Perbill};
	use pot_primitives::ReportOffence;

	in_preset(DEV_RUNTIME_PRESET, || {
		use Sr25519Keyring::*;
		System::set_block_number(1);
		let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());
		let free = |k: Sr25519Keyring| Balances::free_balance(k.to_account_id());
		let steps = 5u32;
		let bob_before = <Balances as Inspect<_>>::total_balance(&Bob.to_account_id());
		let order = order_in_alices_cluster(2, steps);
		assert_ok!(Pol::start_order(signed(Alice), order));
		assert_ok!(Pol::submit_commitment(signed(Eve), order, 0, commitment_over(1, steps)));
		let deadline = pallet_pot_pol::Runs::<Runtime>::get(order).unwrap().round.result_deadline;
		let alice_stake = <Staking as ReportOffence<_, _>>::slashable(&Alice.to_account_id());
		let (eve, ferdie) = (free(Eve), free(Ferdie));
		let issuance = Balances::total_issuance();

		run_pol_hooks_to(deadline + 1);
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_none(), "the run failed");
		assert!(crate::Market::order(order).is_none(), "the order is final");
		let slashed = Perbill::from_percent(1) * alice_stake;
		let compensation = MILLI_UNIT * u128::from(steps);
		assert_eq!(free(Eve), eve + compensation, "Eve is paid her committed steps");
		assert_eq!(free(Ferdie), ferdie, "Ferdie committed nothing");
		assert_eq!(<Staking as ReportOffence<_, _>>::slashable(&Alice.to_account_id()), alice_stake - slashed);
		assert_eq!(issuance - Balances::total_issuance(), slashed - compensation, "only the rest is burned");
		assert_eq!(pallet_pot_issuance::Burned::<Runtime>::get(), slashed - compensation);
		let escrow = RuntimeHoldReason::Market(pallet_pot_market::HoldReason::OrderEscrow);
		assert_eq!(Balances::balance_on_hold(&escrow, &Bob.to_account_id()), 0, "Bob's budget is released");
		assert_eq!(<Balances as Inspect<_>>::total_balance(&Bob.to_account_id()), bob_before, "Bob paid nothing");
		let events: Vec<_> = System::events().into_iter().map(|r| r.event).collect();
		assert!(events.iter().any(|e| matches!(e,
			RuntimeEvent::Staking(pallet_pot_staking::Event::Compensated { offender, beneficiary, amount })
				if *offender == Alice.to_account_id() && *beneficiary == Eve.to_account_id() && *amount == compensation)));
		assert!(events.iter().any(|e| matches!(e,
			RuntimeEvent::Pol(PolEvent::RunFailed {
				order: o,
				round: 0,
				reason: FailureReason::MissedResultDeadline,
				validator_slashed: Some(v),
				providers_compensated: Some(c),
				..
			}) if *o == order && *v == slashed && *c == compensation)));
	});
}

/// A refuted aggregate on the real pallets: after round 0 Alice announces weights that are not
/// the aggregate; Ferdie's `WrongAggregate` claim is upheld by the committee while round 1 is
/// open. Alice is slashed, round 1 still runs to its result and both rounds pay Eve and Ferdie,
/// then the order fails: no round 2, no fee for Alice, the rest of Bob's budget back to him.
#[test]
fn a_refuted_aggregate_fails_the_order_after_the_open_round() {
	use crate::{Pol, RuntimeEvent, RuntimeOrigin, Staking, MILLI_UNIT};
	use pallet_pot_pol::{
		ClaimKind, EvalMetrics, Event as PolEvent, FailureReason, RoundResult, SegmentProof,
	};
	use polkadot_sdk::{
		frame_support::{assert_ok, BoundedVec},
		sp_core::H256,
		sp_runtime::{FixedU64, Perbill},
	};
	use pot_primitives::{OffenceKind, ReportOffence};

	in_preset(LOCAL_TESTNET_RUNTIME_PRESET, || {
		use Sr25519Keyring::*;
		System::set_block_number(1);
		let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());
		let total = |k: Sr25519Keyring| <Balances as Inspect<_>>::total_balance(&k.to_account_id());
		let endowed = Sr25519Keyring::well_known().count() as u128;
		let steps = 5u32;
		let order = order_in_alices_cluster(3, steps);
		let (alice_before, bob_before) = (total(Alice), total(Bob));
		let (eve_before, ferdie_before) = (total(Eve), total(Ferdie));
		let alice_stake = <Staking as ReportOffence<_, _>>::slashable(&Alice.to_account_id());
		assert_ok!(Pol::start_order(signed(Alice), order));
		let round_through = |round: u32, new_weights: u8| {
			for (i, provider) in [Eve, Ferdie].into_iter().enumerate() {
				let commitment = commitment_over(round as u8 * 2 + i as u8 + 1, steps);
				assert_ok!(Pol::submit_commitment(signed(provider), order, round, commitment));
			}
			let closed = pallet_pot_pol::Runs::<Runtime>::get(order).unwrap().round.commit_deadline;
			run_pol_hooks_to(closed + 1);
			let verdicts: BoundedVec<_, _> =
				vec![(0, accepted()), (1, accepted())].try_into().unwrap();
			let result = RoundResult {
				verdicts,
				new_weights: H256::repeat_byte(new_weights),
				eval: EvalMetrics { loss: FixedU64::from_rational(8, 10), accuracy: Perbill::from_percent(90) },
			};
			assert_ok!(Pol::submit_round_result(signed(Alice), order, round, result));
		};
		round_through(0, 0xA0);
		assert_eq!(pallet_pot_pol::Runs::<Runtime>::get(order).unwrap().round.index, 1);

		// Ferdie claims round 0's weights are not the aggregate; Bob and Charlie recompute it
		// and agree.
		assert_ok!(Pol::challenge(signed(Ferdie), order, 0, 0, ClaimKind::WrongAggregate, 0, SegmentProof::default()));
		let id = System::events()
			.into_iter()
			.find_map(|r| match r.event {
				RuntimeEvent::Pol(PolEvent::ChallengeOpened { id, .. }) => Some(id),
				_ => None,
			})
			.unwrap();
		assert_ok!(Pol::vote(signed(Bob), id, true));
		assert_ok!(Pol::vote(signed(Charlie), id, true));
		let slashed = System::events()
			.into_iter()
			.find_map(|r| match r.event {
				RuntimeEvent::Pol(PolEvent::ChallengeOffence {
					offender,
					kind: OffenceKind::WrongVerdict,
					slashed,
					..
				}) if offender == Alice.to_account_id() => slashed,
				_ => None,
			})
			.expect("Alice was slashed for a wrong verdict");
		assert!(slashed > 0 && slashed < alice_stake);
		let run = pallet_pot_pol::Runs::<Runtime>::get(order).unwrap();
		assert!(run.refuted.is_some() && run.closing.is_none(), "round 1 goes on");

		// Round 1 runs to its result; then no round opens.
		round_through(1, 0xA1);
		let run = pallet_pot_pol::Runs::<Runtime>::get(order).unwrap();
		assert_eq!(run.round.index, 1, "no round 2");
		assert!(run.closing.is_some());
		let window_end = challenge_window_end(order, 1);
		System::reset_events();
		run_pol_hooks_to(window_end + 1);
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_none(), "the run ended");
		assert!(crate::Market::order(order).is_none(), "the order is final");
		let events: Vec<_> = System::events().into_iter().map(|r| r.event).collect();
		assert!(events.iter().any(|e| matches!(e,
			RuntimeEvent::Pol(PolEvent::RunFailed {
				order: o,
				round: 0,
				reason: FailureReason::WrongAggregate,
				validator_slashed: Some(v),
				providers_compensated: None,
				..
			}) if *o == order && *v == slashed)));

		// Two rounds of 5 steps each for Eve and Ferdie at the ask's price, less the validator's
		// fee share; the order failed, so that share goes back to Bob, not to Alice.
		let per_round = MILLI_UNIT * u128::from(steps);
		let pay = 2 * (per_round - Perbill::from_percent(10).mul_floor(per_round));
		assert_eq!(total(Eve), eve_before + pay);
		assert!(total(Ferdie) >= ferdie_before + pay, "Ferdie is paid, plus the reporter's share");
		assert_eq!(total(Alice), alice_before - slashed, "Alice: the slash and no fee");
		assert_eq!(total(Bob), bob_before - 2 * pay, "Bob paid for the verified work only");
		let escrow = RuntimeHoldReason::Market(pallet_pot_market::HoldReason::OrderEscrow);
		assert_eq!(Balances::balance_on_hold(&escrow, &Bob.to_account_id()), 0, "Bob's budget is released");
		assert_eq!(dev_accounts_total(), Balances::total_issuance(), "funds outside dev accounts");
		assert!(dev_accounts_total() < DEV_ENDOWMENT * endowed, "the rest of the slash is burned");
	});
}

/// Issue 5's scale goal: at least 10,000 provider commitments per round fit in the blocks of a
/// round's commit window, by the benchmarked weight of `submit_commitment`.
#[test]
fn ten_thousand_commitments_fit_in_a_commit_window() {
	use pallet_pot_pol::WeightInfo as _;
	use polkadot_sdk::frame_support::{dispatch::DispatchClass, traits::Get};
	let weights = crate::configs::RuntimeBlockWeights::get();
	let normal = weights.get(DispatchClass::Normal);
	let per_block_limit = normal.max_total.unwrap_or(weights.max_block).saturating_sub(weights.base_block);
	let commitment = crate::weights::pallet_pot_pol::WeightInfo::<Runtime>::submit_commitment()
		.saturating_add(normal.base_extrinsic);
	let per_block = per_block_limit.ref_time() / commitment.ref_time();
	let window = u64::from(<crate::configs::CommitWindow as Get<crate::BlockNumber>>::get());
	println!("submit_commitment {commitment:?}: {per_block} per block, {} per commit window", per_block * window);
	assert!(per_block * window >= 10_000, "{per_block} per block × {window} blocks");
}

/// The worst case of the PoL block hook: `MaxRunsPerDeadline` failed runs, settled rounds and
/// resolved challenges in one block's `on_initialize`, by the generated weights, fit in a block.
#[test]
fn the_pol_hooks_worst_case_fits_in_a_block() {
	use pallet_pot_pol::WeightInfo as _;
	use polkadot_sdk::frame_support::traits::Get;
	type W = crate::weights::pallet_pot_pol::WeightInfo<Runtime>;
	let max = <<Runtime as pallet_pot_pol::Config>::MaxRunsPerDeadline as Get<u32>>::get();
	let hooks = W::fail_overdue(max).saturating_add(W::settle_due(max)).saturating_add(W::close_votes(max));
	let block = crate::configs::RuntimeBlockWeights::get().max_block;
	println!("PoL hooks at {max} per block: {hooks:?} of {block:?}");
	assert!(hooks.all_lte(block), "{hooks:?} exceeds the block's {block:?}");
}

/// The PoL offchain worker of a validator node, with the validator's `potv` key in the keystore:
/// it starts the order the market matched to it, then fetches the round result from its verifier
/// (the URL set in offchain storage) and submits it; both transactions are signed by the
/// validator's account and valid for the pool.
#[test]
fn the_pol_offchain_worker_starts_orders_and_submits_results_as_the_validator() {
	use crate::{Pol, RuntimeCall, RuntimeOrigin, UncheckedExtrinsic};
	use codec::{Decode, Encode};
	use pallet_pot_pol::{Commitment, EvalMetrics, RoundResult};
	use polkadot_sdk::{
		frame_support::{
			assert_ok,
			storage::{with_transaction, TransactionOutcome},
			traits::Hooks,
			BoundedVec,
		},
		sp_core::{
			offchain::{
				testing::{PendingRequest, TestOffchainExt, TestTransactionPoolExt},
				OffchainDbExt, OffchainWorkerExt, StorageKind, TransactionPoolExt,
			},
			H256,
		},
		sp_io,
		sp_runtime::{
			generic::Preamble, traits::Dispatchable, DispatchError, FixedU64, MultiAddress, Perbill,
		},
	};
	use pot_primitives::OrderId;
	use Sr25519Keyring::*;

	let keystore = MemoryKeystore::new();
	keystore.sr25519_generate_new(pallet_pot_pol::KEY_TYPE, Some("//Alice")).unwrap();
	let (offchain, offchain_state) = TestOffchainExt::new();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	let mut ext = externalities_for_preset(DEV_RUNTIME_PRESET);
	ext.register_extension(KeystoreExt::new(keystore));
	ext.register_extension(OffchainWorkerExt::new(offchain.clone()));
	ext.register_extension(OffchainDbExt::new(offchain));
	ext.register_extension(TransactionPoolExt::new(pool));

	ext.execute_with(|| {
		System::set_block_number(1);
		let signed = |k: Sr25519Keyring| RuntimeOrigin::signed(k.to_account_id());
		// Like the node: the worker's state changes are thrown away.
		let ocw = || {
			let n = System::block_number();
			let _ = with_transaction(|| {
				<Pol as Hooks<crate::BlockNumber>>::offchain_worker(n);
				TransactionOutcome::Rollback(Ok::<(), DispatchError>(()))
			});
		};
		let pooled = |i: usize| {
			let xt = pool_state.read().transactions[i].clone();
			UncheckedExtrinsic::decode(&mut &xt[..]).unwrap()
		};
		let assert_from_alice = |xt: &UncheckedExtrinsic| {
			assert!(matches!(
				&xt.preamble,
				Preamble::Signed(MultiAddress::Id(who), ..) if *who == Alice.to_account_id()
			));
			let n = System::block_number();
			let parent = System::block_hash(n - 1);
			let validity = Executive::validate_transaction(TransactionSource::Local, xt.clone(), parent);
			assert!(validity.is_ok(), "rejected: {validity:?}");
			System::set_block_number(n);
		};

		let order = order_in_alices_cluster(1, 5);
		assert_eq!(order, OrderId(0));

		// 1. The matched order is started.
		ocw();
		assert_eq!(pool_state.read().transactions.len(), 1);
		let start = pooled(0);
		assert_eq!(start.function, RuntimeCall::Pol(pallet_pot_pol::Call::start_order { order }));
		assert_from_alice(&start);
		assert_ok!(start.function.dispatch(signed(Alice)));

		// 2. Both providers commit in block 1, closing the window; in block 2 the result is due.
		let checkpoints = pot_pol_core::schedule::checkpoint_count(5, 1).unwrap();
		for (i, provider) in [Eve, Ferdie].into_iter().enumerate() {
			let commitment = Commitment {
				update_hash: H256::repeat_byte(i as u8 + 1),
				checkpoint_root: H256::repeat_byte(i as u8 + 10),
				proof_hash: H256::repeat_byte(i as u8 + 20),
				checkpoint_count: checkpoints,
				steps_done: 5,
				loss_before: FixedU64::from_rational(23, 10),
				loss_after: FixedU64::from_rational(9, 10),
				residual_in: H256::zero(),
				residual_out: H256::zero(),
			};
			assert_ok!(Pol::submit_commitment(signed(provider), order, 0, commitment));
		}
		assert_eq!(pallet_pot_pol::Runs::<Runtime>::get(order).unwrap().round.commit_deadline, 1);
		System::set_block_number(2);
		let verdicts: BoundedVec<_, _> = vec![(0, accepted()), (1, accepted())].try_into().unwrap();
		let result = RoundResult {
			verdicts,
			new_weights: H256::repeat_byte(0xA0),
			eval: EvalMetrics { loss: FixedU64::from_rational(8, 10), accuracy: Perbill::from_percent(90) },
		};
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			pallet_pot_pol::offchain::VERIFIER_URL_KEY,
			b"http://127.0.0.1:8600",
		);
		offchain_state.write().expect_request(PendingRequest {
			method: "POST".into(),
			uri: "http://127.0.0.1:8600/v1/rounds/0/0/result".into(),
			response: Some(result.encode()),
			sent: true,
			..Default::default()
		});
		ocw();
		assert_eq!(pool_state.read().transactions.len(), 2);
		let submit = pooled(1);
		assert_eq!(
			submit.function,
			RuntimeCall::Pol(pallet_pot_pol::Call::submit_round_result { order, round: 0, result })
		);
		assert_from_alice(&submit);
		assert_ok!(submit.function.dispatch(signed(Alice)));

		// 3. The closing run asks the verifier nothing more and completes after the window.
		let window_end = challenge_window_end(order, 0);
		ocw();
		assert_eq!(pool_state.read().transactions.len(), 2, "nothing to submit for a closing run");
		run_pol_hooks_to(window_end);
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_some(), "settles only after the window");
		run_pol_hooks_to(window_end + 1);
		assert!(pallet_pot_pol::Runs::<Runtime>::get(order).is_none(), "the one-round run completed");
	});
}
