//! Invariants of validator staking, checked by `try_state` and after every test.
//!
//! This iterates whole maps: it is for `try-runtime` and tests only, never for block execution.

use crate::{
	endpoint, ledger, Authorities, Clusters, Config, Ledger, MaxAuthorityCount, Pallet, Providers,
	QueuedAuthorities, RegisteredValidators, ValidatorInfo,
};
use alloc::collections::BTreeSet;
use polkadot_sdk::{
	frame_support::{ensure, traits::Get},
	sp_runtime::{traits::Zero, TryRuntimeError},
};

/// Whether `items` has no duplicates.
fn unique<I: Ord>(items: &[I]) -> bool {
	items.iter().collect::<BTreeSet<_>>().len() == items.len()
}

impl<T: Config> Pallet<T> {
	/// Checks every invariant of staking:
	/// - the balance each ledger's account holds under `HoldReason::Bond` equals its active
	///   bond plus its unbonding chunks; chunks are non-zero and unlock in strictly increasing
	///   blocks (their number is bounded by the `BoundedVec`); an empty ledger is kept only for
	///   a validator or provider;
	/// - registered validators are listed once, each with a record, a ledger and a valid
	///   endpoint, and none is a provider;
	/// - every provider is bonded, is in the cluster of a registered validator and in no other,
	///   with a non-zero capacity; clusters are non-empty and list only their own providers;
	/// - the current and queued authority sets are unique subsets of the registered
	///   validators (session keys are checked when electing: pallet-session lets keys be
	///   purged at any time), and `MaxAuthorityCount` is between 1 and `MaxAuthorities`.
	///
	/// Every collection is a `BoundedVec`, so its bound holds by construction.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		for (who, l) in Ledger::<T>::iter() {
			let total = l.total().ok_or("a ledger's total overflows")?;
			ensure!(ledger::held::<T>(&who) == total, "held bond differs from the ledger");
			ensure!(l.unbonding.iter().all(|c| !c.value.is_zero()), "an unbonding chunk is empty");
			ensure!(
				l.unbonding.windows(2).all(|w| matches!(w, [a, b] if a.unlock_at < b.unlock_at)),
				"unbonding chunks are out of order"
			);
			ensure!(!l.is_empty() || Self::has_role(&who), "an empty ledger of nobody is kept");
		}

		let registered = RegisteredValidators::<T>::get();
		ensure!(unique(&registered), "a validator is registered twice");
		ensure!(
			ValidatorInfo::<T>::iter_keys().count() == registered.len(),
			"validator records differ from the registered list"
		);
		for who in registered.iter() {
			let record =
				ValidatorInfo::<T>::get(who).ok_or("a registered validator has no record")?;
			ensure!(endpoint::is_valid_endpoint(&record.endpoint), "an endpoint is invalid");
			ensure!(Ledger::<T>::contains_key(who), "a registered validator has no ledger");
			ensure!(!Providers::<T>::contains_key(who), "a validator is also a provider");
		}

		let mut members = 0usize;
		for (validator, list) in Clusters::<T>::iter() {
			ensure!(!list.is_empty() && unique(&list), "a cluster is empty or repeats");
			ensure!(registered.contains(&validator), "a cluster of an unregistered validator");
			for provider in list.iter() {
				let record = Providers::<T>::get(provider).ok_or("a cluster lists a non-member")?;
				ensure!(record.validator == validator, "a cluster lists another's member");
			}
			members = members.saturating_add(list.len());
		}
		let mut providers = 0usize;
		for (provider, record) in Providers::<T>::iter() {
			ensure!(Ledger::<T>::contains_key(&provider), "a provider is not bonded");
			ensure!(!record.capacity.is_zero(), "a provider has zero capacity");
			ensure!(
				Clusters::<T>::get(&record.validator).contains(&provider),
				"a provider is missing from its cluster"
			);
			providers = providers.saturating_add(1);
		}
		ensure!(providers == members, "cluster lists differ from the providers");

		for set in [Authorities::<T>::get(), QueuedAuthorities::<T>::get()] {
			ensure!(unique(&set), "an authority set repeats");
			ensure!(
				set.iter().all(|a| registered.contains(a)),
				"an authority is not a registered validator"
			);
		}
		let count = MaxAuthorityCount::<T>::get();
		ensure!(
			count >= 1 && count <= T::MaxAuthorities::get(),
			"MaxAuthorityCount is out of range"
		);
		Ok(())
	}
}
