//! Invariants of the market, checked by `try_state` and after every test.
//!
//! This iterates whole maps: it is for `try-runtime` and tests only, never for block execution.

use crate::{
	escrow, AskBook, Asks, AssignedOrders, BalanceOf, Config, NextAskId, NextOrderId, Orders,
	OrdersByDeadline, OrdersOf, Pallet, WaitingOrders,
};
use alloc::collections::{BTreeMap, BTreeSet};
use polkadot_sdk::{
	frame_support::ensure,
	frame_system,
	sp_runtime::{
		traits::{CheckedAdd, CheckedMul, Zero},
		TryRuntimeError,
	},
};
use pot_primitives::{Funding, OrderState, WorkUnits};

/// Whether `items` is strictly increasing (sorted, no duplicates).
fn strictly_sorted<I: Ord>(items: &[I]) -> bool {
	items.windows(2).all(|w| matches!(w, [a, b] if a < b))
}

/// Whether `ids` has no duplicates.
fn unique<I: Ord>(ids: &[I]) -> bool {
	ids.iter().collect::<BTreeSet<_>>().len() == ids.len()
}

impl<T: Config> Pallet<T> {
	/// Checks every invariant of the market:
	/// - the balance each consumer holds under `OrderEscrow` equals the unspent budget of its
	///   live orders (public runs hold nothing), and no order has paid out more than its budget;
	/// - public runs, and only they, belong to the market's account;
	/// - a matched order's payouts plus accrued fee equal its paid work units at its price (a
	///   public run's are at most that), and its reservation costs at most its budget;
	/// - every matched order references an existing ask (same id) of its validator and is in
	///   the validator's list; an ask's booked capacity is the sum of its orders' reservations
	///   and never exceeds its capacity;
	/// - every ask is in the book of each of its classes exactly once, with its terms; books
	///   are strictly sorted by rank and hold nothing else;
	/// - every open order is queued in its class (queues strictly sorted) and indexed by its
	///   deadline, which is in the future; queues and the index hold nothing else;
	/// - ids are below their counters; no stored list is empty or has duplicates. Every
	///   collection is a `BoundedVec`, so its bound holds by construction.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		let now = frame_system::Pallet::<T>::block_number();
		let public_runs = Self::public_run_account();
		let next_order = NextOrderId::<T>::get();
		let mut unspent_of = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut booked_of = BTreeMap::<T::AccountId, WorkUnits>::new();
		let mut open = 0usize;
		let mut matched = 0usize;

		for (id, order) in Orders::<T>::iter() {
			ensure!(id < next_order, "an order id is not below NextOrderId");
			ensure!(order.spent <= order.budget, "an order paid out more than its budget");
			ensure!(
				OrdersOf::<T>::get(&order.consumer).contains(&id),
				"an order is missing from its consumer's list"
			);
			ensure!(
				(order.funding == Funding::Emission) == (order.consumer == public_runs),
				"a public run not owned by the market, or a market-owned order that is not one"
			);
			let unspent = unspent_of.entry(order.consumer.clone()).or_insert_with(Zero::zero);
			if order.funding == Funding::Escrow {
				*unspent =
					unspent.checked_add(&order.unspent()).ok_or("unspent budgets overflow")?;
			}
			match &order.state {
				OrderState::Open => {
					open = open.saturating_add(1);
					let c = &order.conditions;
					ensure!(c.deadline > now, "an open order is past its deadline");
					ensure!(
						WaitingOrders::<T>::get(c.hardware_class)
							.iter()
							.any(|w| w.order == id && w.max_price_per_unit == c.max_price_per_unit),
						"an open order is not queued in its class"
					);
					ensure!(
						OrdersByDeadline::<T>::get(c.deadline).contains(&id),
						"an open order is not indexed by its deadline"
					);
				}
				OrderState::Matched(a) => {
					matched = matched.saturating_add(1);
					ensure!(a.units_paid <= a.work_units, "more work paid than reserved");
					ensure!(a.work_units <= order.max_work_units, "reservation above the task");
					let paid: BalanceOf<T> =
						a.units_paid.0.try_into().map_err(|_| "paid units overflow")?;
					let due = a.price_per_unit.checked_mul(&paid).ok_or("payout overflows")?;
					let paid_out =
						order.spent.checked_add(&a.fee_accrued).ok_or("payouts overflow")?;
					match order.funding {
						Funding::Escrow => ensure!(
							paid_out == due,
							"payouts and accrued fee differ from the paid work"
						),
						// Weighted by loss improvement: at most the full reward.
						Funding::Emission => ensure!(
							paid_out <= due,
							"a public run minted more than its reward for the paid work"
						),
					}
					let reserved: BalanceOf<T> =
						a.work_units.0.try_into().map_err(|_| "reserved units overflow")?;
					let cost = a.price_per_unit.checked_mul(&reserved).ok_or("cost overflows")?;
					ensure!(cost <= order.budget, "a reservation costs more than the budget");
					let ask = Asks::<T>::get(&a.validator)
						.ok_or("a matched order's validator has no ask")?;
					ensure!(ask.id == a.ask, "a matched order references another ask");
					ensure!(
						AssignedOrders::<T>::get(&a.validator).contains(&id),
						"a matched order is missing from its validator's list"
					);
					let booked = booked_of.entry(a.validator.clone()).or_insert(WorkUnits::ZERO);
					*booked = booked.checked_add(a.work_units).ok_or("bookings overflow")?;
				}
			}
		}

		for (who, ids) in OrdersOf::<T>::iter() {
			ensure!(!ids.is_empty() && unique(&ids), "a consumer's list is empty or repeats");
			for id in ids.iter() {
				let order = Orders::<T>::get(id).ok_or("a consumer's list names no order")?;
				ensure!(order.consumer == who, "a consumer's list names another's order");
			}
			let expected = unspent_of.remove(&who).unwrap_or_else(Zero::zero);
			ensure!(
				escrow::held::<T>(&who) == expected,
				"held escrow differs from the unspent budgets"
			);
		}
		ensure!(unspent_of.is_empty(), "orders of a consumer without a list");

		let mut assigned = 0usize;
		for (validator, ids) in AssignedOrders::<T>::iter() {
			ensure!(!ids.is_empty() && unique(&ids), "a validator's list is empty or repeats");
			for id in ids.iter() {
				let order = Orders::<T>::get(id).ok_or("a validator's list names no order")?;
				ensure!(
					order.assignment().is_some_and(|a| a.validator == validator),
					"a validator's list names an order it does not run"
				);
			}
			assigned = assigned.saturating_add(ids.len());
		}
		ensure!(assigned == matched, "matched orders differ from the validators' lists");

		let next_ask = NextAskId::<T>::get();
		let mut listed = 0usize;
		for (validator, ask) in Asks::<T>::iter() {
			ensure!(ask.id < next_ask, "an ask id is not below NextAskId");
			ensure!(!ask.price_per_unit.is_zero(), "an ask has price zero");
			ensure!(ask.booked <= ask.capacity, "an ask is booked above its capacity");
			let booked = booked_of.remove(&validator).unwrap_or(WorkUnits::ZERO);
			ensure!(ask.booked == booked, "an ask's booking differs from its orders");
			ensure!(
				!ask.hardware_classes.is_empty() && strictly_sorted(&ask.hardware_classes),
				"an ask's classes are empty, unsorted or repeat"
			);
			ensure!(strictly_sorted(&ask.regions), "an ask's regions are unsorted or repeat");
			for class in ask.hardware_classes.iter() {
				let book = AskBook::<T>::get(class);
				let mut entries = book.iter().filter(|e| e.validator == validator);
				let entry = entries.next().ok_or("an ask is missing from a book")?;
				ensure!(entries.next().is_none(), "an ask is twice in a book");
				ensure!(
					entry.price_per_unit == ask.price_per_unit
						&& entry.bond == ask.bond
						&& entry.ask == ask.id,
					"a book entry differs from its ask"
				);
			}
			listed = listed.saturating_add(ask.hardware_classes.len());
		}
		ensure!(booked_of.is_empty(), "matched orders of a validator without an ask");

		let mut entries = 0usize;
		for (_class, book) in AskBook::<T>::iter() {
			ensure!(!book.is_empty(), "an empty book is stored");
			ensure!(
				book.windows(2).all(|w| matches!(w, [a, b] if a.ranks_before(b))),
				"a book is out of rank order"
			);
			entries = entries.saturating_add(book.len());
		}
		ensure!(entries == listed, "a book holds entries of no ask");

		let mut waiting = 0usize;
		for (class, queue) in WaitingOrders::<T>::iter() {
			ensure!(!queue.is_empty(), "an empty queue is stored");
			ensure!(
				queue.windows(2).all(|w| matches!(w, [a, b] if a.ranks_before(b))),
				"a queue is out of rank order"
			);
			for entry in queue.iter() {
				let order = Orders::<T>::get(entry.order).ok_or("a queue names no order")?;
				ensure!(
					order.is_open() && order.conditions.hardware_class == class,
					"a queue names a matched order or one of another class"
				);
			}
			waiting = waiting.saturating_add(queue.len());
		}
		ensure!(waiting == open, "queued orders differ from open orders");

		let mut indexed = 0usize;
		for (deadline, ids) in OrdersByDeadline::<T>::iter() {
			ensure!(!ids.is_empty() && unique(&ids), "a deadline entry is empty or repeats");
			ensure!(deadline > now, "a deadline entry is in the past");
			for id in ids.iter() {
				let order = Orders::<T>::get(id).ok_or("a deadline entry names no order")?;
				ensure!(
					order.is_open() && order.conditions.deadline == deadline,
					"a deadline entry names a matched order or one of another deadline"
				);
			}
			indexed = indexed.saturating_add(ids.len());
		}
		ensure!(indexed == open, "indexed orders differ from open orders");
		Ok(())
	}
}
