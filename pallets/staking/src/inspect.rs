//! What other pallets see of staking: [`ValidatorInspect`] for the market, [`ClusterInspect`]
//! and [`ReportOffence`] for the verification (PoL) pallet.

use crate::{
	weights::WeightInfo, BalanceOf, Clusters, Config, Ledger, MinProviderBond, Pallet, Providers,
	RegisteredValidators, ValidatorInfo,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::traits::Get,
	sp_runtime::{
		traits::{CheckedDiv, Zero},
		SaturatedConversion, Weight,
	},
};
use pot_primitives::{
	ClusterInspect, ClusterMember, Compensated, ContentHash, OffenceError, OffenceKind,
	ReportOffence, Slashed, ValidatorInspect, WorkUnits,
};

impl<T: Config> ValidatorInspect<T::AccountId, BalanceOf<T>> for Pallet<T> {
	/// Registered, not chilled, active bond at least `MinValidatorBond` (membership of the
	/// authority set is not required).
	fn is_active_validator(who: &T::AccountId) -> bool {
		Self::is_active(who)
	}

	/// The active bond of a registered validator (unbonding funds do not count); zero for
	/// anyone else.
	fn bond_of(who: &T::AccountId) -> BalanceOf<T> {
		if !ValidatorInfo::<T>::contains_key(who) {
			return Zero::zero();
		}
		Ledger::<T>::get(who).map_or_else(Zero::zero, |l| l.active)
	}

	/// `active bond / BondPerWorkUnit` work units for an active validator, zero otherwise.
	fn capacity_allowed(who: &T::AccountId) -> WorkUnits {
		if !Self::is_active(who) {
			return WorkUnits::ZERO;
		}
		let bond = Ledger::<T>::get(who).map_or_else(Zero::zero, |l| l.active);
		let units = bond.checked_div(&T::BondPerWorkUnit::get()).unwrap_or_else(Zero::zero);
		WorkUnits(units.saturated_into::<u64>())
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn set_active_validator(who: &T::AccountId, bond: BalanceOf<T>, capacity: WorkUnits) {
		crate::benchmarking::make_active_validator::<T>(who, bond, capacity);
	}
}

impl<T: Config> ClusterInspect<T::AccountId> for Pallet<T> {
	fn cluster_of(provider: &T::AccountId) -> Option<T::AccountId> {
		Providers::<T>::get(provider).map(|r| r.validator)
	}

	/// Members bonded at least `MinProviderBond`, in joining order.
	fn members(validator: &T::AccountId) -> Vec<ClusterMember<T::AccountId>> {
		let min = MinProviderBond::<T>::get();
		Clusters::<T>::get(validator)
			.into_iter()
			.filter(|p| Ledger::<T>::get(p).is_some_and(|l| !l.active.is_zero() && l.active >= min))
			.filter_map(|provider| {
				let r = Providers::<T>::get(&provider)?;
				Some(ClusterMember {
					provider,
					hardware_class: r.hardware_class,
					capacity: r.capacity,
				})
			})
			.collect()
	}

	fn max_members() -> u32 {
		T::MaxClusterSize::get()
	}

	/// The registered artifact endpoint, chilled or not.
	fn endpoint_of(validator: &T::AccountId) -> Option<Vec<u8>> {
		ValidatorInfo::<T>::get(validator).map(|r| r.endpoint.into_inner())
	}

	/// Registered validators that are active (not chilled, bonded at least `MinValidatorBond`),
	/// in registration order; at most `MaxValidators`.
	fn active_validators() -> Vec<T::AccountId> {
		RegisteredValidators::<T>::get().into_iter().filter(|v| Self::is_active(v)).collect()
	}

	fn max_validators() -> u32 {
		T::MaxValidators::get()
	}
}

impl<T: Config> ReportOffence<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn report_offence(
		offender: &T::AccountId,
		kind: OffenceKind,
		reporter: Option<&T::AccountId>,
		evidence: ContentHash,
	) -> Result<Slashed<BalanceOf<T>>, OffenceError> {
		Self::do_slash(offender, kind, reporter, evidence)
	}

	/// Active bond plus unbonding chunks.
	fn slashable(who: &T::AccountId) -> BalanceOf<T> {
		Ledger::<T>::get(who).and_then(|l| l.total()).unwrap_or_else(Zero::zero)
	}

	fn report_weight() -> Weight {
		T::WeightInfo::report_offence()
	}

	/// The slash as `report_offence` without a reporter; the claims are paid out of it, in
	/// order, before the slash handler gets the rest.
	fn report_offence_compensating(
		offender: &T::AccountId,
		kind: OffenceKind,
		evidence: ContentHash,
		claims: &[(T::AccountId, BalanceOf<T>)],
	) -> Result<Compensated<BalanceOf<T>>, OffenceError> {
		Self::do_slash_compensating(offender, kind, evidence, claims)
	}

	/// The benchmarked weight with `claims` claims, every one of them paid.
	fn report_compensating_weight(claims: u32) -> Weight {
		T::WeightInfo::report_offence_compensating(claims)
	}
}
