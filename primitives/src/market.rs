//! Records of the training market that other pallets, runtime APIs and clients read.

use crate::{AskId, HardwareClass, OrderId, RegionTag, TaskSpec, WorkUnits};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// The conditions an ask must satisfy to be matched to an order.
///
/// `Regions` is `Vec<RegionTag>` where a caller passes conditions in (a call, a runtime API) and
/// a bounded vector where the chain stores them.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct OrderConditions<Balance, BlockNumber, Regions> {
	/// The most the consumer pays per work unit. The consumer pays the ask's price, never more.
	pub max_price_per_unit: Balance,
	/// Last block of the order: unmatched by then, it expires and its budget is released.
	pub deadline: BlockNumber,
	/// Fewest providers the validator may split the work over.
	pub min_providers: u32,
	/// Most providers the validator may split the work over.
	pub max_providers: u32,
	/// The hardware class (compute profile) every provider and verifier must run.
	pub hardware_class: HardwareClass,
	/// Regions the work may be done in. Empty: anywhere. Otherwise the ask must name regions,
	/// all of them in this list.
	pub regions: Regions,
}

/// Conditions as a caller passes them in.
pub type OrderConditionsInput<Balance, BlockNumber> =
	OrderConditions<Balance, BlockNumber, Vec<RegionTag>>;

impl<Balance, BlockNumber, Regions> OrderConditions<Balance, BlockNumber, Regions> {
	/// The same conditions with another region container.
	pub fn with_regions<R>(self, regions: R) -> OrderConditions<Balance, BlockNumber, R> {
		OrderConditions {
			max_price_per_unit: self.max_price_per_unit,
			deadline: self.deadline,
			min_providers: self.min_providers,
			max_providers: self.max_providers,
			hardware_class: self.hardware_class,
			regions,
		}
	}
}

/// Whether an ask serving `ask_regions` may take work restricted to `order_regions`: an order
/// without regions accepts any ask; otherwise the ask must name at least one region and all of
/// its regions must be allowed by the order.
pub fn regions_allowed(order_regions: &[RegionTag], ask_regions: &[RegionTag]) -> bool {
	order_regions.is_empty()
		|| (!ask_regions.is_empty() && ask_regions.iter().all(|r| order_regions.contains(r)))
}

/// Where an order's money comes from.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
)]
pub enum Funding {
	/// A consumer's order: its budget is held on the consumer's account and pays the matched
	/// ask's price for every verified work unit; what is unspent goes back to the consumer.
	#[default]
	#[codec(index = 0)]
	Escrow,
	/// A public run opened by governance: nothing is held; every verified work unit mints the
	/// run's reward per unit, weighted by the update's measured loss improvement, and the
	/// budget is the cap on what the run mints (provider rewards and validator fee together).
	#[codec(index = 1)]
	Emission,
}

/// The terms under which a matched order runs.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Assignment<AccountId, Balance, BlockNumber> {
	/// The validator whose ask was matched; it runs the order with its cluster.
	pub validator: AccountId,
	/// The matched ask.
	pub ask: AskId,
	/// Price per work unit: the ask's price at matching time (a public run's reward per unit).
	pub price_per_unit: Balance,
	/// Work units reserved on the ask for this order: the most that can ever be paid.
	pub work_units: WorkUnits,
	/// Work units paid to providers so far.
	pub units_paid: WorkUnits,
	/// The validator's fee share of the payments so far, still on hold until completion.
	pub fee_accrued: Balance,
	/// Block of the match.
	pub matched_at: BlockNumber,
}

/// Where a live order stands. Final orders (cancelled, expired, completed, failed) are removed
/// from storage; their outcome is in the events.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum OrderState<AccountId, Balance, BlockNumber> {
	/// Waiting for an ask that satisfies its conditions.
	Open,
	/// Matched to an ask; training and settlement follow.
	Matched(Assignment<AccountId, Balance, BlockNumber>),
}

/// A standing ask as the runtime API returns it.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct AskView<AccountId, Balance> {
	/// The validator.
	pub validator: AccountId,
	/// The ask's id (smaller is older).
	pub id: AskId,
	/// Price per work unit.
	pub price_per_unit: Balance,
	/// Total capacity in work units.
	pub capacity: WorkUnits,
	/// Work units reserved by matched orders.
	pub booked: WorkUnits,
	/// The validator's bond when the ask was placed or last updated (used to rank equal prices).
	pub bond: Balance,
	/// Hardware classes of the validator's cluster.
	pub hardware_classes: Vec<HardwareClass>,
	/// Regions of the validator's cluster.
	pub regions: Vec<RegionTag>,
}

/// An order as the runtime API returns it.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct OrderView<AccountId, Balance, BlockNumber> {
	/// The order's id.
	pub id: OrderId,
	/// Who pays (a public run: the market's account, which holds nothing).
	pub consumer: AccountId,
	/// Where the money comes from.
	pub funding: Funding,
	/// What is trained.
	pub task: TaskSpec,
	/// Matching conditions.
	pub conditions: OrderConditionsInput<Balance, BlockNumber>,
	/// The whole budget put on hold at creation (a public run: the cap on what it mints).
	pub budget: Balance,
	/// Budget already paid out to providers.
	pub spent: Balance,
	/// The most work units the task can consume.
	pub max_work_units: WorkUnits,
	/// Block of creation.
	pub created_at: BlockNumber,
	/// Free-form description given by the consumer.
	pub metadata: Vec<u8>,
	/// Open or matched.
	pub state: OrderState<AccountId, Balance, BlockNumber>,
}

/// A matched order as the settling pallet sees it.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct MatchedOrder<AccountId, Balance, BlockNumber> {
	/// Who pays (a public run: the market's account, which holds nothing).
	pub consumer: AccountId,
	/// Where the money comes from.
	pub funding: Funding,
	/// What is trained.
	pub task: TaskSpec,
	/// Last block of the order.
	pub deadline: BlockNumber,
	/// Fewest providers the work may be split over.
	pub min_providers: u32,
	/// Most providers the work may be split over.
	pub max_providers: u32,
	/// Hardware class every provider and verifier must run.
	pub hardware_class: HardwareClass,
	/// Budget not yet paid out (it includes the validator's accrued fee).
	pub unspent: Balance,
	/// The terms of the match.
	pub assignment: Assignment<AccountId, Balance, BlockNumber>,
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
	use super::*;

	const EU: RegionTag = RegionTag(1);
	const US: RegionTag = RegionTag(2);

	#[test]
	fn regions_must_all_be_allowed() {
		assert!(regions_allowed(&[], &[]));
		assert!(regions_allowed(&[], &[EU, US]));
		assert!(!regions_allowed(&[EU], &[]));
		assert!(regions_allowed(&[EU], &[EU]));
		assert!(!regions_allowed(&[EU], &[EU, US]));
		assert!(regions_allowed(&[EU, US], &[US]));
	}
}
