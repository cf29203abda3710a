//! Work done by the block hook: runs whose validator missed the result deadline fail.

use crate::{
	weights::WeightInfo, Config, Event, FailureReason, Pallet, ResultDeadlines, RoundIndex, Runs,
};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{defensive, weights::Weight},
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

	/// Fails run `order` in round `round`: the market refunds the consumer's unspent budget,
	/// the validator is reported for a missed deadline, the run is forgotten. Emits `RunFailed`.
	fn fail_run(order: OrderId, round: RoundIndex) {
		let Some(run) = Runs::<T>::get(order) else {
			defensive!("an overdue run is missing", order);
			return;
		};
		if run.round.index != round {
			defensive!("an overdue round is not the run's current round", order);
			return;
		}
		let refunded = match T::Settlement::fail(order) {
			Ok(receipt) => Some(receipt.refunded),
			Err(e) => {
				defensive!("the market refused to fail an overdue order", e);
				None
			}
		};
		let validator_slashed = T::Offences::report_offence(
			&run.validator,
			OffenceKind::MissedDeadline,
			None,
			Self::missed_deadline_evidence(order, round),
		)
		.ok()
		.map(|s| s.amount);
		Self::end_run(order, &run);
		Self::deposit_event(Event::RunFailed {
			order,
			round,
			reason: FailureReason::MissedResultDeadline,
			refunded,
			validator_slashed,
		});
	}
}
