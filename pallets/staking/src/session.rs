//! The consensus set: this pallet is pallet-session's `SessionManager`.
//!
//! At each new session the authorities are the registered, not chilled validators with session
//! keys and an active bond of at least `MinValidatorBond` (and above zero), ranked by active
//! bond (descending), then registration order, at most `MaxAuthorityCount` of them. The ranking
//! reads at most `MaxValidators` ledgers and records. If nobody qualifies the session keeps the
//! current set (`None`), so the chain never loses all its authorities.

use crate::{
	Authorities, Config, Event, HasSessionKeys, Ledger, MaxAuthorityCount, MinValidatorBond,
	Pallet, QueuedAuthorities, RegisteredValidators, ValidatorInfo, WeightInfo,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{dispatch::DispatchClass, traits::Get, BoundedVec},
	pallet_session::SessionManager,
	sp_runtime::traits::Zero,
};

impl<T: Config> Pallet<T> {
	/// The validators that would be elected now, best first.
	pub fn elect() -> BoundedVec<T::AccountId, T::MaxAuthorities> {
		let min = MinValidatorBond::<T>::get();
		let mut candidates: Vec<_> = RegisteredValidators::<T>::get()
			.into_iter()
			.enumerate()
			.filter_map(|(order, who)| {
				if ValidatorInfo::<T>::get(&who).is_none_or(|r| r.chilled) {
					return None;
				}
				let bond = Ledger::<T>::get(&who)?.active;
				if bond.is_zero() || bond < min || !T::SessionKeys::has_keys(&who) {
					return None;
				}
				Some((bond, order, who))
			})
			.collect();
		// Bond descending, then registration order; the order index makes the sort total.
		candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
		let count = MaxAuthorityCount::<T>::get().min(T::MaxAuthorities::get());
		BoundedVec::truncate_from(
			candidates.into_iter().take(count as usize).map(|(_, _, who)| who).collect(),
		)
	}

	/// Elects the set of session `index` and queues it; `None` if nobody qualifies.
	pub(crate) fn plan_session(index: u32) -> Option<Vec<T::AccountId>> {
		let elected = Self::elect();
		if elected.is_empty() {
			Self::deposit_event(Event::NoAuthoritiesQualified { session: index });
			return None;
		}
		QueuedAuthorities::<T>::put(&elected);
		let authorities = elected.into_inner();
		Self::deposit_event(Event::AuthoritiesElected {
			session: index,
			authorities: authorities.clone(),
		});
		Some(authorities)
	}
}

impl<T: Config> SessionManager<T::AccountId> for Pallet<T> {
	fn new_session(new_index: u32) -> Option<Vec<T::AccountId>> {
		// pallet-session calls this from its `on_initialize` without accounting for it.
		let registered = RegisteredValidators::<T>::decode_len().unwrap_or_default();
		polkadot_sdk::frame_system::Pallet::<T>::register_extra_weight_unchecked(
			T::WeightInfo::new_session(u32::try_from(registered).unwrap_or(u32::MAX)),
			DispatchClass::Mandatory,
		);
		Self::plan_session(new_index)
	}

	fn new_session_genesis(new_index: u32) -> Option<Vec<T::AccountId>> {
		let planned = Self::plan_session(new_index);
		// Session 0 starts at genesis without a rotation: its set is active at once.
		if new_index == 0 {
			Authorities::<T>::put(QueuedAuthorities::<T>::get());
		}
		planned
	}

	fn start_session(start_index: u32) {
		// The genesis session was set up by `new_session_genesis`.
		if start_index != 0 {
			// pallet-session starts the set planned for this session; when the last planning
			// returned `None` it keeps the current set, which is then still queued here too.
			Authorities::<T>::put(QueuedAuthorities::<T>::get());
		}
	}

	fn end_session(_end_index: u32) {}
}

/// [`HasSessionKeys`] read from pallet-session's `NextKeys`, for runtimes whose session
/// `ValidatorId` is the account id (`ValidatorIdOf = ConvertInto`).
pub struct NextSessionKeys<T>(core::marker::PhantomData<T>);

impl<T> HasSessionKeys<T::AccountId> for NextSessionKeys<T>
where
	T: polkadot_sdk::pallet_session::Config<
		ValidatorId = <T as polkadot_sdk::frame_system::Config>::AccountId,
	>,
{
	fn has_keys(who: &T::AccountId) -> bool {
		polkadot_sdk::pallet_session::NextKeys::<T>::contains_key(who)
	}

	/// Stores all-zero keys for `who` (benchmarks only need `has_keys` to hold).
	#[cfg(feature = "runtime-benchmarks")]
	fn set_keys(who: &T::AccountId) {
		use codec::Decode;
		use polkadot_sdk::sp_runtime::traits::TrailingZeroInput;
		if let Ok(keys) = T::Keys::decode(&mut TrailingZeroInput::zeroes()) {
			polkadot_sdk::pallet_session::NextKeys::<T>::insert(who, keys);
		}
	}
}
