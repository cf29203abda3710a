//! Which providers have open work: [`OpenWorkInspect`] for staking, and the counters behind it.

use crate::{Config, OpenRuns, Pallet, ParticipantsOf};
use pot_primitives::OpenWorkInspect;

impl<T: Config> OpenWorkInspect<T::AccountId> for Pallet<T> {
	/// Whether `provider` takes part in a run that has not completed or failed yet.
	fn has_open_work(provider: &T::AccountId) -> bool {
		OpenRuns::<T>::get(provider).is_some_and(|n| n > 0)
	}
}

impl<T: Config> Pallet<T> {
	/// Counts one more run for every participant.
	pub(crate) fn open_work(participants: &ParticipantsOf<T>) {
		for p in participants {
			OpenRuns::<T>::mutate(&p.provider, |n| *n = Some(n.unwrap_or(0).saturating_add(1)));
		}
	}

	/// Counts one run less for every participant; a count of zero is removed.
	pub(crate) fn close_work(participants: &ParticipantsOf<T>) {
		for p in participants {
			OpenRuns::<T>::mutate(&p.provider, |n| {
				*n = n.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0)
			});
		}
	}
}
