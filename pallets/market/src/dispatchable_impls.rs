//! What each call does, once its origin is checked.

use crate::{
	escrow, Ask, Asks, BalanceOf, ClassesOf, ConditionsInputOf, Config, Error, Event, MatchStats,
	NextAskId, NextOrderId, Order, Orders, OrdersOf, Pallet, RegionsOf,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{ensure, pallet_prelude::*},
	frame_system,
	sp_runtime::{
		traits::{Saturating, Zero},
		DispatchError, DispatchResult,
	},
};
use pot_primitives::{
	Funding, HardwareClass, OrderId, OrderState, RegionTag, TaskError, TaskSpec, ValidatorInspect,
	WorkUnits,
};

/// Sorts `items`, drops duplicates and bounds the result; `too_many` if more than `S` remain
/// (or were given: a longer list is refused before sorting).
fn normalize<Item: Ord, S: Get<u32>>(
	mut items: Vec<Item>,
	too_many: DispatchError,
) -> Result<BoundedVec<Item, S>, DispatchError> {
	ensure!(items.len() <= S::get() as usize, too_many);
	items.sort();
	items.dedup();
	BoundedVec::try_from(items).map_err(|_| too_many)
}

impl<T: Config> Pallet<T> {
	fn task_error(e: TaskError) -> Error<T> {
		match e {
			TaskError::ZeroCount => Error::<T>::TaskCountZero,
			TaskError::ZeroLearningRate => Error::<T>::LearningRateZero,
			TaskError::CheckpointIntervalAboveLocalSteps => {
				Error::<T>::CheckpointIntervalAboveLocalSteps
			}
			TaskError::AggregationOutOfRange => Error::<T>::AggregationOutOfRange,
			TaskError::NothingKept => Error::<T>::NothingKept,
		}
	}

	/// Creates an order, holds its budget (a consumer's order) and matches it or queues it.
	/// Returns the new order's id and the number of book entries examined.
	pub(crate) fn do_create_order(
		consumer: T::AccountId,
		funding: Funding,
		task: TaskSpec,
		mut conditions: ConditionsInputOf<T>,
		budget: BalanceOf<T>,
		metadata: Vec<u8>,
	) -> Result<(OrderId, u32), DispatchError> {
		task.validate().map_err(Self::task_error)?;
		ensure!(!budget.is_zero(), Error::<T>::ZeroBudget);
		ensure!(!conditions.max_price_per_unit.is_zero(), Error::<T>::ZeroPrice);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(conditions.deadline > now, Error::<T>::DeadlineInPast);
		ensure!(
			conditions.deadline <= now.saturating_add(T::MaxOrderLifetime::get()),
			Error::<T>::DeadlineTooFar
		);
		ensure!(
			conditions.min_providers > 0 && conditions.min_providers <= conditions.max_providers,
			Error::<T>::ProviderRangeInvalid
		);
		ensure!(
			conditions.max_providers <= T::MaxProvidersPerOrder::get(),
			Error::<T>::TooManyProviders
		);
		let metadata: BoundedVec<u8, T::MaxMetadataLen> =
			metadata.try_into().map_err(|_| Error::<T>::MetadataTooLong)?;
		let regions: RegionsOf<T> =
			normalize(core::mem::take(&mut conditions.regions), Error::<T>::TooManyRegions.into())?;
		let max_work_units =
			task.max_work_units(conditions.max_providers).ok_or(Error::<T>::WorkUnitsOverflow)?;
		let most_work: BalanceOf<T> =
			max_work_units.0.try_into().map_err(|_| Error::<T>::WorkUnitsOverflow)?;
		let most_cost = conditions
			.max_price_per_unit
			.checked_mul(&most_work)
			.ok_or(Error::<T>::WorkUnitsOverflow)?;
		ensure!(budget >= most_cost, Error::<T>::BudgetBelowTask);

		let id = NextOrderId::<T>::get();
		NextOrderId::<T>::put(id.next().ok_or(Error::<T>::IdsExhausted)?);
		OrdersOf::<T>::try_mutate(&consumer, |ids| ids.try_push(id))
			.map_err(|_| Error::<T>::TooManyOrders)?;
		if funding == Funding::Escrow {
			escrow::hold::<T>(&consumer, budget)?;
		}

		let order = Order::<T> {
			consumer: consumer.clone(),
			funding,
			task,
			conditions: conditions.with_regions(regions),
			budget,
			spent: Zero::zero(),
			max_work_units,
			created_at: now,
			metadata,
			state: OrderState::Open,
		};
		Self::deposit_event(Event::OrderCreated {
			order: id,
			consumer,
			budget,
			max_price_per_unit: order.conditions.max_price_per_unit,
			hardware_class: order.conditions.hardware_class,
			deadline: order.conditions.deadline,
		});

		let (choice, examined) = Self::find_best_ask(&order, now);
		match choice {
			Some(choice) => Self::match_order(id, order, choice, now)?,
			None => {
				Self::enqueue_open(id, &order)?;
				Orders::<T>::insert(id, order);
			}
		}
		Ok((id, examined))
	}

	/// Cancels an open order of `who` and releases its budget.
	pub(crate) fn do_cancel_order(who: T::AccountId, id: OrderId) -> DispatchResult {
		let order = Orders::<T>::get(id).ok_or(Error::<T>::UnknownOrder)?;
		ensure!(order.consumer == who, Error::<T>::NotOrderConsumer);
		ensure!(order.is_open(), Error::<T>::OrderAlreadyMatched);
		let refunded = escrow::release::<T>(&who, order.unspent())?;
		Self::dequeue_open(id, &order, false);
		Self::forget_order(id, &order);
		Self::deposit_event(Event::OrderCancelled { order: id, consumer: who, refunded });
		Ok(())
	}

	/// Removes a final order from storage and from its consumer's list.
	pub(crate) fn forget_order(id: OrderId, order: &Order<T>) {
		let mut ids = OrdersOf::<T>::get(&order.consumer);
		ids.retain(|o| *o != id);
		if ids.is_empty() {
			OrdersOf::<T>::remove(&order.consumer);
		} else {
			OrdersOf::<T>::insert(&order.consumer, ids);
		}
		Orders::<T>::remove(id);
	}

	/// Checks and normalizes the terms of an ask.
	fn checked_ask(
		validator: &T::AccountId,
		price_per_unit: BalanceOf<T>,
		capacity: WorkUnits,
		booked: WorkUnits,
		hardware_classes: Vec<HardwareClass>,
		regions: Vec<RegionTag>,
	) -> Result<(ClassesOf<T>, RegionsOf<T>), DispatchError> {
		ensure!(T::Validators::is_active_validator(validator), Error::<T>::NotActiveValidator);
		ensure!(!price_per_unit.is_zero(), Error::<T>::ZeroPrice);
		ensure!(!capacity.is_zero(), Error::<T>::ZeroCapacity);
		ensure!(
			capacity <= T::Validators::capacity_allowed(validator),
			Error::<T>::CapacityAboveBond
		);
		ensure!(capacity >= booked, Error::<T>::CapacityBelowBooked);
		ensure!(!hardware_classes.is_empty(), Error::<T>::NoHardwareClass);
		let classes = normalize(hardware_classes, Error::<T>::TooManyHardwareClasses.into())?;
		let regions = normalize(regions, Error::<T>::TooManyRegions.into())?;
		Ok((classes, regions))
	}

	/// Places `validator`'s ask and matches waiting orders it can serve.
	pub(crate) fn do_place_ask(
		validator: T::AccountId,
		price_per_unit: BalanceOf<T>,
		capacity: WorkUnits,
		hardware_classes: Vec<HardwareClass>,
		regions: Vec<RegionTag>,
	) -> Result<MatchStats, DispatchError> {
		let (hardware_classes, regions) = Self::checked_ask(
			&validator,
			price_per_unit,
			capacity,
			WorkUnits::ZERO,
			hardware_classes,
			regions,
		)?;
		ensure!(!Asks::<T>::contains_key(&validator), Error::<T>::AskAlreadyPlaced);
		let id = NextAskId::<T>::get();
		NextAskId::<T>::put(id.next().ok_or(Error::<T>::IdsExhausted)?);
		let ask = Ask::<T> {
			id,
			price_per_unit,
			capacity,
			booked: WorkUnits::ZERO,
			bond: T::Validators::bond_of(&validator),
			hardware_classes,
			regions,
			placed_at: frame_system::Pallet::<T>::block_number(),
		};
		let placed =
			Event::AskPlaced { validator: validator.clone(), ask: id, price_per_unit, capacity };
		Self::store_listed_ask(&validator, ask, placed)
	}

	/// Replaces the terms of `validator`'s ask and matches waiting orders it can serve.
	pub(crate) fn do_update_ask(
		validator: T::AccountId,
		price_per_unit: BalanceOf<T>,
		capacity: WorkUnits,
		hardware_classes: Vec<HardwareClass>,
		regions: Vec<RegionTag>,
	) -> Result<MatchStats, DispatchError> {
		let old = Asks::<T>::get(&validator).ok_or(Error::<T>::NoAsk)?;
		let (hardware_classes, regions) = Self::checked_ask(
			&validator,
			price_per_unit,
			capacity,
			old.booked,
			hardware_classes,
			regions,
		)?;
		Self::delist_ask(&validator, &old);
		let ask = Ask::<T> {
			price_per_unit,
			capacity,
			bond: T::Validators::bond_of(&validator),
			hardware_classes,
			regions,
			..old
		};
		let updated = Event::AskUpdated {
			validator: validator.clone(),
			ask: ask.id,
			price_per_unit,
			capacity,
		};
		Self::store_listed_ask(&validator, ask, updated)
	}

	/// Lists `ask` in the books of its classes, stores it, emits `event` and matches waiting
	/// orders the ask can serve.
	fn store_listed_ask(
		validator: &T::AccountId,
		ask: Ask<T>,
		event: Event<T>,
	) -> Result<MatchStats, DispatchError> {
		Self::list_ask(validator, &ask)?;
		Asks::<T>::insert(validator, ask);
		Self::deposit_event(event);
		Ok(Self::match_waiting(validator))
	}

	/// Withdraws `validator`'s ask; refused while orders hold capacity on it.
	pub(crate) fn do_withdraw_ask(validator: T::AccountId) -> DispatchResult {
		let ask = Asks::<T>::get(&validator).ok_or(Error::<T>::NoAsk)?;
		ensure!(ask.booked.is_zero(), Error::<T>::AskStillBooked);
		Self::delist_ask(&validator, &ask);
		Asks::<T>::remove(&validator);
		Self::deposit_event(Event::AskWithdrawn { validator, ask: ask.id });
		Ok(())
	}
}
