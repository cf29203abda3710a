//! # PoT training market
//!
//! Steps 1–2 and 7 of the PoT protocol: consumers post training orders whose whole budget is
//! put on hold on their own account, validators post standing asks, the chain matches each
//! order to the best ask that satisfies all its conditions, and the verifying pallet settles
//! through [`pot_primitives::OrderSettlement`], which this pallet implements.
//!
//! ## Calls
//! - [`create_order`](Pallet::create_order): hold the budget, match at once or wait.
//! - [`cancel_order`](Pallet::cancel_order): the consumer withdraws an open order; full refund.
//! - [`place_ask`](Pallet::place_ask), [`update_ask`](Pallet::update_ask),
//!   [`withdraw_ask`](Pallet::withdraw_ask): an active validator's standing offer. Placing or
//!   updating an ask matches waiting orders.
//!
//! ## Matching
//! Each hardware class has a book of asks sorted by (price ascending, bond descending, ask id
//! ascending). An order walks the book of its class from the front, stops at the first price
//! above its maximum, and takes the first ask that also satisfies its regions, has room for the
//! order's work units and belongs to an active validator. The consumer pays the ask's price.
//! Waiting orders are queued per class by (maximum price descending, order id ascending); when
//! an ask appears, is updated or gets capacity back, at most
//! [`Config::MaxMatchAttemptsPerAsk`] of them are tried.
//!
//! ## Expiry
//! Open orders are indexed by deadline block. `on_initialize` of that block releases them; a
//! block holds at most [`Config::MaxOrdersPerDeadline`] of them, so the hook's work is bounded.
//!
//! ## Escrow
//! Budgets are held under [`HoldReason::OrderEscrow`]. The sum of a consumer's unspent budgets
//! equals its balance held under that reason; `try_state` checks it after every test.
//!
//! ## Public runs
//! A public run ([`pot_primitives::Funding::Emission`]) belongs to the market's keyless account
//! ([`Pallet::public_run_account`]) and holds nothing. It is matched to the best ask priced at
//! most its reward per unit and runs at that reward. Each payment mints the provider's share of
//! `units × reward × weight` (the weight is the update's loss improvement relative to the
//! round's best, given by the verifying pallet); the validator's fee share of it is minted when
//! the run completes and never when it fails. Work units are reserved at the reward, so what a
//! run mints never exceeds its cap.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use polkadot_sdk::{frame_support, frame_system};

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod book;
mod dispatchable_impls;
mod escrow;
mod hooks;
#[cfg(any(feature = "try-runtime", test))]
mod invariants;
#[cfg(test)]
mod mock;
mod settlement;
#[cfg(test)]
mod tests;
mod types;
mod views;
pub mod weights;

// The pallet macros expand to `expect` calls (on values they have just built) that the
// workspace lints would reject; hand-written code in this module uses none.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{pallet_prelude::*, traits::fungible, PalletId};
	use frame_system::pallet_prelude::*;
	use polkadot_sdk::sp_runtime::{traits::AccountIdConversion, Perbill};
	use pot_primitives::{
		AskId, Funding, HardwareClass, OrderId, RegionTag, TaskSpec, ValidatorInspect, WorkUnits,
	};

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency. Budgets are held on the consumer's own account under
		/// [`HoldReason::OrderEscrow`].
		type Currency: fungible::Inspect<Self::AccountId>
			+ fungible::Mutate<Self::AccountId>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// Who the active validators are, their bonds and the capacity their bonds allow.
		type Validators: ValidatorInspect<Self::AccountId, BalanceOf<Self>>;

		/// Who may open a public run (governance).
		type PublicRunOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The book of the supply: every amount a public run mints is reported to it.
		type Emission: pot_primitives::EmissionLedger<BalanceOf<Self>>;

		/// The market's id: its keyless account owns the public runs.
		#[pallet::constant]
		type PalletId: Get<PalletId>;

		/// Share of every payment for work that goes to the order's validator (paid when the
		/// order completes, forfeited to the consumer when it fails).
		#[pallet::constant]
		type ValidatorFeeShare: Get<Perbill>;

		/// Most asks in the book of one hardware class (at least the number of validators).
		#[pallet::constant]
		type MaxAsks: Get<u32>;

		/// Most hardware classes one ask may serve.
		#[pallet::constant]
		type MaxHardwareClasses: Get<u32>;

		/// Most region tags of an order or an ask.
		#[pallet::constant]
		type MaxRegions: Get<u32>;

		/// Most bytes of an order's free-form metadata.
		#[pallet::constant]
		type MaxMetadataLen: Get<u32>;

		/// Most live (open or matched) orders of one consumer.
		#[pallet::constant]
		type MaxOrdersPerAccount: Get<u32>;

		/// Most matched orders one validator runs at once.
		#[pallet::constant]
		type MaxOrdersPerValidator: Get<u32>;

		/// Most open orders waiting in the queue of one hardware class.
		#[pallet::constant]
		type MaxWaitingOrders: Get<u32>;

		/// Most open orders with the same deadline block; also the most orders expired per block.
		#[pallet::constant]
		type MaxOrdersPerDeadline: Get<u32>;

		/// Longest time from an order's creation to its deadline.
		#[pallet::constant]
		type MaxOrderLifetime: Get<BlockNumberFor<Self>>;

		/// Most providers an order may ask for.
		#[pallet::constant]
		type MaxProvidersPerOrder: Get<u32>;

		/// Most waiting orders tried when an ask is placed, updated or gets capacity back.
		#[pallet::constant]
		type MaxMatchAttemptsPerAsk: Get<u32>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why the market holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The unspent budget of the consumer's live orders.
		#[codec(index = 0)]
		OrderEscrow,
	}

	/// Id the next order gets.
	#[pallet::storage]
	pub type NextOrderId<T> = StorageValue<_, OrderId, ValueQuery>;

	/// Id the next ask gets.
	#[pallet::storage]
	pub type NextAskId<T> = StorageValue<_, AskId, ValueQuery>;

	/// Live orders (open or matched). Final orders are removed; their outcome is in the events.
	#[pallet::storage]
	pub type Orders<T: Config> = StorageMap<_, Twox64Concat, OrderId, Order<T>>;

	/// Live orders of each consumer, oldest first.
	#[pallet::storage]
	pub type OrdersOf<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<OrderId, T::MaxOrdersPerAccount>,
		ValueQuery,
	>;

	/// Matched orders each validator runs, oldest first.
	#[pallet::storage]
	pub type AssignedOrders<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<OrderId, T::MaxOrdersPerValidator>,
		ValueQuery,
	>;

	/// The standing ask of each validator.
	#[pallet::storage]
	pub type Asks<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, Ask<T>>;

	/// Ask book of each hardware class: sorted by price ascending, then bond descending, then
	/// ask id ascending. An ask appears in the book of each class it serves.
	#[pallet::storage]
	pub type AskBook<T: Config> = StorageMap<
		_,
		Twox64Concat,
		HardwareClass,
		BoundedVec<BookEntry<T>, T::MaxAsks>,
		ValueQuery,
	>;

	/// Open orders of each hardware class waiting for an ask: sorted by maximum price
	/// descending, then order id ascending.
	#[pallet::storage]
	pub type WaitingOrders<T: Config> = StorageMap<
		_,
		Twox64Concat,
		HardwareClass,
		BoundedVec<WaitingEntry<T>, T::MaxWaitingOrders>,
		ValueQuery,
	>;

	/// Open orders by deadline block; `on_initialize` of that block expires them.
	#[pallet::storage]
	pub type OrdersByDeadline<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<OrderId, T::MaxOrdersPerDeadline>,
		ValueQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An order was created and its budget put on hold.
		OrderCreated {
			order: OrderId,
			consumer: T::AccountId,
			budget: BalanceOf<T>,
			max_price_per_unit: BalanceOf<T>,
			hardware_class: HardwareClass,
			deadline: BlockNumberFor<T>,
		},
		/// An order was matched to a validator's ask; `work_units` were reserved on the ask.
		OrderMatched {
			order: OrderId,
			validator: T::AccountId,
			ask: AskId,
			price_per_unit: BalanceOf<T>,
			work_units: WorkUnits,
		},
		/// An open order was cancelled by its consumer; its budget was released.
		OrderCancelled { order: OrderId, consumer: T::AccountId, refunded: BalanceOf<T> },
		/// An open order reached its deadline unmatched; its budget was released.
		OrderExpired { order: OrderId, consumer: T::AccountId, refunded: BalanceOf<T> },
		/// A provider was paid from an order's budget for verified work; `validator_fee` of the
		/// amount due accrued to the validator and stays on hold until completion.
		ProviderPaid {
			order: OrderId,
			provider: T::AccountId,
			work_units: WorkUnits,
			amount: BalanceOf<T>,
			validator_fee: BalanceOf<T>,
		},
		/// The validator was paid its accrued fee share of a completed order.
		ValidatorFeePaid { order: OrderId, validator: T::AccountId, amount: BalanceOf<T> },
		/// A matched order completed; the unspent rest of its budget was released.
		OrderCompleted { order: OrderId, consumer: T::AccountId, refunded: BalanceOf<T> },
		/// A matched order failed; all of its unspent budget (the validator's accrued fee
		/// included) was released.
		OrderFailed { order: OrderId, consumer: T::AccountId, refunded: BalanceOf<T> },
		/// A validator placed an ask.
		AskPlaced {
			validator: T::AccountId,
			ask: AskId,
			price_per_unit: BalanceOf<T>,
			capacity: WorkUnits,
		},
		/// A validator updated its ask.
		AskUpdated {
			validator: T::AccountId,
			ask: AskId,
			price_per_unit: BalanceOf<T>,
			capacity: WorkUnits,
		},
		/// A validator withdrew its ask.
		AskWithdrawn { validator: T::AccountId, ask: AskId },
		/// Governance opened a public run: order `order` (also announced by `OrderCreated`),
		/// minting at most `reward_per_unit` per verified work unit and at most `cap` in all.
		PublicRunOpened { order: OrderId, reward_per_unit: BalanceOf<T>, cap: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The budget is zero.
		ZeroBudget,
		/// A price per work unit is zero.
		ZeroPrice,
		/// The budget does not pay for the task's most work (rounds × local steps × max
		/// providers work units) at the order's maximum price. A run trains every round, so a
		/// smaller budget would leave providers working unpaid.
		BudgetBelowTask,
		/// The deadline is not after the current block.
		DeadlineInPast,
		/// The deadline is further away than `MaxOrderLifetime`.
		DeadlineTooFar,
		/// The metadata is longer than `MaxMetadataLen`.
		MetadataTooLong,
		/// More region tags than `MaxRegions`.
		TooManyRegions,
		/// More hardware classes than `MaxHardwareClasses`.
		TooManyHardwareClasses,
		/// An ask names no hardware class.
		NoHardwareClass,
		/// A count of the task (samples, batch size, local steps, rounds, checkpoint interval,
		/// verification samples) is zero.
		TaskCountZero,
		/// The task's learning rate is zero.
		LearningRateZero,
		/// The task's checkpoint interval is longer than its local steps per round.
		CheckpointIntervalAboveLocalSteps,
		/// Minimum providers is zero or above maximum providers.
		ProviderRangeInvalid,
		/// Maximum providers is above `MaxProvidersPerOrder`.
		TooManyProviders,
		/// The task's work units overflow.
		WorkUnitsOverflow,
		/// The consumer already has `MaxOrdersPerAccount` live orders.
		TooManyOrders,
		/// The queue of waiting orders of this hardware class is full.
		WaitingQueueFull,
		/// `MaxOrdersPerDeadline` open orders already have this deadline; pick another block.
		DeadlineBlockFull,
		/// Ids are exhausted.
		IdsExhausted,
		/// No live order has this id.
		UnknownOrder,
		/// The caller is not the order's consumer.
		NotOrderConsumer,
		/// The order is already matched; only settlement can close it.
		OrderAlreadyMatched,
		/// The caller is not an active validator.
		NotActiveValidator,
		/// The caller already has an ask; update it instead.
		AskAlreadyPlaced,
		/// The caller has no ask.
		NoAsk,
		/// The capacity is zero.
		ZeroCapacity,
		/// The capacity is above what the validator's bond allows.
		CapacityAboveBond,
		/// The capacity is below the work units already booked on the ask.
		CapacityBelowBooked,
		/// The ask book of a hardware class is full.
		AskBookFull,
		/// Orders still hold capacity on the ask; lower its capacity to stop new matches and
		/// withdraw once they are settled.
		AskStillBooked,
		/// The validator already runs `MaxOrdersPerValidator` orders.
		ValidatorOrdersFull,
		/// An amount overflowed.
		Overflow,
		/// The task's aggregation rule has a parameter out of range (a trimmed or Byzantine
		/// share of 50% or more, or clipping iterations outside 1–16).
		AggregationOutOfRange,
		/// The task's compressed update keeps no coordinate (`UpdateEncoding::TopK` with a
		/// `kept` share of 0).
		NothingKept,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Expires the open orders whose deadline is this block.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::expire_due(now)
		}

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
		/// Creates a training order and puts `budget` on hold on the caller's account.
		///
		/// `task` says what to train, `conditions` which asks may take it (maximum price per
		/// work unit, deadline, provider range, hardware class, allowed regions), `metadata` is
		/// a free-form description of at most `MaxMetadataLen` bytes. The order is matched at
		/// once to the best ask that satisfies its conditions, or waits for one until its
		/// deadline. Emits `OrderCreated`, then `OrderMatched` if matched.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_order(T::MaxAsks::get()))]
		pub fn create_order(
			origin: OriginFor<T>,
			task: TaskSpec,
			conditions: ConditionsInputOf<T>,
			#[pallet::compact] budget: BalanceOf<T>,
			metadata: Vec<u8>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let (_, examined) =
				Self::do_create_order(who, Funding::Escrow, task, conditions, budget, metadata)?;
			Ok(Some(T::WeightInfo::create_order(examined)).into())
		}

		/// Cancels an open order of the caller and releases its whole budget. A matched order
		/// cannot be cancelled. Emits `OrderCancelled`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_order())]
		pub fn cancel_order(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_order(who, order)
		}

		/// Places the caller's standing ask: `price_per_unit` per work unit, `capacity` work
		/// units on sale at once (at most what the caller's bond allows), the hardware classes
		/// and regions of its cluster. Only active validators may ask. Waiting orders the ask
		/// can serve are matched. Emits `AskPlaced` and `OrderMatched` for each match.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::place_ask(
			Pallet::<T>::classes_weight_arg(hardware_classes.len()),
			T::MaxAsks::get(),
			T::MaxMatchAttemptsPerAsk::get(),
		))]
		pub fn place_ask(
			origin: OriginFor<T>,
			#[pallet::compact] price_per_unit: BalanceOf<T>,
			capacity: WorkUnits,
			hardware_classes: Vec<HardwareClass>,
			regions: Vec<RegionTag>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let classes = Self::classes_weight_arg(hardware_classes.len());
			let stats =
				Self::do_place_ask(who, price_per_unit, capacity, hardware_classes, regions)?;
			Ok(Some(T::WeightInfo::place_ask(classes, stats.max_examined, stats.attempts)).into())
		}

		/// Replaces the terms of the caller's ask. The ask keeps its id (its age); its bond
		/// snapshot is refreshed. The capacity may not drop below the work units already booked.
		/// Waiting orders the ask can serve are matched. Emits `AskUpdated` and `OrderMatched`
		/// for each match.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::update_ask(
			Pallet::<T>::classes_weight_arg(hardware_classes.len()),
			T::MaxAsks::get(),
			T::MaxMatchAttemptsPerAsk::get(),
		))]
		pub fn update_ask(
			origin: OriginFor<T>,
			#[pallet::compact] price_per_unit: BalanceOf<T>,
			capacity: WorkUnits,
			hardware_classes: Vec<HardwareClass>,
			regions: Vec<RegionTag>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let classes = Self::classes_weight_arg(hardware_classes.len());
			let stats =
				Self::do_update_ask(who, price_per_unit, capacity, hardware_classes, regions)?;
			Ok(Some(T::WeightInfo::update_ask(classes, stats.max_examined, stats.attempts)).into())
		}

		/// Withdraws the caller's ask. Refused while matched orders still hold capacity on it.
		/// Emits `AskWithdrawn`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw_ask(T::MaxHardwareClasses::get()))]
		pub fn withdraw_ask(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw_ask(who)
		}

		/// Opens a public run (governance only): an order of the market's own account, funded
		/// by emission. `conditions.max_price_per_unit` is the reward per verified work unit;
		/// `cap` the most the run mints, providers' rewards and validator's fee together. The
		/// run is matched like an order (to the best ask priced at most the reward) and runs
		/// at the reward; each verified update is rewarded in proportion to its measured loss
		/// improvement (see [`pot_primitives::Funding::Emission`]). An unmatched run expires at
		/// its deadline. Emits `OrderCreated`, `PublicRunOpened`, then `OrderMatched` if
		/// matched.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::open_public_run(T::MaxAsks::get()))]
		pub fn open_public_run(
			origin: OriginFor<T>,
			task: TaskSpec,
			conditions: ConditionsInputOf<T>,
			#[pallet::compact] cap: BalanceOf<T>,
			metadata: Vec<u8>,
		) -> DispatchResultWithPostInfo {
			T::PublicRunOrigin::ensure_origin(origin)?;
			let reward_per_unit = conditions.max_price_per_unit;
			let (order, examined) = Self::do_create_order(
				Self::public_run_account(),
				Funding::Emission,
				task,
				conditions,
				cap,
				metadata,
			)?;
			Self::deposit_event(Event::PublicRunOpened { order, reward_per_unit, cap });
			Ok(Some(T::WeightInfo::open_public_run(examined)).into())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The market's keyless account, the consumer of every public run. It never holds
		/// escrow.
		pub fn public_run_account() -> T::AccountId {
			T::PalletId::get().into_account_truncating()
		}

		/// The weight argument for a list of `len` hardware classes: longer lists are refused
		/// before any work, so the bound is the worst case.
		pub(crate) fn classes_weight_arg(len: usize) -> u32 {
			u32::try_from(len).unwrap_or(u32::MAX).min(T::MaxHardwareClasses::get())
		}

		/// Panics if the configuration cannot work (called by `integrity_test`).
		fn check_config() {
			assert!(T::MaxAsks::get() > 0, "MaxAsks must be positive");
			assert!(T::MaxHardwareClasses::get() > 0, "MaxHardwareClasses must be positive");
			assert!(T::MaxOrdersPerAccount::get() > 0, "MaxOrdersPerAccount must be positive");
			assert!(T::MaxOrdersPerValidator::get() > 0, "MaxOrdersPerValidator must be positive");
			assert!(T::MaxWaitingOrders::get() > 0, "MaxWaitingOrders must be positive");
			assert!(T::MaxOrdersPerDeadline::get() > 0, "MaxOrdersPerDeadline must be positive");
			assert!(T::MaxProvidersPerOrder::get() > 0, "MaxProvidersPerOrder must be positive");
			assert!(!T::MaxOrderLifetime::get().is_zero(), "MaxOrderLifetime must be positive");
			assert!(
				T::MaxMatchAttemptsPerAsk::get() <= T::MaxWaitingOrders::get(),
				"MaxMatchAttemptsPerAsk above MaxWaitingOrders tries orders that cannot exist"
			);
		}
	}
}
