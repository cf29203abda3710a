//! Settlement of matched orders: the market's implementation of [`OrderSettlement`], the only
//! way another pallet moves a consumer's escrow.

use crate::{escrow, Asks, AssignedOrders, BalanceOf, Config, Event, Orders, Pallet};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{defensive, ensure, storage::with_storage_layer, traits::Get},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_runtime::{
		traits::{CheckedAdd, CheckedMul, CheckedSub, Zero},
		Perbill, Weight,
	},
};
use pot_primitives::{
	Funding, MatchedOrder, OrderId, OrderSettlement, OrderState, SettlementError,
	SettlementReceipt, WorkUnits,
};

use crate::weights::WeightInfo;

impl<T: Config> Pallet<T> {
	fn do_pay_for_work(
		id: OrderId,
		provider: &T::AccountId,
		units: WorkUnits,
		reward_weight: Perbill,
	) -> Result<BalanceOf<T>, SettlementError> {
		ensure!(!units.is_zero(), SettlementError::ZeroWorkUnits);
		let mut order = Orders::<T>::get(id).ok_or(SettlementError::UnknownOrder)?;
		let funding = order.funding;
		let OrderState::Matched(ref mut a) = order.state else {
			return Err(SettlementError::OrderNotMatched);
		};
		let paid = a.units_paid.checked_add(units).ok_or(SettlementError::Overflow)?;
		ensure!(paid <= a.work_units, SettlementError::WorkUnitsAboveReservation);
		let units_balance: BalanceOf<T> =
			units.0.try_into().map_err(|_| SettlementError::Overflow)?;
		let full = a.price_per_unit.checked_mul(&units_balance).ok_or(SettlementError::Overflow)?;
		let amount = match funding {
			Funding::Escrow => full,
			Funding::Emission => reward_weight.mul_floor(full),
		};
		let fee = T::ValidatorFeeShare::get().mul_floor(amount);
		let to_provider = amount.checked_sub(&fee).ok_or(SettlementError::Overflow)?;
		let fee_accrued = a.fee_accrued.checked_add(&fee).ok_or(SettlementError::Overflow)?;
		let spent = order.spent.checked_add(&to_provider).ok_or(SettlementError::Overflow)?;
		let committed = spent.checked_add(&fee_accrued).ok_or(SettlementError::Overflow)?;
		ensure!(committed <= order.budget, SettlementError::BudgetExceeded);

		a.units_paid = paid;
		a.fee_accrued = fee_accrued;
		order.spent = spent;
		escrow::pay_out::<T>(&order, provider, to_provider)
			.map_err(|_| SettlementError::TransferRejected)?;
		Orders::<T>::insert(id, order);
		Self::deposit_event(Event::ProviderPaid {
			order: id,
			provider: provider.clone(),
			work_units: units,
			amount: to_provider,
			validator_fee: fee,
		});
		Ok(to_provider)
	}

	/// Closes a matched order: pays the accrued fee if `completed`, releases the rest, frees the
	/// reserved capacity and matches waiting orders into it.
	fn do_close(
		id: OrderId,
		completed: bool,
	) -> Result<SettlementReceipt<BalanceOf<T>>, SettlementError> {
		let order = Orders::<T>::get(id).ok_or(SettlementError::UnknownOrder)?;
		let a = order.assignment().cloned().ok_or(SettlementError::OrderNotMatched)?;
		let fee = if completed { a.fee_accrued } else { Zero::zero() };
		let refund = order.unspent().checked_sub(&fee).ok_or(SettlementError::BudgetExceeded)?;

		escrow::pay_out::<T>(&order, &a.validator, fee)
			.map_err(|_| SettlementError::TransferRejected)?;
		if !fee.is_zero() {
			Self::deposit_event(Event::ValidatorFeePaid {
				order: id,
				validator: a.validator.clone(),
				amount: fee,
			});
		}
		let refunded = escrow::release_unspent::<T>(&order, refund)
			.map_err(|_| SettlementError::TransferRejected)?;

		Asks::<T>::mutate(&a.validator, |maybe_ask| match maybe_ask {
			Some(ask) => ask.booked = ask.booked.saturating_sub(a.work_units),
			None => {
				defensive!("a matched order without its ask");
			}
		});
		let mut assigned = AssignedOrders::<T>::get(&a.validator);
		assigned.retain(|o| *o != id);
		if assigned.is_empty() {
			AssignedOrders::<T>::remove(&a.validator);
		} else {
			AssignedOrders::<T>::insert(&a.validator, assigned);
		}
		Self::forget_order(id, &order);
		let consumer = order.consumer;
		Self::deposit_event(if completed {
			Event::OrderCompleted { order: id, consumer, refunded }
		} else {
			Event::OrderFailed { order: id, consumer, refunded }
		});
		Self::match_waiting(&a.validator);
		Ok(SettlementReceipt { validator_fee: fee, refunded })
	}

	/// The weight of closing an order, matching of waiting orders included.
	fn close_weight(completed: bool) -> Weight {
		let (c, a, m) =
			(T::MaxHardwareClasses::get(), T::MaxAsks::get(), T::MaxMatchAttemptsPerAsk::get());
		if completed {
			T::WeightInfo::complete_order(c, a, m)
		} else {
			T::WeightInfo::fail_order(c, a, m)
		}
	}
}

impl<T: Config> OrderSettlement<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
	fn matched_order(
		id: OrderId,
	) -> Option<MatchedOrder<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		let order = Orders::<T>::get(id)?;
		let assignment = order.assignment()?.clone();
		Some(MatchedOrder {
			unspent: order.unspent(),
			consumer: order.consumer,
			funding: order.funding,
			task: order.task,
			deadline: order.conditions.deadline,
			min_providers: order.conditions.min_providers,
			max_providers: order.conditions.max_providers,
			hardware_class: order.conditions.hardware_class,
			assignment,
		})
	}

	fn pay_for_work(
		order: OrderId,
		provider: &T::AccountId,
		units: WorkUnits,
		reward_weight: Perbill,
	) -> Result<BalanceOf<T>, SettlementError> {
		with_storage_layer(|| Self::do_pay_for_work(order, provider, units, reward_weight))
	}

	fn complete(order: OrderId) -> Result<SettlementReceipt<BalanceOf<T>>, SettlementError> {
		with_storage_layer(|| Self::do_close(order, true))
	}

	fn fail(order: OrderId) -> Result<SettlementReceipt<BalanceOf<T>>, SettlementError> {
		with_storage_layer(|| Self::do_close(order, false))
	}

	fn pay_for_work_weight() -> Weight {
		T::WeightInfo::pay_for_work().max(T::WeightInfo::pay_for_public_work())
	}

	fn complete_weight() -> Weight {
		Self::close_weight(true)
	}

	fn fail_weight() -> Weight {
		Self::close_weight(false)
	}

	/// `AssignedOrders` of `validator` (at most `MaxOrdersPerValidator`).
	fn orders_assigned_to(validator: &T::AccountId) -> Vec<OrderId> {
		AssignedOrders::<T>::get(validator).into_inner()
	}
}
