//! The pallets whose weights `pot-node benchmark pallet` measures in this runtime.

use alloc::{string::String, vec, vec::Vec};
use polkadot_sdk::{
	frame_benchmarking::{baseline, define_benchmarks, BenchmarkBatch, BenchmarkConfig, BenchmarkList},
	frame_support::traits::{StorageInfo, StorageInfoTrait, TrackedStorageKey, WhitelistedStorageKeys},
	frame_system_benchmarking,
};

use crate::{AllPalletsWithSystem, Runtime};

type SystemBench = frame_system_benchmarking::Pallet<Runtime>;
type BaselineBench = baseline::Pallet<Runtime>;

impl frame_system_benchmarking::Config for Runtime {}
impl baseline::Config for Runtime {}

define_benchmarks!(
	[frame_benchmarking, BaselineBench]
	[frame_system, SystemBench]
	[pallet_balances, crate::Balances]
	[pallet_timestamp, crate::Timestamp]
	[pallet_sudo, crate::Sudo]
	[pallet_pot_market, crate::Market]
	[pallet_pot_staking, crate::Staking]
	[pallet_pot_pol, crate::Pol]
);

/// Every benchmark this runtime offers and the storage it touches.
pub fn metadata(extra: bool) -> (Vec<BenchmarkList>, Vec<StorageInfo>) {
	let mut list = Vec::<BenchmarkList>::new();
	list_benchmarks!(list, extra);
	(list, AllPalletsWithSystem::storage_info())
}

/// Runs the benchmarks selected by `config`.
pub fn dispatch(config: BenchmarkConfig) -> Result<Vec<BenchmarkBatch>, String> {
	let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
	let mut batches = Vec::<BenchmarkBatch>::new();
	let params = (&config, &whitelist);
	add_benchmarks!(params, batches);
	Ok(batches)
}

/// Sets up what the PoL benchmarks need through the real market and staking pallets: the
/// validator bonded, registered and asking; every provider bonded in its cluster; a consumer's
/// order matched to it.
pub struct PolBenchmarkHelper;

impl pallet_pot_pol::BenchmarkHelper<crate::AccountId> for PolBenchmarkHelper {
	fn matched_order(
		validator: &crate::AccountId,
		providers: &[crate::AccountId],
		rounds: u32,
	) -> pot_primitives::OrderId {
		use crate::{Balances, Market, RuntimeOrigin, Staking, System, MILLI_UNIT, UNIT};
		use polkadot_sdk::{
			frame_benchmarking::account, frame_support::traits::fungible::Mutate,
		};
		use pot_primitives::{HardwareClass, OrderConditionsInput, ValidatorInspect, WorkUnits};

		const STEPS_PER_ROUND: u32 = 10;
		let class = HardwareClass(0);
		let funds = 1_000_000 * UNIT;
		let count = u32::try_from(providers.len()).unwrap_or(u32::MAX).max(1);
		let units = u64::from(rounds.max(1))
			.saturating_mul(u64::from(STEPS_PER_ROUND))
			.saturating_mul(u64::from(count));
		<Staking as ValidatorInspect<_, _>>::set_active_validator(
			validator,
			10_000 * UNIT,
			WorkUnits(units),
		);
		for provider in providers {
			let _ = Balances::set_balance(provider, funds);
			let origin = RuntimeOrigin::signed(provider.clone());
			let bonded = Staking::bond(origin.clone(), 1_000 * UNIT);
			assert!(bonded.is_ok(), "provider bond: {bonded:?}");
			let joined = Staking::join_cluster(origin, validator.clone(), class, WorkUnits(10));
			assert!(joined.is_ok(), "join_cluster: {joined:?}");
		}
		let asked = Market::place_ask(
			RuntimeOrigin::signed(validator.clone()),
			MILLI_UNIT,
			WorkUnits(units),
			vec![class],
			vec![],
		);
		assert!(asked.is_ok(), "place_ask: {asked:?}");
		// One consumer and one deadline block per order: the market bounds both.
		let id = pallet_pot_market::NextOrderId::<crate::Runtime>::get();
		let index = u32::try_from(id.0).unwrap_or(u32::MAX);
		let consumer: crate::AccountId = account("pol-consumer", index, 0);
		let _ = Balances::set_balance(&consumer, funds);
		let conditions = OrderConditionsInput {
			max_price_per_unit: MILLI_UNIT,
			deadline: System::block_number()
				.saturating_add(10_000)
				.saturating_add(index),
			min_providers: count,
			max_providers: count,
			hardware_class: class,
			regions: vec![],
		};
		let budget = MILLI_UNIT.saturating_mul(u128::from(units));
		let task = pot_primitives::fixtures::sample_task(rounds.max(1), STEPS_PER_ROUND);
		let created = Market::create_order(
			RuntimeOrigin::signed(consumer),
			task,
			conditions,
			budget,
			vec![],
		);
		assert!(created.is_ok(), "create_order: {created:?}");
		id
	}

	fn active_validators(validators: &[crate::AccountId]) {
		use crate::{Staking, UNIT};
		use pot_primitives::{ValidatorInspect, WorkUnits};
		// Registered in this order, each bonded well above `ChallengeBond` and the minimum.
		for validator in validators {
			<Staking as ValidatorInspect<_, _>>::set_active_validator(
				validator,
				10_000 * UNIT,
				WorkUnits(1),
			);
		}
	}
}
