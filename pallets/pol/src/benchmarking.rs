//! Benchmarks of every call and the block hook's three parts, each in its worst case: runs of
//! `MaxProviders` participants (or `p` of them), the deadline index entry nearly full, every
//! participant committed (the last commitment closing the commit window early), `r` runs
//! failing or `r` rounds settling in one block (each paying `MaxProviders` providers and
//! completing its order), a challenge with the longest Merkle proofs and its committee drawn
//! from `v` validators, the deciding vote settling the last round, `c` challenges resolved at
//! their vote deadline with every member reported.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::*;
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::{traits::Get, BoundedVec},
	frame_system::{self, pallet_prelude::BlockNumberFor, RawOrigin},
	sp_runtime::{
		traits::{One, Saturating},
		FixedI64, FixedU64, Perbill,
	},
};
use pot_pol_core::{merkle, schedule};
use pot_primitives::{ClusterInspect, ContentHash, OrderId, OrderSettlement};

const SEED: u32 = 0;

fn validator<T: Config>(i: u32) -> T::AccountId {
	account("validator", i, SEED)
}

fn providers<T: Config>(run: u32, n: u32) -> Vec<T::AccountId> {
	(0..n).map(|j| account("provider", run * T::MaxProviders::get() + j, SEED)).collect()
}

/// A matched order of validator `i` with `n` providers and `rounds` rounds.
fn matched<T: Config>(i: u32, n: u32, rounds: u32) -> (T::AccountId, OrderId) {
	let v = validator::<T>(i);
	let order = T::BenchmarkHelper::matched_order(&v, &providers::<T>(i, n), rounds);
	(v, order)
}

/// As [`matched`], started.
fn started<T: Config>(i: u32, n: u32, rounds: u32) -> (T::AccountId, OrderId) {
	let (v, order) = matched::<T>(i, n, rounds);
	assert_eq!(Pallet::<T>::do_start_order(v.clone(), order).unwrap(), n);
	(v, order)
}

/// A valid commitment of all the run's steps.
fn full_commitment<T: Config>(order: OrderId) -> Commitment {
	let run = Runs::<T>::get(order).unwrap();
	let steps = run.local_steps;
	Commitment {
		update_hash: ContentHash::repeat_byte(1),
		checkpoint_root: ContentHash::repeat_byte(2),
		proof_hash: ContentHash::repeat_byte(4),
		checkpoint_count: schedule::checkpoint_count(
			u64::from(steps),
			u64::from(run.checkpoint_interval),
		)
		.unwrap(),
		steps_done: steps,
		loss_before: FixedU64::from_rational(2, 1),
		loss_after: FixedU64::from_rational(1, 1),
		// Round 0's: no participant has a residual yet.
		residual_in: ContentHash::zero(),
		residual_out: ContentHash::repeat_byte(3),
	}
}

/// The first `n` participants of `order` commit.
fn commit_all<T: Config>(order: OrderId, n: u32) {
	let run = Runs::<T>::get(order).unwrap();
	let c = full_commitment::<T>(order);
	for p in run.participants.iter().take(n as usize) {
		Pallet::<T>::do_submit_commitment(p.provider.clone(), order, run.round.index, c).unwrap();
	}
}

/// Fills the deadline index entry that a round opened now would use, but for one place.
fn crowd_deadline_block<T: Config>() {
	let now = frame_system::Pallet::<T>::block_number();
	let due = now
		.saturating_add(T::CommitWindow::get())
		.saturating_add(T::VerifyWindow::get())
		.saturating_add(One::one());
	let filler: Vec<_> = (0..T::MaxRunsPerDeadline::get().saturating_sub(1))
		.map(|i| (OrderId(u64::MAX - u64::from(i)), 0))
		.collect();
	ResultDeadlines::<T>::insert(due, BoundedVec::try_from(filler).unwrap());
}

fn past_commit_deadline<T: Config>(order: OrderId) {
	let deadline = Runs::<T>::get(order).unwrap().round.commit_deadline;
	frame_system::Pallet::<T>::set_block_number(deadline.saturating_add(One::one()));
}

fn result<T: Config>(verdicts: Vec<(Position, Verdict)>) -> RoundResultOf<T> {
	RoundResult {
		verdicts: verdicts.try_into().unwrap(),
		new_weights: ContentHash::repeat_byte(3),
		eval: EvalMetrics { loss: FixedU64::from_rational(1, 2), accuracy: Perbill::one() },
	}
}

/// `n` validator accounts made active (bonded at least `ChallengeBond`); the first one
/// challenges in the benchmarks below, the others form committees.
fn pool<T: Config>(n: u32) -> Vec<T::AccountId> {
	let validators: Vec<T::AccountId> = (0..n).map(|i| account("pool", i, SEED)).collect();
	T::BenchmarkHelper::active_validators(&validators);
	validators
}

/// `count` runs (of validators `0..count`) with `MaxProviders` participants and one round,
/// started in the same block, all of whom committed, whose results (all accepted) are recorded
/// in the same block: their challenge windows end together. Returns the orders.
fn recorded_runs<T: Config>(count: u32) -> Vec<OrderId> {
	let n = T::MaxProviders::get();
	let runs: Vec<(T::AccountId, OrderId)> = (0..count).map(|i| started::<T>(i, n, 1)).collect();
	for (_, order) in &runs {
		commit_all::<T>(*order, n);
	}
	if let Some((_, first)) = runs.first() {
		past_commit_deadline::<T>(*first);
	}
	for (v, order) in &runs {
		let verdicts = (0..n)
			.map(|i| (i, Verdict::Accepted { improvement: FixedI64::from_inner(i64::from(i) + 1) }))
			.collect();
		Pallet::<T>::do_submit_round_result(v.clone(), *order, 0, result::<T>(verdicts)).unwrap();
	}
	runs.into_iter().map(|(_, order)| order).collect()
}

/// One run as [`recorded_runs`].
fn recorded<T: Config>() -> OrderId {
	recorded_runs::<T>(1)[0]
}

/// Sets the block to the last of the challenge window of round 0 of `order`.
fn at_window_end<T: Config>(order: OrderId) {
	let end = RoundResults::<T>::get(order, 0).unwrap().window_end;
	frame_system::Pallet::<T>::set_block_number(end);
}

/// Gives the target's commitment of round 0 of `order` the most checkpoints a commitment can
/// have (`u32::MAX`, at k = 1), so that both checkpoints of segment 0 have the longest
/// Merkle paths (32 siblings), and returns a valid proof of that segment.
fn longest_proof<T: Config>(order: OrderId, target: Position) -> SegmentProof {
	let (start, end) = ([7u8; 32], [8u8; 32]);
	let uppers: Vec<[u8; 32]> = (1..MAX_PROOF_DEPTH).map(|l| [l as u8; 32]).collect();
	let mut root = merkle::node(&merkle::leaf(&start), &merkle::leaf(&end));
	for sibling in &uppers {
		root = merkle::node(&root, sibling);
	}
	let path = |first: [u8; 32]| -> ProofPath {
		let all: Vec<ContentHash> = core::iter::once(first)
			.chain(uppers.iter().copied())
			.map(ContentHash::from)
			.collect();
		all.try_into().unwrap()
	};
	Runs::<T>::mutate(order, |r| r.as_mut().unwrap().checkpoint_interval = 1);
	RoundResults::<T>::mutate(order, 0, |r| {
		let entry = r.as_mut().unwrap().verdicts.iter_mut().find(|v| v.position == target).unwrap();
		entry.commitment.checkpoint_root = ContentHash::from(root);
		entry.commitment.checkpoint_count = u32::MAX;
		entry.commitment.steps_done = u32::MAX - 1;
	});
	let proof = SegmentProof {
		start: ContentHash::from(start),
		start_path: path(merkle::leaf(&end)),
		end: ContentHash::from(end),
		end_path: path(merkle::leaf(&start)),
	};
	assert_eq!(proof.start_path.len() as u32, MAX_PROOF_DEPTH);
	proof
}

/// A challenge of the submission at position 0 of `order` (segment 0) by `challenger`.
fn challenge_of<T: Config>(order: OrderId, challenger: &T::AccountId) -> ChallengeId {
	let proof = longest_proof::<T>(order, 0);
	Pallet::<T>::do_challenge(
		challenger.clone(),
		order,
		0,
		0,
		ClaimKind::InvalidWorkAccepted,
		0,
		proof,
	)
	.unwrap()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn start_order(p: Linear<1, { T::MaxProviders::get() }>) -> Result<(), BenchmarkError> {
		let (v, order) = matched::<T>(0, p, 2);
		crowd_deadline_block::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(v), order);
		assert_eq!(Runs::<T>::get(order).unwrap().participants.len() as u32, p);
		Ok(())
	}

	/// The last provider of a full run commits: the participant scan is longest, and its
	/// commitment closes the commit window early (one more event).
	#[benchmark]
	fn submit_commitment() -> Result<(), BenchmarkError> {
		let n = T::MaxProviders::get();
		let (_, order) = started::<T>(0, n, 2);
		commit_all::<T>(order, n - 1);
		let last = Runs::<T>::get(order).unwrap().participants[(n - 1) as usize].provider.clone();
		let c = full_commitment::<T>(order);
		let deadline = Runs::<T>::get(order).unwrap().round.commit_deadline;
		#[extrinsic_call]
		_(RawOrigin::Signed(last), order, 0, c);
		// Read the block after the call: the benchmark framework may move a block-0 setup to
		// block 1 before calling.
		let now = frame_system::Pallet::<T>::block_number();
		let round = Runs::<T>::get(order).unwrap().round;
		assert_eq!(round.commitments, n);
		assert!(now < deadline);
		assert_eq!(round.commit_deadline, now, "the last commitment closes the window");
		Ok(())
	}

	/// `n` accepted verdicts in the last round: recorded for the challenge window, the run
	/// closing.
	#[benchmark]
	fn submit_round_result_accept(
		n: Linear<0, { T::MaxProviders::get() }>,
	) -> Result<(), BenchmarkError> {
		let (v, order) = started::<T>(0, T::MaxProviders::get(), 1);
		commit_all::<T>(order, n);
		past_commit_deadline::<T>(order);
		let verdicts = (0..n)
			.map(|i| (i, Verdict::Accepted { improvement: FixedI64::from_inner(i64::from(i) + 1) }))
			.collect();
		#[extrinsic_call]
		submit_round_result(RawOrigin::Signed(v), order, 0, result::<T>(verdicts));
		assert!(RoundResults::<T>::contains_key(order, 0));
		assert!(Runs::<T>::get(order).unwrap().closing.is_some());
		Ok(())
	}

	/// `n` rejected verdicts in the first of two rounds: recorded, then the next round opens
	/// in a nearly full deadline block.
	#[benchmark]
	fn submit_round_result_reject(
		n: Linear<0, { T::MaxProviders::get() }>,
	) -> Result<(), BenchmarkError> {
		let (v, order) = started::<T>(0, T::MaxProviders::get(), 2);
		commit_all::<T>(order, n);
		past_commit_deadline::<T>(order);
		crowd_deadline_block::<T>();
		let rejection = Rejection {
			segment: 0,
			distance: FixedU64::from_rational(1, 100),
			evidence: ContentHash::repeat_byte(4),
		};
		let verdicts = (0..n).map(|i| (i, Verdict::Rejected(rejection))).collect();
		#[extrinsic_call]
		submit_round_result(RawOrigin::Signed(v), order, 0, result::<T>(verdicts));
		assert_eq!(Runs::<T>::get(order).unwrap().round.index, 1);
		Ok(())
	}

	#[benchmark]
	fn fail_unstarted() -> Result<(), BenchmarkError> {
		let (_, order) = matched::<T>(0, T::MaxProviders::get(), 2);
		let late = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::StartWindow::get())
			.saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(late);
		let caller: T::AccountId = account("caller", 0, SEED);
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), order);
		assert!(T::Settlement::matched_order(order).is_none());
		Ok(())
	}

	/// `r` overdue runs of `MaxProviders` participants, all committed, fail in one block: each
	/// reads every commitment and the order's price for the compensation claims. (The hook adds
	/// the market's `fail_weight` and staking's `report_compensating_weight(MaxProviders)` per
	/// run on top of this.)
	#[benchmark]
	fn fail_overdue(r: Linear<0, { T::MaxRunsPerDeadline::get() }>) -> Result<(), BenchmarkError> {
		let n = T::MaxProviders::get();
		let orders: Vec<_> = (0..r)
			.map(|i| {
				let (_, order) = started::<T>(i, n, 2);
				commit_all::<T>(order, n);
				order
			})
			.collect();
		let now = frame_system::Pallet::<T>::block_number();
		let due: BlockNumberFor<T> = now
			.saturating_add(T::CommitWindow::get())
			.saturating_add(T::VerifyWindow::get())
			.saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(due);
		assert_eq!(ResultDeadlines::<T>::get(due).len() as u32, r);
		#[block]
		{
			Pallet::<T>::fail_overdue(due);
		}
		assert!(orders.iter().all(|o| !Runs::<T>::contains_key(o)));
		Ok(())
	}

	/// A challenge of an accepted submission with the longest Merkle paths; the committee is
	/// drawn from `v` active validators (the challenger among them) besides the run's validator
	/// and one genesis validator (so that the largest `v` fills the registry: a runtime's
	/// genesis has at least one); the round already has `MaxChallengesPerRound - 1` challenges
	/// and the vote-deadline block is nearly full.
	#[benchmark]
	fn challenge(
		v: Linear<{ T::CommitteeSize::get() + 1 }, { T::Clusters::max_validators().saturating_sub(2) }>,
	) -> Result<(), BenchmarkError> {
		let validators = pool::<T>(v);
		let challenger = validators[0].clone();
		let order = recorded::<T>();
		at_window_end::<T>(order);
		let proof = longest_proof::<T>(order, 0);
		RoundResults::<T>::mutate(order, 0, |r| {
			let r = r.as_mut().unwrap();
			for i in 1..T::MaxChallengesPerRound::get() {
				let slot = ChallengeSlot {
					id: u64::from(u32::MAX - i),
					claim: ClaimKind::InvalidWorkAccepted,
					target: u32::MAX - i,
					segment: 0,
					open: false,
				};
				r.challenges.try_push(slot).unwrap();
			}
		});
		let now = frame_system::Pallet::<T>::block_number();
		let due = now.saturating_add(T::VoteWindow::get()).saturating_add(One::one());
		let filler: Vec<ChallengeId> =
			(1..T::MaxRunsPerDeadline::get()).map(|i| u64::MAX - u64::from(i)).collect();
		VoteDeadlines::<T>::insert(due, BoundedVec::try_from(filler).unwrap());
		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), order, 0, 0, ClaimKind::InvalidWorkAccepted, 0, proof);
		let id = NextChallengeId::<T>::get() - 1;
		assert_eq!(Challenges::<T>::get(id).unwrap().committee.len() as u32, T::CommitteeSize::get());
		Ok(())
	}

	/// A vote that decides nothing.
	#[benchmark]
	fn vote_cast() -> Result<(), BenchmarkError> {
		let validators = pool::<T>(T::CommitteeSize::get() + 1);
		let order = recorded::<T>();
		at_window_end::<T>(order);
		let id = challenge_of::<T>(order, &validators[0]);
		let member = Challenges::<T>::get(id).unwrap().committee[0].0.clone();
		#[extrinsic_call]
		vote(RawOrigin::Signed(member), id, true);
		assert!(Challenges::<T>::contains_key(id));
		Ok(())
	}

	/// The deciding vote (upheld) after the window closed: the target and the validator are
	/// reported and the round of `MaxProviders` verdicts settles, the last of its run, whose
	/// order completes.
	#[benchmark]
	fn vote_resolve() -> Result<(), BenchmarkError> {
		let m = T::CommitteeSize::get();
		let validators = pool::<T>(m + 1);
		let order = recorded::<T>();
		at_window_end::<T>(order);
		let id = challenge_of::<T>(order, &validators[0]);
		// The commitment's steps back to the task's, so that the settlement pays normally.
		let steps = Runs::<T>::get(order).unwrap().local_steps;
		RoundResults::<T>::mutate(order, 0, |r| {
			r.as_mut().unwrap().verdicts[0].commitment.steps_done = steps;
		});
		let members: Vec<T::AccountId> =
			Challenges::<T>::get(id).unwrap().committee.iter().map(|(a, _)| a.clone()).collect();
		for member in members.iter().take((m / 2) as usize) {
			Pallet::<T>::do_vote(member.clone(), id, true).unwrap();
		}
		let after_window = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(after_window);
		let decider = members[(m / 2) as usize].clone();
		#[extrinsic_call]
		vote(RawOrigin::Signed(decider), id, true);
		assert!(!Challenges::<T>::contains_key(id));
		assert!(Runs::<T>::get(order).is_none());
		Ok(())
	}

	/// `r` rounds of `MaxProviders` accepted verdicts settle in one block, each the last round
	/// of its run, whose order completes.
	#[benchmark]
	fn settle_due(r: Linear<0, { T::MaxRunsPerDeadline::get() }>) -> Result<(), BenchmarkError> {
		let orders = recorded_runs::<T>(r);
		let due = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::ChallengeWindow::get())
			.saturating_add(One::one());
		assert_eq!(SettleAt::<T>::get(due).len() as u32, r);
		frame_system::Pallet::<T>::set_block_number(due);
		#[block]
		{
			Pallet::<T>::settle_due(due);
		}
		assert!(orders.iter().all(|o| !Runs::<T>::contains_key(o)));
		Ok(())
	}

	/// `c` challenges reach their vote deadline with no vote: each challenger and every
	/// member is reported, and each challenged round (`MaxProviders` verdicts, its window
	/// closed, the last of its run) settles and its order completes.
	#[benchmark]
	fn close_votes(c: Linear<0, { T::MaxRunsPerDeadline::get() }>) -> Result<(), BenchmarkError> {
		let validators = pool::<T>(T::CommitteeSize::get() + 1);
		let orders = recorded_runs::<T>(c);
		let window_end = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::ChallengeWindow::get());
		frame_system::Pallet::<T>::set_block_number(window_end);
		for order in &orders {
			let steps = Runs::<T>::get(order).unwrap().local_steps;
			challenge_of::<T>(*order, &validators[0]);
			RoundResults::<T>::mutate(order, 0, |r| {
				r.as_mut().unwrap().verdicts[0].commitment.steps_done = steps;
			});
		}
		let due = window_end.saturating_add(T::VoteWindow::get()).saturating_add(One::one());
		assert_eq!(VoteDeadlines::<T>::get(due).len() as u32, c);
		frame_system::Pallet::<T>::set_block_number(due);
		#[block]
		{
			Pallet::<T>::close_votes(due);
		}
		assert!(Challenges::<T>::iter().next().is_none());
		assert!(orders.iter().all(|o| !Runs::<T>::contains_key(o)));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::ExtBuilder::build(), crate::mock::Test);
}
