//! Deferred settlement (PROTOCOL.md step 7): a recorded round result settles once its
//! challenge window has closed and no challenge on it is open; the order completes or fails
//! in the market once its last recorded round has settled.

use crate::{
	weights::WeightInfo, Closing, Config, Event, Pallet, RecordedVerdict, RoundIndex, RoundRecord,
	RoundResults, Run, Runs, SettleAt, Verdict,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{defensive, weights::Weight},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_runtime::Perbill,
};
use pot_primitives::{
	OffenceKind, OrderId, OrderSettlement, ReportOffence, SettlementError, WorkUnits,
};

/// The reward weight of each verdict of a round (`pot_pol_core::reward::reward_weights`), used
/// when the order is a public run. Updates that stand accepted weigh their measured
/// improvement against the best such improvement of the round; a rejection overturned by a
/// challenge weighs fully (the validator that censored the work measured nothing for it);
/// verdicts that do not pay weigh nothing and do not count towards the round's best.
pub(crate) fn reward_weights(verdicts: &[RecordedVerdict]) -> Vec<Perbill> {
	let improvements: Vec<i64> = verdicts
		.iter()
		.map(|v| match (v.verdict, v.overturned) {
			(Verdict::Accepted { improvement }, false) => improvement.into_inner(),
			_ => 0,
		})
		.collect();
	let relative = pot_pol_core::reward::reward_weights(&improvements);
	verdicts
		.iter()
		.zip(relative)
		.map(|(v, weight)| match (v.verdict, v.overturned) {
			(Verdict::Accepted { .. }, false) => Perbill::from_parts(weight),
			(Verdict::Rejected(_), true) => Perbill::one(),
			_ => Perbill::zero(),
		})
		.collect()
}

impl<T: Config> Pallet<T> {
	/// Settles the rounds indexed at `now` (their challenge window closed in the block before)
	/// that no open challenge holds back: at most `MaxRunsPerDeadline`, one index entry. A
	/// round still challenged settles when its last challenge is resolved. Returns the weight.
	pub(crate) fn settle_due(now: BlockNumberFor<T>) -> Weight {
		let due = SettleAt::<T>::take(now);
		let count = u32::try_from(due.len()).unwrap_or(u32::MAX);
		for (order, round) in due {
			let Some(record) = RoundResults::<T>::get(order, round) else {
				defensive!("a round due for settlement has no record", order);
				continue;
			};
			if !record.challenged() {
				Self::settle_round(order, round, record);
			}
		}
		T::WeightInfo::settle_due(count)
			.saturating_add(Self::settlement_calls_weight().saturating_mul(u64::from(count)))
	}

	/// Settles round `round` of `order` from its `record`: pays the providers whose work
	/// stands (accepted, or rejected and overturned), reports those whose rejection stands
	/// (accepted and overturned ones were reported at the resolution), forgets the record and,
	/// if it was the run's last unsettled round of a closing run, closes the run. Emits
	/// `RoundSettled`.
	pub(crate) fn settle_round(order: OrderId, round: RoundIndex, record: RoundRecord<T>) {
		RoundResults::<T>::remove(order, round);
		let Some(mut run) = Runs::<T>::get(order) else {
			defensive!("a recorded round has no run", order);
			return;
		};
		let mut unpaid = T::Settlement::matched_order(order).map_or(WorkUnits::ZERO, |m| {
			m.assignment.work_units.saturating_sub(m.assignment.units_paid)
		});
		let weights = reward_weights(&record.verdicts);
		let (mut paid, mut rejected) = (0u32, 0u32);
		for (entry, weight) in record.verdicts.into_iter().zip(weights) {
			let Some(provider) =
				run.participants.get(entry.position as usize).map(|p| p.provider.clone())
			else {
				defensive!("a recorded verdict names no participant", order);
				continue;
			};
			if entry.pays() {
				let units = WorkUnits(u64::from(entry.commitment.steps_done)).min(unpaid);
				Self::pay(order, round, provider, units, weight);
				unpaid = unpaid.saturating_sub(units);
				paid = paid.saturating_add(1);
			} else if let (Verdict::Rejected(rejection), false) = (entry.verdict, entry.overturned)
			{
				let slashed = T::Offences::report_offence(
					&provider,
					OffenceKind::InvalidWork,
					Some(&run.validator),
					rejection.evidence,
				)
				.ok()
				.map(|s| s.amount);
				Self::deposit_event(Event::SubmissionRejected {
					order,
					round,
					provider,
					rejection,
					slashed,
				});
				rejected = rejected.saturating_add(1);
			}
		}
		run.unsettled = run.unsettled.saturating_sub(1);
		run.settled = run.settled.saturating_add(1);
		Self::deposit_event(Event::RoundSettled { order, round, paid, rejected });
		if run.closing.is_some() && run.unsettled == 0 {
			Self::close_run(order, &run);
		} else {
			Runs::<T>::insert(order, run);
		}
	}

	/// Closes a closing run whose rounds have all settled: completes or fails the order in the
	/// market and forgets the run. Emits `RunCompleted` (or `CompletionRefused`) or
	/// `RunFailed`.
	pub(crate) fn close_run(order: OrderId, run: &Run<T>) {
		match &run.closing {
			Some(Closing::Complete) => {
				Self::deposit_event(match T::Settlement::complete(order) {
					Ok(receipt) => Event::RunCompleted {
						order,
						validator_fee: receipt.validator_fee,
						refunded: receipt.refunded,
					},
					Err(error) => Event::CompletionRefused { order, error },
				});
			}
			Some(Closing::Fail { round, reason, validator_slashed, providers_compensated }) => {
				let refunded = match T::Settlement::fail(order) {
					Ok(receipt) => Some(receipt.refunded),
					Err(e) => {
						defensive!("the market refused to fail an overdue order", e);
						None
					}
				};
				Self::deposit_event(Event::RunFailed {
					order,
					round: *round,
					reason: *reason,
					refunded,
					validator_slashed: *validator_slashed,
					providers_compensated: *providers_compensated,
				});
			}
			None => {
				defensive!("closing a run that is not closing", order);
				return;
			}
		}
		Self::end_run(order, run);
	}

	/// Pays `provider` for `units` verified steps with `reward_weight` (used by public runs);
	/// a refusal by the market is recorded, not retried. Emits `ProviderPaid` or
	/// `PayoutFailed`.
	fn pay(
		order: OrderId,
		round: RoundIndex,
		provider: T::AccountId,
		units: WorkUnits,
		reward_weight: Perbill,
	) {
		let paid = if units.is_zero() {
			Err(SettlementError::WorkUnitsAboveReservation)
		} else {
			T::Settlement::pay_for_work(order, &provider, units, reward_weight)
		};
		Self::deposit_event(match paid {
			Ok(amount) => Event::ProviderPaid { order, round, provider, work_units: units, amount },
			Err(error) => Event::PayoutFailed { order, round, provider, work_units: units, error },
		});
	}
}
