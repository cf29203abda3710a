//! Benchmarks of every call and the deadline hook, each in its worst case: runs of
//! `MaxProviders` participants (or `p` of them), the deadline index entry nearly full, every
//! participant committed (the last commitment closing the commit window early), `r` runs
//! failing in one block.
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
		FixedU64, Perbill,
	},
};
use pot_pol_core::schedule;
use pot_primitives::{ContentHash, OrderId, OrderSettlement};

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
		checkpoint_count: schedule::checkpoint_count(
			u64::from(steps),
			u64::from(run.checkpoint_interval),
		)
		.unwrap(),
		steps_done: steps,
		loss_before: FixedU64::from_rational(2, 1),
		loss_after: FixedU64::from_rational(1, 1),
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

	/// `n` accepted verdicts in the last round: payments, then completion of the order.
	#[benchmark]
	fn submit_round_result_accept(
		n: Linear<0, { T::MaxProviders::get() }>,
	) -> Result<(), BenchmarkError> {
		let (v, order) = started::<T>(0, T::MaxProviders::get(), 1);
		commit_all::<T>(order, n);
		past_commit_deadline::<T>(order);
		let verdicts = (0..n).map(|i| (i, Verdict::Accepted)).collect();
		#[extrinsic_call]
		submit_round_result(RawOrigin::Signed(v), order, 0, result::<T>(verdicts));
		assert!(Runs::<T>::get(order).is_none());
		Ok(())
	}

	/// `n` rejected verdicts in the first of two rounds: offence reports, then the next round
	/// opens in a nearly full deadline block.
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

	/// `r` overdue runs of `MaxProviders` participants, all committed, fail in one block.
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

	impl_benchmark_test_suite!(Pallet, crate::mock::ExtBuilder::build(), crate::mock::Test);
}
