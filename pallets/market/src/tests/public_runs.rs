//! Public runs: opened by governance, funded by emission, rewards weighted by improvement.

use super::*;
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	sp_runtime::DispatchError,
};
use pot_primitives::{Funding, OrderSettlement, SettlementError, SettlementReceipt};

type Settlement = Market;

/// Governance opens a public run of 10 work units (1 round × 10 steps × 1 provider) at
/// `reward` per unit, minting at most `cap`.
fn open(reward: Balance, cap: Balance) -> OrderId {
	let id = NextOrderId::<Test>::get();
	assert_ok!(Market::open_public_run(
		RuntimeOrigin::root(),
		task(1, 10),
		conditions(reward, GPU),
		cap,
		b"digits for everyone".to_vec()
	));
	id
}

fn public_runs() -> AccountId {
	Market::public_run_account()
}

#[test]
fn governance_opens_a_public_run_that_holds_nothing_and_runs_at_its_reward() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		gpu_ask(V1, 4, 1_000);
		let id = open(10, 1_000);
		let run = Orders::<Test>::get(id).unwrap();
		assert_eq!(run.funding, Funding::Emission);
		assert_eq!(run.consumer, public_runs());
		assert_eq!(run.budget, 1_000);
		// Matched to the ask priced 4, but it runs at its reward of 10 per unit.
		let a = assignment(id);
		assert_eq!((a.validator, a.price_per_unit, a.work_units), (V1, 10, WorkUnits(10)));
		assert_eq!(escrowed(public_runs()), 0);
		assert_eq!(free(public_runs()), 0);
		assert_eq!(Balances::total_issuance(), issuance);
		let events = market_events();
		assert!(events.contains(&Event::OrderCreated {
			order: id,
			consumer: public_runs(),
			budget: 1_000,
			max_price_per_unit: 10,
			hardware_class: GPU,
			deadline: 50,
		}));
		assert!(events.contains(&Event::PublicRunOpened { order: id, reward_per_unit: 10, cap: 1_000 }));
		assert!(events.contains(&Event::OrderMatched {
			order: id,
			validator: V1,
			ask: a.ask,
			price_per_unit: 10,
			work_units: WorkUnits(10),
		}));
		assert_eq!(Market::order(id).unwrap().funding, Funding::Emission);
	});
}

#[test]
fn the_cap_pays_for_the_whole_task_and_bounds_what_the_run_reserves() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 4, 1_000);
		// 10 units at the reward of 10: a cap of 99 would leave a round unpaid.
		assert_noop!(
			Market::open_public_run(
				RuntimeOrigin::root(),
				task(1, 10),
				conditions(10, GPU),
				99,
				vec![]
			),
			Error::<Test>::BudgetBelowTask
		);
		// A cap of 100 reserves the 10 units: the run can never mint more than 100.
		let id = open(10, 100);
		assert_eq!(assignment(id).work_units, WorkUnits(10));
	});
}

#[test]
fn only_governance_opens_public_runs_and_bad_terms_are_refused() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Market::open_public_run(
				RuntimeOrigin::signed(ALICE),
				task(1, 10),
				conditions(10, GPU),
				1_000,
				vec![]
			),
			DispatchError::BadOrigin
		);
		let root = || RuntimeOrigin::root();
		assert_noop!(
			Market::open_public_run(root(), task(1, 10), conditions(10, GPU), 0, vec![]),
			Error::<Test>::ZeroBudget
		);
		assert_noop!(
			Market::open_public_run(root(), task(1, 10), conditions(0, GPU), 1_000, vec![]),
			Error::<Test>::ZeroPrice
		);
		assert_noop!(
			Market::open_public_run(root(), task(1, 10), conditions(10, GPU), 99, vec![]),
			Error::<Test>::BudgetBelowTask
		);
		assert_noop!(
			Market::open_public_run(root(), task(0, 10), conditions(10, GPU), 1_000, vec![]),
			Error::<Test>::TaskCountZero
		);
	});
}

#[test]
fn a_public_run_mints_weighted_rewards_and_its_fee_at_completion() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		gpu_ask(V1, 4, 1_000);
		let id = open(10, 1_000);
		// 5 units at 10 = 50, weighed 60%: 30, of which the validator's 10% share is 3.
		assert_eq!(
			Settlement::pay_for_work(id, &PROVIDER, WorkUnits(5), Perbill::from_percent(60)),
			Ok(27)
		);
		assert_eq!(free(PROVIDER), INITIAL + 27);
		assert_eq!(Balances::total_issuance(), issuance + 27);
		assert_eq!(
			market_events().last(),
			Some(&Event::ProviderPaid {
				order: id,
				provider: PROVIDER,
				work_units: WorkUnits(5),
				amount: 27,
				validator_fee: 3,
			})
		);
		// An update that did not help: its units are used up, nothing is minted.
		assert_eq!(
			Settlement::pay_for_work(id, &21, WorkUnits(2), Perbill::zero()),
			Ok(0)
		);
		assert_eq!(free(21), INITIAL);
		assert_eq!(assignment(id).units_paid, WorkUnits(7));
		// A full weight pays the full reward.
		assert_eq!(Settlement::pay_for_work(id, &21, WorkUnits(3), Perbill::one()), Ok(27));
		assert_eq!(
			Settlement::pay_for_work(id, &21, WorkUnits(1), Perbill::one()),
			Err(SettlementError::WorkUnitsAboveReservation)
		);
		assert_eq!(
			Settlement::complete(id),
			Ok(SettlementReceipt { validator_fee: 6, refunded: 0 })
		);
		assert_eq!(free(V1), INITIAL + 6);
		// Minted: 27 + 27 to the providers, 6 to the validator; within the cap of 1 000.
		assert_eq!(Balances::total_issuance(), issuance + 60);
		assert_eq!(free(public_runs()), 0);
		assert!(Orders::<Test>::get(id).is_none());
		assert!(OrdersOf::<Test>::get(public_runs()).is_empty());
		assert_eq!(
			market_events().last(),
			Some(&Event::OrderCompleted { order: id, consumer: public_runs(), refunded: 0 })
		);
	});
}

#[test]
fn a_failed_public_run_mints_no_fee() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		gpu_ask(V1, 4, 1_000);
		let id = open(10, 1_000);
		assert_eq!(Settlement::pay_for_work(id, &PROVIDER, WorkUnits(10), Perbill::one()), Ok(90));
		assert_eq!(Settlement::fail(id), Ok(SettlementReceipt { validator_fee: 0, refunded: 0 }));
		assert_eq!(free(V1), INITIAL);
		assert_eq!(Balances::total_issuance(), issuance + 90);
	});
}

#[test]
fn a_consumers_order_pays_the_full_price_whatever_the_weight() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 10, 1_000);
		let id = order(ALICE, conditions(10, GPU), 1_000);
		assert_eq!(
			Settlement::pay_for_work(id, &PROVIDER, WorkUnits(5), Perbill::from_percent(10)),
			Ok(45)
		);
		assert_eq!(
			Settlement::pay_for_work(id, &21, WorkUnits(5), Perbill::zero()),
			Ok(45)
		);
		assert_eq!(escrowed(ALICE), 1_000 - 90);
	});
}

#[test]
fn an_unmatched_public_run_waits_then_expires_releasing_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let id = open(10, 1_000);
		assert!(is_open(id));
		// An ask priced above the reward does not take it.
		gpu_ask(V1, 11, 1_000);
		assert!(is_open(id));
		run_to_block(50);
		assert!(Orders::<Test>::get(id).is_none());
		assert_eq!(
			market_events().last(),
			Some(&Event::OrderExpired { order: id, consumer: public_runs(), refunded: 0 })
		);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn a_waiting_public_run_is_matched_at_its_reward_by_a_new_ask() {
	ExtBuilder::default().build_and_execute(|| {
		let id = open(10, 1_000);
		gpu_ask(V2, 3, 1_000);
		let a = assignment(id);
		assert_eq!((a.validator, a.price_per_unit, a.work_units), (V2, 10, WorkUnits(10)));
	});
}

#[test]
fn nobody_can_cancel_a_public_run() {
	ExtBuilder::default().build_and_execute(|| {
		let id = open(10, 1_000);
		assert_noop!(
			Market::cancel_order(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::NotOrderConsumer
		);
	});
}
