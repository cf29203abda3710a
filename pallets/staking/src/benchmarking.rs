//! Benchmarks of every call, the session hook (`new_session` ranking `v` validators),
//! `report_offence` and `report_offence_compensating` (paying `c` claims), each in its worst
//! case: full unbonding chunk lists, a nearly full validator list, full clusters, a slash
//! reaching every chunk.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::*;
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::{
		traits::{
			fungible::{Inspect, Mutate},
			EnsureOrigin, Get,
		},
		BoundedVec,
	},
	frame_system::{self, RawOrigin},
	pallet_session::SessionManager,
	sp_runtime::{
		traits::{One, Saturating, Zero},
		Perbill, SaturatedConversion,
	},
};
use pot_primitives::{ContentHash, HardwareClass, OffenceKind, ReportOffence, WorkUnits};

const SEED: u32 = 0;
const CLASS: HardwareClass = HardwareClass(0);

/// The endpoint of benchmark validators.
fn endpoint() -> Vec<u8> {
	b"http://validator.bench:8000".to_vec()
}

/// A unit no smaller than any minimum, so that multiples of it satisfy every rule.
fn unit<T: Config>() -> BalanceOf<T> {
	T::Currency::minimum_balance()
		.max(MinValidatorBond::<T>::get())
		.max(MinProviderBond::<T>::get())
		.max(T::BondPerWorkUnit::get())
		.max(One::one())
}

/// An account with plenty of free balance.
fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, SEED);
	T::Currency::set_balance(&who, unit::<T>().saturating_mul(1_000_000u32.into()));
	who
}

/// A funded account with `unit × 1000` bonded.
fn bonded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who = funded::<T>(name, i);
	Pallet::<T>::do_bond(&who, unit::<T>().saturating_mul(1_000u32.into())).unwrap();
	who
}

/// A registered validator with session keys; `extra` units more bond rank it higher.
fn validator<T: Config>(name: &'static str, i: u32, extra: u32) -> T::AccountId {
	let who = bonded::<T>(name, i);
	if extra > 0 {
		Pallet::<T>::do_bond_extra(&who, unit::<T>().saturating_mul(extra.into())).unwrap();
	}
	Pallet::<T>::do_register_validator(&who, endpoint()).unwrap();
	T::SessionKeys::set_keys(&who);
	who
}

/// Registers validators until `count` are registered.
fn fill_validators<T: Config>(count: u32) {
	let mut i = 0;
	while (RegisteredValidators::<T>::get().len() as u32) < count {
		validator::<T>("filler", i, i);
		i += 1;
	}
}

/// A validator whose cluster has `members` providers; returns it and the providers.
fn cluster<T: Config>(members: u32) -> (T::AccountId, Vec<T::AccountId>) {
	let v = validator::<T>("validator", 0, 0);
	let providers = (0..members)
		.map(|i| {
			let p = bonded::<T>("member", i);
			Pallet::<T>::do_join_cluster(&p, v.clone(), CLASS, WorkUnits(100)).unwrap();
			p
		})
		.collect();
	(v, providers)
}

/// Gives `who` (bonded) a full list of unbonding chunks, one per block from now on; returns
/// the block at which all of them are unlocked.
fn full_chunks<T: Config>(who: &T::AccountId) -> frame_system::pallet_prelude::BlockNumberFor<T> {
	let mut now = frame_system::Pallet::<T>::block_number();
	for _ in 0..T::MaxUnbondingChunks::get() {
		now = now.saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(now);
		Pallet::<T>::do_unbond(who, unit::<T>()).unwrap();
	}
	now.saturating_add(T::UnbondingPeriod::get())
}

/// Makes `who` an active validator whose bond allows `capacity` (for the market's benchmarks).
pub(crate) fn make_active_validator<T: Config>(
	who: &T::AccountId,
	bond: BalanceOf<T>,
	capacity: WorkUnits,
) {
	let for_capacity =
		T::BondPerWorkUnit::get().saturating_mul(capacity.0.saturated_into::<BalanceOf<T>>());
	let needed = bond.max(MinValidatorBond::<T>::get()).max(for_capacity).max(One::one());
	let active = Ledger::<T>::get(who).map_or_else(Zero::zero, |l| l.active);
	if active < needed {
		let extra = needed.saturating_sub(active);
		let balance = T::Currency::balance(who)
			.saturating_add(extra)
			.saturating_add(T::Currency::minimum_balance());
		T::Currency::set_balance(who, balance);
		let bonded = if Ledger::<T>::contains_key(who) {
			Pallet::<T>::do_bond_extra(who, extra)
		} else {
			Pallet::<T>::do_bond(who, extra)
		};
		debug_assert!(bonded.is_ok(), "a benchmark validator bonds");
	}
	if !Pallet::<T>::is_active(who) {
		let registered = Pallet::<T>::do_register_validator(who, endpoint());
		debug_assert!(registered.is_ok(), "a benchmark validator registers");
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn bond() {
		let caller = funded::<T>("caller", 0);
		let amount = unit::<T>().saturating_mul(1_000u32.into());

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), amount);

		assert_eq!(Ledger::<T>::get(&caller).unwrap().active, amount);
	}

	#[benchmark]
	fn bond_extra() {
		let caller = bonded::<T>("caller", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), unit::<T>());

		assert_eq!(
			Ledger::<T>::get(&caller).unwrap().active,
			unit::<T>().saturating_mul(1_001u32.into())
		);
	}

	#[benchmark]
	fn unbond() {
		// A provider (its minimum is checked) with all chunks but one in use.
		let (_, providers) = cluster::<T>(1);
		let caller = providers[0].clone();
		let mut now = frame_system::Pallet::<T>::block_number();
		for _ in 1..T::MaxUnbondingChunks::get() {
			now = now.saturating_add(One::one());
			frame_system::Pallet::<T>::set_block_number(now);
			Pallet::<T>::do_unbond(&caller, unit::<T>()).unwrap();
		}
		frame_system::Pallet::<T>::set_block_number(now.saturating_add(One::one()));

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), unit::<T>());

		assert_eq!(
			Ledger::<T>::get(&caller).unwrap().unbonding.len() as u32,
			T::MaxUnbondingChunks::get()
		);
	}

	#[benchmark]
	fn withdraw_unbonded() {
		// Every chunk unlocked and the whole bond unbonding: the ledger goes away.
		let caller = funded::<T>("caller", 0);
		let chunks = T::MaxUnbondingChunks::get();
		Pallet::<T>::do_bond(&caller, unit::<T>().saturating_mul(chunks.into())).unwrap();
		let unlocked = full_chunks::<T>(&caller);
		frame_system::Pallet::<T>::set_block_number(unlocked);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(Ledger::<T>::get(&caller).is_none());
	}

	#[benchmark]
	fn rebond() {
		let caller = bonded::<T>("caller", 0);
		full_chunks::<T>(&caller);
		let all = unit::<T>().saturating_mul(T::MaxUnbondingChunks::get().into());

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), all);

		assert!(Ledger::<T>::get(&caller).unwrap().unbonding.is_empty());
	}

	#[benchmark]
	fn register_validator() {
		// A full list whose only idle validator is the last one, with a full cluster; both
		// authority sets are full of others. Registering evicts it and kicks its providers.
		fill_validators::<T>(T::MaxValidators::get() - 1);
		let (idle, _) = cluster::<T>(T::MaxClusterSize::get());
		let others = BoundedVec::truncate_from(
			RegisteredValidators::<T>::get()
				.into_iter()
				.filter(|v| *v != idle)
				.take(T::MaxAuthorities::get() as usize)
				.collect(),
		);
		Authorities::<T>::put(&others);
		QueuedAuthorities::<T>::put(&others);
		let active = Ledger::<T>::get(&idle).unwrap().active;
		Pallet::<T>::do_unbond(&idle, active).unwrap();
		let caller = bonded::<T>("caller", 0);
		let mut url = b"http://".to_vec();
		url.resize(T::MaxEndpointLen::get() as usize, b'a');

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), url);

		assert!(ValidatorInfo::<T>::contains_key(&caller));
		assert!(!ValidatorInfo::<T>::contains_key(&idle));
	}

	#[benchmark]
	fn chill() {
		let caller = validator::<T>("caller", 0, 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(ValidatorInfo::<T>::get(&caller).unwrap().chilled);
	}

	#[benchmark]
	fn unregister_validator() {
		// A full list with the caller last, and full authority sets without it.
		fill_validators::<T>(T::MaxValidators::get() - 1);
		let caller = validator::<T>("caller", 0, 0);
		let others: Vec<_> = RegisteredValidators::<T>::get()
			.into_iter()
			.filter(|v| *v != caller)
			.take(T::MaxAuthorities::get() as usize)
			.collect();
		let others = BoundedVec::truncate_from(others);
		Authorities::<T>::put(&others);
		QueuedAuthorities::<T>::put(&others);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(!ValidatorInfo::<T>::contains_key(&caller));
	}

	#[benchmark]
	fn join_cluster() {
		let (v, _) = cluster::<T>(T::MaxClusterSize::get() - 1);
		let caller = bonded::<T>("caller", 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()), v.clone(), CLASS, WorkUnits(100));

		assert_eq!(Providers::<T>::get(&caller).unwrap().validator, v);
	}

	#[benchmark]
	fn leave_cluster() {
		let (_, providers) = cluster::<T>(T::MaxClusterSize::get());
		let caller = providers.last().unwrap().clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller.clone()));

		assert!(!Providers::<T>::contains_key(&caller));
	}

	#[benchmark]
	fn kick() {
		let (v, providers) = cluster::<T>(T::MaxClusterSize::get());
		let provider = providers.last().unwrap().clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(v), provider.clone());

		assert!(!Providers::<T>::contains_key(&provider));
	}

	#[benchmark]
	fn set_min_validator_bond() -> Result<(), BenchmarkError> {
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let amount = unit::<T>();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, amount);

		assert_eq!(MinValidatorBond::<T>::get(), amount);
		Ok(())
	}

	#[benchmark]
	fn set_min_provider_bond() -> Result<(), BenchmarkError> {
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let amount = unit::<T>();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, amount);

		assert_eq!(MinProviderBond::<T>::get(), amount);
		Ok(())
	}

	#[benchmark]
	fn set_slash_fraction() -> Result<(), BenchmarkError> {
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let fraction = Perbill::from_percent(42);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, OffenceKind::Censorship, fraction);

		assert_eq!(SlashFractions::<T>::get(OffenceKind::Censorship), fraction);
		Ok(())
	}

	#[benchmark]
	fn set_max_authorities() -> Result<(), BenchmarkError> {
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let count = T::MaxAuthorities::get();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, count);

		assert_eq!(MaxAuthorityCount::<T>::get(), count);
		Ok(())
	}

	#[benchmark]
	fn new_session(v: Linear<1, { T::MaxValidators::get() }>) {
		// Exactly `v` registered validators (genesis ones are unregistered first), all
		// qualified, with distinct bonds.
		Authorities::<T>::kill();
		QueuedAuthorities::<T>::kill();
		for who in RegisteredValidators::<T>::get().iter() {
			for provider in Clusters::<T>::get(who).iter() {
				Pallet::<T>::do_kick(who, provider).unwrap();
			}
			Pallet::<T>::do_unregister_validator(who).unwrap();
		}
		for i in 0..v {
			validator::<T>("candidate", i, i);
		}
		MaxAuthorityCount::<T>::put(T::MaxAuthorities::get());
		let expected = v.min(T::MaxAuthorities::get());

		#[block]
		{
			let elected = <Pallet<T> as SessionManager<T::AccountId>>::new_session(1);
			assert_eq!(elected.map(|e| e.len() as u32), Some(expected));
		}
	}

	#[benchmark]
	fn report_offence() {
		// A slash of everything reaches every chunk; the reporter gets its share.
		let offender = bonded::<T>("offender", 0);
		full_chunks::<T>(&offender);
		SlashFractions::<T>::insert(OffenceKind::InvalidWork, Perbill::one());
		let reporter = funded::<T>("reporter", 0);

		#[block]
		{
			let slashed = <Pallet<T> as ReportOffence<T::AccountId, BalanceOf<T>>>::report_offence(
				&offender,
				OffenceKind::InvalidWork,
				Some(&reporter),
				ContentHash::repeat_byte(1),
			);
			assert!(slashed.is_ok());
		}

		assert!(Ledger::<T>::get(&offender).is_none());
	}

	#[benchmark]
	fn report_offence_compensating(c: Linear<0, { T::MaxClusterSize::get() }>) {
		// A slash of everything reaches every chunk; `c` existing claimants are each paid a
		// unit, all of them within the slash.
		let offender = bonded::<T>("offender", 0);
		full_chunks::<T>(&offender);
		SlashFractions::<T>::insert(OffenceKind::InvalidWork, Perbill::one());
		let slashable = Ledger::<T>::get(&offender).unwrap().total().unwrap();
		let claim = unit::<T>();
		assert!(claim.saturating_mul(c.into()) <= slashable, "every claim is paid");
		let claims: Vec<_> = (0..c).map(|i| (funded::<T>("claimant", i), claim)).collect();

		#[block]
		{
			let compensated = <Pallet<T> as ReportOffence<_, _>>::report_offence_compensating(
				&offender,
				OffenceKind::InvalidWork,
				ContentHash::repeat_byte(1),
				&claims,
			);
			assert_eq!(
				compensated.map(|r| r.compensation()),
				Ok(claim.saturating_mul(c.into()))
			);
		}

		assert!(Ledger::<T>::get(&offender).is_none());
	}

	impl_benchmark_test_suite!(
		Pallet,
		crate::mock::ExtBuilder::default().build(),
		crate::mock::Test
	);
}
