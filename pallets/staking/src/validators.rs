//! Validator registration, chilling and unregistration.

use crate::{
	endpoint, Authorities, Clusters, Config, EndpointOf, Error, Event, Ledger, MinValidatorBond,
	Pallet, Providers, QueuedAuthorities, RegisteredValidators, ValidatorInfo, ValidatorRecord,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{ensure, traits::Get},
	sp_runtime::{traits::Zero, DispatchResult},
};

impl<T: Config> Pallet<T> {
	/// Registers `who` with `endpoint`, or updates and resumes a registered validator.
	pub(crate) fn do_register_validator(who: &T::AccountId, endpoint: Vec<u8>) -> DispatchResult {
		let bounded: EndpointOf<T> =
			endpoint.clone().try_into().map_err(|_| Error::<T>::EndpointTooLong)?;
		ensure!(endpoint::is_valid_endpoint(&bounded), Error::<T>::InvalidEndpoint);
		ensure!(!Providers::<T>::contains_key(who), Error::<T>::IsProvider);
		let ledger = Ledger::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		ensure!(
			!ledger.active.is_zero() && ledger.active >= MinValidatorBond::<T>::get(),
			Error::<T>::BondBelowMinimum
		);
		let record = ValidatorRecord::<T> { endpoint: bounded, chilled: false };
		if ValidatorInfo::<T>::contains_key(who) {
			ValidatorInfo::<T>::insert(who, record);
			Self::deposit_event(Event::ValidatorUpdated { validator: who.clone(), endpoint });
		} else {
			if RegisteredValidators::<T>::decode_len().unwrap_or(0)
				>= T::MaxValidators::get() as usize
			{
				let idle = Self::idle_validator().ok_or(Error::<T>::TooManyValidators)?;
				Self::evict(&idle, who);
			}
			RegisteredValidators::<T>::try_mutate(|list| list.try_push(who.clone()))
				.map_err(|_| Error::<T>::TooManyValidators)?;
			ValidatorInfo::<T>::insert(who, record);
			Self::deposit_event(Event::ValidatorRegistered { validator: who.clone(), endpoint });
		}
		Ok(())
	}

	/// The first registered validator (in registration order) that holds its slot without
	/// being able to use it: bonded below the minimum and in neither authority set.
	fn idle_validator() -> Option<T::AccountId> {
		let current = Authorities::<T>::get();
		let queued = QueuedAuthorities::<T>::get();
		RegisteredValidators::<T>::get()
			.into_iter()
			.find(|v| !Self::meets_validator_min(v) && !current.contains(v) && !queued.contains(v))
	}

	/// Unregisters the idle validator `idle` to make room for `by`; its providers are kicked
	/// (their bonds stay bonded), its own bond is untouched.
	fn evict(idle: &T::AccountId, by: &T::AccountId) {
		for provider in Clusters::<T>::take(idle) {
			Providers::<T>::remove(&provider);
			Self::drop_empty_ledger(&provider);
			Self::deposit_event(Event::ProviderKicked { provider, validator: idle.clone() });
		}
		RegisteredValidators::<T>::mutate(|list| list.retain(|v| v != idle));
		ValidatorInfo::<T>::remove(idle);
		Self::drop_empty_ledger(idle);
		Self::deposit_event(Event::ValidatorEvicted { validator: idle.clone(), by: by.clone() });
	}

	/// Marks `who` as chilled.
	pub(crate) fn do_chill(who: &T::AccountId) -> DispatchResult {
		ValidatorInfo::<T>::try_mutate(who, |record| {
			let record = record.as_mut().ok_or(Error::<T>::NotValidator)?;
			ensure!(!record.chilled, Error::<T>::AlreadyChilled);
			record.chilled = true;
			Ok::<_, Error<T>>(())
		})?;
		Self::deposit_event(Event::Chilled { validator: who.clone() });
		Ok(())
	}

	/// Removes `who`'s registration.
	pub(crate) fn do_unregister_validator(who: &T::AccountId) -> DispatchResult {
		ensure!(ValidatorInfo::<T>::contains_key(who), Error::<T>::NotValidator);
		ensure!(
			!Authorities::<T>::get().contains(who) && !QueuedAuthorities::<T>::get().contains(who),
			Error::<T>::StillAuthority
		);
		ensure!(Clusters::<T>::get(who).is_empty(), Error::<T>::ClusterNotEmpty);
		RegisteredValidators::<T>::mutate(|list| list.retain(|v| v != who));
		ValidatorInfo::<T>::remove(who);
		Clusters::<T>::remove(who);
		Self::drop_empty_ledger(who);
		Self::deposit_event(Event::ValidatorUnregistered { validator: who.clone() });
		Ok(())
	}

	/// Whether `who` is registered, not chilled and bonded at least the minimum (and not zero).
	pub(crate) fn is_active(who: &T::AccountId) -> bool {
		ValidatorInfo::<T>::get(who).is_some_and(|r| !r.chilled) && Self::meets_validator_min(who)
	}

	/// Whether `who`'s active bond is non-zero and at least `MinValidatorBond`.
	pub(crate) fn meets_validator_min(who: &T::AccountId) -> bool {
		Ledger::<T>::get(who)
			.is_some_and(|l| !l.active.is_zero() && l.active >= MinValidatorBond::<T>::get())
	}
}
