//! The traits through which PoT pallets meet. A pallet never names another pallet's `Config`;
//! the runtime plugs the implementing pallet into the consuming pallet's `Config`.

use crate::{MatchedOrder, OrderId, WorkUnits};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{DispatchError, Perbill, Weight};
use scale_info::TypeInfo;

/// What the market needs to know about validators. Implemented by validator staking; the
/// market's mock implements it in memory.
pub trait ValidatorInspect<AccountId, Balance> {
	/// Whether `who` is an active validator, allowed to post asks and to be matched.
	fn is_active_validator(who: &AccountId) -> bool;

	/// The bond of `who` (zero for a non-validator). Asks of equal price rank by it.
	fn bond_of(who: &AccountId) -> Balance;

	/// The most work units `who` may have on sale at once, as its bond allows.
	fn capacity_allowed(who: &AccountId) -> WorkUnits;

	/// Makes `who` an active validator with `bond` and `capacity`, for benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	fn set_active_validator(who: &AccountId, bond: Balance, capacity: WorkUnits);
}

/// No validators at all: nobody may post an ask.
impl<AccountId, Balance: Default> ValidatorInspect<AccountId, Balance> for () {
	fn is_active_validator(_: &AccountId) -> bool {
		false
	}
	fn bond_of(_: &AccountId) -> Balance {
		Balance::default()
	}
	fn capacity_allowed(_: &AccountId) -> WorkUnits {
		WorkUnits::ZERO
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn set_active_validator(_: &AccountId, _: Balance, _: WorkUnits) {}
}

/// Why a settlement step was refused. Nothing changed when one is returned.
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
)]
pub enum SettlementError {
	/// No live order has this id (never created, or already final: cancelled, expired,
	/// completed or failed).
	UnknownOrder,
	/// The order is still open: nothing was matched, so nothing can be paid or settled.
	OrderNotMatched,
	/// A payment for zero work units.
	ZeroWorkUnits,
	/// The payment would take the paid work units above the order's reservation.
	WorkUnitsAboveReservation,
	/// An amount overflowed the balance type.
	Overflow,
	/// The payment would take the order's payouts above its budget. Defensive: the
	/// reservation made at matching already rules it out.
	BudgetExceeded,
	/// The currency refused a transfer or a mint (for example a payee that cannot exist with
	/// the amount), or the storage layer refused to open a transaction.
	TransferRejected,
}

impl From<DispatchError> for SettlementError {
	fn from(_: DispatchError) -> Self {
		SettlementError::TransferRejected
	}
}

impl From<SettlementError> for DispatchError {
	fn from(e: SettlementError) -> Self {
		DispatchError::Other(match e {
			SettlementError::UnknownOrder => "SettlementError::UnknownOrder",
			SettlementError::OrderNotMatched => "SettlementError::OrderNotMatched",
			SettlementError::ZeroWorkUnits => "SettlementError::ZeroWorkUnits",
			SettlementError::WorkUnitsAboveReservation => {
				"SettlementError::WorkUnitsAboveReservation"
			}
			SettlementError::Overflow => "SettlementError::Overflow",
			SettlementError::BudgetExceeded => "SettlementError::BudgetExceeded",
			SettlementError::TransferRejected => "SettlementError::TransferRejected",
		})
	}
}

/// What closing an order moved.
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
)]
pub struct SettlementReceipt<Balance> {
	/// Paid to the validator (its accrued fee share; zero when the order failed).
	pub validator_fee: Balance,
	/// Released to the consumer.
	pub refunded: Balance,
}

/// Settlement of matched orders (PROTOCOL.md, step 7), exposed by the market to the pallet that
/// verifies the work. The market owns the escrow: this is the only way anyone else moves a
/// consumer's held budget. Every transfer emits an event, and no order ever pays out more than
/// its budget. Each call is atomic: on `Err` nothing changed.
pub trait OrderSettlement<AccountId, Balance, BlockNumber> {
	/// The matched order `order`, or `None` if it is unknown, final or still open.
	fn matched_order(order: OrderId) -> Option<MatchedOrder<AccountId, Balance, BlockNumber>>;

	/// Pays `provider` for `units` verified work units at the order's price. The validator's fee
	/// share of the amount stays on hold and accrues to the validator until
	/// [`complete`](Self::complete). Returns what the provider received.
	///
	/// `reward_weight` scales the amount of a public run ([`crate::Funding::Emission`]): the
	/// update's loss-improvement weight (`pot_pol_core::reward`). A consumer's order pays the
	/// full price for verified work and ignores it. The units count as paid either way.
	fn pay_for_work(
		order: OrderId,
		provider: &AccountId,
		units: WorkUnits,
		reward_weight: Perbill,
	) -> Result<Balance, SettlementError>;

	/// Closes a matched order as completed: pays the validator its accrued fee share and releases
	/// the unspent rest to the consumer (a public run mints the fee and releases nothing).
	fn complete(order: OrderId) -> Result<SettlementReceipt<Balance>, SettlementError>;

	/// Closes a matched order as failed (deadline missed, validator slashed): releases all that
	/// is unspent, the validator's accrued fee included, to the consumer.
	fn fail(order: OrderId) -> Result<SettlementReceipt<Balance>, SettlementError>;

	/// Upper bound of the weight of [`pay_for_work`](Self::pay_for_work).
	fn pay_for_work_weight() -> Weight;

	/// Upper bound of the weight of [`complete`](Self::complete).
	fn complete_weight() -> Weight;

	/// Upper bound of the weight of [`fail`](Self::fail).
	fn fail_weight() -> Weight;

	/// The matched orders assigned to `validator`, started or not, oldest first: a read of a
	/// bounded list. For offchain workers (a validator's worker finds its work with it); it
	/// has no weight and no dispatchable should call it. The default knows no orders.
	fn orders_assigned_to(validator: &AccountId) -> Vec<OrderId> {
		let _ = validator;
		Vec::new()
	}
}

/// No market: every order is unknown.
impl<AccountId, Balance, BlockNumber> OrderSettlement<AccountId, Balance, BlockNumber> for () {
	fn matched_order(_: OrderId) -> Option<MatchedOrder<AccountId, Balance, BlockNumber>> {
		None
	}
	fn pay_for_work(
		_: OrderId,
		_: &AccountId,
		_: WorkUnits,
		_: Perbill,
	) -> Result<Balance, SettlementError> {
		Err(SettlementError::UnknownOrder)
	}
	fn complete(_: OrderId) -> Result<SettlementReceipt<Balance>, SettlementError> {
		Err(SettlementError::UnknownOrder)
	}
	fn fail(_: OrderId) -> Result<SettlementReceipt<Balance>, SettlementError> {
		Err(SettlementError::UnknownOrder)
	}
	fn pay_for_work_weight() -> Weight {
		Weight::zero()
	}
	fn complete_weight() -> Weight {
		Weight::zero()
	}
	fn fail_weight() -> Weight {
		Weight::zero()
	}
}

/// The protocol's book of the tokens it creates (PROTOCOL.md, "Public training runs"): whoever
/// mints calls [`EmissionLedger::note_emission`] with what it minted, so the supply can be
/// audited against the total issuance. Implemented by the issuance pallet.
pub trait EmissionLedger<Balance> {
	/// Records that `amount` was just minted.
	fn note_emission(amount: Balance);
}

/// No book: emission is not recorded.
impl<Balance> EmissionLedger<Balance> for () {
	fn note_emission(_: Balance) {}
}
