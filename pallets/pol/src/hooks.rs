//! Work done by the block hook: runs whose validator missed the result deadline fail. (The
//! settlement of rounds and the resolution of challenges at their vote deadline are in
//! `settlement.rs` and `challenges.rs`.)

use crate::{
	weights::WeightInfo, Closing, Commitments, Config, FailureReason, Pallet, ResultDeadlines,
	RoundIndex, Runs,
};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{defensive, traits::Get, weights::Weight},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_io::hashing::blake2_256,
};
use pot_primitives::{ContentHash, OffenceKind, OrderId, OrderSettlement, ReportOffence};

const MISSED_DEADLINE_DOMAIN: &[u8] = b"pot/pol/missed-result-deadline/v1";

impl<T: Config> Pallet<T> {
	/// Fails the runs indexed at `now` (their result deadline was the block before) that still
	/// wait for that round's result: at most `MaxRunsPerDeadline`, one index entry, never a
	/// scan. Returns the weight used.
	pub(crate) fn fail_overdue(now: BlockNumberFor<T>) -> Weight {
		let due = ResultDeadlines::<T>::take(now);
		let count = u32::try_from(due.len()).unwrap_or(u32::MAX);
		for (order, round) in due {
			Self::fail_run(order, round);
		}
		let per_run = T::Settlement::fail_weight().saturating_add(T::Offences::report_weight());
		T::WeightInfo::fail_overdue(count).saturating_add(per_run.saturating_mul(u64::from(count)))
	}

	/// The evidence hash of a missed result deadline: the run and round, domain separated.
	pub fn missed_deadline_evidence(order: OrderId, round: RoundIndex) -> ContentHash {
		ContentHash::from(blake2_256(&(MISSED_DEADLINE_DOMAIN, order, round).encode()))
	}

	/// Fails run `order` in round `round`: the validator is reported for a missed deadline, no
	/// round opens any more; once the rounds recorded before have settled (at once if there are
	/// none), the market refunds the consumer's unspent budget and the run is forgotten
	/// (`RunFailed`).
	fn fail_run(order: OrderId, round: RoundIndex) {
		let Some(mut run) = Runs::<T>::get(order) else {
			defensive!("an overdue run is missing", order);
			return;
		};
		if run.round.index != round || run.closing.is_some() {
			defensive!("an overdue round is not the run's open round", order);
			return;
		}
		let validator_slashed = T::Offences::report_offence(
			&run.validator,
			OffenceKind::MissedDeadline,
			None,
			Self::missed_deadline_evidence(order, round),
		)
		.ok()
		.map(|s| s.amount);
		let _ = Commitments::<T>::clear_prefix(order, T::MaxProviders::get(), None);
		Self::unindex_round(order, &run.round);
		run.round.commitments = 0;
		let reason = FailureReason::MissedResultDeadline;
		run.closing = Some(Closing::Fail { round, reason, validator_slashed });
		if run.unsettled == 0 {
			Self::close_run(order, &run);
		} else {
			Runs::<T>::insert(order, run);
		}
	}
}
