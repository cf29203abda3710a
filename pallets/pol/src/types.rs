//! Records of training runs, commitments and round results.

use crate::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	frame_support::{
		traits::ConstU32, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
	},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_runtime::{FixedI64, FixedU64, Perbill},
};
use pot_primitives::{ContentHash, OrderId, WorkUnits};
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
	/// Hash of the provider's error-feedback residual: what compression has dropped from its
	/// accepted updates so far, which its next commitment must add back
	/// ([`Commitment::residual_in`]). Zero until an accepted commitment names one, and always
	/// zero under a dense update encoding.
	pub residual: ContentHash,
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
	/// The current round. Once the run is closing (`closing` is set) no round is open and this
	/// is the last round that was opened.
	pub round: RoundInfo<BlockNumberFor<T>>,
	/// Rounds whose result was recorded and settled (paid, reported).
	pub settled: RoundIndex,
	/// Rounds whose result was recorded but is not settled yet (in [`crate::RoundResults`]:
	/// in their challenge window, or waiting for a challenge on them to be resolved).
	pub unsettled: RoundIndex,
	/// `Some` once no round will be opened any more: the last round's result is in, a
	/// deadline was missed, or the result of the round open when a round's aggregate was
	/// refuted is in. The order is completed or failed in the market when the last unsettled
	/// round settles.
	pub closing: Option<Closing<T::Balance>>,
	/// The first `WrongAggregate` claim upheld while the run was not closing: the run goes on
	/// only until the result of the round open at the resolution, which then closes it with
	/// [`Refutation::closing`] instead of opening the next round (or completing). A missed
	/// result deadline of that round fails the run for the deadline instead.
	pub refuted: Option<Refutation<T::Balance>>,
}

/// An upheld `WrongAggregate` claim: the validator announced new weights for `round` that are
/// not the order's aggregation of the accepted updates.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct Refutation<Balance> {
	/// The round whose new weights were refuted.
	pub round: RoundIndex,
	/// What the validator's `WrongVerdict` report at the resolution slashed (`None`: nothing,
	/// it was not bonded).
	pub validator_slashed: Option<Balance>,
}

impl<Balance: Clone> Refutation<Balance> {
	/// How a run with this refutation ends: it fails for a wrong aggregate of the refuted
	/// round, with the slash taken at the resolution; nobody is compensated (the open round's
	/// verified work is paid at its settlement).
	pub fn closing(&self) -> Closing<Balance> {
		Closing::Fail {
			round: self.round,
			reason: FailureReason::WrongAggregate,
			validator_slashed: self.validator_slashed.clone(),
			providers_compensated: None,
		}
	}
}

/// How a run ends once its unsettled rounds are settled.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub enum Closing<Balance> {
	/// Every round's result is in: the order completes (fee to the validator, rest to the
	/// consumer).
	Complete,
	/// The order fails (everything unspent, the validator's accrued fee included, back to the
	/// consumer), for `reason`:
	/// - `MissedResultDeadline`: the validator missed the result deadline of `round` (and was
	///   reported, taking `validator_slashed`; `None`: it was not bonded).
	///   `providers_compensated` is what the providers that had committed to `round` received
	///   out of that slash, in total (`None` when nothing was slashed).
	/// - `WrongAggregate`: a challenge refuted the new weights of `round` (an earlier round, or
	///   the last one opened); `validator_slashed` is what the validator's `WrongVerdict` report
	///   at the resolution took; `providers_compensated` is `None` (the rounds whose result is
	///   in settle and pay as usual).
	Fail {
		round: RoundIndex,
		reason: FailureReason,
		validator_slashed: Option<Balance>,
		providers_compensated: Option<Balance>,
	},
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
	/// BLAKE2b-256 of the proof bundle uploaded to the validator (manifest with losses and
	/// minibatches, and the checkpoints): its address, so that no copy of the proof with the
	/// same checkpoints but other records can stand in for it.
	pub proof_hash: ContentHash,
	/// Number of checkpoints under the root, the initial one included; must equal
	/// `pot_pol_core::schedule::checkpoint_count(steps_done, k)`.
	pub checkpoint_count: u32,
	/// Optimizer steps done (1 to H): the work units claimed.
	pub steps_done: u32,
	/// Training loss before the first step.
	pub loss_before: FixedU64,
	/// Training loss after the last step.
	pub loss_after: FixedU64,
	/// The error-feedback residual the update was compressed with: must be the participant's
	/// [`Participant::residual`] when the commitment is submitted (zero: none).
	pub residual_in: ContentHash,
	/// The residual this update leaves (`Δ + residual_in − decode(update)`, canonically
	/// encoded); the participant's residual once the validator accepts the commitment. Zero
	/// under a dense update encoding.
	pub residual_out: ContentHash,
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
	/// `improvement` is what the update alone lowers the held-out loss by, as the validator
	/// measured it (`loss(θ_r) − loss(θ_r − Δ)`, negative when it raises the loss). A public
	/// run weighs the update's reward by it (`pot_pol_core::reward`).
	Accepted { improvement: FixedI64 },
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
	/// A challenge upheld that the validator's new weights of the round were not the
	/// aggregate of the accepted updates; the run stopped after the round then open.
	WrongAggregate,
}

/// One verdict of a recorded round result, with the commitment it judges (kept for challenges:
/// the checkpoint root and count) and whether a challenge overturned it.
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
pub struct RecordedVerdict {
	/// The provider's position in the run.
	pub position: Position,
	/// Its commitment of the round.
	pub commitment: Commitment,
	/// The validator's verdict.
	pub verdict: Verdict,
	/// A challenge was upheld against the verdict: an acceptance then pays nothing (the
	/// provider was reported at the resolution), a rejection pays like an acceptance and is not
	/// reported. An overturned verdict cannot be challenged again.
	pub overturned: bool,
}

impl RecordedVerdict {
	/// Whether the provider is paid at settlement: accepted and not overturned, or rejected and
	/// overturned.
	pub fn pays(&self) -> bool {
		matches!(self.verdict, Verdict::Accepted { .. }) != self.overturned
	}
}

/// What a challenge disputes.
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
	PartialOrd,
	Ord,
	Debug,
)]
pub enum ClaimKind {
	/// The target's submission was accepted but the named segment does not re-execute, and
	/// the validator had to re-execute it (it is in the sample the round's verification seed
	/// selects), or the proof does not back the commitment at all: the provider forged work and
	/// the validator accepted it. Upheld: the provider is reported for `InvalidWork`, the
	/// validator for `WrongVerdict`, the provider is not paid for the round.
	#[codec(index = 0)]
	InvalidWorkAccepted,
	/// The target's submission was rejected, but the segment the rejection names re-executes:
	/// the validator censored valid work. Upheld: the validator is reported for `Censorship`,
	/// the provider is paid at settlement and not reported.
	#[codec(index = 1)]
	ValidWorkRejected,
	/// The round's new weights are not the order's aggregation of the accepted updates. Upheld:
	/// the validator is reported for `WrongVerdict`, and the run fails (`WrongAggregate`) after
	/// the round open at the resolution; the validator gets no fee. Target and segment must be
	/// 0 and the proof empty.
	#[codec(index = 2)]
	WrongAggregate,
	/// The target's submission was accepted but the named segment does not re-execute: the
	/// provider forged work, whether or not the validator's sample had to find it. Upheld: the
	/// provider is reported for `InvalidWork` and is not paid for the round; the validator is not
	/// reported. The claim against a provider alone, for a forged segment that the sample was
	/// allowed to miss (`InvalidWorkAccepted` would not be upheld there).
	#[codec(index = 3)]
	ForgedWork,
}

impl ClaimKind {
	/// Whether the claim is about one submission's segment (not the aggregate).
	pub fn is_segment_claim(&self) -> bool {
		!matches!(self, ClaimKind::WrongAggregate)
	}
}

/// Most sibling hashes of a checkpoint's Merkle proof: enough for any tree of up to 2^32
/// leaves, so no commitment's proof is refused for its length.
pub const MAX_PROOF_DEPTH: u32 = 32;

/// The sibling hashes of a Merkle proof (`pot_pol_core::merkle::MerkleProof::siblings`), from
/// the leaf upwards. Longer lists fail to decode.
pub type ProofPath = BoundedVec<ContentHash, ConstU32<MAX_PROOF_DEPTH>>;

/// The two checkpoints at the ends of the disputed segment `s` (checkpoints `s` and `s + 1`)
/// and their Merkle proofs against the target's committed `checkpoint_root`; the leaf count of
/// both proofs is the commitment's `checkpoint_count`.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	PartialEq,
	Eq,
	Debug,
	Default,
)]
pub struct SegmentProof {
	/// Hash of checkpoint `s`, where the segment starts.
	pub start: ContentHash,
	/// Its Merkle path.
	pub start_path: ProofPath,
	/// Hash of checkpoint `s + 1`, where the segment ends.
	pub end: ContentHash,
	/// Its Merkle path.
	pub end_path: ProofPath,
}

/// Id of a challenge, from 0.
pub type ChallengeId = u64;

/// A challenge of a round, as its round record lists it (open or resolved).
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
pub struct ChallengeSlot {
	/// The challenge.
	pub id: ChallengeId,
	/// What it disputes.
	pub claim: ClaimKind,
	/// The target position (0 for `WrongAggregate`).
	pub target: Position,
	/// The disputed segment (0 for `WrongAggregate`).
	pub segment: u32,
	/// Not resolved yet.
	pub open: bool,
}

impl ChallengeSlot {
	/// Whether `self` and a claim about `(claim, target)` dispute the same thing: the same
	/// submission, or both the aggregate.
	pub fn same_subject(&self, claim: ClaimKind, target: Position) -> bool {
		match (self.claim.is_segment_claim(), claim.is_segment_claim()) {
			(true, true) => self.target == target,
			(false, false) => true,
			_ => false,
		}
	}
}

/// The recorded result of a round, kept until it settles: after its challenge window closed
/// with no challenge open on it.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct RoundRecord<T: Config> {
	/// The round's public seed (`RoundInfo::seed`): with the order and the round it fixes every
	/// provider's chunk and minibatch order, which a challenge's committee re-executes.
	pub seed: ContentHash,
	/// Hash of the weights θ_r the round started from (`RoundInfo::weights`).
	pub weights: ContentHash,
	/// The round's verification seed ([`crate::Pallet::verification_seed`] of its commit
	/// deadline): it fixes which segments the validator had to re-execute, which a watcher
	/// re-executes in turn.
	pub verification_seed: ContentHash,
	/// One per commitment of the round, by position ascending.
	pub verdicts: BoundedVec<RecordedVerdict, T::MaxProviders>,
	/// Hash of the aggregated weights θ_{r+1} the validator announced.
	pub new_weights: ContentHash,
	/// Last block in which the round may be challenged (`ChallengeWindow` blocks after the
	/// result). The round settles in the next block's `on_initialize`, or when its last open
	/// challenge is resolved, whichever is later.
	pub window_end: BlockNumberFor<T>,
	/// The challenges of the round, open and resolved.
	pub challenges: BoundedVec<ChallengeSlot, T::MaxChallengesPerRound>,
}

impl<T: Config> RoundRecord<T> {
	/// Whether a challenge on the round is open.
	pub fn challenged(&self) -> bool {
		self.challenges.iter().any(|c| c.open)
	}
}

/// An open challenge: its claim, the checkpoints of the disputed segment, the challenger, the
/// committee with the votes so far and the vote deadline. Removed when resolved.
#[derive(
	Encode, Decode, MaxEncodedLen, TypeInfo, CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
#[codec(mel_bound(T: Config))]
pub struct Challenge<T: Config> {
	/// The order.
	pub order: OrderId,
	/// The challenged round.
	pub round: RoundIndex,
	/// The claim.
	pub claim: ClaimKind,
	/// The target position (0 for `WrongAggregate`).
	pub target: Position,
	/// The disputed segment (0 for `WrongAggregate`).
	pub segment: u32,
	/// Hashes of checkpoints `segment` and `segment + 1`, proven against the target's root
	/// (zero for `WrongAggregate`): what the committee re-executes from and must reach.
	pub checkpoints: (ContentHash, ContentHash),
	/// Who challenged; its stake answers for the challenge (reported for
	/// `UnfoundedChallenge` if it is not upheld).
	pub challenger: T::AccountId,
	/// The committee, in draw order, with each member's vote (`Some(true)`: upheld).
	pub committee: BoundedVec<(T::AccountId, Option<bool>), T::CommitteeSize>,
	/// Block the challenge was opened in.
	pub opened_at: BlockNumberFor<T>,
	/// Last block in which a vote is accepted; the challenge is resolved with the votes cast
	/// in the next block's `on_initialize` at the latest.
	pub vote_deadline: BlockNumberFor<T>,
}

impl<T: Config> Challenge<T> {
	/// Votes (upheld, not upheld) so far.
	pub fn tally(&self) -> (u32, u32) {
		self.committee.iter().fold((0u32, 0u32), |(ayes, nays), (_, vote)| match vote {
			Some(true) => (ayes.saturating_add(1), nays),
			Some(false) => (ayes, nays.saturating_add(1)),
			None => (ayes, nays),
		})
	}

	/// The outcome the votes so far fix: `Some(true)` once a strict majority of the committee
	/// upheld the claim, `Some(false)` once such a majority can no longer be reached, `None`
	/// while it can.
	pub fn decided(&self) -> Option<bool> {
		let size = u64::try_from(self.committee.len()).unwrap_or(u64::MAX);
		let (ayes, nays) = self.tally();
		let (ayes, nays) = (u64::from(ayes), u64::from(nays));
		if ayes.saturating_mul(2) > size {
			Some(true)
		} else if size.saturating_sub(nays).saturating_mul(2) <= size {
			Some(false)
		} else {
			None
		}
	}
}
