//! `create_order` and `cancel_order`.

use super::*;
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	sp_runtime::{FixedU64, TokenError},
};
use pot_primitives::OrderState;

#[test]
fn create_order_holds_the_budget_and_waits_without_asks() {
	ExtBuilder::default().build_and_execute(|| {
		let id = order(ALICE, conditions(10, GPU), 500);
		assert_eq!(id, OrderId(0));
		assert_eq!(escrowed(ALICE), 500);
		assert_eq!(free(ALICE), INITIAL - 500);
		let stored = Orders::<Test>::get(id).unwrap();
		assert_eq!(stored.state, OrderState::Open);
		assert_eq!(stored.max_work_units, WorkUnits(10));
		assert_eq!(stored.budget, 500);
		assert_eq!(OrdersOf::<Test>::get(ALICE).into_inner(), vec![id]);
		assert_eq!(OrdersByDeadline::<Test>::get(50).into_inner(), vec![id]);
		assert_eq!(WaitingOrders::<Test>::get(GPU).len(), 1);
		assert_eq!(NextOrderId::<Test>::get(), OrderId(1));
		assert_eq!(
			market_events(),
			vec![Event::OrderCreated {
				order: id,
				consumer: ALICE,
				budget: 500,
				max_price_per_unit: 10,
				hardware_class: GPU,
				deadline: 50,
			}]
		);
	});
}

#[test]
fn create_order_keeps_metadata_and_normalizes_regions() {
	ExtBuilder::default().build_and_execute(|| {
		let mut c = conditions(10, GPU);
		c.regions = vec![US, EU, US];
		assert_ok!(Market::create_order(
			RuntimeOrigin::signed(ALICE),
			task(1, 10),
			c,
			500,
			b"resnet on cifar".to_vec()
		));
		let stored = Orders::<Test>::get(OrderId(0)).unwrap();
		assert_eq!(stored.metadata.into_inner(), b"resnet on cifar".to_vec());
		assert_eq!(stored.conditions.regions.into_inner(), vec![EU, US]);
	});
}

#[test]
fn create_order_rejects_a_zero_budget() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(create(ALICE, task(1, 10), conditions(10, GPU), 0), Error::<Test>::ZeroBudget);
	});
}

#[test]
fn create_order_rejects_a_budget_below_the_tasks_most_work() {
	ExtBuilder::default().build_and_execute(|| {
		// 1 round × 10 steps × 1 provider at 10 each: 100.
		assert_noop!(
			create(ALICE, task(1, 10), conditions(10, GPU), 99),
			Error::<Test>::BudgetBelowTask
		);
		// 3 rounds × 10 steps × 2 providers at 10 each: 600.
		let mut two = conditions(10, GPU);
		two.max_providers = 2;
		assert_noop!(create(ALICE, task(3, 10), two.clone(), 599), Error::<Test>::BudgetBelowTask);
		assert_ok!(create(ALICE, task(3, 10), two, 600));
		assert_ok!(create(ALICE, task(1, 10), conditions(10, GPU), 100));
	});
}

#[test]
fn create_order_rejects_a_zero_max_price() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(create(ALICE, task(1, 10), conditions(0, GPU), 100), Error::<Test>::ZeroPrice);
	});
}

#[test]
fn create_order_rejects_a_deadline_in_the_past() {
	ExtBuilder::default().build_and_execute(|| {
		run_to_block(5);
		for deadline in [0, 4, 5] {
			let mut c = conditions(10, GPU);
			c.deadline = deadline;
			assert_noop!(create(ALICE, task(1, 10), c, 100), Error::<Test>::DeadlineInPast);
		}
	});
}

#[test]
fn create_order_rejects_a_deadline_beyond_the_lifetime() {
	ExtBuilder::default().build_and_execute(|| {
		let mut c = conditions(10, GPU);
		c.deadline = 1 + 101;
		assert_noop!(create(ALICE, task(1, 10), c.clone(), 100), Error::<Test>::DeadlineTooFar);
		c.deadline = 1 + 100;
		assert_ok!(create(ALICE, task(1, 10), c, 100));
	});
}

#[test]
fn create_order_rejects_oversize_metadata() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Market::create_order(
				RuntimeOrigin::signed(ALICE),
				task(1, 10),
				conditions(10, GPU),
				100,
				vec![0u8; 33]
			),
			Error::<Test>::MetadataTooLong
		);
		assert_ok!(Market::create_order(
			RuntimeOrigin::signed(ALICE),
			task(1, 10),
			conditions(10, GPU),
			100,
			vec![0u8; 32]
		));
	});
}

#[test]
fn create_order_rejects_too_many_regions() {
	ExtBuilder::default().build_and_execute(|| {
		let mut c = conditions(10, GPU);
		c.regions = (0..5).map(RegionTag).collect();
		assert_noop!(create(ALICE, task(1, 10), c, 100), Error::<Test>::TooManyRegions);
	});
}

#[test]
fn create_order_rejects_malformed_tasks() {
	ExtBuilder::default().build_and_execute(|| {
		let c = conditions(10, GPU);
		assert_noop!(create(ALICE, task(0, 10), c.clone(), 100), Error::<Test>::TaskCountZero);
		let mut t = task(1, 10);
		t.hyper.batch_size = 0;
		assert_noop!(create(ALICE, t, c.clone(), 100), Error::<Test>::TaskCountZero);
		let mut t = task(1, 10);
		t.hyper.learning_rate = FixedU64::from_inner(0);
		assert_noop!(create(ALICE, t, c.clone(), 100), Error::<Test>::LearningRateZero);
		let mut t = task(1, 10);
		t.pol.checkpoint_interval = 11;
		assert_noop!(
			create(ALICE, t, c.clone(), 100),
			Error::<Test>::CheckpointIntervalAboveLocalSteps
		);
		let mut t = task(1, 10);
		t.aggregation = pot_primitives::AggregationRule::MultiKrum {
			byzantine: polkadot_sdk::sp_runtime::Percent::from_percent(50),
		};
		assert_noop!(create(ALICE, t, c.clone(), 100), Error::<Test>::AggregationOutOfRange);
		let mut t = task(1, 10);
		t.update = pot_primitives::UpdateEncoding::TopK {
			kept: polkadot_sdk::sp_runtime::Perbill::from_parts(0),
		};
		assert_noop!(create(ALICE, t, c, 100), Error::<Test>::NothingKept);
	});
}

#[test]
fn create_order_rejects_a_bad_provider_range() {
	ExtBuilder::default().build_and_execute(|| {
		for (min, max, error) in [
			(0, 1, Error::<Test>::ProviderRangeInvalid),
			(3, 2, Error::<Test>::ProviderRangeInvalid),
			(1, 9, Error::<Test>::TooManyProviders),
		] {
			let mut c = conditions(10, GPU);
			c.min_providers = min;
			c.max_providers = max;
			assert_noop!(create(ALICE, task(1, 10), c, 100), error);
		}
	});
}

#[test]
fn create_order_rejects_work_that_overflows() {
	ExtBuilder::default().build_and_execute(|| {
		let mut c = conditions(10, GPU);
		c.max_providers = 8;
		let mut t = task(u32::MAX, u32::MAX);
		t.pol.checkpoint_interval = 1;
		assert_noop!(create(ALICE, t, c, 100), Error::<Test>::WorkUnitsOverflow);
	});
}

#[test]
fn create_order_fails_without_funds() {
	ExtBuilder::default().build_and_execute(|| {
		// The hold must leave the existential deposit free.
		assert_noop!(
			create(ALICE, task(1, 10), conditions(10, GPU), INITIAL),
			TokenError::FundsUnavailable
		);
		assert_ok!(create(ALICE, task(1, 10), conditions(10, GPU), INITIAL - ED));
		assert_eq!(free(ALICE), ED);
	});
}

#[test]
fn create_order_is_bounded_per_account_deadline_and_queue() {
	ExtBuilder::default().build_and_execute(|| {
		// Eight live orders per account, spread over deadlines (four per block).
		for i in 0..8u64 {
			let mut c = conditions(10, GPU);
			c.deadline = 20 + i / 4;
			order(ALICE, c, 100);
		}
		let mut c = conditions(10, GPU);
		c.deadline = 30;
		assert_noop!(create(ALICE, task(1, 10), c, 100), Error::<Test>::TooManyOrders);

		// The deadline block 20 already has four orders.
		let mut c = conditions(10, GPU);
		c.deadline = 20;
		assert_noop!(create(BOB, task(1, 10), c, 100), Error::<Test>::DeadlineBlockFull);

		// Sixteen waiting orders per class.
		for i in 0..8u64 {
			let mut c = conditions(10, GPU);
			c.deadline = 40 + i / 4;
			order(BOB, c, 100);
		}
		let mut c = conditions(10, GPU);
		c.deadline = 60;
		assert_noop!(create(CHARLIE, task(1, 10), c.clone(), 100), Error::<Test>::WaitingQueueFull);
		// Another class still has room.
		c.hardware_class = CPU;
		assert_ok!(create(CHARLIE, task(1, 10), c, 100));
	});
}

#[test]
fn cancel_order_releases_the_whole_budget() {
	ExtBuilder::default().build_and_execute(|| {
		let id = order(ALICE, conditions(10, GPU), 500);
		assert_ok!(Market::cancel_order(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(escrowed(ALICE), 0);
		assert_eq!(free(ALICE), INITIAL);
		assert!(Orders::<Test>::get(id).is_none());
		assert!(OrdersOf::<Test>::get(ALICE).is_empty());
		assert!(OrdersByDeadline::<Test>::get(50).is_empty());
		assert!(WaitingOrders::<Test>::get(GPU).is_empty());
		assert_eq!(
			market_events().last(),
			Some(&Event::OrderCancelled { order: id, consumer: ALICE, refunded: 500 })
		);
	});
}

#[test]
fn cancel_order_by_a_stranger_fails() {
	ExtBuilder::default().build_and_execute(|| {
		let id = order(ALICE, conditions(10, GPU), 500);
		assert_noop!(
			Market::cancel_order(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NotOrderConsumer
		);
	});
}

#[test]
fn cancel_of_an_unknown_order_fails() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Market::cancel_order(RuntimeOrigin::signed(ALICE), OrderId(7)),
			Error::<Test>::UnknownOrder
		);
		let id = order(ALICE, conditions(10, GPU), 500);
		assert_ok!(Market::cancel_order(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Market::cancel_order(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::UnknownOrder
		);
	});
}

#[test]
fn cancel_after_match_fails() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 100);
		let id = order(ALICE, conditions(10, GPU), 500);
		assert!(!is_open(id));
		assert_noop!(
			Market::cancel_order(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::OrderAlreadyMatched
		);
	});
}

#[test]
fn unsigned_calls_are_refused() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Market::create_order(
				RuntimeOrigin::none(),
				task(1, 10),
				conditions(10, GPU),
				100,
				vec![]
			),
			polkadot_sdk::sp_runtime::DispatchError::BadOrigin
		);
		assert_noop!(
			Market::withdraw_ask(RuntimeOrigin::root()),
			polkadot_sdk::sp_runtime::DispatchError::BadOrigin
		);
	});
}

#[test]
fn create_order_fails_once_order_ids_are_exhausted() {
	ExtBuilder::default().build_and_execute(|| {
		NextOrderId::<Test>::put(OrderId(u64::MAX));
		assert_noop!(
			create(ALICE, task(1, 10), conditions(10, GPU), 100),
			Error::<Test>::IdsExhausted
		);
	});
}
