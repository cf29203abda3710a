//! Genesis presets: `development` (Alice alone) and `local_testnet` (Alice, Bob, Charlie, Dave).
//! Chain specs are generated from these by `pot-node build-spec`; see `scripts/gen-chain-specs.sh`.

use crate::{
	AccountId, AuraId, BalancesConfig, GrandpaId, RuntimeGenesisConfig, SessionConfig,
	SessionKeys, StakingConfig, SudoConfig, UNIT,
};
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
	frame_support::build_struct_json_patch,
	sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET},
	sp_keyring::{Ed25519Keyring, Sr25519Keyring},
};
use serde_json::Value;

/// Balance of every endowed development account.
pub const DEV_ENDOWMENT: crate::Balance = 1_000_000 * UNIT;
/// Bond each genesis validator holds.
pub const GENESIS_VALIDATOR_BOND: crate::Balance = 10_000 * UNIT;
/// Smallest bond of an active validator.
pub const MIN_VALIDATOR_BOND: crate::Balance = 1_000 * UNIT;
/// Smallest bond of a provider in a cluster.
pub const MIN_PROVIDER_BOND: crate::Balance = 100 * UNIT;
/// Port of the first genesis validator's artifact endpoint (`http://127.0.0.1:<port>`); the
/// n-th validator's is this plus n, where its `pot-trainer serve` listens on a local network.
pub const FIRST_ARTIFACT_PORT: u16 = 8800;

/// A validator at genesis: its account and its session keys.
pub struct GenesisAuthority {
	/// Account that owns the session keys (and, later, the validator bond).
	pub account: AccountId,
	/// Block-production key.
	pub aura: AuraId,
	/// Finality key.
	pub grandpa: GrandpaId,
}

impl GenesisAuthority {
	/// The well-known development authority whose keys derive from `//Name` for both key types.
	pub fn dev(sr25519: Sr25519Keyring, ed25519: Ed25519Keyring) -> Self {
		Self {
			account: sr25519.to_account_id(),
			aura: sr25519.public().into(),
			grandpa: ed25519.public().into(),
		}
	}
}

/// Genesis state: `authorities` produce and finalize blocks from block 1 and are bonded
/// ([`GENESIS_VALIDATOR_BOND`]) and registered validators, `endowed` hold [`DEV_ENDOWMENT`]
/// each, `root` holds the development-only sudo key.
pub fn genesis(authorities: Vec<GenesisAuthority>, endowed: Vec<AccountId>, root: AccountId) -> Value {
	let validators = authorities
		.iter()
		.zip(FIRST_ARTIFACT_PORT..)
		.map(|(a, port)| {
			let endpoint = alloc::format!("http://127.0.0.1:{port}").into_bytes();
			(a.account.clone(), GENESIS_VALIDATOR_BOND, endpoint)
		})
		.collect::<Vec<_>>();
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed.into_iter().map(|account| (account, DEV_ENDOWMENT)).collect::<Vec<_>>(),
		},
		session: SessionConfig {
			keys: authorities
				.into_iter()
				.map(|a| {
					(a.account.clone(), a.account, SessionKeys { aura: a.aura, grandpa: a.grandpa })
				})
				.collect::<Vec<_>>(),
		},
		staking: StakingConfig {
			min_validator_bond: MIN_VALIDATOR_BOND,
			min_provider_bond: MIN_PROVIDER_BOND,
			validators,
		},
		sudo: SudoConfig { key: Some(root) },
	})
}

fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// `development`: Alice is the only authority; all well-known dev accounts are endowed.
pub fn development() -> Value {
	genesis(
		vec![GenesisAuthority::dev(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// `local_testnet`: Alice, Bob, Charlie and Dave are authorities; all dev accounts endowed.
pub fn local_testnet() -> Value {
	genesis(
		vec![
			GenesisAuthority::dev(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			GenesisAuthority::dev(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			GenesisAuthority::dev(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			GenesisAuthority::dev(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON patch of the preset named `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEV_RUNTIME_PRESET => development(),
		LOCAL_TESTNET_RUNTIME_PRESET => local_testnet(),
		_ => return None,
	};
	serde_json::to_vec(&patch).ok()
}

/// Names of the presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
}
