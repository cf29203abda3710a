//! Tests of the market. Every test runs in `ExtBuilder::build_and_execute`, which checks all
//! invariants (`do_try_state`) after the test.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod asks;
mod expiry;
mod matching;
mod orders;
mod public_runs;
mod random;
mod settlement;
mod views;

use crate::{mock::*, *};
use polkadot_sdk::{frame_support::dispatch::DispatchResultWithPostInfo, sp_runtime::Perbill};
use pot_primitives::{
	HardwareClass, OrderConditionsInput, OrderId, RegionTag, TaskSpec, WorkUnits,
};

/// `v` places an ask.
pub(crate) fn place(
	v: AccountId,
	price: Balance,
	capacity: u64,
	classes: Vec<HardwareClass>,
	regions: Vec<RegionTag>,
) -> DispatchResultWithPostInfo {
	Market::place_ask(RuntimeOrigin::signed(v), price, WorkUnits(capacity), classes, regions)
}

/// `v` places a GPU ask without regions; must succeed.
pub(crate) fn gpu_ask(v: AccountId, price: Balance, capacity: u64) {
	place(v, price, capacity, vec![GPU], vec![]).unwrap();
}

/// `who` creates an order without metadata.
pub(crate) fn create(
	who: AccountId,
	task: TaskSpec,
	conditions: OrderConditionsInput<Balance, BlockNumber>,
	budget: Balance,
) -> DispatchResultWithPostInfo {
	Market::create_order(RuntimeOrigin::signed(who), task, conditions, budget, vec![])
}

/// `who` creates an order of 10 work units (1 round × 10 steps × 1 provider); must succeed.
pub(crate) fn order(
	who: AccountId,
	conditions: OrderConditionsInput<Balance, BlockNumber>,
	budget: Balance,
) -> OrderId {
	let id = NextOrderId::<Test>::get();
	create(who, task(1, 10), conditions, budget).unwrap();
	id
}

/// The terms of matched order `id`.
pub(crate) fn assignment(id: OrderId) -> AssignmentOf<Test> {
	Orders::<Test>::get(id).expect("order exists").assignment().expect("order matched").clone()
}

/// Whether order `id` is live and open.
pub(crate) fn is_open(id: OrderId) -> bool {
	Orders::<Test>::get(id).is_some_and(|o| o.is_open())
}
