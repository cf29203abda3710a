//! Expiry of unmatched orders in `on_initialize` of their deadline block.

use super::*;
use polkadot_sdk::frame_support::{assert_ok, traits::Hooks, weights::Weight};

#[test]
fn an_unmatched_order_expires_at_its_deadline() {
	ExtBuilder::default().build_and_execute(|| {
		let id = order(ALICE, conditions(10, GPU), 500);
		run_to_block(49);
		assert!(is_open(id));
		assert_eq!(escrowed(ALICE), 500);
		run_to_block(50);
		assert!(Orders::<Test>::get(id).is_none());
		assert_eq!(escrowed(ALICE), 0);
		assert_eq!(free(ALICE), INITIAL);
		assert!(OrdersOf::<Test>::get(ALICE).is_empty());
		assert!(WaitingOrders::<Test>::get(GPU).is_empty());
		assert!(OrdersByDeadline::<Test>::get(50).is_empty());
		assert_eq!(
			market_events().last(),
			Some(&Event::OrderExpired { order: id, consumer: ALICE, refunded: 500 })
		);
	});
}

#[test]
fn an_order_cannot_be_matched_in_its_deadline_block() {
	ExtBuilder::default().build_and_execute(|| {
		let mut c = conditions(10, GPU);
		c.deadline = 3;
		let id = order(ALICE, c, 500);
		run_to_block(3);
		// Expired before any call of the block: an ask now finds nothing to match.
		gpu_ask(V1, 5, 1_000);
		assert!(Orders::<Test>::get(id).is_none());
		assert!(AssignedOrders::<Test>::get(V1).is_empty());
	});
}

#[test]
fn matched_and_cancelled_orders_do_not_expire() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 10);
		let matched = order(ALICE, conditions(10, GPU), 500);
		let cancelled = order(BOB, conditions(10, GPU), 500);
		assert_ok!(Market::cancel_order(RuntimeOrigin::signed(BOB), cancelled));
		run_to_block(60);
		assert!(Orders::<Test>::get(matched).is_some());
		assert_eq!(escrowed(ALICE), 500);
		assert!(!market_events().iter().any(|e| matches!(e, Event::OrderExpired { .. })));
	});
}

#[test]
fn a_full_deadline_block_expires_in_one_bounded_hook() {
	ExtBuilder::default().build_and_execute(|| {
		for who in [ALICE, BOB, CHARLIE, 4] {
			order(who, conditions(10, GPU), 100);
		}
		System::set_block_number(50);
		let weight = Market::on_initialize(50);
		assert_eq!(weight, <() as crate::WeightInfo>::expire_orders(4));
		assert!(Orders::<Test>::iter().next().is_none());
		for who in [ALICE, BOB, CHARLIE, 4] {
			assert_eq!(escrowed(who), 0);
		}
		// Nothing due: one read.
		assert_eq!(Market::on_initialize(51), <() as crate::WeightInfo>::expire_orders(0));
		assert_ne!(<() as crate::WeightInfo>::expire_orders(0), Weight::zero());
	});
}
