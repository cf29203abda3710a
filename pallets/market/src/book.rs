//! The order book: ask books per hardware class, queues of waiting orders, the deadline index,
//! and matching.
//!
//! Cost of matching one order: one read of its class's book plus, for each entry walked (all at
//! most the order's maximum price, so at most `MaxAsks`), a read of the ask and the validator
//! checks. Matching waiting orders after an ask changes tries at most `MaxMatchAttemptsPerAsk`
//! orders, so a call never does more than `MaxMatchAttemptsPerAsk × MaxAsks` ask reads.

use crate::{
	Ask, AskBook, Asks, AssignedOrders, BookEntry, Config, Error, Event, MatchStats, Order, Orders,
	OrdersByDeadline, Pallet, WaitingEntry, WaitingOrders,
};
use polkadot_sdk::{
	frame_support::{defensive, ensure, traits::Get},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_runtime::{traits::Zero, DispatchResult},
};
use pot_primitives::{
	regions_allowed, Assignment, OrderId, OrderState, ValidatorInspect, WorkUnits,
};

/// The ask chosen for an order.
pub struct Choice<T: Config> {
	/// The validator.
	pub validator: T::AccountId,
	/// Its ask, as read.
	pub ask: Ask<T>,
	/// Work units the order reserves on it.
	pub units: WorkUnits,
}

impl<T: Config> Pallet<T> {
	/// Adds `validator`'s ask to the book of each class it serves, in rank order.
	pub(crate) fn list_ask(validator: &T::AccountId, ask: &Ask<T>) -> DispatchResult {
		for class in ask.hardware_classes.iter() {
			let mut book = AskBook::<T>::get(class);
			let entry = BookEntry::<T> {
				price_per_unit: ask.price_per_unit,
				bond: ask.bond,
				ask: ask.id,
				validator: validator.clone(),
			};
			let at = book.partition_point(|e| e.ranks_before(&entry));
			book.try_insert(at, entry).map_err(|_| Error::<T>::AskBookFull)?;
			AskBook::<T>::insert(class, book);
		}
		Ok(())
	}

	/// Removes `validator`'s ask from the book of each class it serves.
	pub(crate) fn delist_ask(validator: &T::AccountId, ask: &Ask<T>) {
		for class in ask.hardware_classes.iter() {
			let mut book = AskBook::<T>::get(class);
			book.retain(|e| &e.validator != validator);
			if book.is_empty() {
				AskBook::<T>::remove(class);
			} else {
				AskBook::<T>::insert(class, book);
			}
		}
	}

	/// Queues an open order for matching later and indexes it by deadline.
	pub(crate) fn enqueue_open(id: OrderId, order: &Order<T>) -> DispatchResult {
		let class = order.conditions.hardware_class;
		let mut waiting = WaitingOrders::<T>::get(class);
		let entry = WaitingEntry::<T> {
			max_price_per_unit: order.conditions.max_price_per_unit,
			order: id,
		};
		let at = waiting.partition_point(|e| e.ranks_before(&entry));
		waiting.try_insert(at, entry).map_err(|_| Error::<T>::WaitingQueueFull)?;
		WaitingOrders::<T>::insert(class, waiting);
		OrdersByDeadline::<T>::try_mutate(order.conditions.deadline, |ids| ids.try_push(id))
			.map_err(|_| Error::<T>::DeadlineBlockFull)?;
		Ok(())
	}

	/// Removes an open order from its class's queue and, unless `expiring`, from the deadline
	/// index (expiry has already taken the whole deadline entry).
	pub(crate) fn dequeue_open(id: OrderId, order: &Order<T>, expiring: bool) {
		let class = order.conditions.hardware_class;
		let mut waiting = WaitingOrders::<T>::get(class);
		waiting.retain(|e| e.order != id);
		if waiting.is_empty() {
			WaitingOrders::<T>::remove(class);
		} else {
			WaitingOrders::<T>::insert(class, waiting);
		}
		if !expiring {
			let deadline = order.conditions.deadline;
			let mut ids = OrdersByDeadline::<T>::get(deadline);
			ids.retain(|o| *o != id);
			if ids.is_empty() {
				OrdersByDeadline::<T>::remove(deadline);
			} else {
				OrdersByDeadline::<T>::insert(deadline, ids);
			}
		}
	}

	/// Whether `validator` can take `units` more work units on `ask` now: active, room within
	/// the ask's capacity and what its bond allows, and a free slot for one more order.
	pub(crate) fn has_room(validator: &T::AccountId, ask: &Ask<T>, units: WorkUnits) -> bool {
		if !T::Validators::is_active_validator(validator) {
			return false;
		}
		if units > ask.free_capacity(T::Validators::capacity_allowed(validator)) {
			return false;
		}
		let running = AssignedOrders::<T>::decode_len(validator).unwrap_or(0);
		running < T::MaxOrdersPerValidator::get() as usize
	}

	/// The best ask for `order`: the first in its class's book (lowest price, then largest
	/// bond, then oldest) that satisfies every condition. Also returns how many book entries
	/// were examined.
	pub(crate) fn find_best_ask(
		order: &Order<T>,
		now: BlockNumberFor<T>,
	) -> (Option<Choice<T>>, u32) {
		let mut examined = 0u32;
		if order.conditions.deadline <= now {
			return (None, examined);
		}
		let book = AskBook::<T>::get(order.conditions.hardware_class);
		for entry in book.iter() {
			if entry.price_per_unit > order.conditions.max_price_per_unit {
				break;
			}
			examined = examined.saturating_add(1);
			let Some(ask) = Asks::<T>::get(&entry.validator) else {
				defensive!("a book entry without an ask");
				continue;
			};
			if !regions_allowed(&order.conditions.regions, &ask.regions) {
				continue;
			}
			let Some(units) = order.units_at(order.price_with(ask.price_per_unit)) else {
				continue;
			};
			if Self::has_room(&entry.validator, &ask, units) {
				return (Some(Choice { validator: entry.validator.clone(), ask, units }), examined);
			}
		}
		(None, examined)
	}

	/// Matches `order` (not yet stored in its matched form, and not queued) to `choice`:
	/// reserves the work units on the ask and records the assignment. Emits `OrderMatched`.
	pub(crate) fn match_order(
		id: OrderId,
		mut order: Order<T>,
		choice: Choice<T>,
		now: BlockNumberFor<T>,
	) -> DispatchResult {
		let Choice { validator, mut ask, units } = choice;
		ensure!(order.is_open(), Error::<T>::OrderAlreadyMatched);
		let price_per_unit = order.price_with(ask.price_per_unit);
		ask.booked = ask.booked.checked_add(units).ok_or(Error::<T>::Overflow)?;
		AssignedOrders::<T>::try_mutate(&validator, |ids| ids.try_push(id))
			.map_err(|_| Error::<T>::ValidatorOrdersFull)?;
		order.state = OrderState::Matched(Assignment {
			validator: validator.clone(),
			ask: ask.id,
			price_per_unit,
			work_units: units,
			units_paid: WorkUnits::ZERO,
			fee_accrued: Zero::zero(),
			matched_at: now,
		});
		Self::deposit_event(Event::OrderMatched {
			order: id,
			validator: validator.clone(),
			ask: ask.id,
			price_per_unit,
			work_units: units,
		});
		Asks::<T>::insert(&validator, ask);
		Orders::<T>::insert(id, order);
		Ok(())
	}

	/// Tries the waiting orders `validator`'s ask could serve, best first (highest maximum
	/// price, then oldest), each matched to the best ask for it, which may be another one.
	/// Stops after `MaxMatchAttemptsPerAsk` orders or when the ask is full.
	pub(crate) fn match_waiting(validator: &T::AccountId) -> MatchStats {
		let mut stats = MatchStats::default();
		let Some(mut ask) = Asks::<T>::get(validator) else {
			return stats;
		};
		if !T::Validators::is_active_validator(validator) {
			return stats;
		}
		let allowed = T::Validators::capacity_allowed(validator);
		let limit = T::MaxMatchAttemptsPerAsk::get();
		let now = frame_system::Pallet::<T>::block_number();
		for class in ask.hardware_classes.clone().iter() {
			let waiting = WaitingOrders::<T>::get(class);
			for entry in waiting.iter() {
				if stats.attempts >= limit || ask.free_capacity(allowed).is_zero() {
					return stats;
				}
				if entry.max_price_per_unit < ask.price_per_unit {
					break;
				}
				stats.attempts = stats.attempts.saturating_add(1);
				let Some(order) = Orders::<T>::get(entry.order) else {
					defensive!("a waiting entry without an order");
					continue;
				};
				// Cheap test first: only orders this ask can serve are matched here.
				let servable = regions_allowed(&order.conditions.regions, &ask.regions)
					&& order
						.units_at(order.price_with(ask.price_per_unit))
						.is_some_and(|u| u <= ask.free_capacity(allowed));
				if !servable {
					continue;
				}
				let (choice, examined) = Self::find_best_ask(&order, now);
				stats.max_examined = stats.max_examined.max(examined);
				let Some(choice) = choice else { continue };
				let chosen_self = &choice.validator == validator;
				let units = choice.units;
				Self::dequeue_open(entry.order, &order, false);
				if let Err(e) = Self::match_order(entry.order, order.clone(), choice, now) {
					defensive!("matching a waiting order failed", e);
					// Keep the order waiting, as it was.
					if Self::enqueue_open(entry.order, &order).is_err() {
						defensive!("re-queueing a waiting order failed");
					}
					continue;
				}
				stats.matched = stats.matched.saturating_add(1);
				if chosen_self {
					ask.booked = ask.booked.saturating_add(units);
				}
			}
		}
		stats
	}
}
