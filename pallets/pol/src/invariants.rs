//! Invariants of the PoL pallet, checked by `try_state` and after every test.
//!
//! This iterates whole maps: it is for `try-runtime` and tests only, never for block execution.

use crate::{Commitments, Config, OpenRuns, Pallet, ResultDeadlines, Runs};
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
	///   round below its round count whose deadlines are ordered and not yet passed;
	/// - each run's current round is in the deadline index under the block after its result
	///   deadline, exactly once, and the index holds nothing else;
	/// - commitments belong to a live run, name a participant with a non-empty chunk, claim
	///   between 1 and H steps with the matching checkpoint count, and their number is the
	///   round's count: a work unit can be verified (and paid) at most once per round;
/// - a round's commit deadline is its start plus `CommitWindow`, or earlier only when every
///   participant with a non-empty chunk has committed (the window closed early);
	/// - every provider's open-run counter is the number of runs it takes part in.
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
		for (who, n) in OpenRuns::<T>::iter() {
			ensure!(n > 0, "a zero open-run counter is stored");
			ensure!(open.get(&who) == Some(&n), "an open-run counter is off");
		}
		ensure!(
			OpenRuns::<T>::iter().count() == open.len(),
			"a participant has no open-run counter"
		);
		Ok(())
	}
}
