//! # PoT Proof of Learning
//!
//! Steps 3–7 of the PoT protocol (`shared/PROTOCOL.md`) on chain: a matched order is trained in
//! rounds by the providers of its validator's cluster; each provider commits to its work, the
//! validator re-executes sampled checkpoint segments off chain and its node's offchain worker
//! submits the round's result; the result may be challenged for [`Config::ChallengeWindow`]
//! blocks, a committee of validators deciding; then verified work is paid through the market
//! and invalid work reported to staking. A validator that misses a round's deadline fails the
//! order and is reported itself; the providers that had committed to that round are compensated
//! out of its slash.
//!
//! The pallet meets the market only through [`pot_primitives::OrderSettlement`] and staking only
//! through [`pot_primitives::ClusterInspect`] and [`pot_primitives::ReportOffence`]; it
//! implements [`pot_primitives::OpenWorkInspect`] for staking.
//!
//! ## Calls
//! - [`start_order`](Pallet::start_order): the order's validator starts round 0. The providers
//!   are the members of its cluster of the order's hardware class (at most the order's maximum),
//!   fixed for the whole run; each gets a share of the data set by its capacity
//!   (`pot_pol_core::assign::chunk_sizes`).
//! - [`submit_commitment`](Pallet::submit_commitment): an assigned provider commits to its round
//!   (update hash, checkpoint Merkle root and count, steps, losses) until the commit deadline.
//!   The last expected commitment closes the commit window early (see *Rounds*).
//! - [`fail_unstarted`](Pallet::fail_unstarted): anyone fails a matched order its validator
//!   did not start within [`Config::StartWindow`] blocks; the validator is reported.
//! - [`submit_round_result`](Pallet::submit_round_result): after the commit deadline and until
//!   the result deadline, the validator gives one verdict per commitment, the new global weights
//!   and their evaluation. The result is recorded ([`RoundResults`]) for the challenge window;
//!   the next round starts at once. After the last round (or once an earlier round's aggregate
//!   was refuted) the run is *closing*.
//! - [`challenge`](Pallet::challenge): a bonded account disputes an accepted or rejected
//!   submission's segment (proven against the committed Merkle root) or the round's aggregate
//!   within the window; a committee of [`Config::CommitteeSize`] active validators is drawn.
//! - [`vote`](Pallet::vote): committee members vote; a strict majority upholds the claim.
//!
//! ## Settlement and challenges
//! In the block after a round's window, a round with no open challenge settles: accepted
//! providers are paid their steps, rejected ones reported for
//! [`InvalidWork`](pot_primitives::OffenceKind::InvalidWork); a challenged round settles when
//! its last challenge is resolved. A resolution reports the loser (the winner as reporter):
//! upheld, the target provider (`InvalidWork`) and the validator (`WrongVerdict` or
//! `Censorship`), and the verdict is overturned (an accepted provider is not paid, a rejected
//! one is); not upheld, the challenger (`UnfoundedChallenge`). Members that did not vote by the
//! deadline are reported (`MissedVote`). An upheld `WrongAggregate` claim (the validator
//! reported for `WrongVerdict`) also ends the run: the round open at the resolution runs to its
//! result, then no round opens and the order fails ([`FailureReason::WrongAggregate`]; the
//! validator earns no fee); a run already closing to complete fails instead. A closing run
//! completes (or fails) its order once its last recorded round settled.
//!
//! ## Rounds
//! A round starting at block `s` accepts commitments in blocks `s ..= s + CommitWindow` (the
//! *commit deadline* `c`) and the result in blocks `c + 1 ..= c + VerifyWindow` (the *result
//! deadline* `d`). Its public seed (which fixes chunks and minibatch order with the order id and
//! round) is derived from the parent hash of block `s`; its verification seed (which selects the
//! re-executed segments) from the hash of block `c`, which nobody knows while committing.
//!
//! When every participant with a non-empty chunk has committed before `c`, the window closes in
//! the block of the last commitment, `b`: the round's commit deadline becomes `b`
//! ([`Event::CommitWindowClosed`]), the verification seed is the hash of block `b` and the
//! result is accepted from block `b + 1` on. The result deadline `d` does not move, so the
//! validator gains the time the providers saved.
//!
//! ## Offchain worker
//! A validator node runs the validator's side of step 5 in the `offchain_worker` hook: for each
//! key of type [`KEY_TYPE`] (`potv`, sr25519, the validator account's own key, inserted with
//! `pot-node key insert --key-type potv --scheme sr25519 --suri <secret>`) it
//! - submits a signed [`start_order`](Pallet::start_order) for each order the market matched to
//!   the account ([`pot_primitives::OrderSettlement::orders_assigned_to`]) that is not started;
//! - once a run's commit deadline has passed (and until its result deadline), posts to the
//!   verifier service at `{verifier}/v1/rounds/{order}/{round}/result` and submits a signed
//!   [`submit_round_result`](Pallet::submit_round_result) with the SCALE-encoded
//!   [`RoundResultOf`] of a `200` answer (`202`: still computing, asked again next block).
//!
//! `{verifier}` is the URL under [`offchain::VERIFIER_URL_KEY`] (`pot::verifier-url`) in the
//! node's persistent offchain storage, else the validator's registered endpoint
//! ([`pot_primitives::ClusterInspect::endpoint_of`]). A lock in offchain storage keeps the same
//! transaction from being sent again for [`offchain::LOCK_BLOCKS`] blocks. Failures are logged
//! (target `runtime::pot-pol::ocw`) and retried in a later block; the worker never panics.
//!
//! ## Deadlines
//! Runs are indexed by the block after their result deadline ([`ResultDeadlines`]). In that
//! block's `on_initialize` each still-unanswered run fails: the validator is reported for
//! [`MissedDeadline`](pot_primitives::OffenceKind::MissedDeadline) through
//! [`report_offence_compensating`](pot_primitives::ReportOffence::report_offence_compensating),
//! which pays each provider with a commitment in the missed round (in [`Commitments`]) its
//! committed steps at the order's price per work unit out of the slash, in position order, as
//! far as the slash reaches (rounds whose result came in settle and pay as usual); once the
//! rounds recorded before settled, the market refunds the consumer's unspent budget
//! ([`Event::RunFailed`] with the slash and the compensation paid). Settlements ([`SettleAt`])
//! and vote deadlines ([`VoteDeadlines`]) are indexed the same way. At most
//! [`Config::MaxRunsPerDeadline`] entries share a block in each index, so the hook's work is
//! bounded.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use polkadot_sdk::{frame_support, frame_system};

pub use pallet::*;
pub use types::*;
pub use views::ProviderRound;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod challenge_tests;
mod challenges;
#[cfg(test)]
mod compensation_tests;
mod dispatchable_impls;
mod hooks;
#[cfg(any(feature = "try-runtime", test))]
mod invariants;
#[cfg(test)]
mod mock;
pub mod offchain;
#[cfg(test)]
mod offchain_tests;
mod open_work;
#[cfg(test)]
mod public_run_tests;
#[cfg(test)]
mod refutation_tests;
mod settlement;
#[cfg(test)]
mod tests;
mod types;
mod views;
pub mod weights;

/// Key type of the validator's offchain-worker key: the sr25519 key of the validator's own
/// account, inserted into the node's keystore with
/// `pot-node key insert --key-type potv --scheme sr25519 --suri <secret>`.
pub const KEY_TYPE: polkadot_sdk::sp_core::crypto::KeyTypeId =
	polkadot_sdk::sp_core::crypto::KeyTypeId(*b"potv");

/// The application crypto of [`KEY_TYPE`] (sr25519) and the signer the offchain worker uses:
/// [`crypto::AuthorityId`] is the runtime's `Config::AuthorityId`.
pub mod crypto {
	use super::KEY_TYPE;
	use polkadot_sdk::{
		frame_system::offchain::AppCrypto,
		sp_core::sr25519 as raw,
		sp_runtime::{
			app_crypto::{app_crypto, sr25519},
			MultiSignature, MultiSigner,
		},
	};

	app_crypto!(sr25519, KEY_TYPE);

	/// Signs the offchain worker's transactions with a `potv` key, as the account of its public
	/// key (the validator's own account, an sr25519 key).
	pub struct AuthorityId;

	impl AppCrypto<MultiSigner, MultiSignature> for AuthorityId {
		type RuntimeAppPublic = Public;
		type GenericPublic = raw::Public;
		type GenericSignature = raw::Signature;
	}
}

/// Sets up what the benchmarks need and the pallet cannot create itself (runtime-benchmarks).
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// Creates a matched order run by `validator`, whose cluster then holds exactly `providers`
	/// (funded, bonded, able to receive payments) in the order's hardware class. The order has
	/// `rounds` rounds, at least one step per round and provider, its `max_providers` is the
	/// number of providers, and its budget pays every step of every round.
	fn matched_order(
		validator: &AccountId,
		providers: &[AccountId],
		rounds: u32,
	) -> pot_primitives::OrderId;

	/// Makes `validators` the active validators (`ClusterInspect::active_validators`, in this
	/// order), each bonded at least `ChallengeBond`, so that any of them may challenge and the
	/// others form its committee.
	fn active_validators(validators: &[AccountId]);
}

// The pallet macros expand to `expect` calls (on values they have just built) that the
// workspace lints would reject; hand-written code in this module uses none.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use pot_primitives::{
		ClusterInspect, ContentHash, OffenceKind, OrderId, OrderSettlement, ReportOffence,
		SettlementError, WorkUnits,
	};

	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ frame_system::offchain::CreateSignedTransaction<Call<Self>>
	{
		/// The signer of the offchain worker's transactions: keys of type [`crate::KEY_TYPE`]
		/// ([`crate::crypto::AuthorityId`] in the runtime).
		type AuthorityId: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>;

		/// The balance type of the market's settlement and of staking's slashes.
		type Balance: frame_support::traits::tokens::Balance;

		/// The market: matched orders, payments for verified work, completion and failure.
		type Settlement: OrderSettlement<Self::AccountId, Self::Balance, BlockNumberFor<Self>>;

		/// Validator staking: the providers of a validator's cluster.
		type Clusters: ClusterInspect<Self::AccountId>;

		/// Validator staking: slashing of providers for invalid work and of validators for
		/// missed deadlines; a validator's missed result deadline compensates the round's
		/// committed providers out of its slash.
		type Offences: ReportOffence<Self::AccountId, Self::Balance>;

		/// Most providers of one run (the bound of the stored participant list). Orders asking
		/// for more are trained by this many.
		#[pallet::constant]
		type MaxProviders: Get<u32>;

		/// Blocks after a round's start during which commitments are accepted (the commit
		/// deadline is the start block plus this).
		#[pallet::constant]
		type CommitWindow: Get<BlockNumberFor<Self>>;

		/// Blocks after the commit deadline during which the validator must submit the round
		/// result (the result deadline is the commit deadline plus this). Together with
		/// `CommitWindow` it must stay below `frame_system`'s `BlockHashCount`, so that the
		/// verification seed (a block hash) is still known when the result arrives.
		#[pallet::constant]
		type VerifyWindow: Get<BlockNumberFor<Self>>;

		/// Blocks after matching within which the validator must start an order; after them
		/// anyone may fail the unstarted order ([`Pallet::fail_unstarted`]).
		#[pallet::constant]
		type StartWindow: Get<BlockNumberFor<Self>>;

		/// Most runs whose result deadline ends in the same block; also the most runs the block
		/// hook fails in one block, the most round results whose challenge window closes in one
		/// block and the most challenges whose vote deadline ends in one block.
		#[pallet::constant]
		type MaxRunsPerDeadline: Get<u32>;

		/// Blocks after a round result during which the round may be challenged (the window's
		/// last block is the result's block plus this). The round settles (payouts, reports of
		/// rejected work) in the block after, unless a challenge on it is still open.
		#[pallet::constant]
		type ChallengeWindow: Get<BlockNumberFor<Self>>;

		/// Slashable stake (`ReportOffence::slashable`: bonded plus unbonding) a challenger must
		/// have; it answers for the challenge (reported for `UnfoundedChallenge` if the
		/// challenge is not upheld).
		#[pallet::constant]
		type ChallengeBond: Get<Self::Balance>;

		/// Most challenges of one round (open and resolved).
		#[pallet::constant]
		type MaxChallengesPerRound: Get<u32>;

		/// Validators drawn for a challenge's committee (M). A strict majority of M decides.
		#[pallet::constant]
		type CommitteeSize: Get<u32>;

		/// Blocks after a challenge is opened during which its committee votes (the vote
		/// deadline is the opening block plus this).
		#[pallet::constant]
		type VoteWindow: Get<BlockNumberFor<Self>>;

		/// Weights of this pallet's calls and hook.
		type WeightInfo: WeightInfo;

		/// Creates matched orders and clusters for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: crate::BenchmarkHelper<Self::AccountId>;
	}

	/// Orders being trained, with their participants and current round. A run is removed when
	/// its order completes or fails; the outcome is in the events.
	#[pallet::storage]
	pub type Runs<T: Config> = StorageMap<_, Twox64Concat, OrderId, Run<T>>;

	/// Commitments of the current round of each run, by participant position. Cleared when the
	/// round's result is accepted or the run fails.
	#[pallet::storage]
	pub type Commitments<T: Config> =
		StorageDoubleMap<_, Twox64Concat, OrderId, Twox64Concat, Position, Commitment>;

	/// Runs (and their current round) by the block after their result deadline; that block's
	/// `on_initialize` fails those still waiting for their result.
	#[pallet::storage]
	pub type ResultDeadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<(OrderId, RoundIndex), T::MaxRunsPerDeadline>,
		ValueQuery,
	>;

	/// Number of runs each provider takes part in (absent: none). Staking refuses
	/// `leave_cluster` while it is positive ([`pot_primitives::OpenWorkInspect`]).
	#[pallet::storage]
	pub type OpenRuns<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, u32>;

	/// Recorded round results not settled yet, by order and round: the verdicts with the
	/// commitments they judge, the new weights, the challenge window and the round's
	/// challenges. Removed when the round settles.
	#[pallet::storage]
	pub type RoundResults<T: Config> =
		StorageDoubleMap<_, Twox64Concat, OrderId, Twox64Concat, RoundIndex, RoundRecord<T>>;

	/// Rounds by the block after their challenge window; that block's `on_initialize` settles
	/// those with no open challenge.
	#[pallet::storage]
	pub type SettleAt<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<(OrderId, RoundIndex), T::MaxRunsPerDeadline>,
		ValueQuery,
	>;

	/// Open challenges by id. Removed when resolved; the outcome is in the events.
	#[pallet::storage]
	pub type Challenges<T: Config> = StorageMap<_, Twox64Concat, ChallengeId, Challenge<T>>;

	/// The id of the next challenge.
	#[pallet::storage]
	pub type NextChallengeId<T: Config> = StorageValue<_, ChallengeId, ValueQuery>;

	/// Open challenges by the block after their vote deadline; that block's `on_initialize`
	/// resolves them with the votes cast and reports the members that did not vote.
	#[pallet::storage]
	pub type VoteDeadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<ChallengeId, T::MaxRunsPerDeadline>,
		ValueQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// The validator started training a matched order with these providers (in position
		/// order; chunk sizes included), fixed for the whole run.
		RunStarted { order: OrderId, validator: T::AccountId, participants: ParticipantsOf<T> },
		/// A round started. Provider `p` trains its chunk of `pot_pol_core::assign::chunks`
		/// keyed by `(order, round, seed)` over the participants' capacities, from `weights`,
		/// and commits by `commit_deadline`; the validator's result is due by `result_deadline`.
		RoundStarted {
			order: OrderId,
			round: RoundIndex,
			seed: ContentHash,
			weights: ContentHash,
			commit_deadline: BlockNumberFor<T>,
			result_deadline: BlockNumberFor<T>,
		},
		/// A provider committed to its work of a round.
		CommitmentSubmitted {
			order: OrderId,
			round: RoundIndex,
			provider: T::AccountId,
			commitment: Commitment,
		},
		/// Every participant with a non-empty chunk committed before the commit deadline, so
		/// the round's commit window closed early, in block `at` (its new commit deadline). The
		/// verification seed is the hash of block `at`, and the validator's result is accepted
		/// from the next block on; the result deadline stays as `RoundStarted` announced it.
		CommitWindowClosed { order: OrderId, round: RoundIndex, at: BlockNumberFor<T> },
		/// The validator's result of a round was accepted. `verification_seed` is the seed the
		/// segments were selected with (the hash of the commit-deadline block).
		RoundVerified {
			order: OrderId,
			round: RoundIndex,
			verification_seed: ContentHash,
			accepted: u32,
			rejected: u32,
			new_weights: ContentHash,
			eval: EvalMetrics,
		},
		/// The round's result is recorded and may be challenged until block `window_end`
		/// (inclusive); it settles after that, once no challenge on it is open.
		ChallengeWindowOpened { order: OrderId, round: RoundIndex, window_end: BlockNumberFor<T> },
		/// A round settled: `paid` providers were paid (`ProviderPaid` / `PayoutFailed` before
		/// this), `rejected` reported (`SubmissionRejected`).
		RoundSettled { order: OrderId, round: RoundIndex, paid: u32, rejected: u32 },
		/// `challenger` challenged round `round` of `order`: `claim` about the submission at
		/// `target` (segment `segment`, between the checkpoints `start` and `end`, proven
		/// against its committed root). `committee` re-executes and votes until `vote_deadline`.
		ChallengeOpened {
			id: ChallengeId,
			order: OrderId,
			round: RoundIndex,
			claim: ClaimKind,
			target: Position,
			segment: u32,
			start: ContentHash,
			end: ContentHash,
			challenger: T::AccountId,
			committee: BoundedVec<T::AccountId, T::CommitteeSize>,
			vote_deadline: BlockNumberFor<T>,
		},
		/// A committee member voted on a challenge (`upheld`: the claim is right).
		VoteCast { id: ChallengeId, voter: T::AccountId, upheld: bool },
		/// A challenge was resolved with `ayes` votes for and `nays` against: `upheld` when a
		/// strict majority of the committee voted for it. The reports follow as
		/// `ChallengeOffence` events.
		ChallengeResolved {
			id: ChallengeId,
			order: OrderId,
			round: RoundIndex,
			claim: ClaimKind,
			target: Position,
			upheld: bool,
			ayes: u32,
			nays: u32,
		},
		/// A party of a resolved challenge was reported: the target provider (`InvalidWork`),
		/// the validator (`WrongVerdict`, `Censorship`), the challenger (`UnfoundedChallenge`)
		/// or a committee member that did not vote (`MissedVote`). `slashed` is what staking
		/// took (`None`: not bonded).
		ChallengeOffence {
			id: ChallengeId,
			offender: T::AccountId,
			kind: OffenceKind,
			slashed: Option<T::Balance>,
		},
		/// The market refused to complete an order whose every round settled; the run is
		/// forgotten, the order stays with the market.
		CompletionRefused { order: OrderId, error: SettlementError },
		/// An accepted provider was paid for its verified steps of a round (`amount` is what it
		/// received; the validator's fee share accrues in the market).
		ProviderPaid {
			order: OrderId,
			round: RoundIndex,
			provider: T::AccountId,
			work_units: WorkUnits,
			amount: T::Balance,
		},
		/// The market refused to pay an accepted provider (for example: the order's reservation
		/// is used up, or the payee cannot exist with the amount). The work is not paid later.
		PayoutFailed {
			order: OrderId,
			round: RoundIndex,
			provider: T::AccountId,
			work_units: WorkUnits,
			error: SettlementError,
		},
		/// A provider's submission was rejected and the provider reported for invalid work;
		/// `slashed` is what staking took (`None`: the provider was not bonded any more).
		SubmissionRejected {
			order: OrderId,
			round: RoundIndex,
			provider: T::AccountId,
			rejection: Rejection,
			slashed: Option<T::Balance>,
		},
		/// Every round was verified and settled and the order completed: the validator got its
		/// fee, the consumer the unspent rest.
		RunCompleted { order: OrderId, validator_fee: T::Balance, refunded: T::Balance },
		/// A matched order was not started within `StartWindow` blocks and failed: the consumer
		/// got its budget back (`refunded`) and the validator was reported for a missed deadline
		/// (`validator_slashed`, `None` if it was not bonded) by `reporter`.
		UnstartedOrderFailed {
			order: OrderId,
			validator: T::AccountId,
			reporter: T::AccountId,
			refunded: T::Balance,
			validator_slashed: Option<T::Balance>,
		},
		/// A run failed: the consumer got its unspent budget back (`refunded`, `None` if the
		/// market refused; the validator's accrued fee included) and the validator was reported
		/// (`validator_slashed`, `None` if it was not bonded).
		/// - `MissedResultDeadline`: the validator missed the result deadline of `round`. The
		///   providers that had committed to `round` were compensated out of that slash for
		///   their committed steps at the order's price, in position order, as far as the slash
		///   reached: `providers_compensated` is what they received in total (`None` if the
		///   validator was not bonded; staking's `Compensated` events name each provider). The
		///   validator is reported and the providers compensated when the deadline passes.
		/// - `WrongAggregate`: a challenge refuted the new weights of `round`; the validator
		///   was reported for `WrongVerdict` at the resolution (`validator_slashed`) and the run
		///   stopped after the round then open; `providers_compensated` is `None` (every round
		///   whose result is in settled and paid as usual).
		///
		/// The order fails in the market (and this is emitted) once the rounds recorded before
		/// have settled.
		RunFailed {
			order: OrderId,
			round: RoundIndex,
			reason: FailureReason,
			refunded: Option<T::Balance>,
			validator_slashed: Option<T::Balance>,
			providers_compensated: Option<T::Balance>,
		},
		/// A participant that was given data for `round` committed nothing by the commit
		/// deadline and was reported for a missed deadline when the round's result came in;
		/// `slashed` is what staking took (`None`: the provider was not bonded any more).
		CommitmentMissed {
			order: OrderId,
			round: RoundIndex,
			provider: T::AccountId,
			slashed: Option<T::Balance>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No matched order has this id (unknown, still open, or already final).
		OrderNotMatched,
		/// The caller is not the validator the order was matched to.
		NotOrderValidator,
		/// The order is already being trained.
		AlreadyStarted,
		/// The validator's cluster has fewer providers of the order's hardware class (with
		/// capacity) than the order's minimum.
		NotEnoughProviders,
		/// The task cannot be split into rounds: its data set has more than `u32::MAX` samples,
		/// or a count (rounds, local steps, checkpoint interval) is zero.
		InvalidTask,
		/// `MaxRunsPerDeadline` runs already have their result deadline in the block this round
		/// would; try again in the next block.
		DeadlineBlockFull,
		/// A block number overflowed.
		Overflow,
		/// No run of this order (never started, or completed or failed).
		UnknownRun,
		/// The order is in another round.
		WrongRound,
		/// The round's commit deadline has passed.
		CommitWindowClosed,
		/// The caller is not a provider of this run.
		NotAssigned,
		/// The caller's chunk is empty (more providers than samples): it has nothing to train.
		EmptyChunk,
		/// The caller already committed in this round.
		AlreadyCommitted,
		/// The steps done are zero or more than the order's local steps per round.
		StepsOutOfRange,
		/// The checkpoint count is not the one the steps and the checkpoint interval imply.
		CheckpointCountMismatch,
		/// The round's commit deadline has not passed yet.
		CommitWindowOpen,
		/// The round's result deadline has passed.
		ResultDeadlinePassed,
		/// The verdicts are not exactly one per commitment, in ascending position order.
		VerdictsMismatch,
		/// A rejection names a segment the submission does not have.
		SegmentOutOfRange,
		/// The order's validator still has time to start it.
		StartWindowOpen,
		/// The run opens no more rounds: its last round's result is in, or it fails (a missed
		/// deadline, a refuted aggregate); it waits for its recorded rounds to settle.
		RunClosing,
		/// No unsettled result of this round: never submitted, or already settled.
		NoRoundResult,
		/// The round's challenge window has passed.
		ChallengeWindowClosed,
		/// The caller's slashable stake is below `ChallengeBond`.
		InsufficientBond,
		/// The target position has no verdict in this round.
		UnknownTarget,
		/// The claim does not fit the target's verdict (`InvalidWorkAccepted` or `ForgedWork`
		/// of a rejected submission, `ValidWorkRejected` of an accepted one).
		ClaimMismatch,
		/// A `ValidWorkRejected` claim must name the segment the rejection names.
		WrongSegment,
		/// A `WrongAggregate` claim with a target, a segment or a proof.
		MalformedClaim,
		/// A checkpoint's Merkle proof does not lead to the target's committed root.
		InvalidProof,
		/// A challenge upheld against this verdict already overturned it.
		VerdictOverturned,
		/// A challenge of the same submission (or of the round's aggregate) is open.
		ChallengeOpen,
		/// This submission's segment (or the round's aggregate) was challenged before with
		/// the same claim.
		AlreadyChallenged,
		/// The round has `MaxChallengesPerRound` challenges.
		TooManyChallenges,
		/// Fewer active validators than `CommitteeSize` are left once the challenger, the
		/// run's validator and the target provider are excluded.
		NoCommittee,
		/// No open challenge has this id (unknown, or resolved).
		UnknownChallenge,
		/// The caller is not on the challenge's committee.
		NotCommitteeMember,
		/// The caller already voted on this challenge.
		AlreadyVoted,
		/// The challenge's vote deadline has passed.
		VoteWindowClosed,
		/// The commitment's `residual_in` is not the caller's current error-feedback residual
		/// (`Participant::residual`).
		ResidualMismatch,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Fails the runs whose result deadline was the previous block, settles the rounds
		/// whose challenge window closed in the previous block (unless challenged) and resolves
		/// the challenges whose vote deadline was the previous block.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::fail_overdue(now)
				.saturating_add(Self::settle_due(now))
				.saturating_add(Self::close_votes(now))
		}

		/// The validator's offchain worker: for each local `potv` key, starts the orders
		/// matched to its account and submits the round results its verifier service computed
		/// (see the [`offchain`] module).
		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::offchain_work(now);
		}

		fn integrity_test() {
			Self::check_config();
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_now: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Starts training the matched order `order`; only its validator may. The providers are
		/// the members of the caller's cluster that declared the order's hardware class and
		/// some capacity, in cluster order, at most the order's `max_providers` (and
		/// `MaxProviders`); at least its `min_providers`. They stay the same for every round.
		/// Round 0 starts from the task's initial weights. Emits `RunStarted` and
		/// `RoundStarted`.
		///
		/// The weight is that of a full cluster (reading the cluster costs as much however few
		/// members fit the order), so nothing is refunded.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::start_order(Pallet::<T>::cluster_weight_arg()))]
		pub fn start_order(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_start_order(who, order).map(|_| ())
		}

		/// Commits the caller's work of round `round` of `order`: only a provider of the run,
		/// only until the round's commit deadline, once per round. `steps_done` is at most the
		/// order's local steps and `checkpoint_count` must match it; `residual_in` must be the
		/// caller's current error-feedback residual. Emits
		/// `CommitmentSubmitted`. The commitment that completes the round (every participant
		/// with a non-empty chunk has committed) closes the commit window in its block, which
		/// becomes the round's commit deadline: `CommitWindowClosed` follows.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::submit_commitment())]
		pub fn submit_commitment(
			origin: OriginFor<T>,
			order: OrderId,
			round: RoundIndex,
			commitment: Commitment,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_submit_commitment(who, order, round, commitment)
		}

		/// The validator's result of round `round` of `order`, after the commit deadline and
		/// by the result deadline: one verdict per commitment, by position, ascending. The
		/// result is recorded and may be challenged for `ChallengeWindow` blocks
		/// (`ChallengeWindowOpened`); then it settles: accepted providers are paid their steps
		/// (`ProviderPaid`, or `PayoutFailed`), rejected ones reported for invalid work
		/// (`SubmissionRejected`), `RoundSettled`. The next round starts at once
		/// (`RoundStarted`); after the last round the order completes (`RunCompleted`) once
		/// every round settled. If an earlier round's aggregate was refuted (an upheld
		/// `WrongAggregate` challenge), no round starts and the order fails once every round
		/// settled (`RunFailed`, reason `WrongAggregate`). Emits `RoundVerified` first.
		/// Participants that were given data but committed nothing are reported for a missed
		/// deadline (`CommitmentMissed`).
		#[pallet::call_index(2)]
		#[pallet::weight(
			Pallet::<T>::round_result_weight(T::MaxProviders::get())
				.saturating_add(Pallet::<T>::missed_commitments_weight(T::MaxProviders::get()))
		)]
		pub fn submit_round_result(
			origin: OriginFor<T>,
			order: OrderId,
			round: RoundIndex,
			result: RoundResultOf<T>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let counts = Self::do_submit_round_result(who, order, round, result)?;
			Ok(Some(
				Self::round_result_weight(counts.verdicts)
					.saturating_add(Self::missed_commitments_weight(counts.missed)),
			)
			.into())
		}

		/// Fails the matched order `order` that its validator did not start within
		/// `StartWindow` blocks of matching; anyone may call. The market releases the whole
		/// unspent budget to the consumer and the validator is reported for a missed deadline,
		/// the caller as reporter. Emits `UnstartedOrderFailed`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::fail_unstarted()
			.saturating_add(T::Settlement::fail_weight())
			.saturating_add(T::Offences::report_weight()))]
		pub fn fail_unstarted(origin: OriginFor<T>, order: OrderId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_fail_unstarted(who, order)
		}

		/// Challenges round `round` of `order` while its challenge window is open (until its
		/// last block, inclusive). The caller needs a slashable stake of `ChallengeBond`.
		///
		/// - `InvalidWorkAccepted`, `ForgedWork` / `ValidWorkRejected`: about the submission at
		///   `target`, which must have been accepted / rejected; `segment` is below its segment count (for
		///   a rejection: the segment the rejection names), and `proof` holds the checkpoints
		///   `segment` and `segment + 1` with Merkle paths to the target's committed root.
		/// - `WrongAggregate`: about the round's new weights; `target` and `segment` are 0 and
		///   `proof` is empty.
		///
		/// At most one open challenge per submission (and one of the aggregate), each segment
		/// (and the aggregate) challenged at most once per claim, at most `MaxChallengesPerRound` per
		/// round. A committee of `CommitteeSize` active validators is drawn from the parent
		/// hash and the challenge id, excluding the challenger, the run's validator and the
		/// target provider; it votes until `now + VoteWindow`. The round does not settle while
		/// the challenge is open. Emits `ChallengeOpened`.
		///
		/// Upheld (see [`vote`](Pallet::vote)), the validator is reported: for `WrongVerdict`
		/// (and the target provider for `InvalidWork`, not paid for the round) after
		/// `InvalidWorkAccepted`, for `Censorship` (the target paid) after `ValidWorkRejected`,
		/// not at all after `ForgedWork` (only the target provider, for `InvalidWork`, not paid),
		/// for `WrongVerdict` after `WrongAggregate`, which also fails the run: the round open at
		/// the resolution is still verified and settled, then no round opens (a run that was
		/// closing to complete fails instead; one already failing is unchanged), and once every
		/// round settled the order fails (`RunFailed`, reason `WrongAggregate`, with the slash
		/// taken at the resolution): the consumer gets all that is unspent back, the validator
		/// no fee. A missed result deadline of the open round fails the run for that instead.
		/// Not upheld, the challenger is reported for `UnfoundedChallenge` (the reporter being the
		/// defended party: the target provider for `ForgedWork`, the validator otherwise).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::challenge(T::Clusters::max_validators()))]
		pub fn challenge(
			origin: OriginFor<T>,
			order: OrderId,
			round: RoundIndex,
			target: Position,
			claim: ClaimKind,
			segment: u32,
			proof: SegmentProof,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_challenge(who, order, round, target, claim, segment, proof).map(|_| ())
		}

		/// A committee member's vote on challenge `id` (`upheld`: the claim is right), once,
		/// until the vote deadline. Emits `VoteCast`. The vote that decides the outcome (a
		/// strict majority of the committee for it, or enough against that none can form)
		/// resolves the challenge at once: `ChallengeResolved`, the reports
		/// (`ChallengeOffence`), and, if the round's window has closed and nothing else on it
		/// is open, its settlement. Members that did not vote are not reported then: they were
		/// not late.
		#[pallet::call_index(5)]
		#[pallet::weight(Pallet::<T>::vote_weight())]
		pub fn vote(
			origin: OriginFor<T>,
			id: ChallengeId,
			upheld: bool,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let resolved = Self::do_vote(who, id, upheld)?;
			Ok(if resolved { None } else { Some(T::WeightInfo::vote_cast()) }.into())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Weight of a round result with `n` verdicts: the pallet's own work for the worse of
		/// all accepted or all rejected. Payments and reports come at settlement.
		pub(crate) fn round_result_weight(n: u32) -> Weight {
			T::WeightInfo::submit_round_result_accept(n)
				.max(T::WeightInfo::submit_round_result_reject(n))
		}

		/// Staking's work when `n` participants are reported for committing nothing.
		pub(crate) fn missed_commitments_weight(n: u32) -> Weight {
			T::Offences::report_weight().saturating_mul(u64::from(n))
		}

		/// The market's and staking's work when one round of `MaxProviders` verdicts settles:
		/// a payment or a report per verdict, then the order's completion or failure.
		pub(crate) fn settlement_calls_weight() -> Weight {
			let per = T::Settlement::pay_for_work_weight().max(T::Offences::report_weight());
			per.saturating_mul(u64::from(T::MaxProviders::get()))
				.saturating_add(T::Settlement::complete_weight().max(T::Settlement::fail_weight()))
		}

		/// Weight of a resolution's reports: the claim's parties (at most two) and every
		/// committee member.
		pub(crate) fn resolution_reports_weight() -> Weight {
			T::Offences::report_weight()
				.saturating_mul(u64::from(T::CommitteeSize::get().saturating_add(2)))
		}

		/// Weight of a vote: the deciding vote with the settlement of the round it may free
		/// (benchmarked together), its reports (at most two; members are not reported before
		/// the deadline) and the market's work of that settlement.
		pub(crate) fn vote_weight() -> Weight {
			T::WeightInfo::vote_resolve()
				.saturating_add(T::Offences::report_weight().saturating_mul(2))
				.saturating_add(Self::settlement_calls_weight())
		}

		/// The cluster size `start_order` is charged for: the larger of `MaxProviders` and the
		/// most members a cluster can have.
		pub(crate) fn cluster_weight_arg() -> u32 {
			T::MaxProviders::get().max(T::Clusters::max_members())
		}

		/// Panics if the configuration cannot work (called by `integrity_test`).
		fn check_config() {
			use polkadot_sdk::sp_runtime::traits::Saturating;
			assert!(T::MaxProviders::get() > 0, "MaxProviders must be positive");
			assert!(T::MaxRunsPerDeadline::get() > 0, "MaxRunsPerDeadline must be positive");
			assert!(!T::VerifyWindow::get().is_zero(), "VerifyWindow must be positive");
			assert!(!T::ChallengeWindow::get().is_zero(), "ChallengeWindow must be positive");
			assert!(!T::VoteWindow::get().is_zero(), "VoteWindow must be positive");
			assert!(T::CommitteeSize::get() > 0, "CommitteeSize must be positive");
			assert!(T::MaxChallengesPerRound::get() > 0, "MaxChallengesPerRound must be positive");
			let span = T::CommitWindow::get().saturating_add(T::VerifyWindow::get());
			assert!(
				span < <T as frame_system::Config>::BlockHashCount::get(),
				"CommitWindow + VerifyWindow must stay below BlockHashCount"
			);
		}
	}
}
