//! Provider clusters: join, leave, kick.

use crate::{
	Clusters, Config, Error, Event, Ledger, MinProviderBond, Pallet, ProviderRecord, Providers,
	ValidatorInfo,
};
use polkadot_sdk::{
	frame_support::ensure,
	sp_runtime::{traits::Zero, DispatchResult},
};
use pot_primitives::{HardwareClass, OpenWorkInspect, WorkUnits};

impl<T: Config> Pallet<T> {
	/// Makes `provider` a member of `validator`'s cluster.
	pub(crate) fn do_join_cluster(
		provider: &T::AccountId,
		validator: T::AccountId,
		hardware_class: HardwareClass,
		capacity: WorkUnits,
	) -> DispatchResult {
		ensure!(!capacity.is_zero(), Error::<T>::ZeroCapacity);
		ensure!(!ValidatorInfo::<T>::contains_key(provider), Error::<T>::IsValidator);
		ensure!(!Providers::<T>::contains_key(provider), Error::<T>::AlreadyInCluster);
		ensure!(Self::is_active(&validator), Error::<T>::ValidatorNotActive);
		let ledger = Ledger::<T>::get(provider).ok_or(Error::<T>::NotBonded)?;
		ensure!(
			!ledger.active.is_zero() && ledger.active >= MinProviderBond::<T>::get(),
			Error::<T>::BondBelowMinimum
		);
		Clusters::<T>::try_mutate(&validator, |members| members.try_push(provider.clone()))
			.map_err(|_| Error::<T>::ClusterFull)?;
		Providers::<T>::insert(
			provider,
			ProviderRecord::<T> { validator: validator.clone(), hardware_class, capacity },
		);
		Self::deposit_event(Event::ProviderJoined {
			provider: provider.clone(),
			validator,
			hardware_class,
			capacity,
		});
		Ok(())
	}

	/// Removes `provider` from its cluster; returns the cluster's validator.
	fn remove_member(provider: &T::AccountId) -> Result<T::AccountId, Error<T>> {
		let record = Providers::<T>::take(provider).ok_or(Error::<T>::NotInCluster)?;
		Clusters::<T>::mutate_exists(&record.validator, |members| {
			if let Some(list) = members {
				list.retain(|p| p != provider);
				if list.is_empty() {
					*members = None;
				}
			}
		});
		Self::drop_empty_ledger(provider);
		Ok(record.validator)
	}

	/// `provider` leaves its cluster, if it has no open work.
	pub(crate) fn do_leave_cluster(provider: &T::AccountId) -> DispatchResult {
		ensure!(Providers::<T>::contains_key(provider), Error::<T>::NotInCluster);
		ensure!(!T::OpenWork::has_open_work(provider), Error::<T>::HasOpenWork);
		let validator = Self::remove_member(provider)?;
		Self::deposit_event(Event::ProviderLeft { provider: provider.clone(), validator });
		Ok(())
	}

	/// `validator` removes `provider` from its cluster.
	pub(crate) fn do_kick(validator: &T::AccountId, provider: &T::AccountId) -> DispatchResult {
		let record = Providers::<T>::get(provider).ok_or(Error::<T>::NotInCluster)?;
		ensure!(&record.validator == validator, Error::<T>::NotClusterValidator);
		Self::remove_member(provider)?;
		Self::deposit_event(Event::ProviderKicked {
			provider: provider.clone(),
			validator: validator.clone(),
		});
		Ok(())
	}
}
