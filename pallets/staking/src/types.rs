//! Records the pallet keeps in storage, and the trait through which it asks about session keys.

use crate::Config;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*, traits::fungible, CloneNoBound, DebugNoBound, EqNoBound,
		PartialEqNoBound,
	},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_runtime::traits::{CheckedAdd, Zero},
};
use pot_primitives::{HardwareClass, WorkUnits};

/// Balance of the bonded currency.
pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
>>::Balance;

/// Funds taken by a slash, not yet given to anyone.
pub type CreditOf<T> =
	fungible::Credit<<T as polkadot_sdk::frame_system::Config>::AccountId, <T as Config>::Currency>;

/// A validator's artifact endpoint as stored.
pub type EndpointOf<T> = BoundedVec<u8, <T as Config>::MaxEndpointLen>;

/// Whether an account has session keys. The runtime implements it with
/// `pallet_session::NextKeys`; tests keep a set in memory.
pub trait HasSessionKeys<AccountId> {
	/// Whether `who` has set session keys.
	fn has_keys(who: &AccountId) -> bool;

	/// Gives `who` session keys, for benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn set_keys(who: &AccountId);
}

/// Funds that started unbonding together.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct UnbondingChunk<Balance, BlockNumber> {
	/// The amount; held and slashable until withdrawn.
	pub value: Balance,
	/// First block at which it can be withdrawn.
	pub unlock_at: BlockNumber,
}

/// Unbonding chunk of a runtime.
pub type UnbondingChunkOf<T> = UnbondingChunk<BalanceOf<T>, BlockNumberFor<T>>;

/// The bond of an account: all of it is held under `HoldReason::Bond`.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct StakingLedger<T: Config> {
	/// The active bond: counts for elections, roles and the market.
	pub active: BalanceOf<T>,
	/// Funds unbonding, oldest first (their unlock blocks increase).
	pub unbonding: BoundedVec<UnbondingChunkOf<T>, T::MaxUnbondingChunks>,
}

impl<T: Config> StakingLedger<T> {
	/// A ledger with `active` bonded and nothing unbonding.
	pub fn new(active: BalanceOf<T>) -> Self {
		Self { active, unbonding: BoundedVec::new() }
	}

	/// The funds unbonding, or `None` on overflow.
	pub fn unbonding_total(&self) -> Option<BalanceOf<T>> {
		self.unbonding.iter().try_fold(BalanceOf::<T>::zero(), |sum, c| sum.checked_add(&c.value))
	}

	/// Active plus unbonding: what is held for this ledger; `None` on overflow.
	pub fn total(&self) -> Option<BalanceOf<T>> {
		self.unbonding_total()?.checked_add(&self.active)
	}

	/// Whether nothing is bonded or unbonding.
	pub fn is_empty(&self) -> bool {
		self.active.is_zero() && self.unbonding.is_empty()
	}
}

/// A registered validator.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct ValidatorRecord<T: Config> {
	/// Where the validator serves artifacts (an `http://` or `https://` URL).
	pub endpoint: EndpointOf<T>,
	/// Whether it stopped validating.
	pub chilled: bool,
}

/// A provider's cluster membership.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct ProviderRecord<T: Config> {
	/// The validator whose cluster it is in.
	pub validator: T::AccountId,
	/// The hardware class (compute profile) it declared.
	pub hardware_class: HardwareClass,
	/// The throughput its trainer measured: work units per hour.
	pub capacity: WorkUnits,
}
