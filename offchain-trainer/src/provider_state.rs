//! The provider's state on disk (`pot-trainer work --state-dir DIR`) and the one decision it
//! drives: what to do about a round the provider is assigned to.
//!
//! ```text
//! DIR/
//!   commitments/{order}-{round}.json   CommitmentRecord: what was (or is being) committed
//!   proofs/{order}-{round}/            the proof directory of that round (proof::train)
//!   artifacts/{kind}/{hash}            model specs and weights downloaded from validators, and
//!                                      the provider's error-feedback residuals (`residual`)
//! ```
//! A record is written (to a temporary file, synced, then renamed over the old one) *before*
//! its commitment is submitted, as `Pending`, and marked `Confirmed` once the transaction is
//! finalized or the commitment is seen on chain. With [`decide`] that gives:
//! - a restart never submits a round twice: a `Confirmed` record is never resubmitted, and a
//!   `Pending` one only after [`RESUBMIT_AFTER_BLOCKS`] without the commitment appearing;
//! - no work is lost: a `Pending` record (the transaction was dropped or the process died
//!   while submitting) is resubmitted as long as the commit window is open, and training is
//!   deterministic, so a round interrupted before its record retrains to the same commitment.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Blocks a pending submission is given to appear on chain before it is sent again.
pub const RESUBMIT_AFTER_BLOCKS: u64 = 5;

/// Most submissions of one commitment (the first included).
pub const MAX_SUBMISSIONS: u32 = 5;

/// Where a commitment stands as far as this provider knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionState {
	/// Submitted (or about to be); not yet seen finalized or on chain.
	Pending,
	/// Finalized, or seen in `Pol.Commitments`.
	Confirmed,
}

/// The commitment of one round, as recorded on disk (hashes as hex, losses as `FixedU64`
/// inner values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentRecord {
	/// Order id.
	pub order: u64,
	/// Round.
	pub round: u32,
	/// The provider's position.
	pub position: u32,
	/// Hash of the final weights.
	pub update_hash: String,
	/// Merkle root of the checkpoints.
	pub checkpoint_root: String,
	/// BLAKE2b-256 of the proof bundle uploaded (its address). Empty in records written
	/// before proofs were addressed by it: such a record cannot be resubmitted.
	#[serde(default)]
	pub proof_hash: String,
	/// Checkpoints under the root.
	pub checkpoint_count: u32,
	/// Steps trained.
	pub steps_done: u32,
	/// First training loss (×10⁹).
	pub loss_before: u64,
	/// Last training loss (×10⁹).
	pub loss_after: u64,
	/// Error-feedback residual the update was compressed with (zero: none).
	pub residual_in: String,
	/// Residual the update leaves (zero under a dense encoding).
	pub residual_out: String,
	/// Submission state.
	pub state: SubmissionState,
	/// Best block number when last submitted.
	pub submitted_at: u64,
	/// Submissions so far.
	pub submissions: u32,
}

/// What to do about an assigned round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
	/// Nothing (done, waiting for a pending transaction, or too late).
	Wait,
	/// The chain has the commitment but the disk does not say so: record it as confirmed.
	RecordConfirmed,
	/// Train (or reuse the finished proof), upload it and submit.
	TrainAndSubmit,
	/// Submit the recorded commitment again (the earlier transaction did not land).
	Resubmit,
}

/// The decision for one assigned round, from what the chain shows (`on_chain`: its
/// commitment is in `Pol.Commitments`), what the disk says (`record`), whether the commit
/// window is open and the current block.
pub fn decide(
	on_chain: bool,
	record: Option<&CommitmentRecord>,
	window_open: bool,
	now: u64,
) -> Action {
	match (on_chain, record) {
		(true, Some(r)) if r.state == SubmissionState::Confirmed => Action::Wait,
		(true, _) => Action::RecordConfirmed,
		(false, _) if !window_open => Action::Wait,
		(false, None) => Action::TrainAndSubmit,
		(false, Some(r)) => match r.state {
			// Finalized once: the chain must have it; never send it again.
			SubmissionState::Confirmed => Action::Wait,
			SubmissionState::Pending
				if r.submissions < MAX_SUBMISSIONS
					&& (r.submissions == 0
						|| now >= r.submitted_at.saturating_add(RESUBMIT_AFTER_BLOCKS)) =>
			{
				Action::Resubmit
			},
			SubmissionState::Pending => Action::Wait,
		},
	}
}

/// The provider's directory.
#[derive(Clone, Debug)]
pub struct StateDir {
	root: PathBuf,
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
	use std::io::Write;
	let dir =
		path.parent().ok_or_else(|| Error::Task(format!("{} has no parent", path.display())))?;
	std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
	let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
	let tmp = dir.join(format!(".{name}.tmp"));
	{
		let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
		f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
		f.sync_all().map_err(|e| Error::io(&tmp, e))?;
	}
	std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
	// Make the rename itself durable.
	if let Ok(d) = std::fs::File::open(dir) {
		let _ = d.sync_all();
	}
	Ok(())
}

impl StateDir {
	/// Opens (creating) the state directory `root`.
	pub fn open(root: &Path) -> Result<Self> {
		for sub in ["commitments", "proofs", "artifacts"] {
			let p = root.join(sub);
			std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
		}
		Ok(Self { root: root.to_path_buf() })
	}

	/// The directory.
	pub fn root(&self) -> &Path {
		&self.root
	}

	fn record_path(&self, order: u64, round: u32) -> PathBuf {
		self.root.join("commitments").join(format!("{order}-{round}.json"))
	}

	/// The proof directory of a round.
	pub fn proof_dir(&self, order: u64, round: u32) -> PathBuf {
		self.root.join("proofs").join(format!("{order}-{round}"))
	}

	/// Where the round's data chunk, as the validator sent it, is kept (for restarts and for
	/// re-executing a rejected segment).
	pub fn chunk_path(&self, order: u64, round: u32) -> PathBuf {
		self.root.join("chunks").join(format!("{order}-{round}.bin"))
	}

	/// Where the round's compressed update is kept (re-uploaded with a resubmission).
	pub fn update_path(&self, order: u64, round: u32) -> PathBuf {
		self.root.join("updates").join(format!("{order}-{round}.bin"))
	}

	/// Where a downloaded artifact is cached.
	pub fn artifact_path(&self, kind: &str, hash: &[u8; 32]) -> PathBuf {
		self.root.join("artifacts").join(kind).join(hex::encode(hash))
	}

	/// The record of a round, if any.
	pub fn record(&self, order: u64, round: u32) -> Result<Option<CommitmentRecord>> {
		let path = self.record_path(order, round);
		match std::fs::read_to_string(&path) {
			Ok(text) => {
				serde_json::from_str(&text).map(Some).map_err(|source| Error::Json { path, source })
			},
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(Error::io(path, e)),
		}
	}

	/// Writes the record of its round (atomically).
	pub fn put_record(&self, record: &CommitmentRecord) -> Result<()> {
		let path = self.record_path(record.order, record.round);
		let text = serde_json::to_vec_pretty(record)
			.map_err(|source| Error::Json { path: path.clone(), source })?;
		write_atomic(&path, &text)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn record(state: SubmissionState, submitted_at: u64, submissions: u32) -> CommitmentRecord {
		CommitmentRecord {
			order: 3,
			round: 1,
			position: 0,
			update_hash: "11".repeat(32),
			checkpoint_root: "22".repeat(32),
			proof_hash: "44".repeat(32),
			checkpoint_count: 6,
			steps_done: 50,
			loss_before: 2_300_000_000,
			loss_after: 400_000_000,
			residual_in: "00".repeat(32),
			residual_out: "33".repeat(32),
			state,
			submitted_at,
			submissions,
		}
	}

	#[test]
	fn decisions_never_double_submit_and_never_drop_work() {
		use Action::*;
		use SubmissionState::*;
		let pending = record(Pending, 100, 1);
		let confirmed = record(Confirmed, 100, 1);
		let unsent = record(Pending, 0, 0);
		// Every combination of (on chain, disk, window open).
		let cases: Vec<(bool, Option<&CommitmentRecord>, bool, Action)> = vec![
			(true, None, true, RecordConfirmed),
			(true, None, false, RecordConfirmed),
			(true, Some(&pending), true, RecordConfirmed),
			(true, Some(&pending), false, RecordConfirmed),
			(true, Some(&confirmed), true, Wait),
			(true, Some(&confirmed), false, Wait),
			(false, None, true, TrainAndSubmit),
			(false, None, false, Wait),
			(false, Some(&confirmed), true, Wait),
			(false, Some(&confirmed), false, Wait),
			(false, Some(&pending), false, Wait),
			// Written but never sent (died before submitting): send at once.
			(false, Some(&unsent), true, Resubmit),
		];
		for (on_chain, disk, open, expected) in cases {
			assert_eq!(decide(on_chain, disk, open, 101), expected, "{on_chain} {disk:?} {open}");
		}
		// A pending submission gets RESUBMIT_AFTER_BLOCKS to land, then is sent again, at
		// most MAX_SUBMISSIONS times.
		assert_eq!(decide(false, Some(&pending), true, 104), Wait);
		assert_eq!(decide(false, Some(&pending), true, 105), Resubmit);
		let exhausted = record(Pending, 100, MAX_SUBMISSIONS);
		assert_eq!(decide(false, Some(&exhausted), true, 1_000), Wait);
	}

	#[test]
	fn records_round_trip_and_replace_atomically() -> Result<()> {
		let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
		let state = StateDir::open(&dir.path().join("state"))?;
		assert_eq!(state.record(3, 1)?, None);
		let mut r = record(SubmissionState::Pending, 10, 1);
		state.put_record(&r)?;
		assert_eq!(state.record(3, 1)?, Some(r.clone()));
		r.state = SubmissionState::Confirmed;
		state.put_record(&r)?;
		// A fresh handle (a restarted process) reads the last write; no temporary file stays.
		let reopened = StateDir::open(state.root())?;
		assert_eq!(reopened.record(3, 1)?, Some(r));
		assert_eq!(reopened.record(3, 2)?, None);
		let names: Vec<String> = std::fs::read_dir(state.root().join("commitments"))
			.map_err(|e| Error::io("dir", e))?
			.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
			.collect();
		assert_eq!(names, vec!["3-1.json".to_owned()]);
		assert!(state.proof_dir(3, 1).ends_with("proofs/3-1"));
		// A corrupt record is an error, not a silent "no record" (which could resubmit).
		std::fs::write(state.root().join("commitments/4-0.json"), b"{")
			.map_err(|e| Error::io("w", e))?;
		assert!(state.record(4, 0).is_err());
		Ok(())
	}
}
