//! The helpers behind the runtime API.

use super::*;
use polkadot_sdk::frame_support::assert_ok;
use pot_primitives::{AskId, OrderState};

fn best(c: OrderConditionsInput<Balance, BlockNumber>, n: u32) -> Vec<AccountId> {
	Market::best_asks(c, n).into_iter().map(|a| a.validator).collect()
}

#[test]
fn best_asks_lists_usable_asks_best_first() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(place(V1, 5, 1_000, vec![GPU], vec![EU]));
		assert_ok!(place(V2, 6, 1_000, vec![GPU], vec![]));
		assert_ok!(place(V3, 4, 1_000, vec![GPU, CPU], vec![US]));
		assert_eq!(best(conditions(10, GPU), 10), vec![V3, V1, V2]);
		assert_eq!(best(conditions(10, GPU), 2), vec![V3, V1]);
		assert_eq!(best(conditions(5, GPU), 10), vec![V3, V1]);
		assert_eq!(best(conditions(10, CPU), 10), vec![V3]);
		let mut c = conditions(10, GPU);
		c.regions = vec![EU];
		assert_eq!(best(c, 10), vec![V1]);
		MockValidators::remove(V3);
		assert_eq!(best(conditions(10, GPU), 10), vec![V1, V2]);

		let view = Market::best_asks(conditions(10, GPU), 1).pop().unwrap();
		assert_eq!(view.id, AskId(0));
		assert_eq!(view.price_per_unit, 5);
		assert_eq!(view.capacity, WorkUnits(1_000));
		assert_eq!(view.booked, WorkUnits::ZERO);
		assert_eq!(view.bond, 1_000);
		assert_eq!(view.hardware_classes, vec![GPU]);
		assert_eq!(view.regions, vec![EU]);
	});
}

#[test]
fn best_asks_skips_fully_booked_asks() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 10);
		gpu_ask(V2, 6, 1_000);
		order(ALICE, conditions(10, GPU), 1_000);
		assert_eq!(best(conditions(10, GPU), 10), vec![V2]);
	});
}

#[test]
fn order_and_orders_of_show_live_orders() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(place(V1, 5, 1_000, vec![GPU], vec![EU]));
		let mut c = conditions(10, GPU);
		c.regions = vec![US, EU];
		let matched = order(ALICE, c, 1_000);
		let open = order(ALICE, conditions(10, CPU), 300);
		let theirs = order(BOB, conditions(10, GPU), 1_000);

		let view = Market::order(matched).unwrap();
		assert_eq!(view.id, matched);
		assert_eq!(view.consumer, ALICE);
		assert_eq!(view.budget, 1_000);
		assert_eq!(view.conditions.regions, vec![EU, US]);
		assert_eq!(view.max_work_units, WorkUnits(10));
		assert!(matches!(view.state, OrderState::Matched(ref a) if a.validator == V1));
		assert_eq!(Market::order(open).unwrap().state, OrderState::Open);
		assert!(Market::order(OrderId(99)).is_none());

		let ids = |who| Market::orders_of(who).into_iter().map(|o| o.id).collect::<Vec<_>>();
		assert_eq!(ids(ALICE), vec![matched, open]);
		assert_eq!(ids(BOB), vec![theirs]);
		assert_eq!(ids(V1), vec![matched, theirs]);
		assert!(ids(CHARLIE).is_empty());
	});
}
