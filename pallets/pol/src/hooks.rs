//! Work done by the block hook: runs whose validator missed the result deadline fail, and the
//! providers that had committed to the missed round are compensated out of the validator's
//! slash. (The settlement of rounds and the resolution of challenges at their vote deadline are
//! in `settlement.rs` and `challenges.rs`.)

use crate::{
	weights::WeightInfo, Closing, Commitments, Config, FailureReason, Pallet, ResultDeadlines,
	RoundIndex, Run, Runs,
};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{defensive, traits::Get, weights::Weight},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_io::hashing::blake2_256,
	sp_runtime::traits::{Saturating, Zero},
};
use pot_primitives::{ContentHash, OffenceKind, OrderId, OrderSettlement, ReportOffence};

const MISSED_DEADLINE_DOMAIN: &[u8] = b"pot/pol/missed-result-deadline/v1";

impl<T: Config> Pallet<T> {
	/// Fails the runs indexed at `now` (their result deadline was the block before) that still
	/// wait for that round's result: at most `MaxRunsPerDeadline`, one index entry, never a
	/// scan. Returns the weight used: the pallet's own work, and per run the market's failure
	/// and staking's compensating report with `MaxProviders` claims.
	pub(crate) fn fail_overdue(now: BlockNumberFor<T>) -> Weight {
		let due = ResultDeadlines::<T>::take(now);
		let count = u32::try_from(due.len()).unwrap_or(u32::MAX);
		for (order, round) in due {
			Self::fail_run(order, round);
		}
		let per_run = T::Settlement::fail_weight()
			.saturating_add(T::Offences::report_compensating_weight(T::MaxProviders::get()));
		T::WeightInfo::fail_overdue(count).saturating_add(per_run.saturating_mul(u64::from(count)))
	}

	/// The evidence hash of a missed result deadline: the run and round, domain separated.
	pub fn missed_deadline_evidence(order: OrderId, round: RoundIndex) -> ContentHash {
		ContentHash::from(blake2_256(&(MISSED_DEADLINE_DOMAIN, order, round).encode()))
	}

	/// Fails run `order` in round `round`: the validator is reported for a missed deadline and
	/// the providers that had committed to the round are compensated out of its slash (see
	/// [`Self::compensation_claims`]); no round opens any more; once the rounds recorded before
	/// have settled (at once if there are none), the market refunds the consumer's unspent
	/// budget and the run is forgotten (`RunFailed`). A run whose earlier round's aggregate was
	/// refuted (`Run::refuted`) fails here all the same, for the missed deadline.
	fn fail_run(order: OrderId, round: RoundIndex) {
		let Some(mut run) = Runs::<T>::get(order) else {
			defensive!("an overdue run is missing", order);
			return;
		};
		if run.round.index != round || run.closing.is_some() {
			defensive!("an overdue round is not the run's open round", order);
			return;
		}
		// Before the commitments are cleared: they are the work the missed deadline wasted.
		let claims = Self::compensation_claims(order, &run);
		let report = T::Offences::report_offence_compensating(
			&run.validator,
			OffenceKind::MissedDeadline,
			Self::missed_deadline_evidence(order, round),
			&claims,
		)
		.ok();
		let validator_slashed = report.as_ref().map(|r| r.amount);
		let providers_compensated = report.map(|r| r.compensation());
		let _ = Commitments::<T>::clear_prefix(order, T::MaxProviders::get(), None);
		Self::unindex_round(order, &run.round);
		run.round.commitments = 0;
		let reason = FailureReason::MissedResultDeadline;
		run.closing =
			Some(Closing::Fail { round, reason, validator_slashed, providers_compensated });
		if run.unsettled == 0 {
			Self::close_run(order, &run);
		} else {
			Runs::<T>::insert(order, run);
		}
	}

	/// What the providers of `run`'s open round may claim from the validator's slash when the
	/// round's result deadline is missed: for each participant with a commitment in the round,
	/// in position order, its committed steps at the order's price per work unit (saturating).
	/// Rounds whose result came in are not claimed for: they settle and pay as usual. No
	/// claims if the market no longer knows the order (no price) or nobody committed.
	fn compensation_claims(
		order: OrderId,
		run: &Run<T>,
	) -> Vec<(T::AccountId, T::Balance)> {
		if run.round.commitments == 0 {
			return Vec::new();
		}
		let Some(price) = T::Settlement::matched_order(order).map(|m| m.assignment.price_per_unit)
		else {
			return Vec::new();
		};
		run.participants
			.iter()
			.enumerate()
			.filter_map(|(position, participant)| {
				let position = u32::try_from(position).ok()?;
				let commitment = Commitments::<T>::get(order, position)?;
				let claim = T::Balance::from(commitment.steps_done).saturating_mul(price);
				if claim.is_zero() {
					return None;
				}
				Some((participant.provider.clone(), claim))
			})
			.collect()
	}
}
