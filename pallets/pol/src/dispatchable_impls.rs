//! The work behind each call.

use crate::{
	Closing, Commitment, Commitments, Config, Error, Event, Pallet, Participant, ParticipantsOf,
	Position, RecordedVerdict, ResultDeadlines, RoundIndex, RoundInfo, RoundRecord,
	RoundResultOf, RoundResults, Run, Runs, SettleAt, Verdict,
};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{ensure, traits::Get, BoundedVec},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_io::hashing::blake2_256,
	sp_runtime::{
		traits::{CheckedAdd, One},
		DispatchError,
	},
};
use pot_pol_core::{assign::chunk_sizes, schedule};
use pot_primitives::{
	ClusterInspect, ContentHash, OffenceKind, OrderId, OrderSettlement, ReportOffence,
};

const ROUND_SEED_DOMAIN: &[u8] = b"pot/pol/round-seed/v1";
const VERIFICATION_SEED_DOMAIN: &[u8] = b"pot/pol/verification-seed/v1";
const MISSED_START_DOMAIN: &[u8] = b"pot/pol/missed-start-deadline/v1";
const MISSED_COMMITMENT_DOMAIN: &[u8] = b"pot/pol/missed-commitment/v1";

/// What [`Pallet::do_submit_round_result`] did, for the call's weight.
pub(crate) struct RoundResultCounts {
	/// Verdicts recorded.
	pub verdicts: u32,
	/// Participants reported for committing nothing.
	pub missed: u32,
}

impl<T: Config> Pallet<T> {
	/// The verification seed of a round whose commit deadline was block `commit_deadline`:
	/// derived from that block's hash, which is known from the next block on. Before that (and
	/// once the hash is pruned, `BlockHashCount` blocks later) it is derived from zeroes.
	pub fn verification_seed(commit_deadline: BlockNumberFor<T>) -> ContentHash {
		let hash = frame_system::Pallet::<T>::block_hash(commit_deadline);
		ContentHash::from(blake2_256(&(VERIFICATION_SEED_DOMAIN, hash).encode()))
	}

	/// The public seed of round `round` of `order` starting now: derived from the parent hash.
	fn round_seed(order: OrderId, round: RoundIndex) -> ContentHash {
		let parent = frame_system::Pallet::<T>::parent_hash();
		ContentHash::from(blake2_256(&(ROUND_SEED_DOMAIN, parent, order, round).encode()))
	}

	/// Opens round `index` of `order` from `weights` in the current block: its seed, its
	/// deadlines, and its entry in the deadline index.
	fn open_round(
		order: OrderId,
		index: RoundIndex,
		weights: ContentHash,
	) -> Result<RoundInfo<BlockNumberFor<T>>, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let commit_deadline =
			now.checked_add(&T::CommitWindow::get()).ok_or(Error::<T>::Overflow)?;
		let result_deadline =
			commit_deadline.checked_add(&T::VerifyWindow::get()).ok_or(Error::<T>::Overflow)?;
		let due = result_deadline.checked_add(&One::one()).ok_or(Error::<T>::Overflow)?;
		ResultDeadlines::<T>::try_mutate(due, |runs| runs.try_push((order, index)))
			.map_err(|_| Error::<T>::DeadlineBlockFull)?;
		let round = RoundInfo {
			index,
			seed: Self::round_seed(order, index),
			weights,
			started_at: now,
			commit_deadline,
			result_deadline,
			commitments: 0,
		};
		Self::deposit_event(Event::RoundStarted {
			order,
			round: index,
			seed: round.seed,
			weights,
			commit_deadline,
			result_deadline,
		});
		Ok(round)
	}

	/// Removes `(order, round)` from the deadline index entry of its result deadline.
	pub(crate) fn unindex_round(order: OrderId, round: &RoundInfo<BlockNumberFor<T>>) {
		let Some(due) = round.result_deadline.checked_add(&One::one()) else {
			return;
		};
		ResultDeadlines::<T>::mutate_exists(due, |runs| {
			if let Some(list) = runs {
				list.retain(|entry| *entry != (order, round.index));
				if list.is_empty() {
					*runs = None;
				}
			}
		});
	}

	/// Forgets a finished run: its record, its commitments, its deadline entry and its
	/// participants' open work. Its recorded rounds are settled by then.
	pub(crate) fn end_run(order: OrderId, run: &Run<T>) {
		Runs::<T>::remove(order);
		let _ = Commitments::<T>::clear_prefix(order, T::MaxProviders::get(), None);
		Self::unindex_round(order, &run.round);
		Self::close_work(&run.participants);
	}

	/// See [`Pallet::start_order`]. Returns the number of participants.
	pub(crate) fn do_start_order(who: T::AccountId, order: OrderId) -> Result<u32, DispatchError> {
		ensure!(!Runs::<T>::contains_key(order), Error::<T>::AlreadyStarted);
		let matched = T::Settlement::matched_order(order).ok_or(Error::<T>::OrderNotMatched)?;
		ensure!(matched.assignment.validator == who, Error::<T>::NotOrderValidator);
		let task = matched.task;
		let (rounds, local_steps, k) =
			(task.hyper.rounds, task.hyper.local_steps, task.pol.checkpoint_interval);
		ensure!(rounds > 0 && local_steps > 0 && k > 0, Error::<T>::InvalidTask);
		let samples = u32::try_from(task.samples).map_err(|_| Error::<T>::InvalidTask)?;

		let limit = matched.max_providers.min(T::MaxProviders::get()) as usize;
		let members: Vec<_> = T::Clusters::members(&who)
			.into_iter()
			.filter(|m| m.hardware_class == matched.hardware_class && !m.capacity.is_zero())
			.take(limit)
			.collect();
		let count = u32::try_from(members.len()).map_err(|_| Error::<T>::Overflow)?;
		ensure!(count >= matched.min_providers.max(1), Error::<T>::NotEnoughProviders);
		let capacities: Vec<u64> = members.iter().map(|m| m.capacity.0).collect();
		let sizes = chunk_sizes(samples, &capacities).map_err(|_| Error::<T>::InvalidTask)?;
		let participants: Vec<_> = members
			.into_iter()
			.zip(sizes)
			.map(|(m, samples)| Participant {
				provider: m.provider,
				capacity: m.capacity,
				samples,
				residual: ContentHash::zero(),
			})
			.collect();
		let participants =
			BoundedVec::try_from(participants).map_err(|_| Error::<T>::NotEnoughProviders)?;

		Self::deposit_event(Event::RunStarted {
			order,
			validator: who.clone(),
			participants: participants.clone(),
		});
		let round = Self::open_round(order, 0, task.initial_weights)?;
		Self::open_work(&participants);
		Runs::<T>::insert(
			order,
			Run {
				validator: who,
				participants,
				rounds,
				local_steps,
				checkpoint_interval: k,
				round,
				settled: 0,
				unsettled: 0,
				closing: None,
				refuted: None,
			},
		);
		Ok(count)
	}

	/// The evidence hash of an order not started in time: the order, domain separated.
	pub fn missed_start_evidence(order: OrderId) -> ContentHash {
		ContentHash::from(blake2_256(&(MISSED_START_DOMAIN, order).encode()))
	}

	/// See [`Pallet::fail_unstarted`].
	pub(crate) fn do_fail_unstarted(
		who: T::AccountId,
		order: OrderId,
	) -> Result<(), DispatchError> {
		ensure!(!Runs::<T>::contains_key(order), Error::<T>::AlreadyStarted);
		let matched = T::Settlement::matched_order(order).ok_or(Error::<T>::OrderNotMatched)?;
		let last = matched
			.assignment
			.matched_at
			.checked_add(&T::StartWindow::get())
			.ok_or(Error::<T>::Overflow)?;
		ensure!(frame_system::Pallet::<T>::block_number() > last, Error::<T>::StartWindowOpen);
		let receipt = T::Settlement::fail(order).map_err(DispatchError::from)?;
		let validator = matched.assignment.validator;
		let validator_slashed = T::Offences::report_offence(
			&validator,
			OffenceKind::MissedDeadline,
			Some(&who),
			Self::missed_start_evidence(order),
		)
		.ok()
		.map(|s| s.amount);
		Self::deposit_event(Event::UnstartedOrderFailed {
			order,
			validator,
			reporter: who,
			refunded: receipt.refunded,
			validator_slashed,
		});
		Ok(())
	}

	/// See [`Pallet::submit_commitment`].
	pub(crate) fn do_submit_commitment(
		who: T::AccountId,
		order: OrderId,
		round: RoundIndex,
		commitment: Commitment,
	) -> Result<(), DispatchError> {
		let mut run = Runs::<T>::get(order).ok_or(Error::<T>::UnknownRun)?;
		ensure!(run.closing.is_none(), Error::<T>::RunClosing);
		ensure!(run.round.index == round, Error::<T>::WrongRound);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= run.round.commit_deadline, Error::<T>::CommitWindowClosed);
		let (position, participant) = run
			.participants
			.iter()
			.enumerate()
			.find(|(_, p)| p.provider == who)
			.ok_or(Error::<T>::NotAssigned)?;
		ensure!(participant.samples > 0, Error::<T>::EmptyChunk);
		let position = Position::try_from(position).map_err(|_| Error::<T>::Overflow)?;
		ensure!(!Commitments::<T>::contains_key(order, position), Error::<T>::AlreadyCommitted);
		ensure!(
			commitment.steps_done > 0 && commitment.steps_done <= run.local_steps,
			Error::<T>::StepsOutOfRange
		);
		let expected = schedule::checkpoint_count(
			u64::from(commitment.steps_done),
			u64::from(run.checkpoint_interval),
		)
		.map_err(|_| Error::<T>::CheckpointCountMismatch)?;
		ensure!(commitment.checkpoint_count == expected, Error::<T>::CheckpointCountMismatch);
		ensure!(commitment.residual_in == participant.residual, Error::<T>::ResidualMismatch);

		run.round.commitments = run.round.commitments.saturating_add(1);
		// The last expected commitment closes the window in this block: the verification seed
		// (this block's hash) is known from the next block on, and so is the result accepted.
		let closes_early = now < run.round.commit_deadline &&
			run.round.commitments >= Self::expected_commitments(&run.participants);
		if closes_early {
			run.round.commit_deadline = now;
		}
		Commitments::<T>::insert(order, position, commitment);
		Runs::<T>::insert(order, run);
		Self::deposit_event(Event::CommitmentSubmitted { order, round, provider: who, commitment });
		if closes_early {
			Self::deposit_event(Event::CommitWindowClosed { order, round, at: now });
		}
		Ok(())
	}

	/// The evidence hash of a participant that committed nothing to a round: the run, round
	/// and position, domain separated.
	pub fn missed_commitment_evidence(
		order: OrderId,
		round: RoundIndex,
		position: Position,
	) -> ContentHash {
		ContentHash::from(blake2_256(&(MISSED_COMMITMENT_DOMAIN, order, round, position).encode()))
	}

	/// The number of commitments a round of a run with `participants` can receive: one per
	/// participant with a non-empty chunk.
	pub(crate) fn expected_commitments(participants: &ParticipantsOf<T>) -> u32 {
		let n = participants.iter().filter(|p| p.samples > 0).count();
		u32::try_from(n).unwrap_or(u32::MAX)
	}

	/// See [`Pallet::submit_round_result`]. Returns the numbers of verdicts and of
	/// participants reported for committing nothing.
	pub(crate) fn do_submit_round_result(
		who: T::AccountId,
		order: OrderId,
		round: RoundIndex,
		result: RoundResultOf<T>,
	) -> Result<RoundResultCounts, DispatchError> {
		let mut run = Runs::<T>::get(order).ok_or(Error::<T>::UnknownRun)?;
		ensure!(run.validator == who, Error::<T>::NotOrderValidator);
		ensure!(run.closing.is_none(), Error::<T>::RunClosing);
		ensure!(run.round.index == round, Error::<T>::WrongRound);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now > run.round.commit_deadline, Error::<T>::CommitWindowOpen);
		ensure!(now <= run.round.result_deadline, Error::<T>::ResultDeadlinePassed);
		let count =
			u32::try_from(result.verdicts.len()).map_err(|_| Error::<T>::VerdictsMismatch)?;
		ensure!(count == run.round.commitments, Error::<T>::VerdictsMismatch);

		// Check every verdict before anything is recorded.
		let mut recorded = Vec::with_capacity(result.verdicts.len());
		let mut previous: Option<Position> = None;
		let mut accepted = 0u32;
		for (position, verdict) in result.verdicts {
			ensure!(previous.is_none_or(|p| p < position), Error::<T>::VerdictsMismatch);
			previous = Some(position);
			let commitment =
				Commitments::<T>::get(order, position).ok_or(Error::<T>::VerdictsMismatch)?;
			let participant = run
				.participants
				.get_mut(position as usize)
				.ok_or(Error::<T>::VerdictsMismatch)?;
			match verdict {
				Verdict::Accepted { .. } => {
					accepted = accepted.saturating_add(1);
					// What the accepted update's compression dropped is added to its next one.
					participant.residual = commitment.residual_out;
				},
				Verdict::Rejected(r) => {
					let segments = schedule::segment_count(
						u64::from(commitment.steps_done),
						u64::from(run.checkpoint_interval),
					)
					.map_err(|_| Error::<T>::SegmentOutOfRange)?;
					ensure!(r.segment < segments, Error::<T>::SegmentOutOfRange);
				}
			}
			recorded.push(RecordedVerdict { position, commitment, verdict, overturned: false });
		}
		ensure!(T::Settlement::matched_order(order).is_some(), Error::<T>::OrderNotMatched);
		let verdicts =
			BoundedVec::try_from(recorded).map_err(|_| Error::<T>::VerdictsMismatch)?;
		// Participants given data that committed nothing by the deadline; reported below, once
		// nothing can fail any more.
		let missed: Vec<(Position, T::AccountId)> = run
			.participants
			.iter()
			.zip(0..)
			.filter(|(p, position)| p.samples > 0 && !Commitments::<T>::contains_key(order, position))
			.map(|(p, position)| (position, p.provider.clone()))
			.collect();

		// The challenge window: the result may be challenged until `window_end`, and settles in
		// the hook of the block after.
		let window_end = now.checked_add(&T::ChallengeWindow::get()).ok_or(Error::<T>::Overflow)?;
		let settle_at = window_end.checked_add(&One::one()).ok_or(Error::<T>::Overflow)?;
		SettleAt::<T>::try_mutate(settle_at, |rounds| rounds.try_push((order, round)))
			.map_err(|_| Error::<T>::DeadlineBlockFull)?;
		let verification_seed = Self::verification_seed(run.round.commit_deadline);
		RoundResults::<T>::insert(
			order,
			round,
			RoundRecord::<T> {
				seed: run.round.seed,
				weights: run.round.weights,
				verification_seed,
				verdicts,
				new_weights: result.new_weights,
				window_end,
				challenges: BoundedVec::new(),
			},
		);
		run.unsettled = run.unsettled.checked_add(1).ok_or(Error::<T>::Overflow)?;

		Self::deposit_event(Event::RoundVerified {
			order,
			round,
			verification_seed,
			accepted,
			rejected: count.saturating_sub(accepted),
			new_weights: result.new_weights,
			eval: result.eval,
		});
		Self::deposit_event(Event::ChallengeWindowOpened { order, round, window_end });

		// The round's commitments live on in its record; the next round starts now, unless
		// this was the last round or an earlier round's aggregate was refuted: then the run
		// closes, to complete or to fail.
		let _ = Commitments::<T>::clear_prefix(order, T::MaxProviders::get(), None);
		Self::unindex_round(order, &run.round);
		let next = round.checked_add(1).ok_or(Error::<T>::Overflow)?;
		if let Some(closing) = run.refuted.as_ref().map(|r| r.closing()) {
			run.round.commitments = 0;
			run.closing = Some(closing);
		} else if next >= run.rounds {
			run.round.commitments = 0;
			run.closing = Some(Closing::Complete);
		} else {
			run.round = Self::open_round(order, next, result.new_weights)?;
		}
		Runs::<T>::insert(order, run);
		for (position, provider) in &missed {
			let slashed = T::Offences::report_offence(
				provider,
				OffenceKind::MissedDeadline,
				None,
				Self::missed_commitment_evidence(order, round, *position),
			)
			.ok()
			.map(|s| s.amount);
			Self::deposit_event(Event::CommitmentMissed {
				order,
				round,
				provider: provider.clone(),
				slashed,
			});
		}
		Ok(RoundResultCounts {
			verdicts: count,
			missed: u32::try_from(missed.len()).unwrap_or(u32::MAX),
		})
	}
}
