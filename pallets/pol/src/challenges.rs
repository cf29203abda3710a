//! Challenges (PROTOCOL.md step 6): a bonded account disputes one segment of a recorded round
//! (or its aggregate) within the round's challenge window; a committee of validators drawn at
//! random re-executes it and votes; the majority decides, the loser is reported.

use crate::{
	weights::WeightInfo, Challenge, ChallengeId, ChallengeSlot, Challenges, ClaimKind, Closing,
	Commitment, Config, Error, Event, NextChallengeId, Pallet, Position, ProofPath, Refutation,
	RoundIndex, RoundResults, Run, Runs, SegmentProof, Verdict, VoteDeadlines,
};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{defensive, ensure, traits::Get, weights::Weight, BoundedVec},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_io::hashing::blake2_256,
	sp_runtime::{
		traits::{CheckedAdd, One},
		DispatchError,
	},
};
use pot_pol_core::{
	merkle::{self, MerkleProof},
	rng::SeededRng,
	schedule,
};
use pot_primitives::{ClusterInspect, ContentHash, OffenceKind, OrderId, ReportOffence};

const COMMITTEE_DOMAIN: &[u8] = b"pot/pol/committee/v1";
const CHALLENGE_EVIDENCE_DOMAIN: &[u8] = b"pot/pol/challenge/v1";

/// Committee of a challenge with each member's vote.
type CommitteeOf<T> = BoundedVec<
	(<T as frame_system::Config>::AccountId, Option<bool>),
	<T as Config>::CommitteeSize,
>;

impl<T: Config> Pallet<T> {
	/// See [`Pallet::challenge`]. Returns the challenge's id.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn do_challenge(
		who: T::AccountId,
		order: OrderId,
		round: RoundIndex,
		target: Position,
		claim: ClaimKind,
		segment: u32,
		proof: SegmentProof,
	) -> Result<ChallengeId, DispatchError> {
		let mut record = RoundResults::<T>::get(order, round).ok_or(Error::<T>::NoRoundResult)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= record.window_end, Error::<T>::ChallengeWindowClosed);
		ensure!(
			T::Offences::slashable(&who) >= T::ChallengeBond::get(),
			Error::<T>::InsufficientBond
		);
		let run = Runs::<T>::get(order).ok_or(Error::<T>::UnknownRun)?;

		let (target_provider, checkpoints) = if claim.is_segment_claim() {
			let entry = record
				.verdicts
				.iter()
				.find(|v| v.position == target)
				.ok_or(Error::<T>::UnknownTarget)?;
			ensure!(!entry.overturned, Error::<T>::VerdictOverturned);
			match (claim, entry.verdict) {
				(ClaimKind::InvalidWorkAccepted | ClaimKind::ForgedWork, Verdict::Accepted { .. }) => {}
				(ClaimKind::ValidWorkRejected, Verdict::Rejected(r)) => {
					ensure!(segment == r.segment, Error::<T>::WrongSegment)
				}
				_ => return Err(Error::<T>::ClaimMismatch.into()),
			}
			let segments = schedule::segment_count(
				u64::from(entry.commitment.steps_done),
				u64::from(run.checkpoint_interval),
			)
			.map_err(|_| Error::<T>::SegmentOutOfRange)?;
			ensure!(segment < segments, Error::<T>::SegmentOutOfRange);
			Self::check_segment_proof(&entry.commitment, segment, &proof)?;
			let provider = run
				.participants
				.get(target as usize)
				.map(|p| p.provider.clone())
				.ok_or(Error::<T>::UnknownTarget)?;
			(Some(provider), (proof.start, proof.end))
		} else {
			ensure!(
				target == 0 && segment == 0 && proof == SegmentProof::default(),
				Error::<T>::MalformedClaim
			);
			(None, (ContentHash::zero(), ContentHash::zero()))
		};

		let same = |c: &&ChallengeSlot| c.same_subject(claim, target);
		ensure!(
			!record.challenges.iter().filter(same).any(|c| c.segment == segment && c.claim == claim),
			Error::<T>::AlreadyChallenged
		);
		ensure!(!record.challenges.iter().filter(same).any(|c| c.open), Error::<T>::ChallengeOpen);
		let id = NextChallengeId::<T>::get();
		record
			.challenges
			.try_push(ChallengeSlot { id, claim, target, segment, open: true })
			.map_err(|_| Error::<T>::TooManyChallenges)?;

		let mut excluded = Vec::from([&who, &run.validator]);
		excluded.extend(target_provider.as_ref());
		let committee = Self::draw_committee(id, &excluded)?;

		NextChallengeId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
		let vote_deadline = now.checked_add(&T::VoteWindow::get()).ok_or(Error::<T>::Overflow)?;
		let due = vote_deadline.checked_add(&One::one()).ok_or(Error::<T>::Overflow)?;
		VoteDeadlines::<T>::try_mutate(due, |ids| ids.try_push(id))
			.map_err(|_| Error::<T>::DeadlineBlockFull)?;
		RoundResults::<T>::insert(order, round, record);

		let members: Vec<T::AccountId> = committee.iter().map(|(m, _)| m.clone()).collect();
		Self::deposit_event(Event::ChallengeOpened {
			id,
			order,
			round,
			claim,
			target,
			segment,
			start: checkpoints.0,
			end: checkpoints.1,
			challenger: who.clone(),
			committee: BoundedVec::truncate_from(members),
			vote_deadline,
		});
		Challenges::<T>::insert(
			id,
			Challenge {
				order,
				round,
				claim,
				target,
				segment,
				checkpoints,
				challenger: who,
				committee,
				opened_at: now,
				vote_deadline,
			},
		);
		Ok(id)
	}

	/// Checks that `proof` shows its two checkpoints as leaves `segment` and `segment + 1` of
	/// the tree of `commitment.checkpoint_count` leaves under `commitment.checkpoint_root`.
	fn check_segment_proof(
		commitment: &Commitment,
		segment: u32,
		proof: &SegmentProof,
	) -> Result<(), DispatchError> {
		let end = segment.checked_add(1).ok_or(Error::<T>::Overflow)?;
		let root = commitment.checkpoint_root.0;
		let leaf_count = commitment.checkpoint_count;
		let proves = |index: u32, checkpoint: &ContentHash, path: &ProofPath| {
			let siblings = path.iter().map(|h| h.0).collect();
			merkle::verify(&root, &checkpoint.0, &MerkleProof { index, leaf_count, siblings })
		};
		ensure!(
			proves(segment, &proof.start, &proof.start_path) &&
				proves(end, &proof.end, &proof.end_path),
			Error::<T>::InvalidProof
		);
		Ok(())
	}

	/// The committee of challenge `id`: `CommitteeSize` active validators (of the first
	/// `max_validators`) other than `excluded`, drawn by a Fisher–Yates shuffle seeded with
	/// the parent hash and the id.
	fn draw_committee(
		id: ChallengeId,
		excluded: &[&T::AccountId],
	) -> Result<CommitteeOf<T>, DispatchError> {
		let limit = T::Clusters::max_validators() as usize;
		let mut pool: Vec<T::AccountId> = T::Clusters::active_validators()
			.into_iter()
			.take(limit)
			.filter(|v| !excluded.contains(&v))
			.collect();
		let size = T::CommitteeSize::get() as usize;
		ensure!(pool.len() >= size, Error::<T>::NoCommittee);
		let parent = frame_system::Pallet::<T>::parent_hash();
		let mut rng = SeededRng::new(COMMITTEE_DOMAIN, &(parent, id).encode());
		rng.shuffle(&mut pool);
		pool.truncate(size);
		let committee: Vec<_> = pool.into_iter().map(|m| (m, None)).collect();
		BoundedVec::try_from(committee).map_err(|_| Error::<T>::NoCommittee.into())
	}

	/// See [`Pallet::vote`]. Returns whether the vote resolved the challenge.
	pub(crate) fn do_vote(
		who: T::AccountId,
		id: ChallengeId,
		upheld: bool,
	) -> Result<bool, DispatchError> {
		let mut challenge = Challenges::<T>::get(id).ok_or(Error::<T>::UnknownChallenge)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= challenge.vote_deadline, Error::<T>::VoteWindowClosed);
		let (_, vote) = challenge
			.committee
			.iter_mut()
			.find(|(member, _)| *member == who)
			.ok_or(Error::<T>::NotCommitteeMember)?;
		ensure!(vote.is_none(), Error::<T>::AlreadyVoted);
		*vote = Some(upheld);
		Self::deposit_event(Event::VoteCast { id, voter: who, upheld });
		match challenge.decided() {
			Some(outcome) => {
				Self::unindex_vote(id, challenge.vote_deadline);
				Self::resolve(id, challenge, outcome, false);
				Ok(true)
			}
			None => {
				Challenges::<T>::insert(id, challenge);
				Ok(false)
			}
		}
	}

	/// Resolves the challenges indexed at `now` (their vote deadline was the block before)
	/// with the votes cast: no strict majority for the claim means it is not upheld; members
	/// that did not vote are reported for `MissedVote`. At most `MaxRunsPerDeadline`, one
	/// index entry. Returns the weight.
	pub(crate) fn close_votes(now: BlockNumberFor<T>) -> Weight {
		let due = VoteDeadlines::<T>::take(now);
		let count = u32::try_from(due.len()).unwrap_or(u32::MAX);
		for id in due {
			let Some(challenge) = Challenges::<T>::get(id) else {
				defensive!("a challenge due for resolution is missing", id);
				continue;
			};
			let upheld = challenge.decided().unwrap_or(false);
			Self::resolve(id, challenge, upheld, true);
		}
		let per = Self::resolution_reports_weight().saturating_add(Self::settlement_calls_weight());
		T::WeightInfo::close_votes(count).saturating_add(per.saturating_mul(u64::from(count)))
	}

	/// The evidence hash of challenge `id`: its claim and checkpoints, domain separated; named
	/// in every report of its resolution.
	pub fn challenge_evidence(id: ChallengeId, challenge: &Challenge<T>) -> ContentHash {
		ContentHash::from(blake2_256(
			&(
				CHALLENGE_EVIDENCE_DOMAIN,
				id,
				challenge.order,
				challenge.round,
				challenge.claim,
				challenge.target,
				challenge.segment,
				challenge.checkpoints,
			)
				.encode(),
		))
	}

	/// Removes challenge `id` from the vote-deadline index.
	fn unindex_vote(id: ChallengeId, vote_deadline: BlockNumberFor<T>) {
		let Some(due) = vote_deadline.checked_add(&One::one()) else {
			return;
		};
		VoteDeadlines::<T>::mutate_exists(due, |ids| {
			if let Some(list) = ids {
				list.retain(|i| *i != id);
				if list.is_empty() {
					*ids = None;
				}
			}
		});
	}

	/// Resolves challenge `id`: reports the loser (the winner as reporter, so it gets
	/// staking's reporter share), overturns the verdict of an upheld segment claim, reports
	/// the members that did not vote if `at_deadline`, and settles the round if its window has
	/// closed and nothing else on it is open. Emits `ChallengeResolved` and `ChallengeOffence`s.
	///
	/// An upheld `WrongAggregate` claim also ends the run (see [`Self::refute`]): a run not
	/// closing yet stops after its open round, a run closing to complete fails instead.
	fn resolve(id: ChallengeId, challenge: Challenge<T>, upheld: bool, at_deadline: bool) {
		Challenges::<T>::remove(id);
		let (order, round) = (challenge.order, challenge.round);
		let (ayes, nays) = challenge.tally();
		Self::deposit_event(Event::ChallengeResolved {
			id,
			order,
			round,
			claim: challenge.claim,
			target: challenge.target,
			upheld,
			ayes,
			nays,
		});
		let (Some(mut run), Some(mut record)) =
			(Runs::<T>::get(order), RoundResults::<T>::get(order, round))
		else {
			defensive!("a challenged round is not recorded", id);
			return;
		};
		let evidence = Self::challenge_evidence(id, &challenge);
		let report = |offender: &T::AccountId, kind: OffenceKind, reporter: Option<&T::AccountId>| {
			let slashed = T::Offences::report_offence(offender, kind, reporter, evidence)
				.ok()
				.map(|s| s.amount);
			Self::deposit_event(Event::ChallengeOffence {
				id,
				offender: offender.clone(),
				kind,
				slashed,
			});
			slashed
		};
		let challenger = Some(&challenge.challenger);
		// The provider at the challenged position (segment claims name one).
		let target_provider =
			run.participants.get(challenge.target as usize).map(|p| p.provider.clone());
		if upheld {
			match challenge.claim {
				ClaimKind::InvalidWorkAccepted => {
					if let Some(provider) = &target_provider {
						report(provider, OffenceKind::InvalidWork, challenger);
					}
					report(&run.validator, OffenceKind::WrongVerdict, challenger);
				}
				ClaimKind::ForgedWork => {
					if let Some(provider) = &target_provider {
						report(provider, OffenceKind::InvalidWork, challenger);
					}
				}
				ClaimKind::ValidWorkRejected => {
					report(&run.validator, OffenceKind::Censorship, challenger);
				}
				ClaimKind::WrongAggregate => {
					let validator_slashed =
						report(&run.validator, OffenceKind::WrongVerdict, challenger);
					// Before the settlement below, which reads the run from storage.
					if Self::refute(&mut run, Refutation { round, validator_slashed }) {
						Runs::<T>::insert(order, &run);
					}
				}
			}
			if challenge.claim.is_segment_claim() {
				if let Some(entry) =
					record.verdicts.iter_mut().find(|v| v.position == challenge.target)
				{
					entry.overturned = true;
				}
			}
		} else {
			// The defended party reports the challenger: the accused provider for `ForgedWork`,
			// the validator otherwise.
			let defender = match (challenge.claim, &target_provider) {
				(ClaimKind::ForgedWork, Some(provider)) => provider,
				_ => &run.validator,
			};
			report(&challenge.challenger, OffenceKind::UnfoundedChallenge, Some(defender));
		}
		if at_deadline {
			for (member, _) in challenge.committee.iter().filter(|(_, vote)| vote.is_none()) {
				report(member, OffenceKind::MissedVote, None);
			}
		}
		if let Some(slot) = record.challenges.iter_mut().find(|c| c.id == id) {
			slot.open = false;
		}
		let now = frame_system::Pallet::<T>::block_number();
		if now > record.window_end && !record.challenged() {
			Self::settle_round(order, round, record);
		} else {
			RoundResults::<T>::insert(order, round, record);
		}
	}

	/// Applies `refutation` (an upheld `WrongAggregate` claim) to `run`; returns whether `run`
	/// changed. A run that is not closing records it (unless an earlier refutation is recorded:
	/// the first counts) and fails once the result of its open round is in
	/// ([`Pallet::submit_round_result`]); a run closing to complete fails instead
	/// ([`Refutation::closing`]): it closes only once every round settled, and the refuted
	/// round has not. A run already failing stays as it is.
	fn refute(run: &mut Run<T>, refutation: Refutation<T::Balance>) -> bool {
		match run.closing {
			None if run.refuted.is_none() => {
				run.refuted = Some(refutation);
				true
			}
			Some(Closing::Complete) => {
				run.closing = Some(refutation.closing());
				true
			}
			None | Some(Closing::Fail { .. }) => false,
		}
	}
}
