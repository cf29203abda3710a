//! Invariants of the PoL pallet, checked by `try_state` and after every test.
//!
//! This iterates whole maps: it is for `try-runtime` and tests only, never for block execution.

use crate::{
	Challenges, Closing, Commitments, Config, FailureReason, NextChallengeId, OpenRuns, Pallet,
	ResultDeadlines, RoundResults, Runs, SettleAt, Verdict, VoteDeadlines,
};
use alloc::collections::{BTreeMap, BTreeSet};
use polkadot_sdk::{
	frame_support::{ensure, traits::Get},
	frame_system,
	sp_runtime::{
		traits::{One, Saturating},
		TryRuntimeError,
	},
};
use pot_pol_core::schedule;

impl<T: Config> Pallet<T> {
	/// Checks every invariant of the pallet:
	/// - a run has participants (at most `MaxProviders` by construction, distinct), and is in a
	///   round below its round count;
	/// - a run failing for a missed deadline names its open round, one failing for a refuted
	///   aggregate a round opened (its open round's result is in); a run's recorded refutation
	///   names a round whose result is in, and such a run does not complete;
	/// - a run with an open round (not closing) has its deadlines ordered and not yet passed,
	///   is in the deadline index under the block after its result deadline, exactly once, and
	///   the index holds nothing else;
	/// - commitments belong to the open round of a live run, name a participant with a
	///   non-empty chunk, claim between 1 and H steps with the matching checkpoint count, and
	///   their number is the round's count: a work unit can be verified at most once per round;
	/// - a round's commit deadline is its start plus `CommitWindow`, or earlier only when every
	///   participant with a non-empty chunk has committed (the window closed early);
	/// - every provider's open-run counter is the number of runs it takes part in;
	/// - settlement: each run's recorded rounds are exactly `unsettled`, distinct rounds below
	///   the rounds whose result is in, and `settled + unsettled` is the number of results in
	///   (so a round is settled, and paid, at most once); a closing run still has an unsettled
	///   round (else it would have been closed); a recorded round's verdicts are by position,
	///   ascending, of participants; a round is in the settlement index under the block after
	///   its challenge window while that block is to come, and is only past its window with a
	///   challenge open on it (no round pays while a challenge on it is open: it stays
	///   recorded);
	/// - challenges: each open challenge is listed, open, in its round's record and every open
	///   listing is a stored challenge; it has a challenger, a full committee of distinct
	///   members that excludes the challenger, the run's validator and the target provider, a
	///   vote deadline now or later under which it is indexed exactly once, no vote of a
	///   non-member, an outcome not decided yet, and an id below the next id.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut open = BTreeMap::<T::AccountId, u32>::new();
		let mut indexed = 0usize;

		for (order, run) in Runs::<T>::iter() {
			ensure!(!run.participants.is_empty(), "a run has no participants");
			let distinct: BTreeSet<_> = run.participants.iter().map(|p| &p.provider).collect();
			ensure!(distinct.len() == run.participants.len(), "a participant appears twice");
			for p in &run.participants {
				let n = open.entry(p.provider.clone()).or_default();
				*n = n.saturating_add(1);
			}
			let r = &run.round;
			ensure!(r.index < run.rounds, "a run is past its last round");
			ensure!(
				r.started_at <= r.commit_deadline && r.commit_deadline < r.result_deadline,
				"a round's deadlines are out of order"
			);
			let results_in = match run.closing {
				None => r.index,
				Some(Closing::Complete) => r.index.saturating_add(1),
				Some(Closing::Fail { round, reason: FailureReason::MissedResultDeadline, .. }) => {
					ensure!(round == r.index, "a run failed for a deadline names another round");
					r.index
				}
				// The result of the last round opened is in; the refuted round is that one or
				// an earlier one.
				Some(Closing::Fail { round, reason: FailureReason::WrongAggregate, .. }) => {
					ensure!(round <= r.index, "a run failed for an aggregate never opened");
					r.index.saturating_add(1)
				}
			};
			if let Some(refutation) = &run.refuted {
				ensure!(refutation.round < results_in, "a round is refuted before its result");
				ensure!(
					!matches!(run.closing, Some(Closing::Complete)),
					"a run with a refuted round completes"
				);
			}
			ensure!(
				run.settled.saturating_add(run.unsettled) == results_in,
				"a run's settled and unsettled rounds are not its results"
			);
			let mut recorded = 0u32;
			for (round, record) in RoundResults::<T>::iter_prefix(order) {
				recorded = recorded.saturating_add(1);
				ensure!(round < results_in, "a round is recorded before its result");
				let mut previous = None;
				for v in &record.verdicts {
					ensure!(
						previous.is_none_or(|p| p < v.position),
						"a round's verdicts are not by position"
					);
					previous = Some(v.position);
					ensure!(
						(v.position as usize) < run.participants.len(),
						"a verdict names no participant"
					);
					if let Verdict::Rejected(rejection) = v.verdict {
						let segments = schedule::segment_count(
							u64::from(v.commitment.steps_done),
							u64::from(run.checkpoint_interval),
						)
						.map_err(|_| "a recorded commitment has no segments")?;
						ensure!(rejection.segment < segments, "a rejection names no segment");
					}
					ensure!(
						!v.overturned ||
							record.challenges.iter().any(|c| {
								!c.open && c.claim.is_segment_claim() && c.target == v.position
							}),
						"a verdict is overturned without a resolved challenge"
					);
				}
				let due = record.window_end.saturating_add(One::one());
				let listed =
					SettleAt::<T>::get(due).iter().filter(|e| **e == (order, round)).count();
				if record.window_end >= now {
					ensure!(listed == 1, "an unsettled round is not indexed once for settlement");
				} else {
					ensure!(listed == 0, "a settlement index entry is past due");
					ensure!(record.challenged(), "a round past its window is not settled");
				}
				for slot in &record.challenges {
					let stored = Challenges::<T>::get(slot.id);
					ensure!(stored.is_some() == slot.open, "a challenge listing is off");
					if let Some(c) = stored {
						ensure!(
							(c.order, c.round, c.claim, c.target, c.segment) ==
								(order, round, slot.claim, slot.target, slot.segment),
							"a challenge differs from its listing"
						);
					}
				}
				let subjects: BTreeSet<_> = record
					.challenges
					.iter()
					.map(|c| (c.claim, c.target, c.segment))
					.collect();
				ensure!(
					subjects.len() == record.challenges.len(),
					"a segment was challenged twice with the same claim"
				);
			}
			ensure!(recorded == run.unsettled, "a run's unsettled count is off");

			if run.closing.is_some() {
				ensure!(run.unsettled > 0, "a closing run with nothing to settle was kept");
				ensure!(
					Commitments::<T>::iter_prefix(order).next().is_none(),
					"a closing run has commitments"
				);
				continue;
			}
			ensure!(r.result_deadline >= now, "a run is past its result deadline");
			let due = r.result_deadline.saturating_add(One::one());
			let entries = ResultDeadlines::<T>::get(due);
			ensure!(
				entries.iter().filter(|e| **e == (order, r.index)).count() == 1,
				"a round is not indexed exactly once by its result deadline"
			);
			indexed = indexed.saturating_add(1);

			let mut commitments = 0u32;
			for (position, c) in Commitments::<T>::iter_prefix(order) {
				commitments = commitments.saturating_add(1);
				let p = run
					.participants
					.get(position as usize)
					.ok_or("a commitment names no participant")?;
				ensure!(p.samples > 0, "a provider with an empty chunk committed");
				ensure!(
					c.steps_done > 0 && c.steps_done <= run.local_steps,
					"a commitment claims too many steps"
				);
				let expected = schedule::checkpoint_count(
					u64::from(c.steps_done),
					u64::from(run.checkpoint_interval),
				)
				.map_err(|_| "a commitment has no checkpoint schedule")?;
				ensure!(c.checkpoint_count == expected, "a commitment's checkpoint count is off");
			}
			ensure!(commitments == r.commitments, "a round's commitment count is off");
			ensure!(
				r.commitments <= Self::expected_commitments(&run.participants),
				"a round has more commitments than providers with a chunk"
			);
			let full_window = r.started_at.saturating_add(T::CommitWindow::get());
			ensure!(r.commit_deadline <= full_window, "a commit deadline is past its window");
			ensure!(
				r.commit_deadline == full_window ||
					r.commitments == Self::expected_commitments(&run.participants),
				"a commit window closed early without every commitment"
			);
		}

		let entries: usize = ResultDeadlines::<T>::iter_values().map(|v| v.len()).sum();
		ensure!(entries == indexed, "the deadline index holds rounds of no live run");
		for (order, _) in Commitments::<T>::iter_keys() {
			ensure!(Runs::<T>::contains_key(order), "a commitment of no live run");
		}
		for (order, _) in RoundResults::<T>::iter_keys() {
			ensure!(Runs::<T>::contains_key(order), "a recorded round of no live run");
		}
		for (due, rounds) in SettleAt::<T>::iter() {
			ensure!(due > now, "a settlement index entry is past due");
			for (order, round) in rounds {
				let record = RoundResults::<T>::get(order, round)
					.ok_or("a settlement index entry names no recorded round")?;
				ensure!(
					record.window_end.saturating_add(One::one()) == due,
					"a round is indexed for settlement at the wrong block"
				);
			}
		}
		for (who, n) in OpenRuns::<T>::iter() {
			ensure!(n > 0, "a zero open-run counter is stored");
			ensure!(open.get(&who) == Some(&n), "an open-run counter is off");
		}
		ensure!(
			OpenRuns::<T>::iter().count() == open.len(),
			"a participant has no open-run counter"
		);

		let next = NextChallengeId::<T>::get();
		let mut challenges = 0usize;
		for (id, c) in Challenges::<T>::iter() {
			challenges = challenges.saturating_add(1);
			ensure!(id < next, "a challenge id is not below the next id");
			let record = RoundResults::<T>::get(c.order, c.round)
				.ok_or("an open challenge of no recorded round")?;
			ensure!(
				record.challenges.iter().any(|s| s.id == id && s.open),
				"an open challenge is not listed open by its round"
			);
			let run = Runs::<T>::get(c.order).ok_or("an open challenge of no live run")?;
			ensure!(
				c.committee.len() == T::CommitteeSize::get() as usize,
				"a committee is not full"
			);
			let members: BTreeSet<_> = c.committee.iter().map(|(m, _)| m).collect();
			ensure!(members.len() == c.committee.len(), "a committee member appears twice");
			ensure!(!members.contains(&c.challenger), "the challenger sits on its committee");
			ensure!(!members.contains(&run.validator), "the run's validator sits on a committee");
			if c.claim.is_segment_claim() {
				let target = run
					.participants
					.get(c.target as usize)
					.ok_or("a challenge names no participant")?;
				ensure!(!members.contains(&target.provider), "the target sits on its committee");
			}
			ensure!(c.opened_at <= record.window_end, "a challenge opened after its window");
			ensure!(c.vote_deadline >= now, "an open challenge is past its vote deadline");
			let due = c.vote_deadline.saturating_add(One::one());
			ensure!(
				VoteDeadlines::<T>::get(due).iter().filter(|i| **i == id).count() == 1,
				"an open challenge is not indexed once by its vote deadline"
			);
			ensure!(c.decided().is_none(), "a decided challenge is still open");
		}
		let listed: usize = VoteDeadlines::<T>::iter_values().map(|v| v.len()).sum();
		ensure!(listed == challenges, "the vote-deadline index holds no open challenge");
		Ok(())
	}
}
