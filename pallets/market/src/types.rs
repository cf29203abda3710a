//! Records the market keeps in storage.

use crate::Config;
use core::cmp::Reverse;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*, traits::fungible, CloneNoBound, DebugNoBound, EqNoBound,
		PartialEqNoBound,
	},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_runtime::traits::{CheckedDiv, Saturating, Zero},
};
use pot_primitives::{
	AskId, Assignment, Funding, HardwareClass, OrderConditions, OrderConditionsInput, OrderId,
	OrderState, RegionTag, TaskSpec, WorkUnits,
};

/// Balance of the currency the market escrows.
pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
>>::Balance;

/// Regions of an order or an ask as stored.
pub type RegionsOf<T> = BoundedVec<RegionTag, <T as Config>::MaxRegions>;

/// Hardware classes of an ask as stored.
pub type ClassesOf<T> = BoundedVec<HardwareClass, <T as Config>::MaxHardwareClasses>;

/// Order conditions as stored.
pub type ConditionsOf<T> = OrderConditions<BalanceOf<T>, BlockNumberFor<T>, RegionsOf<T>>;

/// Order conditions as a caller passes them in.
pub type ConditionsInputOf<T> = OrderConditionsInput<BalanceOf<T>, BlockNumberFor<T>>;

/// Terms of a matched order.
pub type AssignmentOf<T> = Assignment<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
>;

/// State of a live order.
pub type OrderStateOf<T> = OrderState<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
>;

/// A live training order: open or matched. Final orders are removed.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct Order<T: Config> {
	/// Who pays; the budget is on hold on this account. A public run's is the market's own
	/// account ([`crate::Pallet::public_run_account`]), which holds nothing.
	pub consumer: T::AccountId,
	/// Escrowed by the consumer, or minted (a public run).
	pub funding: Funding,
	/// What is trained.
	pub task: TaskSpec,
	/// Matching conditions.
	pub conditions: ConditionsOf<T>,
	/// The whole budget put on hold at creation; a public run's cap on what it mints.
	pub budget: BalanceOf<T>,
	/// Paid out to providers so far (left the hold, or minted).
	pub spent: BalanceOf<T>,
	/// The most work units the task can consume (`rounds × local_steps × max_providers`).
	pub max_work_units: WorkUnits,
	/// Block of creation.
	pub created_at: BlockNumberFor<T>,
	/// Free-form description given by the consumer.
	pub metadata: BoundedVec<u8, T::MaxMetadataLen>,
	/// Open or matched.
	pub state: OrderStateOf<T>,
}

impl<T: Config> Order<T> {
	/// Budget still on hold for this order (it includes the validator's accrued fee).
	pub fn unspent(&self) -> BalanceOf<T> {
		self.budget.saturating_sub(self.spent)
	}

	/// Whether the order still waits for an ask.
	pub fn is_open(&self) -> bool {
		matches!(self.state, OrderState::Open)
	}

	/// The terms of the match, if matched.
	pub fn assignment(&self) -> Option<&AssignmentOf<T>> {
		match &self.state {
			OrderState::Matched(a) => Some(a),
			OrderState::Open => None,
		}
	}

	/// The price per work unit the order runs at if matched to an ask priced `ask_price` (at
	/// most the order's maximum): the ask's price for a consumer's order, the run's reward per
	/// unit (its maximum) for a public run.
	pub fn price_with(&self, ask_price: BalanceOf<T>) -> BalanceOf<T> {
		match self.funding {
			Funding::Escrow => ask_price,
			Funding::Emission => self.conditions.max_price_per_unit,
		}
	}

	/// Work units to reserve when matched at `price`: what the budget buys at that price, at
	/// most the task's maximum. `None` if that is nothing (or the price is zero).
	pub fn units_at(&self, price: BalanceOf<T>) -> Option<WorkUnits> {
		if price.is_zero() {
			return None;
		}
		let affordable = self.budget.checked_div(&price)?;
		let affordable: u64 = affordable.try_into().unwrap_or(u64::MAX);
		let units = WorkUnits(affordable).min(self.max_work_units);
		(!units.is_zero()).then_some(units)
	}
}

/// A validator's standing ask. One per validator.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct Ask<T: Config> {
	/// Id given at placement; a smaller id is an older ask. Kept across updates.
	pub id: AskId,
	/// Price per work unit.
	pub price_per_unit: BalanceOf<T>,
	/// Work units on sale in total (booked included).
	pub capacity: WorkUnits,
	/// Work units reserved by matched orders.
	pub booked: WorkUnits,
	/// The validator's bond when the ask was placed or last updated; ranks equal prices.
	pub bond: BalanceOf<T>,
	/// Hardware classes of the cluster, sorted, without duplicates, at least one.
	pub hardware_classes: ClassesOf<T>,
	/// Regions of the cluster, sorted, without duplicates; empty: not declared.
	pub regions: RegionsOf<T>,
	/// Block of placement.
	pub placed_at: BlockNumberFor<T>,
}

impl<T: Config> Ask<T> {
	/// Work units still free, counting the capacity the bond allows today.
	pub fn free_capacity(&self, allowed: WorkUnits) -> WorkUnits {
		self.capacity.min(allowed).saturating_sub(self.booked)
	}
}

/// An entry of a hardware class's ask book. Books are sorted by [`BookEntry::ranks_before`].
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct BookEntry<T: Config> {
	/// Price per work unit of the ask.
	pub price_per_unit: BalanceOf<T>,
	/// Bond snapshot of the ask.
	pub bond: BalanceOf<T>,
	/// Id of the ask (its age).
	pub ask: AskId,
	/// The validator whose ask this is.
	pub validator: T::AccountId,
}

impl<T: Config> BookEntry<T> {
	/// Whether `self` is offered before `other`: lower price, then larger bond, then older ask.
	/// Ask ids are unique, so this is a strict total order.
	pub fn ranks_before(&self, other: &Self) -> bool {
		(self.price_per_unit, Reverse(self.bond), self.ask)
			< (other.price_per_unit, Reverse(other.bond), other.ask)
	}
}

/// An entry of a hardware class's queue of open orders. Queues are sorted by
/// [`WaitingEntry::ranks_before`].
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct WaitingEntry<T: Config> {
	/// The order's maximum price per work unit.
	pub max_price_per_unit: BalanceOf<T>,
	/// The order.
	pub order: OrderId,
}

impl<T: Config> WaitingEntry<T> {
	/// Whether `self` is served before `other`: higher maximum price, then older order.
	pub fn ranks_before(&self, other: &Self) -> bool {
		(Reverse(self.max_price_per_unit), self.order)
			< (Reverse(other.max_price_per_unit), other.order)
	}
}

/// Work done by one matching pass, for weight refunds.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct MatchStats {
	/// Waiting orders examined.
	pub attempts: u32,
	/// Most book entries examined for one order.
	pub max_examined: u32,
	/// Orders matched.
	pub matched: u32,
}
