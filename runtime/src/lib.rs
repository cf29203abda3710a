//! # PoT runtime
//!
//! The state transition function of the PoT (Proof of Training) chain: Aura block production,
//! GRANDPA finality, a session pallet that feeds both their authority sets, balances with fungible
//! holds, transaction fees paid to the block author, and sudo as **development-only** governance.
//! The PoT pallets (market, staking, proof of learning) are added here as they land.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` expands into code that the workspace lints would reject.
#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;
#[cfg(feature = "try-runtime")]
mod try_runtime;
pub mod weights;

#[cfg(test)]
mod tests;

use polkadot_sdk::{
	frame_executive, frame_support, frame_system, pallet_aura, pallet_authorship, pallet_balances, pallet_grandpa,
	pallet_session, pallet_sudo, pallet_timestamp, pallet_transaction_payment,
	sp_runtime::{
		generic, impl_opaque_keys,
		traits::{BlakeTwo256, IdentifyAccount, Verify},
		MultiAddress, MultiSignature,
	},
	sp_version::{self, RuntimeVersion},
};

pub use polkadot_sdk::{sp_consensus_aura::sr25519::AuthorityId as AuraId, sp_runtime::Perbill};
pub use polkadot_sdk::sp_consensus_grandpa::AuthorityId as GrandpaId;

/// Opaque types for the node: it knows blocks and headers only as bytes plus a header format.
pub mod opaque {
	use super::*;
	use polkadot_sdk::sp_runtime::OpaqueExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, OpaqueExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;

	impl_opaque_keys! {
		/// The session keys of a validator: Aura for block production, GRANDPA for finality.
		pub struct SessionKeys {
			pub aura: Aura,
			pub grandpa: Grandpa,
		}
	}
}

pub use opaque::SessionKeys;

/// Version of the runtime. Bump `spec_version` on every change of runtime logic.
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("pot"),
	impl_name: alloc::borrow::Cow::Borrowed("pot-node"),
	authoring_version: 1,
	spec_version: 117,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Target block time. Aura slots are this long; GRANDPA finalizes a few blocks behind.
pub const MILLI_SECS_PER_BLOCK: u64 = 6000;
/// Aura slot duration in milliseconds (one block per slot).
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// Blocks per minute at the target block time.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour at the target block time.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day at the target block time.
pub const DAYS: BlockNumber = HOURS * 24;

/// Number of decimals of the POT token.
pub const TOKEN_DECIMALS: u8 = 12;
/// Symbol of the native token.
pub const TOKEN_SYMBOL: &str = "POT";
/// One POT in its smallest unit (planck).
pub const UNIT: Balance = 1_000_000_000_000;
/// One thousandth of a POT.
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// One millionth of a POT.
pub const MICRO_UNIT: Balance = 1_000_000;
/// Minimum balance an account must keep to exist.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// An index to a block.
pub type BlockNumber = u32;
/// Signature type of the chain: sr25519, ed25519 or ecdsa.
pub type Signature = MultiSignature;
/// An account on the chain: the public key of its signer (32 bytes).
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account, in planck.
pub type Balance = u128;
/// Index of a transaction of an account.
pub type Nonce = u32;
/// Hash of a block or an extrinsic.
pub type Hash = polkadot_sdk::sp_core::H256;
/// The address format used to name accounts in calls.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header type.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block type.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// A block that has been signed off by GRANDPA.
pub type SignedBlock = generic::SignedBlock<Block>;
/// Block identifier type.
pub type BlockId = generic::BlockId<Block>;

/// The transaction extensions that every signed transaction carries, checked in this order.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations applied on runtime upgrade (none yet).
type Migrations = ();

/// Executive: dispatches calls to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// The runtime: pallets in index bands (0–9 system and consensus, 10–19 money, 50+ PoT, 255 sudo).
#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Authorship = pallet_authorship;
	#[runtime::pallet_index(3)]
	pub type Session = pallet_session;
	#[runtime::pallet_index(4)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(5)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(10)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(11)]
	pub type TransactionPayment = pallet_transaction_payment;

	/// The training market: orders with escrowed budgets, validator asks, matching, settlement.
	#[runtime::pallet_index(50)]
	pub type Market = pallet_pot_market;
	/// Validator and provider bonds, clusters, slashing; elects the authorities each session.
	#[runtime::pallet_index(51)]
	pub type Staking = pallet_pot_staking;
	/// Proof-of-Learning rounds: run start, provider commitments, round results, payouts.
	#[runtime::pallet_index(52)]
	pub type Pol = pallet_pot_pol;
	/// The book of the supply: genesis issuance, public-run emission and burns.
	#[runtime::pallet_index(53)]
	pub type Issuance = pallet_pot_issuance;

	/// Development-only governance: one key may dispatch root calls. Replaced before any
	/// public network.
	#[runtime::pallet_index(255)]
	pub type Sudo = pallet_sudo;
}
