//! Benchmarks of every call, the expiry hook and the settlement functions, each in its worst
//! case: `a` cheaper asks that the order must walk past (their regions do not fit), `m`
//! waiting orders that all get matched, `c` hardware classes, `n` expiring orders.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{escrow, *};
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::traits::{
		fungible::{Inspect, Mutate},
		EnsureOrigin, Get,
	},
	frame_system::{self, pallet_prelude::BlockNumberFor, RawOrigin},
	sp_runtime::{
		traits::{One, Saturating},
		Perbill,
	},
};
use pot_primitives::{
	Funding, HardwareClass, OrderConditionsInput, OrderId, OrderSettlement, RegionTag, TaskSpec,
	ValidatorInspect, WorkUnits,
};

const SEED: u32 = 0;
/// The region the benchmark orders want.
const GOOD: RegionTag = RegionTag(0);
/// The region of the asks they must walk past.
const BAD: RegionTag = RegionTag(u16::MAX);
/// The class of every order.
const CLASS: HardwareClass = HardwareClass(0);
/// Capacity of every benchmark ask.
const CAPACITY: u64 = 1_000_000;

/// The price of the cheap asks; good asks cost twice as much.
fn unit<T: Config>() -> BalanceOf<T> {
	escrow::minimum_balance::<T>().max(One::one())
}

fn good_price<T: Config>() -> BalanceOf<T> {
	unit::<T>().saturating_mul(2u32.into())
}

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, SEED);
	T::Currency::set_balance(&who, unit::<T>().saturating_mul(1_000_000_000u32.into()));
	who
}

fn validator<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who = funded::<T>(name, i);
	T::Validators::set_active_validator(
		&who,
		unit::<T>().saturating_mul(1_000u32.into()),
		WorkUnits(CAPACITY.saturating_mul(10)),
	);
	who
}

fn classes(c: u32) -> Vec<HardwareClass> {
	(0..c.max(1)).map(|i| HardwareClass(i as u16)).collect()
}

fn ask<T: Config>(
	who: &T::AccountId,
	price: BalanceOf<T>,
	capacity: u64,
	classes: Vec<HardwareClass>,
	region: RegionTag,
) {
	Pallet::<T>::do_place_ask(who.clone(), price, WorkUnits(capacity), classes, vec![region])
		.unwrap();
}

/// `a` asks cheaper than the good ask, in regions no benchmark order allows.
fn cheaper_asks<T: Config>(a: u32) {
	for i in 0..a {
		let v = validator::<T>("cheap", i);
		ask::<T>(&v, unit::<T>(), CAPACITY, vec![CLASS], BAD);
	}
}

/// A task of `rounds` work units with one provider.
fn task(rounds: u32) -> TaskSpec {
	pot_primitives::fixtures::sample_task(rounds.max(1), 1)
}

/// Conditions at the good price, for the good region (as many regions as allowed), `ahead`
/// blocks from now.
fn conditions<T: Config>(ahead: u32) -> ConditionsInputOf<T> {
	let now = frame_system::Pallet::<T>::block_number();
	OrderConditionsInput {
		max_price_per_unit: good_price::<T>(),
		deadline: now.saturating_add(BlockNumberFor::<T>::from(ahead.max(1))),
		min_providers: 1,
		max_providers: 1,
		hardware_class: CLASS,
		regions: (0..T::MaxRegions::get()).map(|r| RegionTag(r as u16)).collect(),
	}
}

fn budget<T: Config>() -> BalanceOf<T> {
	unit::<T>().saturating_mul(1_000_000u32.into())
}

/// Creates an order of `rounds` work units for a new consumer; returns its id.
fn new_order<T: Config>(name: &'static str, i: u32, rounds: u32, ahead: u32) -> OrderId {
	new_order_in::<T>(name, i, rounds, ahead, CLASS)
}

/// As [`new_order`], in hardware class `class`.
fn new_order_in<T: Config>(
	name: &'static str,
	i: u32,
	rounds: u32,
	ahead: u32,
	class: HardwareClass,
) -> OrderId {
	let consumer = funded::<T>(name, i);
	let id = NextOrderId::<T>::get();
	let mut c = conditions::<T>(ahead);
	c.hardware_class = class;
	Pallet::<T>::do_create_order(consumer, Funding::Escrow, task(rounds), c, budget::<T>(), vec![])
		.unwrap();
	id
}

/// How many blocks ahead the deadline of the `k`-th waiting benchmark order lies, so that no
/// deadline block is full.
fn ahead<T: Config>(k: u32) -> u32 {
	2 + k / T::MaxOrdersPerDeadline::get().max(1)
}

/// `m` waiting orders of one work unit each, at the good price.
fn waiting_orders<T: Config>(m: u32) -> Vec<OrderId> {
	let ids: Vec<_> = (0..m).map(|i| new_order::<T>("waiting", i, 1, ahead::<T>(i))).collect();
	for id in ids.iter() {
		assert!(Orders::<T>::get(id).unwrap().is_open());
	}
	ids
}

/// Fills the queue of the class with `count` more waiting orders whose maximum price is below
/// the good price, so that no ask tries them but every queue access decodes a full queue.
/// `from` numbers them after the other waiting orders, for their deadlines.
fn fill_queue<T: Config>(from: u32, count: u32) {
	for i in 0..count {
		let consumer = funded::<T>("filler", i);
		let mut c = conditions::<T>(ahead::<T>(from + i));
		c.max_price_per_unit = unit::<T>();
		Pallet::<T>::do_create_order(consumer, Funding::Escrow, task(1), c, budget::<T>(), vec![])
			.unwrap();
	}
}

/// `m` waiting orders at the good price in an otherwise full queue.
fn full_queue<T: Config>(m: u32) {
	waiting_orders::<T>(m);
	fill_queue::<T>(m, T::MaxWaitingOrders::get().saturating_sub(m));
}

fn assigned<T: Config>(who: &T::AccountId) -> u32 {
	AssignedOrders::<T>::get(who).len() as u32
}

/// A full ask whose order closes; `m` waiting orders then fill the freed capacity, each
/// walking past `a` cheaper asks.
fn setup_close<T: Config>(c: u32, a: u32, m: u32) -> (T::AccountId, OrderId) {
	cheaper_asks::<T>(a);
	let good = validator::<T>("good", 0);
	ask::<T>(&good, good_price::<T>(), u64::from(m.max(1)), classes(c), GOOD);
	let id = new_order::<T>("consumer", 0, m.max(1), 10);
	let provider = funded::<T>("provider", 0);
	Pallet::<T>::pay_for_work(id, &provider, WorkUnits(1), Perbill::one()).unwrap();
	full_queue::<T>(m);
	(good, id)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_order(a: Linear<0, { T::MaxAsks::get() }>) -> Result<(), BenchmarkError> {
		// The order walks past `a` asks, finds none and joins a queue that it fills.
		cheaper_asks::<T>(a);
		let max_waiting = T::MaxWaitingOrders::get();
		fill_queue::<T>(0, max_waiting - 1);
		let caller = funded::<T>("consumer", 0);
		let metadata = vec![7u8; T::MaxMetadataLen::get() as usize];
		let id = NextOrderId::<T>::get();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(caller),
			task(1),
			conditions::<T>(ahead::<T>(max_waiting)),
			budget::<T>(),
			metadata,
		);

		assert!(Orders::<T>::get(id).unwrap().is_open());
		assert_eq!(WaitingOrders::<T>::get(CLASS).len() as u32, max_waiting);
		Ok(())
	}

	#[benchmark]
	fn open_public_run(a: Linear<0, { T::MaxAsks::get() }>) -> Result<(), BenchmarkError> {
		// As `create_order`: the run walks past `a` asks, finds none and fills the queue.
		cheaper_asks::<T>(a);
		let max_waiting = T::MaxWaitingOrders::get();
		fill_queue::<T>(0, max_waiting - 1);
		let origin =
			T::PublicRunOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let metadata = vec![7u8; T::MaxMetadataLen::get() as usize];
		let id = NextOrderId::<T>::get();

		#[extrinsic_call]
		_(
			origin as T::RuntimeOrigin,
			task(1),
			conditions::<T>(ahead::<T>(max_waiting)),
			budget::<T>(),
			metadata,
		);

		let run = Orders::<T>::get(id).unwrap();
		assert!(run.is_open() && run.funding == Funding::Emission);
		assert_eq!(WaitingOrders::<T>::get(CLASS).len() as u32, max_waiting);
		Ok(())
	}

	#[benchmark]
	fn cancel_order() -> Result<(), BenchmarkError> {
		let max_waiting = T::MaxWaitingOrders::get();
		fill_queue::<T>(0, max_waiting - 1);
		let caller = funded::<T>("consumer", 0);
		let id = NextOrderId::<T>::get();
		Pallet::<T>::do_create_order(
			caller.clone(),
			Funding::Escrow,
			task(1),
			conditions::<T>(ahead::<T>(max_waiting)),
			budget::<T>(),
			vec![7u8; T::MaxMetadataLen::get() as usize],
		)?;

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), id);

		assert!(Orders::<T>::get(id).is_none());
		Ok(())
	}

	#[benchmark]
	fn place_ask(
		c: Linear<1, { T::MaxHardwareClasses::get() }>,
		a: Linear<0, { T::MaxAsks::get() - 1 }>,
		m: Linear<0, { T::MaxMatchAttemptsPerAsk::get() }>,
	) -> Result<(), BenchmarkError> {
		cheaper_asks::<T>(a);
		full_queue::<T>(m);
		let good = validator::<T>("good", 0);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(good.clone()),
			good_price::<T>(),
			WorkUnits(CAPACITY),
			classes(c),
			vec![GOOD],
		);

		assert_eq!(assigned::<T>(&good), m);
		Ok(())
	}

	#[benchmark]
	fn update_ask(
		c: Linear<1, { T::MaxHardwareClasses::get() }>,
		a: Linear<0, { T::MaxAsks::get() - 1 }>,
		m: Linear<0, { T::MaxMatchAttemptsPerAsk::get() }>,
	) -> Result<(), BenchmarkError> {
		cheaper_asks::<T>(a);
		let good = validator::<T>("good", 0);
		ask::<T>(&good, good_price::<T>(), CAPACITY, classes(c), BAD);
		full_queue::<T>(m);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(good.clone()),
			good_price::<T>(),
			WorkUnits(CAPACITY),
			classes(c),
			vec![GOOD],
		);

		assert_eq!(assigned::<T>(&good), m);
		Ok(())
	}

	#[benchmark]
	fn withdraw_ask(c: Linear<1, { T::MaxHardwareClasses::get() }>) -> Result<(), BenchmarkError> {
		let v = validator::<T>("good", 0);
		ask::<T>(&v, good_price::<T>(), CAPACITY, classes(c), GOOD);

		#[extrinsic_call]
		_(RawOrigin::Signed(v.clone()));

		assert!(Asks::<T>::get(&v).is_none());
		Ok(())
	}

	#[benchmark]
	fn expire_orders(
		n: Linear<0, { T::MaxOrdersPerDeadline::get() }>,
	) -> Result<(), BenchmarkError> {
		// One class per order: each expiry rewrites its own queue.
		let ids: Vec<_> = (0..n)
			.map(|i| new_order_in::<T>("consumer", i, 1, 1, HardwareClass(i as u16)))
			.collect();
		let deadline = frame_system::Pallet::<T>::block_number().saturating_add(One::one());

		#[block]
		{
			let _ = Pallet::<T>::expire_due(deadline);
		}

		assert!(ids.iter().all(|id| Orders::<T>::get(id).is_none()));
		Ok(())
	}

	#[benchmark]
	fn pay_for_work() -> Result<(), BenchmarkError> {
		let good = validator::<T>("good", 0);
		ask::<T>(&good, good_price::<T>(), CAPACITY, vec![CLASS], GOOD);
		let id = new_order::<T>("consumer", 0, 2, 10);
		let provider = funded::<T>("provider", 0);

		#[block]
		{
			assert!(Pallet::<T>::pay_for_work(id, &provider, WorkUnits(1), Perbill::one()).is_ok());
		}

		assert_eq!(Orders::<T>::get(id).unwrap().assignment().unwrap().units_paid, WorkUnits(1));
		Ok(())
	}

	#[benchmark]
	fn pay_for_public_work() -> Result<(), BenchmarkError> {
		let good = validator::<T>("good", 0);
		ask::<T>(&good, good_price::<T>(), CAPACITY, vec![CLASS], GOOD);
		let id = NextOrderId::<T>::get();
		Pallet::<T>::do_create_order(
			Pallet::<T>::public_run_account(),
			Funding::Emission,
			task(2),
			conditions::<T>(10),
			budget::<T>(),
			vec![],
		)
		.unwrap();
		let provider = funded::<T>("provider", 0);
		let issuance = T::Currency::total_issuance();

		#[block]
		{
			assert!(Pallet::<T>::pay_for_work(id, &provider, WorkUnits(1), Perbill::one()).is_ok());
		}

		assert_eq!(Orders::<T>::get(id).unwrap().assignment().unwrap().units_paid, WorkUnits(1));
		assert!(T::Currency::total_issuance() > issuance);
		Ok(())
	}

	#[benchmark]
	fn complete_order(
		c: Linear<1, { T::MaxHardwareClasses::get() }>,
		a: Linear<0, { T::MaxAsks::get() - 1 }>,
		m: Linear<0, { T::MaxMatchAttemptsPerAsk::get() }>,
	) -> Result<(), BenchmarkError> {
		let (good, id) = setup_close::<T>(c, a, m);

		#[block]
		{
			assert!(Pallet::<T>::complete(id).is_ok());
		}

		assert_eq!(assigned::<T>(&good), m);
		Ok(())
	}

	#[benchmark]
	fn fail_order(
		c: Linear<1, { T::MaxHardwareClasses::get() }>,
		a: Linear<0, { T::MaxAsks::get() - 1 }>,
		m: Linear<0, { T::MaxMatchAttemptsPerAsk::get() }>,
	) -> Result<(), BenchmarkError> {
		let (good, id) = setup_close::<T>(c, a, m);

		#[block]
		{
			assert!(Pallet::<T>::fail(id).is_ok());
		}

		assert_eq!(assigned::<T>(&good), m);
		Ok(())
	}

	impl_benchmark_test_suite!(
		Pallet,
		crate::mock::ExtBuilder::default().build(),
		crate::mock::Test
	);
}
