//! Work done by the block hook: expiry of open orders at their deadline.

use crate::{escrow, weights::WeightInfo, Config, Event, Orders, OrdersByDeadline, Pallet};
use polkadot_sdk::{
	frame_support::{defensive, weights::Weight},
	frame_system::pallet_prelude::BlockNumberFor,
};
use pot_primitives::OrderId;

impl<T: Config> Pallet<T> {
	/// Expires the open orders whose deadline is `now`: at most `MaxOrdersPerDeadline`, one
	/// storage entry, never a scan. Returns the weight used.
	pub(crate) fn expire_due(now: BlockNumberFor<T>) -> Weight {
		let due = OrdersByDeadline::<T>::take(now);
		let count = u32::try_from(due.len()).unwrap_or(u32::MAX);
		for id in due {
			Self::expire_order(id);
		}
		T::WeightInfo::expire_orders(count)
	}

	/// Releases the budget of the open order `id` and forgets it. Emits `OrderExpired`.
	fn expire_order(id: OrderId) {
		let Some(order) = Orders::<T>::get(id) else {
			defensive!("an expiring order is missing", id);
			return;
		};
		if !order.is_open() {
			defensive!("an expiring order is matched", id);
			return;
		}
		let refunded = match escrow::release_unspent::<T>(&order, order.unspent()) {
			Ok(refunded) => refunded,
			Err(e) => {
				// The order stays in storage, open; its consumer can still cancel it.
				defensive!("releasing an expired order's budget failed", e);
				return;
			}
		};
		Self::dequeue_open(id, &order, true);
		Self::forget_order(id, &order);
		Self::deposit_event(Event::OrderExpired { order: id, consumer: order.consumer, refunded });
	}
}
