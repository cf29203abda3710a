//! # PoT validator staking
//!
//! Bonds, unbonding, provider clusters, slashing and the session-driven authority set
//! (`shared/PROTOCOL.md`, "Roles" and "Staking, clusters, consensus set").
//!
//! ## Bonds
//! Every account has at most one ledger: its *active* bond and its *unbonding* chunks. Both are
//! fungible holds on the account under [`HoldReason::Bond`], so both stay slashable until
//! withdrawn. [`bond`](Pallet::bond) opens the ledger, [`bond_extra`](Pallet::bond_extra) adds
//! to it, [`unbond`](Pallet::unbond) moves part of the active bond into a chunk that unlocks
//! [`Config::UnbondingPeriod`] blocks later (at most [`Config::MaxUnbondingChunks`] chunks),
//! [`rebond`](Pallet::rebond) moves unbonding funds back (newest chunks first) and
//! [`withdraw_unbonded`](Pallet::withdraw_unbonded) releases the unlocked chunks.
//!
//! ## Roles
//! An account is a validator, a provider or neither, never both.
//! - **Validators** [`register_validator`](Pallet::register_validator) with an artifact endpoint
//!   (needs an active bond of at least [`MinValidatorBond`]); calling it again updates the
//!   endpoint and resumes a chilled validator. [`chill`](Pallet::chill) stops validating (the
//!   registration, endpoint and cluster stay).
//!   [`unregister_validator`](Pallet::unregister_validator) frees the registration once the
//!   validator is in no authority set and its cluster is empty.
//!   When [`Config::MaxValidators`] are registered, a newcomer takes the slot of the first
//!   validator bonded below the minimum and in no authority set (its providers are kicked).
//!   Session keys are set through `pallet_session::set_keys`; this pallet only asks
//!   [`Config::SessionKeys`] whether an account has them ([`NextSessionKeys`] reads
//!   pallet-session's `NextKeys`).
//! - **Providers** [`join_cluster`](Pallet::join_cluster) of one active validator (needs an
//!   active bond of at least [`MinProviderBond`]), declaring a hardware class and the capacity
//!   their trainer measured. [`leave_cluster`](Pallet::leave_cluster) is refused while
//!   [`Config::OpenWork`] reports open work; the validator may [`kick`](Pallet::kick) a provider
//!   at any time. Leaving or being kicked does not move funds: the bond stays bonded (and
//!   slashable) until the provider unbonds it, which takes the same unbonding period. While in a
//!   cluster a provider cannot unbond below [`MinProviderBond`].
//!
//! ## Consensus set
//! The pallet is pallet-session's `SessionManager`: at each new session the authorities are the
//! registered, not chilled validators with session keys and an active bond of at least
//! [`MinValidatorBond`], ranked by active bond (descending) then registration order, at most
//! [`MaxAuthorityCount`] of them. If nobody qualifies the current set is kept.
//!
//! ## Slashing
//! [`pot_primitives::ReportOffence`]: the kind's [`SlashFractions`] of the offender's active
//! bond plus unbonding chunks is slashed (active bond first, then chunks, newest first), never
//! more than is held. [`Config::ReporterShare`] of it goes to the reporter, the rest to
//! [`Config::Slash`]. A validator slashed below the minimum leaves at the next session.
//!
//! A *compensating* report
//! ([`report_offence_compensating`](pot_primitives::ReportOffence::report_offence_compensating))
//! slashes the same way, with no reporter, then pays the claims of the parties the offence
//! harmed (the PoL pallet: providers whose committed work a validator's missed deadline made
//! worthless) out of the slashed funds, in list order, each at most what is left
//! ([`Event::Compensated`] per claim paid). A claimant that cannot receive its part (below the
//! existential deposit) gets nothing and its part stays in the slash; what no claim took goes to
//! [`Config::Slash`]. Compensation moves slashed funds to the claimants: only the handler's part
//! is burned (or given to a treasury).
//!
//! ## Market
//! [`pot_primitives::ValidatorInspect`]: an *active validator* is registered, not chilled and
//! bonded at least [`MinValidatorBond`] (being in the current authority set is not required: a
//! validator outside the top [`MaxAuthorityCount`] still verifies and sells compute, and its
//! bond still answers for it). Its allowed capacity is `active bond / BondPerWorkUnit` work
//! units.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use polkadot_sdk::{frame_support, frame_system};

pub use pallet::*;
pub use session::NextSessionKeys;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod clusters;
pub mod endpoint;
mod inspect;
#[cfg(any(feature = "try-runtime", test))]
mod invariants;
mod ledger;
#[cfg(test)]
mod mock;
mod session;
mod slashing;
#[cfg(test)]
mod tests;
mod types;
mod validators;
pub mod weights;

// The pallet macros expand to `expect` calls (on values they have just built) that the
// workspace lints would reject; hand-written code in this module uses none.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{fungible, OnUnbalanced},
	};
	use frame_system::pallet_prelude::*;
	use polkadot_sdk::sp_runtime::Perbill;
	use pot_primitives::{ContentHash, HardwareClass, OffenceKind, OpenWorkInspect, WorkUnits};

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency. Bonds are held on the bonded account under [`HoldReason::Bond`];
		/// slashes take from that hold.
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::BalancedHold<Self::AccountId>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// Who may set the minimum bonds, slash fractions and the number of authorities.
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Whether an account has session keys (the runtime asks `pallet_session::NextKeys`).
		type SessionKeys: HasSessionKeys<Self::AccountId>;

		/// Whether a provider has open work; `leave_cluster` is refused while it does.
		type OpenWork: OpenWorkInspect<Self::AccountId>;

		/// Receives what is slashed (less the reporter's share, or the compensation paid to the
		/// claimants of a compensating report): a treasury, or `()` to burn.
		type Slash: OnUnbalanced<CreditOf<Self>>;

		/// Share of a slash paid to the reporter of the offence, if any.
		#[pallet::constant]
		type ReporterShare: Get<Perbill>;

		/// Blocks an unbonding chunk stays held (and slashable) before it can be withdrawn. Keep
		/// it above two sessions so that a validator leaves the authority set before its funds.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;

		/// Most unbonding chunks of one ledger.
		#[pallet::constant]
		type MaxUnbondingChunks: Get<u32>;

		/// Most registered validators (the candidates ranked at each session).
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Upper bound of the authority set (the consensus pallets' `MaxAuthorities`).
		#[pallet::constant]
		type MaxAuthorities: Get<u32>;

		/// Most providers in one cluster.
		#[pallet::constant]
		type MaxClusterSize: Get<u32>;

		/// Most bytes of a validator's artifact endpoint URL.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;

		/// Bond a validator needs per work unit it sells at once:
		/// `capacity_allowed = active bond / BondPerWorkUnit`. Must not be zero.
		#[pallet::constant]
		type BondPerWorkUnit: Get<BalanceOf<Self>>;

		/// Weights of this pallet's calls and session hook.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Bonded and unbonding funds of a validator or provider; slashable.
		#[codec(index = 0)]
		Bond,
	}

	/// The bond ledger of each bonded account: active bond and unbonding chunks.
	#[pallet::storage]
	pub type Ledger<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, StakingLedger<T>>;

	/// Registered validators in registration order (the order breaks ties of equal bonds).
	#[pallet::storage]
	pub type RegisteredValidators<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

	/// Each registered validator's artifact endpoint and whether it is chilled.
	#[pallet::storage]
	pub type ValidatorInfo<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ValidatorRecord<T>>;

	/// The cluster each provider is in, with its hardware class and measured capacity.
	#[pallet::storage]
	pub type Providers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, ProviderRecord<T>>;

	/// The providers of each validator's cluster, in joining order.
	#[pallet::storage]
	pub type Clusters<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<T::AccountId, T::MaxClusterSize>,
		ValueQuery,
	>;

	/// Smallest active bond with which a validator may register and be elected.
	#[pallet::storage]
	pub type MinValidatorBond<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Smallest active bond with which a provider may join a cluster.
	#[pallet::storage]
	pub type MinProviderBond<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Fraction of (active bond + unbonding) slashed for each offence kind.
	#[pallet::storage]
	pub type SlashFractions<T: Config> =
		StorageMap<_, Twox64Concat, OffenceKind, Perbill, ValueQuery>;

	/// Most authorities elected at a session (at least 1, at most `MaxAuthorities`).
	#[pallet::storage]
	pub type MaxAuthorityCount<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// The authority set of the current session, as this pallet elected it.
	#[pallet::storage]
	pub type Authorities<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxAuthorities>, ValueQuery>;

	/// The authority set elected for the next session.
	#[pallet::storage]
	pub type QueuedAuthorities<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxAuthorities>, ValueQuery>;

	#[pallet::genesis_config]
	pub struct GenesisConfig<T: Config> {
		/// Initial [`MinValidatorBond`].
		pub min_validator_bond: BalanceOf<T>,
		/// Initial [`MinProviderBond`].
		pub min_provider_bond: BalanceOf<T>,
		/// Initial [`MaxAuthorityCount`]; 0 means `MaxAuthorities`.
		pub max_authorities: u32,
		/// Slash fraction of [`OffenceKind::InvalidWork`].
		pub slash_invalid_work: Perbill,
		/// Slash fraction of [`OffenceKind::WrongVerdict`].
		pub slash_wrong_verdict: Perbill,
		/// Slash fraction of [`OffenceKind::Censorship`].
		pub slash_censorship: Perbill,
		/// Slash fraction of [`OffenceKind::MissedDeadline`].
		pub slash_missed_deadline: Perbill,
		/// Slash fraction of [`OffenceKind::UnfoundedChallenge`].
		pub slash_unfounded_challenge: Perbill,
		/// Slash fraction of [`OffenceKind::MissedVote`] (a committee member that did not vote;
		/// meant to be light).
		pub slash_missed_vote: Perbill,
		/// Initial validators: (account, bond, artifact endpoint URL). Each bond is put on hold
		/// and each validator registered (not chilled); with session keys from pallet-session's
		/// genesis they form the first authority set.
		pub validators: Vec<(T::AccountId, BalanceOf<T>, Vec<u8>)>,
	}

	impl<T: Config> Default for GenesisConfig<T> {
		fn default() -> Self {
			Self {
				min_validator_bond: Default::default(),
				min_provider_bond: Default::default(),
				max_authorities: 0,
				slash_invalid_work: Perbill::from_percent(10),
				slash_wrong_verdict: Perbill::from_percent(10),
				slash_censorship: Perbill::from_percent(5),
				slash_missed_deadline: Perbill::from_percent(1),
				slash_unfounded_challenge: Perbill::from_percent(1),
				slash_missed_vote: Perbill::from_parts(1_000_000),
				validators: Vec::new(),
			}
		}
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			Pallet::<T>::build_genesis(self);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `amount` was added to the active bond of `who` and put on hold.
		Bonded { who: T::AccountId, amount: BalanceOf<T> },
		/// `amount` of the active bond of `who` started unbonding; it stays held and slashable
		/// until block `unlock_at`.
		Unbonded { who: T::AccountId, amount: BalanceOf<T>, unlock_at: BlockNumberFor<T> },
		/// `amount` of unbonding funds of `who` went back to its active bond.
		Rebonded { who: T::AccountId, amount: BalanceOf<T> },
		/// Unlocked chunks of `who` totalling `amount` were released to its free balance.
		Withdrawn { who: T::AccountId, amount: BalanceOf<T> },
		/// `validator` registered with its artifact `endpoint`.
		ValidatorRegistered { validator: T::AccountId, endpoint: Vec<u8> },
		/// A registered `validator` set a new artifact `endpoint` and (if chilled) resumed.
		ValidatorUpdated { validator: T::AccountId, endpoint: Vec<u8> },
		/// `validator` stopped validating: it is not elected and not an active validator.
		Chilled { validator: T::AccountId },
		/// `validator` gave up its registration; its bond is untouched.
		ValidatorUnregistered { validator: T::AccountId },
		/// The registration of `validator`, bonded below the minimum and in no authority set,
		/// was given to `by` because the validator list was full; its bond is untouched and its
		/// providers were kicked.
		ValidatorEvicted { validator: T::AccountId, by: T::AccountId },
		/// `provider` joined the cluster of `validator`.
		ProviderJoined {
			provider: T::AccountId,
			validator: T::AccountId,
			hardware_class: HardwareClass,
			capacity: WorkUnits,
		},
		/// `provider` left the cluster of `validator`; its bond is untouched.
		ProviderLeft { provider: T::AccountId, validator: T::AccountId },
		/// `validator` removed `provider` from its cluster; the provider's bond is untouched.
		ProviderKicked { provider: T::AccountId, validator: T::AccountId },
		/// Governance set the minimum validator bond.
		MinValidatorBondSet { amount: BalanceOf<T> },
		/// Governance set the minimum provider bond.
		MinProviderBondSet { amount: BalanceOf<T> },
		/// Governance set the slash fraction of an offence kind.
		SlashFractionSet { kind: OffenceKind, fraction: Perbill },
		/// Governance set the most authorities elected per session.
		MaxAuthorityCountSet { count: u32 },
		/// `offender` was slashed `amount` for an offence of `kind` (evidence hash `evidence`);
		/// `reporter_reward` of it went to `reporter`, the rest to the slash handler. In a
		/// compensating report (no reporter) the `Compensated` events that follow say what of
		/// the rest went to the claimants before the handler got the remainder.
		Slashed {
			offender: T::AccountId,
			kind: OffenceKind,
			amount: BalanceOf<T>,
			reporter: Option<T::AccountId>,
			reporter_reward: BalanceOf<T>,
			evidence: ContentHash,
		},
		/// `beneficiary` received `amount` out of the slash of `offender` just reported
		/// (`Slashed` before this), as compensation for what the offence cost it. One event per
		/// claim paid; a claim that got nothing has none.
		Compensated { offender: T::AccountId, beneficiary: T::AccountId, amount: BalanceOf<T> },
		/// The authority set for session `session` was elected.
		AuthoritiesElected { session: u32, authorities: Vec<T::AccountId> },
		/// No validator qualified for session `session`; the current set stays.
		NoAuthoritiesQualified { session: u32 },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The amount is zero.
		ZeroAmount,
		/// The account already has a bond; use `bond_extra`.
		AlreadyBonded,
		/// The account has no bond.
		NotBonded,
		/// The amount is above the active bond.
		InsufficientBond,
		/// The ledger already has `MaxUnbondingChunks` unbonding chunks; withdraw or rebond
		/// first.
		TooManyUnbondingChunks,
		/// No unbonding chunk is unlocked yet.
		NothingToWithdraw,
		/// The amount is above the funds unbonding.
		RebondAboveUnbonding,
		/// A provider in a cluster cannot unbond below `MinProviderBond`; leave the cluster
		/// first.
		ProviderBondBelowMinimum,
		/// The active bond is below the minimum for this role.
		BondBelowMinimum,
		/// The endpoint is longer than `MaxEndpointLen`.
		EndpointTooLong,
		/// The endpoint is not an `http://` or `https://` URL with a host, optional port and
		/// path, without whitespace or control characters.
		InvalidEndpoint,
		/// `MaxValidators` validators are already registered and none of them is idle (bonded
		/// below the minimum and in no authority set).
		TooManyValidators,
		/// The account is a provider; a provider cannot be a validator.
		IsProvider,
		/// The account is a registered validator; a validator cannot join a cluster.
		IsValidator,
		/// The account is not a registered validator.
		NotValidator,
		/// The validator is already chilled.
		AlreadyChilled,
		/// The validator is in the current or the next authority set; chill and wait for the
		/// sessions to rotate.
		StillAuthority,
		/// The validator's cluster still has providers; kick them first.
		ClusterNotEmpty,
		/// The validator is not active (unregistered, chilled or bonded below the minimum).
		ValidatorNotActive,
		/// The account is already in a cluster.
		AlreadyInCluster,
		/// The cluster already has `MaxClusterSize` providers.
		ClusterFull,
		/// The measured capacity is zero.
		ZeroCapacity,
		/// The account is in no cluster.
		NotInCluster,
		/// The provider is in another validator's cluster.
		NotClusterValidator,
		/// The provider still has open work.
		HasOpenWork,
		/// The number of authorities must be between 1 and `MaxAuthorities`.
		AuthorityCountOutOfRange,
		/// An amount overflowed.
		Overflow,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			Self::check_config();
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_now: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Opens the caller's bond ledger with `amount`, put on hold. Emits `Bonded`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::bond())]
		pub fn bond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond(&who, amount)
		}

		/// Adds `amount` to the caller's active bond, put on hold. Emits `Bonded`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond_extra(&who, amount)
		}

		/// Starts unbonding `amount` of the caller's active bond. The funds stay held and
		/// slashable for `UnbondingPeriod` blocks, then `withdraw_unbonded` releases them. A
		/// validator may unbond below the minimum (it then leaves the authority set at the next
		/// session); a provider in a cluster may not. Emits `Unbonded`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unbond(&who, amount)
		}

		/// Releases the caller's unbonding chunks that are unlocked. The ledger is removed once
		/// empty, unless the caller still is a validator or provider. Emits `Withdrawn`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_unbonded(&who)
		}

		/// Moves `amount` of the caller's unbonding funds back to its active bond, newest chunks
		/// first. Emits `Rebonded`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::rebond())]
		pub fn rebond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_rebond(&who, amount)
		}

		/// Registers the caller as a validator serving artifacts at `endpoint` (an `http://` or
		/// `https://` URL: host, optional port and path, at most `MaxEndpointLen` bytes). Needs
		/// an active bond of at least `MinValidatorBond`. Called again, it replaces the endpoint
		/// and resumes a chilled validator. Set session keys with `session.setKeys` to be
		/// elected. If `MaxValidators` are registered, the first one bonded below the minimum
		/// and in no authority set is evicted (`ValidatorEvicted`, its providers kicked).
		/// Emits `ValidatorRegistered` or `ValidatorUpdated`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::register_validator())]
		pub fn register_validator(origin: OriginFor<T>, endpoint: Vec<u8>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register_validator(&who, endpoint)
		}

		/// Stops validating: the caller is not elected from the next session on and is not an
		/// active validator for the market. Registration, endpoint, cluster and bond stay;
		/// `register_validator` resumes. Emits `Chilled`.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::chill())]
		pub fn chill(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_chill(&who)
		}

		/// Gives up the caller's validator registration. Refused while the caller is in the
		/// current or next authority set (chill and wait two sessions) or its cluster has
		/// providers. The bond is untouched. Emits `ValidatorUnregistered`.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::unregister_validator())]
		pub fn unregister_validator(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unregister_validator(&who)
		}

		/// Joins the cluster of the active validator `validator` as a provider of
		/// `hardware_class` with `measured_capacity` (work units per hour, as its trainer
		/// measured). Needs an active bond of at least `MinProviderBond`; a provider is in one
		/// cluster at most. Emits `ProviderJoined`.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::join_cluster())]
		pub fn join_cluster(
			origin: OriginFor<T>,
			validator: T::AccountId,
			hardware_class: HardwareClass,
			measured_capacity: WorkUnits,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_join_cluster(&who, validator, hardware_class, measured_capacity)
		}

		/// Leaves the caller's cluster; refused while it has open work. The bond stays bonded
		/// (unbond it to get it back). Emits `ProviderLeft`.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::leave_cluster())]
		pub fn leave_cluster(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_leave_cluster(&who)
		}

		/// Removes `provider` from the caller's cluster, open work or not (its bond stays
		/// bonded and slashable). Emits `ProviderKicked`.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::kick())]
		pub fn kick(origin: OriginFor<T>, provider: T::AccountId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_kick(&who, &provider)
		}

		/// Sets the minimum validator bond (`AdminOrigin`). Validators below it are not elected
		/// from the next session on. Emits `MinValidatorBondSet`.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::set_min_validator_bond())]
		pub fn set_min_validator_bond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			MinValidatorBond::<T>::put(amount);
			Self::deposit_event(Event::MinValidatorBondSet { amount });
			Ok(())
		}

		/// Sets the minimum provider bond (`AdminOrigin`). Applies to joining and unbonding;
		/// current members below it receive no work until they bond more. Emits
		/// `MinProviderBondSet`.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::set_min_provider_bond())]
		pub fn set_min_provider_bond(
			origin: OriginFor<T>,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			MinProviderBond::<T>::put(amount);
			Self::deposit_event(Event::MinProviderBondSet { amount });
			Ok(())
		}

		/// Sets the slash fraction of offence `kind` (`AdminOrigin`). Emits `SlashFractionSet`.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::set_slash_fraction())]
		pub fn set_slash_fraction(
			origin: OriginFor<T>,
			kind: OffenceKind,
			fraction: Perbill,
		) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			SlashFractions::<T>::insert(kind, fraction);
			Self::deposit_event(Event::SlashFractionSet { kind, fraction });
			Ok(())
		}

		/// Sets the most authorities elected per session, 1 to `MaxAuthorities`
		/// (`AdminOrigin`). Applies from the next session. Emits `MaxAuthorityCountSet`.
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::set_max_authorities())]
		pub fn set_max_authorities(origin: OriginFor<T>, count: u32) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			ensure!(
				(1..=T::MaxAuthorities::get()).contains(&count),
				Error::<T>::AuthorityCountOutOfRange
			);
			MaxAuthorityCount::<T>::put(count);
			Self::deposit_event(Event::MaxAuthorityCountSet { count });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Panics if the configuration cannot work (called by `integrity_test`).
		fn check_config() {
			use polkadot_sdk::sp_runtime::traits::Zero;
			assert!(T::MaxAuthorities::get() > 0, "MaxAuthorities must be positive");
			assert!(T::MaxValidators::get() > 0, "MaxValidators must be positive");
			assert!(T::MaxUnbondingChunks::get() > 0, "MaxUnbondingChunks must be positive");
			assert!(T::MaxClusterSize::get() > 0, "MaxClusterSize must be positive");
			assert!(T::MaxEndpointLen::get() >= 10, "MaxEndpointLen must fit a short URL");
			assert!(!T::BondPerWorkUnit::get().is_zero(), "BondPerWorkUnit must be positive");
		}

		/// Builds the genesis state; panics on an invalid genesis config.
		fn build_genesis(config: &GenesisConfig<T>) {
			MinValidatorBond::<T>::put(config.min_validator_bond);
			MinProviderBond::<T>::put(config.min_provider_bond);
			let max = T::MaxAuthorities::get();
			let count = if config.max_authorities == 0 { max } else { config.max_authorities };
			assert!(count <= max, "genesis max_authorities is above MaxAuthorities");
			MaxAuthorityCount::<T>::put(count);
			for (kind, fraction) in [
				(OffenceKind::InvalidWork, config.slash_invalid_work),
				(OffenceKind::WrongVerdict, config.slash_wrong_verdict),
				(OffenceKind::Censorship, config.slash_censorship),
				(OffenceKind::MissedDeadline, config.slash_missed_deadline),
				(OffenceKind::UnfoundedChallenge, config.slash_unfounded_challenge),
				(OffenceKind::MissedVote, config.slash_missed_vote),
			] {
				SlashFractions::<T>::insert(kind, fraction);
			}
			for (who, bond, endpoint) in config.validators.iter() {
				if let Err(e) = Self::do_bond(who, *bond) {
					panic!("genesis validator cannot bond: {e:?}");
				}
				if let Err(e) = Self::do_register_validator(who, endpoint.clone()) {
					panic!("genesis validator cannot register: {e:?}");
				}
			}
			// Built after pallet-session's genesis, whose set came from its own `keys`: track
			// the validators that would be elected with those keys as the genesis set. (Built
			// before it, nobody has keys yet and `new_session_genesis` sets both.)
			let elected = Self::elect();
			if !elected.is_empty() {
				Authorities::<T>::put(&elected);
				QueuedAuthorities::<T>::put(&elected);
			}
		}
	}
}
