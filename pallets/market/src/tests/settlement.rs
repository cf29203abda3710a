//! The `OrderSettlement` implementation: exact balances, events, bounds, errors.

use super::*;
use polkadot_sdk::frame_support::{assert_storage_noop, traits::fungible::Inspect};
use pot_primitives::{AskId, OrderSettlement, SettlementError, SettlementReceipt};

type Settlement = Market;

/// V1 asks 10 per unit; ALICE orders 10 units with a budget of 1 000 (cost at most 100).
fn matched_order() -> OrderId {
	gpu_ask(V1, 10, 1_000);
	let id = order(ALICE, conditions(10, GPU), 1_000);
	assert_eq!(assignment(id).work_units, WorkUnits(10));
	id
}

#[test]
fn paying_for_work_moves_exactly_the_price_minus_the_fee() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let id = matched_order();
		assert_eq!(Settlement::pay_for_work(id, &PROVIDER, WorkUnits(5), Perbill::one()), Ok(45));
		assert_eq!(free(PROVIDER), INITIAL + 45);
		assert_eq!(escrowed(ALICE), 1_000 - 45);
		assert_eq!(free(ALICE), INITIAL - 1_000);
		let a = assignment(id);
		assert_eq!(a.units_paid, WorkUnits(5));
		assert_eq!(a.fee_accrued, 5);
		assert_eq!(Orders::<Test>::get(id).unwrap().spent, 45);
		assert_eq!(
			market_events().last(),
			Some(&Event::ProviderPaid {
				order: id,
				provider: PROVIDER,
				work_units: WorkUnits(5),
				amount: 45,
				validator_fee: 5,
			})
		);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn completing_pays_the_fee_and_refunds_the_rest() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let id = matched_order();
		assert_eq!(Settlement::pay_for_work(id, &PROVIDER, WorkUnits(5), Perbill::one()), Ok(45));
		assert_eq!(Settlement::pay_for_work(id, &21, WorkUnits(1), Perbill::one()), Ok(9));
		assert_eq!(
			Settlement::complete(id),
			Ok(SettlementReceipt { validator_fee: 6, refunded: 1_000 - 54 - 6 })
		);
		assert_eq!(free(ALICE), INITIAL - 60);
		assert_eq!(escrowed(ALICE), 0);
		assert_eq!(free(PROVIDER), INITIAL + 45);
		assert_eq!(free(21), INITIAL + 9);
		assert_eq!(free(V1), INITIAL + 6);
		assert!(Orders::<Test>::get(id).is_none());
		assert!(OrdersOf::<Test>::get(ALICE).is_empty());
		assert!(AssignedOrders::<Test>::get(V1).is_empty());
		assert_eq!(Asks::<Test>::get(V1).unwrap().booked, WorkUnits::ZERO);
		let events = market_events();
		assert_eq!(
			events[events.len() - 2..],
			[
				Event::ValidatorFeePaid { order: id, validator: V1, amount: 6 },
				Event::OrderCompleted { order: id, consumer: ALICE, refunded: 940 },
			]
		);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn failing_refunds_everything_unspent_the_fee_included() {
	ExtBuilder::default().build_and_execute(|| {
		let id = matched_order();
		assert_eq!(Settlement::pay_for_work(id, &PROVIDER, WorkUnits(5), Perbill::one()), Ok(45));
		assert_eq!(Settlement::fail(id), Ok(SettlementReceipt { validator_fee: 0, refunded: 955 }));
		assert_eq!(free(ALICE), INITIAL - 45);
		assert_eq!(free(V1), INITIAL);
		assert_eq!(escrowed(ALICE), 0);
		assert_eq!(
			market_events().last(),
			Some(&Event::OrderFailed { order: id, consumer: ALICE, refunded: 955 })
		);
	});
}

#[test]
fn completing_without_work_refunds_the_whole_budget() {
	ExtBuilder::default().build_and_execute(|| {
		let id = matched_order();
		assert_eq!(
			Settlement::complete(id),
			Ok(SettlementReceipt { validator_fee: 0, refunded: 1_000 })
		);
		assert_eq!(free(ALICE), INITIAL);
		assert!(!market_events().iter().any(|e| matches!(e, Event::ValidatorFeePaid { .. })));
	});
}

#[test]
fn double_settlement_is_refused() {
	ExtBuilder::default().build_and_execute(|| {
		let id = matched_order();
		assert_eq!(Settlement::pay_for_work(id, &PROVIDER, WorkUnits(10), Perbill::one()), Ok(90));
		assert!(Settlement::complete(id).is_ok());
		assert_storage_noop!({
			assert_eq!(Settlement::complete(id), Err(SettlementError::UnknownOrder));
			assert_eq!(Settlement::fail(id), Err(SettlementError::UnknownOrder));
			assert_eq!(
				Settlement::pay_for_work(id, &PROVIDER, WorkUnits(1), Perbill::one()),
				Err(SettlementError::UnknownOrder)
			);
		});
		assert_eq!(free(ALICE), INITIAL - 100);
		assert_eq!(free(V1), INITIAL + 10);
	});
}

#[test]
fn work_is_paid_at_most_once_up_to_the_reservation() {
	ExtBuilder::default().build_and_execute(|| {
		let id = matched_order();
		assert_storage_noop!(assert_eq!(
			Settlement::pay_for_work(id, &PROVIDER, WorkUnits(11), Perbill::one()),
			Err(SettlementError::WorkUnitsAboveReservation)
		));
		assert_eq!(Settlement::pay_for_work(id, &PROVIDER, WorkUnits(10), Perbill::one()), Ok(90));
		assert_storage_noop!(assert_eq!(
			Settlement::pay_for_work(id, &PROVIDER, WorkUnits(1), Perbill::one()),
			Err(SettlementError::WorkUnitsAboveReservation)
		));
		assert_storage_noop!(assert_eq!(
			Settlement::pay_for_work(id, &PROVIDER, WorkUnits(0), Perbill::one()),
			Err(SettlementError::ZeroWorkUnits)
		));
	});
}

#[test]
fn open_and_unknown_orders_cannot_be_settled() {
	ExtBuilder::default().build_and_execute(|| {
		let open = order(ALICE, conditions(10, GPU), 1_000);
		assert_storage_noop!({
			assert_eq!(
				Settlement::pay_for_work(open, &PROVIDER, WorkUnits(1), Perbill::one()),
				Err(SettlementError::OrderNotMatched)
			);
			assert_eq!(Settlement::complete(open), Err(SettlementError::OrderNotMatched));
			assert_eq!(Settlement::fail(open), Err(SettlementError::OrderNotMatched));
			assert_eq!(Settlement::complete(OrderId(9)), Err(SettlementError::UnknownOrder));
		});
		assert!(Settlement::matched_order(open).is_none());
	});
}

#[test]
fn a_rejected_transfer_changes_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 2, 1_000);
		let id = order(ALICE, conditions(10, GPU), 100);
		// One unit pays 2, below the existential deposit of an account that does not exist.
		assert_storage_noop!(assert_eq!(
			Settlement::pay_for_work(id, &NOBODY, WorkUnits(1), Perbill::one()),
			Err(SettlementError::TransferRejected)
		));
		assert_eq!(assignment(id).units_paid, WorkUnits::ZERO);
		// Ten units pay 20 − 2 (fee) and create the account.
		assert_eq!(Settlement::pay_for_work(id, &NOBODY, WorkUnits(10), Perbill::one()), Ok(18));
		assert_eq!(Balances::balance(&NOBODY), 18);
	});
}

#[test]
fn settlement_frees_capacity_for_waiting_orders() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 10, 10);
		let first = order(ALICE, conditions(10, GPU), 1_000);
		let waiting = order(BOB, conditions(10, GPU), 1_000);
		assert!(is_open(waiting));
		assert!(Settlement::complete(first).is_ok());
		assert_eq!(assignment(waiting).validator, V1);
		assert_eq!(Asks::<Test>::get(V1).unwrap().booked, WorkUnits(10));
	});
}

#[test]
fn matched_order_reports_the_terms() {
	ExtBuilder::default().build_and_execute(|| {
		let id = matched_order();
		assert_eq!(Settlement::pay_for_work(id, &PROVIDER, WorkUnits(2), Perbill::one()), Ok(18));
		let m = Settlement::matched_order(id).unwrap();
		assert_eq!(m.consumer, ALICE);
		assert_eq!(m.task, task(1, 10));
		assert_eq!(m.deadline, 50);
		assert_eq!((m.min_providers, m.max_providers), (1, 1));
		assert_eq!(m.hardware_class, GPU);
		assert_eq!(m.unspent, 1_000 - 18);
		assert_eq!(m.assignment.validator, V1);
		assert_eq!(m.assignment.ask, AskId(0));
		assert_eq!(m.assignment.fee_accrued, 2);
	});
}

#[test]
fn settlement_weights_are_bounded_and_nonzero() {
	ExtBuilder::default().build_and_execute(|| {
		assert!(<Settlement as OrderSettlement<_, _, _>>::pay_for_work_weight()
			.any_gt(Default::default()));
		assert!(
			<Settlement as OrderSettlement<_, _, _>>::complete_weight().any_gt(Default::default())
		);
		assert!(<Settlement as OrderSettlement<_, _, _>>::fail_weight().any_gt(Default::default()));
	});
}

#[test]
fn orders_assigned_to_lists_the_validators_matched_orders() {
	ExtBuilder::default().build_and_execute(|| {
		assert!(Settlement::orders_assigned_to(&V1).is_empty());
		let first = matched_order();
		let second = order(ALICE, conditions(10, GPU), 1_000);
		assert_eq!(Settlement::orders_assigned_to(&V1), vec![first, second]);
		assert!(Settlement::orders_assigned_to(&ALICE).is_empty());
		assert!(Settlement::complete(first).is_ok());
		assert_eq!(Settlement::orders_assigned_to(&V1), vec![second]);
	});
}
