//! Read-only helpers behind the runtime API (`pallet-pot-market-runtime-api`), so UIs and the
//! trainer read the market without decoding storage by hand.

use crate::{
	AskBook, Asks, AssignedOrders, BalanceOf, ConditionsInputOf, Config, Order, Orders, OrdersOf,
	Pallet,
};
use alloc::vec::Vec;
use polkadot_sdk::{frame_support::traits::Get, frame_system::pallet_prelude::BlockNumberFor};
use pot_primitives::{regions_allowed, AskView, OrderId, OrderView, ValidatorInspect};

/// An order as the runtime API returns it.
pub type OrderViewOf<T> = OrderView<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
>;

/// An ask as the runtime API returns it.
pub type AskViewOf<T> = AskView<<T as polkadot_sdk::frame_system::Config>::AccountId, BalanceOf<T>>;

impl<T: Config> Pallet<T> {
	/// Up to `n` asks, best first, that could take an order with `conditions` now: price at most
	/// the maximum, regions allowed, active validator, some free capacity. The order's size is
	/// not known here, so an ask with too little free capacity for a given task may be listed.
	pub fn best_asks(conditions: ConditionsInputOf<T>, n: u32) -> Vec<AskViewOf<T>> {
		let limit = n.min(T::MaxAsks::get()) as usize;
		let mut regions = conditions.regions;
		regions.sort();
		regions.dedup();
		AskBook::<T>::get(conditions.hardware_class)
			.into_iter()
			.take_while(|e| e.price_per_unit <= conditions.max_price_per_unit)
			.filter_map(|e| {
				let ask = Asks::<T>::get(&e.validator)?;
				let usable = regions_allowed(&regions, &ask.regions)
					&& T::Validators::is_active_validator(&e.validator)
					&& !ask.free_capacity(T::Validators::capacity_allowed(&e.validator)).is_zero();
				usable.then(|| AskView {
					validator: e.validator,
					id: ask.id,
					price_per_unit: ask.price_per_unit,
					capacity: ask.capacity,
					booked: ask.booked,
					bond: ask.bond,
					hardware_classes: ask.hardware_classes.into_inner(),
					regions: ask.regions.into_inner(),
				})
			})
			.take(limit)
			.collect()
	}

	/// The live order `id`, if any.
	pub fn order(id: OrderId) -> Option<OrderViewOf<T>> {
		Orders::<T>::get(id).map(|order| Self::view(id, order))
	}

	/// The live orders `who` pays for, then those it runs as validator, oldest first.
	pub fn orders_of(who: T::AccountId) -> Vec<OrderViewOf<T>> {
		OrdersOf::<T>::get(&who)
			.into_iter()
			.chain(AssignedOrders::<T>::get(&who))
			.filter_map(Self::order)
			.collect()
	}

	fn view(id: OrderId, order: Order<T>) -> OrderViewOf<T> {
		let regions = order.conditions.regions.to_vec();
		OrderView {
			id,
			consumer: order.consumer,
			funding: order.funding,
			task: order.task,
			conditions: order.conditions.with_regions(regions),
			budget: order.budget,
			spent: order.spent,
			max_work_units: order.max_work_units,
			created_at: order.created_at,
			metadata: order.metadata.into_inner(),
			state: order.state,
		}
	}
}
