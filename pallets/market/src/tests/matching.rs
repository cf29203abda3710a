//! Deterministic matching: price, bond and age tie-breaks, conditions, capacity, waiting orders.

use super::*;
use crate::book::Choice;
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	sp_runtime::DispatchResult,
};
use pot_primitives::AskId;

fn validator_of(id: OrderId) -> AccountId {
	assignment(id).validator
}

#[test]
fn an_order_matches_the_cheapest_ask_and_pays_its_price() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 8, 1_000);
		gpu_ask(V2, 6, 1_000);
		gpu_ask(V3, 7, 1_000);
		let id = order(ALICE, conditions(10, GPU), 1_000);
		let a = assignment(id);
		assert_eq!(a.validator, V2);
		assert_eq!(a.ask, AskId(1));
		assert_eq!(a.price_per_unit, 6);
		assert_eq!(a.work_units, WorkUnits(10));
		assert_eq!(a.matched_at, 1);
		assert_eq!(Asks::<Test>::get(V2).unwrap().booked, WorkUnits(10));
		assert_eq!(AssignedOrders::<Test>::get(V2).into_inner(), vec![id]);
		assert!(WaitingOrders::<Test>::get(GPU).is_empty());
		assert!(OrdersByDeadline::<Test>::get(50).is_empty());
		// The whole budget stays on hold until settlement.
		assert_eq!(escrowed(ALICE), 1_000);
		assert_eq!(
			market_events().last(),
			Some(&Event::OrderMatched {
				order: id,
				validator: V2,
				ask: AskId(1),
				price_per_unit: 6,
				work_units: WorkUnits(10),
			})
		);
	});
}

#[test]
fn an_ask_above_the_max_price_is_not_matched() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 11, 1_000);
		let id = order(ALICE, conditions(10, GPU), 1_000);
		assert!(is_open(id));
		// An ask at exactly the maximum price is.
		let id = order(BOB, conditions(11, GPU), 1_000);
		assert_eq!(validator_of(id), V1);
	});
}

#[test]
fn equal_prices_go_to_the_larger_bond() {
	let validators = vec![(V1, 1_000, 1_000), (V2, 2_000, 1_000), (V3, 1_500, 1_000)];
	ExtBuilder::default().validators(validators).build_and_execute(|| {
		gpu_ask(V1, 5, 1_000);
		gpu_ask(V2, 5, 1_000);
		gpu_ask(V3, 5, 1_000);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V2);
	});
}

#[test]
fn equal_prices_and_bonds_go_to_the_older_ask() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V3, 5, 1_000);
		gpu_ask(V1, 5, 1_000);
		gpu_ask(V2, 5, 1_000);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V3);
		// An update keeps the age.
		assert_ok!(Market::update_ask(
			RuntimeOrigin::signed(V3),
			5,
			WorkUnits(2_000),
			vec![GPU],
			vec![]
		));
		assert_eq!(validator_of(order(BOB, conditions(10, GPU), 1_000)), V3);
	});
}

#[test]
fn the_bond_snapshot_is_taken_when_the_ask_is_placed_or_updated() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 1_000);
		gpu_ask(V2, 5, 1_000);
		// V2's bond grows after placing: the book keeps the snapshot, V1 (older) wins.
		MockValidators::set(V2, 9_000, 10_000);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V1);
		// After an update V2 ranks by its new bond.
		assert_ok!(Market::update_ask(
			RuntimeOrigin::signed(V2),
			5,
			WorkUnits(1_000),
			vec![GPU],
			vec![]
		));
		assert_eq!(validator_of(order(BOB, conditions(10, GPU), 1_000)), V2);
	});
}

#[test]
fn hardware_class_must_match() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(place(V1, 5, 1_000, vec![CPU], vec![]));
		let id = order(ALICE, conditions(10, GPU), 1_000);
		assert!(is_open(id));
		assert_eq!(validator_of(order(BOB, conditions(10, CPU), 1_000)), V1);
	});
}

#[test]
fn regions_must_be_allowed_by_the_order() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(place(V1, 4, 1_000, vec![GPU], vec![]));
		assert_ok!(place(V2, 5, 1_000, vec![GPU], vec![EU, US]));
		assert_ok!(place(V3, 6, 1_000, vec![GPU], vec![EU]));
		let mut c = conditions(10, GPU);
		c.regions = vec![EU];
		// V1 declares no region and V2 also serves the US: only V3 keeps the data in the EU.
		assert_eq!(validator_of(order(ALICE, c.clone(), 1_000)), V3);
		c.regions = vec![EU, US];
		assert_eq!(validator_of(order(ALICE, c, 1_000)), V2);
		// An order without regions takes the cheapest.
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V1);
	});
}

#[test]
fn the_reservation_is_the_tasks_most_work() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 4, 1_000);
		// 10 units at most; the budget pays for them at the order's maximum price.
		let id = order(ALICE, conditions(10, GPU), 100);
		assert_eq!(assignment(id).work_units, WorkUnits(10));
		// 3 rounds × 10 steps × 2 providers = 60 units.
		let mut c = conditions(10, GPU);
		c.max_providers = 2;
		let id = NextOrderId::<Test>::get();
		assert_ok!(create(BOB, task(3, 10), c, 1_000));
		assert_eq!(assignment(id).work_units, WorkUnits(60));
		assert_eq!(Asks::<Test>::get(V1).unwrap().booked, WorkUnits(70));
	});
}

#[test]
fn a_booked_ask_is_not_matched_beyond_its_capacity() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 25);
		gpu_ask(V2, 6, 1_000);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V1);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V1);
		// 5 units left on V1: the next order of 10 goes to V2.
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V2);
		assert_eq!(Asks::<Test>::get(V1).unwrap().booked, WorkUnits(20));
	});
}

#[test]
fn capacity_is_also_bounded_by_what_the_bond_allows_today() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 1_000);
		gpu_ask(V2, 6, 1_000);
		MockValidators::set(V1, 1_000, 5);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V2);
	});
}

#[test]
fn asks_of_inactive_validators_are_skipped() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 1_000);
		gpu_ask(V2, 6, 1_000);
		MockValidators::remove(V1);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V2);
	});
}

#[test]
fn placing_an_ask_matches_waiting_orders_best_first() {
	ExtBuilder::default().build_and_execute(|| {
		let low = order(ALICE, conditions(6, GPU), 1_000);
		let high_old = order(BOB, conditions(9, GPU), 1_000);
		let high_new = order(CHARLIE, conditions(9, GPU), 1_000);
		let too_cheap = order(4, conditions(4, GPU), 1_000);
		// Room for two orders of 10 units at price 5.
		gpu_ask(V1, 5, 20);
		assert_eq!(validator_of(high_old), V1);
		assert_eq!(validator_of(high_new), V1);
		assert!(is_open(low));
		assert!(is_open(too_cheap));
		assert_eq!(WaitingOrders::<Test>::get(GPU).len(), 2);
		// More capacity: the next best waiting order that the price allows.
		assert_ok!(Market::update_ask(
			RuntimeOrigin::signed(V1),
			5,
			WorkUnits(100),
			vec![GPU],
			vec![]
		));
		assert_eq!(validator_of(low), V1);
		assert!(is_open(too_cheap));
		// A lower price reaches the last one.
		assert_ok!(Market::update_ask(
			RuntimeOrigin::signed(V1),
			4,
			WorkUnits(100),
			vec![GPU],
			vec![]
		));
		assert_eq!(validator_of(too_cheap), V1);
	});
}

#[test]
fn matching_waiting_orders_is_bounded_per_call() {
	ExtBuilder::default().build_and_execute(|| {
		let ids: Vec<_> = (0..6u64)
			.map(|i| {
				let mut c = conditions(10, GPU);
				c.deadline = 20 + i / 4;
				order(ALICE, c, 1_000)
			})
			.collect();
		gpu_ask(V1, 5, 1_000);
		// MaxMatchAttemptsPerAsk = 4.
		assert_eq!(ids.iter().filter(|id| !is_open(**id)).count(), 4);
		assert!(is_open(ids[4]) && is_open(ids[5]));
		gpu_ask(V2, 5, 1_000);
		assert!(ids.iter().all(|id| !is_open(*id)));
	});
}

#[test]
fn a_waiting_order_goes_to_its_best_ask_not_the_one_that_triggered() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 1_000);
		// V1's bond shrinks: it may sell only 10 units, which the first order takes.
		MockValidators::set(V1, 1_000, 10);
		assert_eq!(validator_of(order(ALICE, conditions(10, GPU), 1_000)), V1);
		let waiting = order(BOB, conditions(10, GPU), 1_000);
		assert!(is_open(waiting));
		// The bond grows back, which the market is not told about. A dearer ask by V2
		// triggers matching, and the order goes to the better ask: V1's.
		MockValidators::set(V1, 1_000, 10_000);
		gpu_ask(V2, 7, 1_000);
		assert_eq!(validator_of(waiting), V1);
	});
}

#[test]
fn orders_in_one_class_never_see_another_class_book() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(place(V1, 5, 1_000, vec![CPU], vec![]));
		let gpu = order(ALICE, conditions(10, GPU), 1_000);
		assert_ok!(place(V2, 5, 1_000, vec![CPU], vec![]));
		assert!(is_open(gpu));
		assert!(WaitingOrders::<Test>::get(CPU).is_empty());
	});
}

/// Matches open order `id` to `choice` directly, past the checks of `find_best_ask`.
fn match_by_hand(id: OrderId, choice: Choice<Test>) -> DispatchResult {
	Market::match_order(id, Orders::<Test>::get(id).unwrap(), choice, System::block_number())
}

#[test]
fn a_validator_running_its_most_orders_takes_no_more() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 1_000);
		// MaxOrdersPerValidator = 16, from three consumers (8 orders each at most) over four
		// deadline blocks (4 orders each at most).
		let consumers = [ALICE, BOB, CHARLIE];
		let order_number = |n: u64| {
			let mut c = conditions(10, GPU);
			c.deadline = 50 + n / 4;
			order(consumers[(n / 8) as usize], c, 100)
		};
		for n in 0..16 {
			assert_eq!(validator_of(order_number(n)), V1);
		}
		let waiting = order_number(16);
		assert!(is_open(waiting), "V1's ask has capacity left but V1 runs 16 orders");
		assert_eq!(Asks::<Test>::get(V1).unwrap().booked, WorkUnits(160));

		// Matching it to V1 regardless is refused and changes nothing.
		let choice =
			Choice { validator: V1, ask: Asks::<Test>::get(V1).unwrap(), units: WorkUnits(10) };
		assert_noop!(match_by_hand(waiting, choice), Error::<Test>::ValidatorOrdersFull);

		// Another validator's ask takes it.
		gpu_ask(V2, 6, 1_000);
		assert_eq!(validator_of(waiting), V2);
	});
}

#[test]
fn a_booking_that_would_overflow_the_ask_is_refused() {
	ExtBuilder::default().build_and_execute(|| {
		let waiting = order(ALICE, conditions(10, GPU), 100);
		gpu_ask(V1, 5, 1_000);
		// Placing the ask matched the waiting order; a fresh order is matched by hand.
		assert_eq!(validator_of(waiting), V1);
		let next = order(BOB, conditions(1, GPU), 100);
		assert!(is_open(next), "above BOB's price");
		let mut ask = Asks::<Test>::get(V1).unwrap();
		ask.booked = WorkUnits(u64::MAX - 5);
		let choice = Choice { validator: V1, ask, units: WorkUnits(10) };
		assert_noop!(match_by_hand(next, choice), Error::<Test>::Overflow);
	});
}
