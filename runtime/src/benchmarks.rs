//! The pallets whose weights `pot-node benchmark pallet` measures in this runtime.

use alloc::{string::String, vec::Vec};
use polkadot_sdk::{
	frame_benchmarking::{
		self, baseline, define_benchmarks, BenchmarkBatch, BenchmarkConfig, BenchmarkList,
	},
	frame_support::traits::{StorageInfo, StorageInfoTrait, TrackedStorageKey, WhitelistedStorageKeys},
	frame_system_benchmarking, pallet_balances, pallet_sudo, pallet_timestamp,
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
