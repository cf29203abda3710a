//! Records of training runs, commitments and round results.

use crate::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_runtime::{FixedU64, Perbill},
};
use pot_primitives::{ContentHash, WorkUnits};
use scale_info::TypeInfo;

/// A round of an order, from 0.
pub type RoundIndex = u32;

/// A provider's position in the participant list of a run, from 0.
pub type Position = u32;

/// One provider taking part in a run: who it is, the capacity it declared when the run started
/// and the size of its data chunk in every round.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Participant<AccountId> {
	/// The provider's account.
	pub provider: AccountId,
	/// Its capacity (work units per hour) when the run started; chunks are sized by it.
	pub capacity: WorkUnits,
	/// Samples of its chunk in every round (`pot_pol_core::assign::chunk_sizes`). Which samples
	/// they are changes with each round's seed (`pot_pol_core::assign::chunks`).
	pub samples: u32,
}

/// The participants of a run, in the validator's cluster order.
pub type ParticipantsOf<T> = BoundedVec<
	Participant<<T as polkadot_sdk::frame_system::Config>::AccountId>,
	<T as Config>::MaxProviders,
>;

/// The round an order is in and its timing.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct RoundInfo<BlockNumber> {
	/// The round, from 0.
	pub index: RoundIndex,
	/// The round's public seed: with the order id and the round it fixes every provider's chunk
	/// and minibatch order (`pot_pol_core::assign::RoundKey`).
	pub seed: ContentHash,
	/// Hash of the global weights θ_r every provider starts the round from.
	pub weights: ContentHash,
	/// Block the round started in.
	pub started_at: BlockNumber,
	/// Last block in which a commitment is accepted: `started_at + CommitWindow`, or, if every
	/// participant with a non-empty chunk committed before that, the block of the last of
	/// those commitments (the window closed early). The verification seed is the hash of this
	/// block, known from the next block on, when the round result starts being accepted.
	pub commit_deadline: BlockNumber,
	/// Last block in which the validator's round result is accepted; in `on_initialize` of the
	/// block after it, the order fails.
	pub result_deadline: BlockNumber,
	/// Commitments received so far in this round.
	pub commitments: u32,
}

/// A matched order being trained.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct Run<T: Config> {
	/// The validator whose cluster trains the order; it submits the round results.
	pub validator: T::AccountId,
	/// The providers, fixed when the run starts.
	pub participants: ParticipantsOf<T>,
	/// Rounds of the order (R).
	pub rounds: RoundIndex,
	/// Optimizer steps per provider and round (H).
	pub local_steps: u32,
	/// Checkpoint interval (k).
	pub checkpoint_interval: u32,
	/// The current round.
	pub round: RoundInfo<BlockNumberFor<T>>,
}

/// What a provider commits to for one round (PROTOCOL.md step 4). Hyper-parameters, data and
/// data order are not part of it: the order and the round's seed fix them.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct Commitment {
	/// Hash of the (compressed) weight update uploaded to the validator.
	pub update_hash: ContentHash,
	/// Merkle root over the checkpoint hashes (`pot_pol_core::merkle::root`).
	pub checkpoint_root: ContentHash,
	/// Number of checkpoints under the root, the initial one included; must equal
	/// `pot_pol_core::schedule::checkpoint_count(steps_done, k)`.
	pub checkpoint_count: u32,
	/// Optimizer steps done (1 to H): the work units claimed.
	pub steps_done: u32,
	/// Training loss before the first step.
	pub loss_before: FixedU64,
	/// Training loss after the last step.
	pub loss_after: FixedU64,
}

/// Why the validator rejected a submission: the segment whose re-execution failed.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct Rejection {
	/// The checkpoint segment that failed (below the submission's segment count).
	pub segment: u32,
	/// The distance measured between the re-executed and the committed checkpoint.
	pub distance: FixedU64,
	/// Hash of the verifier's evidence (its report); named in the offence report.
	pub evidence: ContentHash,
}

/// The validator's verdict on one commitment.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum Verdict {
	/// Re-execution reproduced every selected segment: the provider is paid its steps.
	Accepted,
	/// Re-execution failed: the provider is reported for invalid work.
	Rejected(Rejection),
}

/// Evaluation of the new global weights on held-out data.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct EvalMetrics {
	/// Held-out loss.
	pub loss: FixedU64,
	/// Held-out accuracy.
	pub accuracy: Perbill,
}

/// The validator's round result ("proof of execution", PROTOCOL.md step 5). `Verdicts` is the
/// list of verdicts ([`RoundResultOf`] bounds it by `MaxProviders`).
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct RoundResult<Verdicts> {
	/// One verdict per commitment of the round, by participant position, ascending; every
	/// commitment has exactly one.
	pub verdicts: Verdicts,
	/// Hash of the aggregated weights θ_{r+1}: the next round starts from them; after the last
	/// round they are the trained model.
	pub new_weights: ContentHash,
	/// Evaluation of θ_{r+1}.
	pub eval: EvalMetrics,
}

/// A round result as the validator passes it in: at most `MaxProviders` verdicts, so a longer
/// list fails to decode before any work.
pub type RoundResultOf<T> =
	RoundResult<BoundedVec<(Position, Verdict), <T as Config>::MaxProviders>>;

/// Why a run ended without completing.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub enum FailureReason {
	/// The validator did not submit the round result by the round's result deadline.
	MissedResultDeadline,
}
