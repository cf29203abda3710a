//! Tests of the PoL pallet. Every test runs in `ExtBuilder::build_and_execute`, which checks
//! the pallet's invariants (`do_try_state`) and the mock market's (no order pays beyond its
//! budget or reservation, no provider is paid a step twice, the escrow holds the unspent
//! budgets) after the test.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{mock::*, *};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok, traits::Hooks},
	sp_core::H256,
	sp_runtime::{DispatchError, FixedU64, Perbill},
};
use pot_primitives::{
	ContentHash, HardwareClass, OffenceKind, OpenWorkInspect, OrderId, SettlementError, TaskSpec,
	WorkUnits,
};

pub(crate) const PRICE: Balance = 10;

/// Puts `providers` (account, class, capacity) into `V`'s cluster and bonds them and `V`.
pub(crate) fn cluster(providers: &[(AccountId, HardwareClass, u64)]) {
	MockOffences::bond(V, 10_000);
	for (p, class, capacity) in providers {
		MockClusters::join(V, *p, *class, *capacity);
		MockOffences::bond(*p, 1_000);
	}
}

/// An order of `task` matched to `V` for 1 to `max` providers, at `PRICE`, whose budget pays
/// every step.
pub(crate) fn order_of(task: TaskSpec, max: u32) -> OrderId {
	let budget = PRICE * task.max_work_units(max).unwrap().0;
	MockMarket::create(CONSUMER, V, task, 1, max, PRICE, budget)
}

/// Three GPU providers of capacities 1, 2, 1 and a started order of `rounds` rounds of 4 steps
/// for up to 3 providers.
pub(crate) fn started(rounds: u32) -> OrderId {
	cluster(&[(P1, GPU, 1), (P2, GPU, 2), (P3, GPU, 1)]);
	let order = order_of(task(rounds, 4), 3);
	assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), order));
	order
}

/// A started one-round order of one sample for P1 and P2 (capacities 1, 1): P1 gets the
/// sample, P2 an empty chunk.
pub(crate) fn started_with_an_empty_chunk() -> OrderId {
	cluster(&[(P1, GPU, 1), (P2, GPU, 1)]);
	let mut t = task(1, 4);
	t.samples = 1;
	let order = order_of(t, 2);
	assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), order));
	order
}

/// The checkpoint hashes of a run of `steps` steps at k = 2 (as every test commitment has).
pub(crate) fn checkpoints(steps: u32) -> Vec<[u8; 32]> {
	use codec::Encode;
	(0..=steps.div_ceil(2))
		.map(|i| polkadot_sdk::sp_io::hashing::blake2_256(&(b"checkpoint", steps, i).encode()))
		.collect()
}

/// Valid proofs of the checkpoints at both ends of `segment` of a test commitment of `steps`.
pub(crate) fn segment_proof(steps: u32, segment: u32) -> SegmentProof {
	let leaves = checkpoints(steps);
	let path = |i: u32| -> ProofPath {
		let p = pot_pol_core::merkle::prove(&leaves, i).unwrap();
		p.siblings.into_iter().map(H256).collect::<Vec<_>>().try_into().unwrap()
	};
	SegmentProof {
		start: H256(leaves[segment as usize]),
		start_path: path(segment),
		end: H256(leaves[segment as usize + 1]),
		end_path: path(segment + 1),
	}
}

/// Makes `pool` the active validators, each bonded.
pub(crate) fn validators(pool: &[AccountId]) {
	for v in pool {
		MockOffences::bond(*v, 10_000);
	}
	MockClusters::set_validators(pool);
}

pub(crate) fn commitment(steps: u32) -> Commitment {
	Commitment {
		update_hash: H256::repeat_byte(steps as u8),
		checkpoint_root: H256(pot_pol_core::merkle::root(&checkpoints(steps.max(1))).unwrap()),
		proof_hash: H256::repeat_byte(0x50 + steps as u8),
		checkpoint_count: steps.div_ceil(2) + 1,
		steps_done: steps,
		loss_before: FixedU64::from_rational(23, 10),
		loss_after: FixedU64::from_rational(9, 10),
		residual_in: H256::zero(),
		residual_out: H256::zero(),
	}
}

pub(crate) fn commit(order: OrderId, round: RoundIndex, who: AccountId, steps: u32) -> DispatchResult {
	Pol::submit_commitment(RuntimeOrigin::signed(who), order, round, commitment(steps))
}

fn rejection(segment: u32) -> Verdict {
	Verdict::Rejected(Rejection {
		segment,
		distance: FixedU64::from_rational(1, 1000),
		evidence: H256::repeat_byte(0xee),
	})
}

pub(crate) fn result(verdicts: Vec<(Position, Verdict)>) -> RoundResultOf<Test> {
	RoundResult {
		verdicts: verdicts.try_into().unwrap(),
		new_weights: H256::repeat_byte(0xaa),
		eval: EvalMetrics {
			loss: FixedU64::from_rational(1, 2),
			accuracy: Perbill::from_percent(90),
		},
	}
}

fn submit(order: OrderId, round: RoundIndex, verdicts: Vec<(Position, Verdict)>) -> DispatchResult {
	Pol::submit_round_result(RuntimeOrigin::signed(V), order, round, result(verdicts))
		.map(|_| ())
		.map_err(|e| e.error)
}

pub(crate) fn round_of(order: OrderId) -> RoundInfo<BlockNumber> {
	Runs::<Test>::get(order).unwrap().round
}

/// Runs to the first block after the commit deadline of `order`'s round.
pub(crate) fn past_commit_deadline(order: OrderId) {
	run_to_block(round_of(order).commit_deadline + 1);
}

/// The last block of the challenge window of round `round` of `order`.
pub(crate) fn window_end(order: OrderId, round: RoundIndex) -> BlockNumber {
	RoundResults::<Test>::get(order, round).unwrap().window_end
}

/// Runs to the block after the challenge window of round `round` of `order`: it settles there
/// unless challenged.
pub(crate) fn past_challenge_window(order: OrderId, round: RoundIndex) {
	run_to_block(window_end(order, round) + 1);
}

pub(crate) type DispatchResult = Result<(), DispatchError>;

// ---------------------------------------------------------------------------------------------
// start_order

#[test]
fn start_order_assigns_the_cluster_by_capacity() {
	ExtBuilder::build_and_execute(|| {
		// A CPU provider and one without capacity are left out.
		cluster(&[(P1, GPU, 1), (P4, CPU, 5), (P2, GPU, 3), (P5, GPU, 0)]);
		let t = task(2, 4);
		let order = order_of(t, 3);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), order));

		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(run.validator, V);
		assert_eq!((run.rounds, run.local_steps, run.checkpoint_interval), (2, 4, 2));
		let expected = vec![
			Participant { provider: P1, capacity: WorkUnits(1), samples: 25, residual: H256::zero() },
			Participant { provider: P2, capacity: WorkUnits(3), samples: 75, residual: H256::zero() },
		];
		assert_eq!(run.participants.to_vec(), expected);
		let r = run.round;
		assert_eq!(r.index, 0);
		assert_eq!(r.weights, t.initial_weights);
		assert_eq!(r.started_at, 1);
		assert_eq!(r.commit_deadline, 1 + COMMIT_WINDOW);
		assert_eq!(r.result_deadline, 1 + COMMIT_WINDOW + VERIFY_WINDOW);
		assert_eq!(r.commitments, 0);
		assert_eq!(ResultDeadlines::<Test>::get(r.result_deadline + 1).to_vec(), vec![(order, 0)]);
		assert!(Pol::has_open_work(&P1) && Pol::has_open_work(&P2));
		assert!(!Pol::has_open_work(&P4) && !Pol::has_open_work(&P5));
		assert_eq!(
			pol_events(),
			vec![
				Event::RunStarted { order, validator: V, participants: run.participants.clone() },
				Event::RoundStarted {
					order,
					round: 0,
					seed: r.seed,
					weights: t.initial_weights,
					commit_deadline: r.commit_deadline,
					result_deadline: r.result_deadline,
				},
			]
		);
	});
}

#[test]
fn each_provider_gets_the_chunk_pol_core_computes_for_it() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let t = task(2, 4);
		let mut all = Vec::new();
		for (position, provider) in [P1, P2, P3].into_iter().enumerate() {
			let r = Pol::provider_round(order, &provider).unwrap();
			assert_eq!(r.position, position as u32);
			assert_eq!(r.capacities, vec![1, 2, 1]);
			assert_eq!(r.key.round, 0);
			assert_eq!(r.weights, t.initial_weights);
			let chunk =
				pot_pol_core::assign::chunk_of(&r.key, 100, &r.capacities, r.position).unwrap();
			assert_eq!(chunk.len() as u32, r.samples);
			all.extend(chunk);
		}
		all.sort_unstable();
		assert_eq!(all, (0..100).collect::<Vec<u32>>());
		assert_eq!(Pol::provider_round(order, &STRANGER), None);
		assert_eq!(Pol::provider_round(OrderId(77), &P1), None);
		// The next round reshuffles the chunks, with the same sizes.
		let before = Pol::provider_round(order, &P1).unwrap();
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![]));
		let after = Pol::provider_round(order, &P1).unwrap();
		assert_eq!((after.key.round, after.samples), (1, before.samples));
		assert_ne!(
			pot_pol_core::assign::chunk_of(&after.key, 100, &after.capacities, 0).unwrap(),
			pot_pol_core::assign::chunk_of(&before.key, 100, &before.capacities, 0).unwrap()
		);
	});
}

#[test]
fn the_round_seed_is_fixed_by_the_parent_hash_order_and_round() {
	ExtBuilder::build_and_execute(|| {
		cluster(&[(P1, GPU, 1)]);
		let a = order_of(task(1, 4), 1);
		let b = order_of(task(1, 4), 1);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), a));
		run_to_block(2);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), b));
		let seed_b = round_of(b).seed;
		assert_ne!(round_of(a).seed, seed_b);
		use codec::Encode;
		let expected = polkadot_sdk::sp_io::hashing::blake2_256(
			&(b"pot/pol/round-seed/v1".as_slice(), hash_of(1), b, 0u32).encode(),
		);
		assert_eq!(seed_b, ContentHash::from(expected));
	});
}

#[test]
fn start_order_takes_at_most_the_order_maximum_and_max_providers() {
	ExtBuilder::build_and_execute(|| {
		cluster(&[(P1, GPU, 1), (P2, GPU, 1), (P3, GPU, 1), (P4, GPU, 1), (P5, GPU, 1)]);
		let two = order_of(task(1, 4), 2);
		let many = order_of(task(1, 4), 10);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), two));
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), many));
		let providers = |o| -> Vec<AccountId> {
			Runs::<Test>::get(o).unwrap().participants.iter().map(|p| p.provider).collect()
		};
		assert_eq!(providers(two), vec![P1, P2]);
		assert_eq!(providers(many), vec![P1, P2, P3, P4]);
		assert_eq!(MAX_PROVIDERS, 4);
		assert_eq!(OpenRuns::<Test>::get(P1), Some(2));
		assert_eq!(OpenRuns::<Test>::get(P4), Some(1));
		assert_eq!(OpenRuns::<Test>::get(P5), None);
	});
}

#[test]
fn start_order_errors() {
	ExtBuilder::build_and_execute(|| {
		cluster(&[(P1, GPU, 1), (P4, CPU, 1)]);
		let order = order_of(task(1, 4), 2);
		assert_noop!(Pol::start_order(RuntimeOrigin::none(), order), DispatchError::BadOrigin);
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V), OrderId(77)),
			Error::<Test>::OrderNotMatched
		);
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V2), order),
			Error::<Test>::NotOrderValidator
		);
		// Only one GPU provider for an order that needs two.
		let needs_two = MockMarket::create(CONSUMER, V, task(1, 4), 2, 2, PRICE, 1_000);
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V), needs_two),
			Error::<Test>::NotEnoughProviders
		);
		// A validator without a cluster.
		let of_v2 = MockMarket::create(CONSUMER, V2, task(1, 4), 1, 1, PRICE, 1_000);
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V2), of_v2),
			Error::<Test>::NotEnoughProviders
		);
		let mut huge = task(1, 4);
		huge.samples = u64::from(u32::MAX) + 1;
		let huge = order_of(huge, 1);
		assert_noop!(Pol::start_order(RuntimeOrigin::signed(V), huge), Error::<Test>::InvalidTask);
		let mut no_steps = task(1, 4);
		no_steps.hyper.local_steps = 0;
		let no_steps = MockMarket::create(CONSUMER, V, no_steps, 1, 1, PRICE, 1_000);
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V), no_steps),
			Error::<Test>::InvalidTask
		);

		// The round's deadlines would lie beyond the last block number.
		let now = System::block_number();
		System::set_block_number(BlockNumber::MAX - 1);
		assert_noop!(Pol::start_order(RuntimeOrigin::signed(V), order), Error::<Test>::Overflow);
		System::set_block_number(now);

		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), order));
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V), order),
			Error::<Test>::AlreadyStarted
		);
	});
}

#[test]
fn start_order_refuses_a_full_deadline_block() {
	ExtBuilder::build_and_execute(|| {
		cluster(&[(P1, GPU, 1)]);
		let orders: Vec<_> = (0..3).map(|_| order_of(task(1, 4), 1)).collect();
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), orders[0]));
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), orders[1]));
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V), orders[2]),
			Error::<Test>::DeadlineBlockFull
		);
		// The next block has room.
		run_to_block(2);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), orders[2]));
	});
}

// ---------------------------------------------------------------------------------------------
// fail_unstarted

#[test]
fn an_order_left_unstarted_fails_and_its_validator_is_reported() {
	ExtBuilder::build_and_execute(|| {
		cluster(&[(P1, GPU, 1)]);
		let order = order_of(task(1, 4), 1);
		let budget = MockMarket::order(order).unwrap().budget;
		let consumer = free(CONSUMER);
		// Matched in block 1: the validator may start it until block 1 + START_WINDOW.
		run_to_block(1 + START_WINDOW);
		assert_noop!(
			Pol::fail_unstarted(RuntimeOrigin::signed(STRANGER), order),
			Error::<Test>::StartWindowOpen
		);
		run_to_block(2 + START_WINDOW);
		System::reset_events();
		assert_ok!(Pol::fail_unstarted(RuntimeOrigin::signed(STRANGER), order));
		assert!(MockMarket::order(order).is_none());
		assert_eq!(free(CONSUMER), consumer + budget);
		assert_eq!(
			MockOffences::reports(),
			vec![(
				V,
				OffenceKind::MissedDeadline,
				Some(STRANGER),
				Pol::missed_start_evidence(order)
			)]
		);
		assert_eq!(
			pol_events(),
			vec![Event::UnstartedOrderFailed {
				order,
				validator: V,
				reporter: STRANGER,
				refunded: budget,
				validator_slashed: Some(1_000),
			}]
		);
		assert_noop!(
			Pol::start_order(RuntimeOrigin::signed(V), order),
			Error::<Test>::OrderNotMatched
		);
	});
}

#[test]
fn fail_unstarted_errors() {
	ExtBuilder::build_and_execute(|| {
		cluster(&[(P1, GPU, 1)]);
		let started = order_of(task(1, 4), 1);
		let refused = order_of(task(1, 4), 1);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), started));
		run_to_block(2 + START_WINDOW);
		assert_noop!(Pol::fail_unstarted(RuntimeOrigin::none(), refused), DispatchError::BadOrigin);
		assert_noop!(
			Pol::fail_unstarted(RuntimeOrigin::signed(STRANGER), OrderId(77)),
			Error::<Test>::OrderNotMatched
		);
		// `started` failed by its deadline hook long ago; a live run is refused too.
		assert_noop!(
			Pol::fail_unstarted(RuntimeOrigin::signed(STRANGER), started),
			Error::<Test>::OrderNotMatched
		);
		MockMarket::refuse_close(true);
		assert_noop!(
			Pol::fail_unstarted(RuntimeOrigin::signed(STRANGER), refused),
			DispatchError::from(SettlementError::TransferRejected)
		);
		MockMarket::refuse_close(false);
		// Started late but kept alive by its results: past its start window it is no target.
		let late = order_of(task(3, 4), 1);
		let matched_at = System::block_number();
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), late));
		past_commit_deadline(late);
		assert_ok!(submit(late, 0, vec![]));
		past_commit_deadline(late);
		assert_ok!(submit(late, 1, vec![]));
		run_to_block(matched_at + START_WINDOW + 1);
		assert!(Runs::<Test>::contains_key(late));
		assert_noop!(
			Pol::fail_unstarted(RuntimeOrigin::signed(STRANGER), late),
			Error::<Test>::AlreadyStarted
		);
	});
}

// ---------------------------------------------------------------------------------------------
// submit_commitment

#[test]
fn submit_commitment_stores_it_once() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_ok!(commit(order, 0, P2, 4));
		assert_eq!(Commitments::<Test>::get(order, 1), Some(commitment(4)));
		assert_eq!(round_of(order).commitments, 1);
		assert_eq!(
			pol_events().last(),
			Some(&Event::CommitmentSubmitted {
				order,
				round: 0,
				provider: P2,
				commitment: commitment(4)
			})
		);
		// Fewer steps than H, with their own checkpoint count, in the last block of the window.
		run_to_block(round_of(order).commit_deadline);
		assert_ok!(commit(order, 0, P1, 3));
		assert_eq!(Commitments::<Test>::get(order, 0).unwrap().checkpoint_count, 3);
		assert_eq!(round_of(order).commitments, 2);
	});
}

#[test]
fn submit_commitment_errors() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_noop!(
			Pol::submit_commitment(RuntimeOrigin::none(), order, 0, commitment(4)),
			DispatchError::BadOrigin
		);
		assert_noop!(commit(OrderId(77), 0, P1, 4), Error::<Test>::UnknownRun);
		assert_noop!(commit(order, 1, P1, 4), Error::<Test>::WrongRound);
		assert_noop!(commit(order, 0, STRANGER, 4), Error::<Test>::NotAssigned);
		assert_noop!(commit(order, 0, V, 4), Error::<Test>::NotAssigned);
		assert_noop!(commit(order, 0, P1, 0), Error::<Test>::StepsOutOfRange);
		assert_noop!(commit(order, 0, P1, 5), Error::<Test>::StepsOutOfRange);
		let mut wrong = commitment(4);
		wrong.checkpoint_count = 4;
		assert_noop!(
			Pol::submit_commitment(RuntimeOrigin::signed(P1), order, 0, wrong),
			Error::<Test>::CheckpointCountMismatch
		);
		assert_ok!(commit(order, 0, P1, 4));
		assert_noop!(commit(order, 0, P1, 4), Error::<Test>::AlreadyCommitted);
		run_to_block(round_of(order).commit_deadline + 1);
		assert_noop!(commit(order, 0, P2, 4), Error::<Test>::CommitWindowClosed);
	});
}

#[test]
fn an_accepted_commitment_hands_its_residual_to_the_providers_next_round() {
	ExtBuilder::build_and_execute(|| {
		let order = started(3);
		let with_residual = |steps: u32, residual_in: u8, residual_out: u8| {
			let mut c = commitment(steps);
			c.residual_in = H256::repeat_byte(residual_in);
			c.residual_out = H256::repeat_byte(residual_out);
			c
		};
		let residuals = || {
			Runs::<Test>::get(order).unwrap().participants.iter().map(|p| p.residual).collect::<Vec<_>>()
		};
		let zero = H256::zero();
		assert_eq!(residuals(), vec![zero; 3]);
		// Round 0: no participant has a residual yet, so none may claim one.
		assert_noop!(
			Pol::submit_commitment(RuntimeOrigin::signed(P1), order, 0, with_residual(4, 1, 2)),
			Error::<Test>::ResidualMismatch
		);
		assert_ok!(Pol::submit_commitment(RuntimeOrigin::signed(P1), order, 0, with_residual(4, 0, 2)));
		assert_ok!(Pol::submit_commitment(RuntimeOrigin::signed(P2), order, 0, with_residual(4, 0, 3)));
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED), (1, rejection(0))]));
		// P1's accepted update leaves its residual; P2's rejected one leaves nothing, and P3
		// committed nothing.
		let two = H256::repeat_byte(2);
		assert_eq!(residuals(), vec![two, zero, zero]);

		// Round 1: P1 must carry its residual forward, P2 must still start from none.
		assert_noop!(commit(order, 1, P1, 4), Error::<Test>::ResidualMismatch);
		assert_noop!(
			Pol::submit_commitment(RuntimeOrigin::signed(P2), order, 1, with_residual(4, 2, 4)),
			Error::<Test>::ResidualMismatch
		);
		assert_ok!(Pol::submit_commitment(RuntimeOrigin::signed(P1), order, 1, with_residual(4, 2, 5)));
		assert_ok!(commit(order, 1, P2, 4));
		past_commit_deadline(order);
		assert_ok!(submit(order, 1, vec![(0, rejection(1)), (1, ACCEPTED)]));
		// A rejected update leaves the residual it started from.
		assert_eq!(residuals(), vec![two, zero, zero]);
		assert_noop!(
			Pol::submit_commitment(RuntimeOrigin::signed(P1), order, 2, with_residual(4, 5, 6)),
			Error::<Test>::ResidualMismatch
		);
		assert_ok!(Pol::submit_commitment(RuntimeOrigin::signed(P1), order, 2, with_residual(4, 2, 6)));
	});
}

#[test]
fn a_provider_with_an_empty_chunk_cannot_commit() {
	ExtBuilder::build_and_execute(|| {
		let order = started_with_an_empty_chunk();
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(run.participants[1].samples, 0);
		assert_noop!(commit(order, 0, P2, 4), Error::<Test>::EmptyChunk);
		assert_ok!(commit(order, 0, P1, 4));
	});
}

// ---------------------------------------------------------------------------------------------
// The commit window closes early when everyone committed

#[test]
fn the_last_commitment_closes_the_commit_window_early() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let opened = round_of(order);
		assert_ok!(commit(order, 0, P1, 4));
		run_to_block(3);
		assert_ok!(commit(order, 0, P3, 4));
		assert_eq!(round_of(order).commit_deadline, opened.commit_deadline);
		System::reset_events();
		assert_ok!(commit(order, 0, P2, 2));

		let closed = round_of(order);
		assert_eq!(closed.commit_deadline, 3);
		assert_eq!(closed.commitments, 3);
		// The result deadline and its index entry stay.
		assert_eq!(closed.result_deadline, opened.result_deadline);
		assert_eq!(
			ResultDeadlines::<Test>::get(opened.result_deadline + 1).to_vec(),
			vec![(order, 0)]
		);
		assert_eq!(
			pol_events(),
			vec![
				Event::CommitmentSubmitted { order, round: 0, provider: P2, commitment: commitment(2) },
				Event::CommitWindowClosed { order, round: 0, at: 3 },
			]
		);
		// Nothing more to commit in this block, and the window is shut from the next one on.
		assert_noop!(commit(order, 0, P2, 4), Error::<Test>::AlreadyCommitted);
		run_to_block(4);
		assert_noop!(commit(order, 0, P1, 4), Error::<Test>::CommitWindowClosed);
	});
}

#[test]
fn after_an_early_close_the_result_is_accepted_from_the_next_block_on() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		run_to_block(2);
		for p in [P1, P2, P3] {
			assert_ok!(commit(order, 0, p, 4));
		}
		assert_eq!(round_of(order).commit_deadline, 2);
		let all = || vec![(0, ACCEPTED), (1, ACCEPTED), (2, ACCEPTED)];
		// Not in the closing block: its hash, the verification seed, is not known yet.
		assert_noop!(submit(order, 0, all()), Error::<Test>::CommitWindowOpen);
		run_to_block(3);
		System::reset_events();
		assert_ok!(submit(order, 0, all()));
		use codec::Encode;
		let seed = ContentHash::from(polkadot_sdk::sp_io::hashing::blake2_256(
			&(b"pot/pol/verification-seed/v1".as_slice(), hash_of(2)).encode(),
		));
		assert_eq!(Pol::verification_seed(2), seed);
		assert!(matches!(
			pol_events()[0],
			Event::RoundVerified { round: 0, verification_seed, accepted: 3, .. }
				if verification_seed == seed
		));
		// The record keeps it for watchers and committees.
		assert_eq!(RoundResults::<Test>::get(order, 0).unwrap().verification_seed, seed);
		// The next round starts now, with a full window.
		let next = round_of(order);
		assert_eq!((next.index, next.started_at), (1, 3));
		assert_eq!(next.commit_deadline, 3 + COMMIT_WINDOW);
	});
}

#[test]
fn providers_with_an_empty_chunk_are_not_waited_for() {
	ExtBuilder::build_and_execute(|| {
		let order = started_with_an_empty_chunk();
		assert_ok!(commit(order, 0, P1, 4));
		assert_eq!(round_of(order).commit_deadline, 1);
		assert_eq!(pol_events().last(), Some(&Event::CommitWindowClosed { order, round: 0, at: 1 }));
		run_to_block(2);
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED)]));
		past_challenge_window(order, 0);
		assert!(Runs::<Test>::get(order).is_none());
	});
}

#[test]
fn a_provider_that_never_commits_keeps_the_normal_deadline() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let deadline = round_of(order).commit_deadline;
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P2, 4));
		run_to_block(deadline);
		assert_eq!(round_of(order).commit_deadline, deadline);
		assert!(!pol_events().iter().any(|e| matches!(e, Event::CommitWindowClosed { .. })));
		let two = || vec![(0, ACCEPTED), (1, ACCEPTED)];
		assert_noop!(submit(order, 0, two()), Error::<Test>::CommitWindowOpen);
		run_to_block(deadline + 1);
		System::reset_events();
		assert_ok!(submit(order, 0, two()));
		// P3 had a chunk and committed nothing: reported for the missed deadline, once.
		let evidence = Pol::missed_commitment_evidence(order, 0, 2);
		assert_eq!(MockOffences::reports(), vec![(P3, OffenceKind::MissedDeadline, None, evidence)]);
		assert_eq!(
			pol_events().last(),
			Some(&Event::CommitmentMissed { order, round: 0, provider: P3, slashed: Some(100) })
		);
		assert_ne!(evidence, Pol::missed_commitment_evidence(order, 1, 2));
		assert_ne!(evidence, Pol::missed_commitment_evidence(order, 0, 1));
	});
}

#[test]
fn a_provider_without_a_chunk_is_not_reported_for_not_committing() {
	ExtBuilder::build_and_execute(|| {
		// P2's chunk is empty: nothing was asked of it.
		let order = started_with_an_empty_chunk();
		run_to_block(round_of(order).commit_deadline + 1);
		assert_ok!(submit(order, 0, vec![]));
		assert_eq!(
			MockOffences::reports(),
			vec![(P1, OffenceKind::MissedDeadline, None, Pol::missed_commitment_evidence(order, 0, 0))]
		);
	});
}

#[test]
fn a_participant_no_longer_bonded_is_named_for_not_committing_with_nothing_slashed() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		MockOffences::unbond(P1);
		assert_ok!(commit(order, 0, P2, 4));
		assert_ok!(commit(order, 0, P3, 4));
		run_to_block(round_of(order).commit_deadline + 1);
		System::reset_events();
		assert_ok!(submit(order, 0, vec![(1, ACCEPTED), (2, ACCEPTED)]));
		assert_eq!(
			pol_events().last(),
			Some(&Event::CommitmentMissed { order, round: 0, provider: P1, slashed: None })
		);
	});
}

#[test]
fn the_last_commitment_in_the_deadline_block_closes_nothing_early() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let deadline = round_of(order).commit_deadline;
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P2, 4));
		run_to_block(deadline);
		assert_ok!(commit(order, 0, P3, 4));
		assert_eq!(round_of(order).commit_deadline, deadline);
		assert!(!pol_events().iter().any(|e| matches!(e, Event::CommitWindowClosed { .. })));
	});
}

// ---------------------------------------------------------------------------------------------
// submit_round_result

#[test]
fn accepted_work_is_paid_when_the_challenge_window_closes() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P3, 3));
		let old = round_of(order);
		past_commit_deadline(order);
		let (p1, p3) = (free(P1), free(P3));
		System::reset_events();
		let now = System::block_number();
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED), (2, ACCEPTED)]));

		// Nothing is paid yet: the result is recorded for the challenge window.
		assert_eq!((free(P1), free(P3)), (p1, p3));
		let record = RoundResults::<Test>::get(order, 0).unwrap();
		assert_eq!(record.window_end, now + CHALLENGE_WINDOW);
		assert_eq!(record.new_weights, H256::repeat_byte(0xaa));
		assert_eq!(
			record.verdicts.iter().map(|v| (v.position, v.commitment)).collect::<Vec<_>>(),
			vec![(0, commitment(4)), (2, commitment(3))]
		);
		assert!(record.challenges.is_empty());
		assert_eq!(SettleAt::<Test>::get(now + CHALLENGE_WINDOW + 1).to_vec(), vec![(order, 0)]);
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!((run.settled, run.unsettled, run.closing.clone()), (0, 1, None));

		let new = round_of(order);
		assert_eq!(new.index, 1);
		assert_eq!(new.weights, H256::repeat_byte(0xaa));
		assert_eq!(new.started_at, old.commit_deadline + 1);
		assert_eq!(new.commitments, 0);
		assert_eq!(Commitments::<Test>::iter_prefix(order).count(), 0);
		assert!(ResultDeadlines::<Test>::get(old.result_deadline + 1).is_empty());
		assert_eq!(
			ResultDeadlines::<Test>::get(new.result_deadline + 1).to_vec(),
			vec![(order, 1)]
		);
		let events = pol_events();
		assert_eq!(
			events[0],
			Event::RoundVerified {
				order,
				round: 0,
				verification_seed: Pol::verification_seed(old.commit_deadline),
				accepted: 2,
				rejected: 0,
				new_weights: H256::repeat_byte(0xaa),
				eval: result(vec![]).eval,
			}
		);
		assert_eq!(
			events[1],
			Event::ChallengeWindowOpened { order, round: 0, window_end: now + CHALLENGE_WINDOW }
		);
		assert!(matches!(events[2], Event::RoundStarted { round: 1, .. }));
		// P2 was given data and committed nothing.
		assert_eq!(
			events[3],
			Event::CommitmentMissed { order, round: 0, provider: P2, slashed: Some(100) }
		);
		assert_eq!(events.len(), 4);
		// The old round's commitments are gone: the new round takes new ones.
		assert_ok!(commit(order, 1, P1, 4));

		// The window's last block still pays nothing; the next block settles.
		run_to_block(now + CHALLENGE_WINDOW);
		assert_eq!((free(P1), free(P3)), (p1, p3));
		System::reset_events();
		run_to_block(now + CHALLENGE_WINDOW + 1);
		// 4 and 3 steps at 10 each, less the 10% fee.
		assert_eq!(free(P1), p1 + 36);
		assert_eq!(free(P3), p3 + 27);
		let o = MockMarket::order(order).unwrap();
		assert_eq!(o.units_paid, WorkUnits(7));
		assert_eq!(o.fee_accrued, 7);
		assert_eq!(
			pol_events(),
			vec![
				Event::ProviderPaid {
					order,
					round: 0,
					provider: P1,
					work_units: WorkUnits(4),
					amount: 36
				},
				Event::ProviderPaid {
					order,
					round: 0,
					provider: P3,
					work_units: WorkUnits(3),
					amount: 27
				},
				Event::RoundSettled { order, round: 0, paid: 2, rejected: 0 },
			]
		);
		assert!(RoundResults::<Test>::get(order, 0).is_none());
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!((run.settled, run.unsettled), (1, 0));
	});
}

#[test]
fn the_verification_seed_is_the_hash_of_the_commit_deadline_block() {
	ExtBuilder::build_and_execute(|| {
		let order = started(1);
		let deadline = round_of(order).commit_deadline;
		use codec::Encode;
		let expected = ContentHash::from(polkadot_sdk::sp_io::hashing::blake2_256(
			&(b"pot/pol/verification-seed/v1".as_slice(), hash_of(deadline)).encode(),
		));
		// Unknown before the deadline block is over.
		assert_ne!(Pol::verification_seed(deadline), expected);
		run_to_block(deadline + 1);
		assert_eq!(Pol::verification_seed(deadline), expected);
	});
}

#[test]
fn rejected_work_is_reported_at_settlement_and_not_paid() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P2, 4));
		// P2's bond is gone by the time of the settlement.
		MockOffences::unbond(P2);
		past_commit_deadline(order);
		let (p1, p2) = (free(P1), free(P2));
		assert_ok!(submit(order, 0, vec![(0, rejection(1)), (1, rejection(0))]));
		// Only P3, which committed nothing, is reported before the window closes.
		let missed = (P3, OffenceKind::MissedDeadline, None, Pol::missed_commitment_evidence(order, 0, 2));
		assert_eq!(MockOffences::reports(), vec![missed]);
		run_to_block(window_end(order, 0));
		System::reset_events();
		run_to_block(window_end(order, 0) + 1);
		assert_eq!((free(P1), free(P2)), (p1, p2));
		assert_eq!(MockMarket::order(order).unwrap().units_paid, WorkUnits(0));
		assert_eq!(
			MockOffences::reports(),
			vec![missed, (P1, OffenceKind::InvalidWork, Some(V), H256::repeat_byte(0xee))]
		);
		let Verdict::Rejected(r1) = rejection(1) else { unreachable!() };
		let Verdict::Rejected(r0) = rejection(0) else { unreachable!() };
		assert_eq!(
			pol_events(),
			vec![
				Event::SubmissionRejected {
					order,
					round: 0,
					provider: P1,
					rejection: r1,
					slashed: Some(100)
				},
				Event::SubmissionRejected {
					order,
					round: 0,
					provider: P2,
					rejection: r0,
					slashed: None
				},
				Event::RoundSettled { order, round: 0, paid: 0, rejected: 2 },
			]
		);
	});
}

#[test]
fn refused_payments_are_recorded_and_not_retried() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_ok!(commit(order, 0, P1, 4));
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED)]));
		run_to_block(window_end(order, 0));
		MockMarket::refuse_payments(true);
		System::reset_events();
		run_to_block(window_end(order, 0) + 1);
		MockMarket::refuse_payments(false);
		assert_eq!(
			pol_events()[0],
			Event::PayoutFailed {
				order,
				round: 0,
				provider: P1,
				work_units: WorkUnits(4),
				error: SettlementError::TransferRejected
			}
		);
		assert_eq!(MockMarket::order(order).unwrap().units_paid, WorkUnits(0));
		assert!(RoundResults::<Test>::get(order, 0).is_none());
		assert_eq!(round_of(order).index, 1);
	});
}

#[test]
fn payments_stop_at_the_orders_reservation() {
	ExtBuilder::build_and_execute(|| {
		cluster(&[(P1, GPU, 1), (P2, GPU, 1)]);
		// The budget buys 5 of the 8 steps of one round.
		let order = MockMarket::create(CONSUMER, V, task(1, 4), 1, 2, PRICE, 5 * PRICE);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), order));
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P2, 4));
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED), (1, ACCEPTED)]));
		run_to_block(window_end(order, 0));
		System::reset_events();
		run_to_block(window_end(order, 0) + 1);
		let events = pol_events();
		assert!(matches!(
			events[0],
			Event::ProviderPaid { provider: P1, work_units: WorkUnits(4), .. }
		));
		assert!(matches!(
			events[1],
			Event::ProviderPaid { provider: P2, work_units: WorkUnits(1), .. }
		));
		assert!(matches!(events[2], Event::RoundSettled { paid: 2, .. }));
		assert!(matches!(events[3], Event::RunCompleted { .. }));
	});
}

#[test]
fn a_round_without_commitments_takes_an_empty_result() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![]));
		assert_eq!(round_of(order).index, 1);
	});
}

#[test]
fn submit_round_result_errors() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P3, 4));
		let ok = || vec![(0, ACCEPTED), (2, ACCEPTED)];
		assert_noop!(
			Pol::submit_round_result(RuntimeOrigin::none(), order, 0, result(ok())),
			DispatchError::BadOrigin
		);
		// Still in the commit window.
		run_to_block(round_of(order).commit_deadline);
		assert_noop!(submit(order, 0, ok()), Error::<Test>::CommitWindowOpen);
		past_commit_deadline(order);
		assert_noop!(submit(OrderId(77), 0, ok()), Error::<Test>::UnknownRun);
		assert_noop!(
			Pol::submit_round_result(RuntimeOrigin::signed(V2), order, 0, result(ok())),
			Error::<Test>::NotOrderValidator
		);
		assert_noop!(submit(order, 1, ok()), Error::<Test>::WrongRound);
		// A commitment without verdict, a verdict without commitment, out of order, twice.
		assert_noop!(submit(order, 0, vec![(0, ACCEPTED)]), Error::<Test>::VerdictsMismatch);
		assert_noop!(
			submit(order, 0, vec![(0, ACCEPTED), (1, ACCEPTED)]),
			Error::<Test>::VerdictsMismatch
		);
		assert_noop!(
			submit(order, 0, vec![(2, ACCEPTED), (0, ACCEPTED)]),
			Error::<Test>::VerdictsMismatch
		);
		assert_noop!(
			submit(order, 0, vec![(0, ACCEPTED), (0, ACCEPTED)]),
			Error::<Test>::VerdictsMismatch
		);
		assert_noop!(
			submit(order, 0, vec![(0, ACCEPTED), (2, ACCEPTED), (3, ACCEPTED)]),
			Error::<Test>::VerdictsMismatch
		);
		// 4 steps at k = 2 are segments 0 and 1.
		assert_noop!(
			submit(order, 0, vec![(0, ACCEPTED), (2, rejection(2))]),
			Error::<Test>::SegmentOutOfRange
		);
		// The last block of the window still takes it.
		run_to_block(round_of(order).result_deadline);
		assert_ok!(submit(order, 0, ok()));
	});
}

#[test]
fn a_completion_the_market_refuses_is_recorded() {
	ExtBuilder::build_and_execute(|| {
		let order = started(1);
		assert_ok!(commit(order, 0, P1, 4));
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED)]));
		run_to_block(window_end(order, 0));
		MockMarket::refuse_close(true);
		System::reset_events();
		run_to_block(window_end(order, 0) + 1);
		MockMarket::refuse_close(false);
		assert_eq!(
			pol_events().last(),
			Some(&Event::CompletionRefused { order, error: SettlementError::TransferRejected })
		);
		// The provider was paid; the run is forgotten, the order stays with the market.
		assert_eq!(MockMarket::order(order).unwrap().units_paid, WorkUnits(4));
		assert!(Runs::<Test>::get(order).is_none());
		assert!(!Pol::has_open_work(&P1));
	});
}

#[test]
fn a_settling_run_takes_no_more_results_or_commitments() {
	ExtBuilder::build_and_execute(|| {
		let order = started(1);
		assert_ok!(commit(order, 0, P1, 4));
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED)]));
		assert_eq!(Runs::<Test>::get(order).unwrap().closing, Some(Closing::Complete));
		assert_eq!(Pol::provider_round(order, &P1), None);
		assert_noop!(submit(order, 0, vec![(0, ACCEPTED)]), Error::<Test>::RunClosing);
		assert_noop!(submit(order, 1, vec![]), Error::<Test>::RunClosing);
		assert_noop!(commit(order, 0, P2, 4), Error::<Test>::RunClosing);
		assert_noop!(commit(order, 1, P2, 4), Error::<Test>::RunClosing);
	});
}

#[test]
fn the_next_round_needs_room_in_its_deadline_block() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		past_commit_deadline(order);
		// Two runs started now take the deadline block the next round would use.
		for _ in 0..2 {
			let other = order_of(task(1, 4), 1);
			assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), other));
		}
		assert_noop!(submit(order, 0, vec![]), Error::<Test>::DeadlineBlockFull);
		run_to_block(System::block_number() + 1);
		assert_ok!(submit(order, 0, vec![]));
	});
}

#[test]
fn a_result_for_an_order_the_market_closed_is_refused() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_ok!(commit(order, 0, P1, 4));
		past_commit_deadline(order);
		MockMarket::forget(order);
		assert_noop!(submit(order, 0, vec![(0, ACCEPTED)]), Error::<Test>::OrderNotMatched);
	});
}

#[test]
fn a_result_after_its_deadline_is_refused() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		let deadline = round_of(order).result_deadline;
		run_to_block(deadline);
		// The block after the deadline, before its hook ran.
		System::set_block_number(deadline + 1);
		assert_noop!(submit(order, 0, vec![]), Error::<Test>::ResultDeadlinePassed);
		Pol::on_initialize(deadline + 1);
		assert!(Runs::<Test>::get(order).is_none());
	});
}

#[test]
fn the_last_round_completes_the_order_when_its_window_closes() {
	ExtBuilder::build_and_execute(|| {
		let order = started(1);
		assert_ok!(commit(order, 0, P1, 4));
		past_commit_deadline(order);
		let (consumer, validator) = (free(CONSUMER), free(V));
		let budget = MockMarket::order(order).unwrap().budget;
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED)]));
		// Settling: the run stays, with its providers' open work, until the window closes.
		assert!(ResultDeadlines::<Test>::iter().next().is_none());
		run_to_block(window_end(order, 0));
		assert!(Runs::<Test>::get(order).is_some());
		assert!(MockMarket::order(order).is_some());
		assert!(Pol::has_open_work(&P1));
		System::reset_events();
		run_to_block(window_end(order, 0) + 1);
		assert!(Runs::<Test>::get(order).is_none());
		assert!(MockMarket::order(order).is_none());
		assert!(!Pol::has_open_work(&P1));
		assert_eq!(OpenRuns::<Test>::iter().count(), 0);
		assert_eq!(free(V), validator + 4);
		assert_eq!(free(CONSUMER), consumer + budget - 40);
		assert_eq!(
			pol_events().last(),
			Some(&Event::RunCompleted { order, validator_fee: 4, refunded: budget - 40 })
		);
		assert_noop!(commit(order, 0, P1, 4), Error::<Test>::UnknownRun);
	});
}

// ---------------------------------------------------------------------------------------------
// The deadline hook

#[test]
fn a_missed_result_deadline_fails_the_order_and_reports_the_validator() {
	ExtBuilder::build_and_execute(|| {
		let order = started(2);
		assert_ok!(commit(order, 0, P1, 4));
		let deadline = round_of(order).result_deadline;
		let consumer = free(CONSUMER);
		let p1 = free(P1);
		let budget = MockMarket::order(order).unwrap().budget;
		run_to_block(deadline);
		assert!(Runs::<Test>::get(order).is_some());
		System::reset_events();
		run_to_block(deadline + 1);

		assert!(Runs::<Test>::get(order).is_none());
		assert!(MockMarket::order(order).is_none());
		assert_eq!(Commitments::<Test>::iter().count(), 0);
		assert!(!Pol::has_open_work(&P1));
		assert_eq!(free(CONSUMER), consumer + budget);
		assert_eq!(
			MockOffences::reports(),
			vec![(V, OffenceKind::MissedDeadline, None, Pol::missed_deadline_evidence(order, 0))]
		);
		// P1's 4 committed steps at the price, out of the validator's slash.
		assert_eq!(MockOffences::compensations(), vec![(V, P1, 4 * PRICE)]);
		assert_eq!(free(P1), p1 + 4 * PRICE);
		assert_eq!(
			pol_events(),
			vec![Event::RunFailed {
				order,
				round: 0,
				reason: FailureReason::MissedResultDeadline,
				refunded: Some(budget),
				validator_slashed: Some(1_000),
				providers_compensated: Some(4 * PRICE),
			}]
		);
	});
}

#[test]
fn the_hook_fails_only_the_round_that_is_due() {
	ExtBuilder::build_and_execute(|| {
		let order = started(3);
		past_commit_deadline(order);
		// Round 0 answered: its deadline passes without effect; round 1's does not.
		let old_deadline = round_of(order).result_deadline;
		assert_ok!(submit(order, 0, vec![]));
		run_to_block(old_deadline + 1);
		assert_eq!(round_of(order).index, 1);
		MockOffences::unbond(V);
		let due = round_of(order).result_deadline + 1;
		run_to_block(due);
		assert!(Runs::<Test>::get(order).is_none());
		assert!(matches!(
			pol_events().last(),
			Some(Event::RunFailed { round: 1, validator_slashed: None, .. })
		));
	});
}

#[test]
fn the_hook_weight_counts_the_failed_runs() {
	ExtBuilder::build_and_execute(|| {
		use crate::weights::WeightInfo;
		assert_eq!(
			Pol::on_initialize(5),
			<() as WeightInfo>::fail_overdue(0) +
				<() as WeightInfo>::settle_due(0) +
				<() as WeightInfo>::close_votes(0)
		);
		cluster(&[(P1, GPU, 1)]);
		let a = order_of(task(1, 4), 1);
		let b = order_of(task(1, 4), 1);
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), a));
		assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), b));
		let due = round_of(a).result_deadline + 1;
		run_to_block(due - 1);
		System::set_block_number(due);
		// The market's failure and a compensating report with `MaxProviders` claims, per run.
		let per = polkadot_sdk::sp_runtime::Weight::from_parts(
			3_000 + 4_000 + 1_000 * u64::from(MAX_PROVIDERS),
			0,
		);
		let quiet = <() as WeightInfo>::settle_due(0) + <() as WeightInfo>::close_votes(0);
		assert_eq!(
			Pol::on_initialize(due),
			<() as WeightInfo>::fail_overdue(2).saturating_add(per.saturating_mul(2)) + quiet
		);
		assert_eq!(Runs::<Test>::iter().count(), 0);
	});
}

// ---------------------------------------------------------------------------------------------
// Whole flow

#[test]
fn full_flow_conserves_balances() {
	ExtBuilder::build_and_execute(|| {
		let accounts = [CONSUMER, V, V2, P1, P2, P3, P4, P5, STRANGER, ESCROW];
		let total = || accounts.iter().map(|a| free(*a)).sum::<Balance>();
		let issuance = Balances::total_issuance();
		let before = total();
		let consumer = free(CONSUMER);
		let validator = free(V);
		let providers = [free(P1), free(P2), free(P3)];

		let order = started(2);
		let budget = MockMarket::order(order).unwrap().budget;
		assert_eq!(total(), before);
		assert_eq!(free(CONSUMER), consumer - budget);

		// Round 0: all three commit; P2 is caught forging segment 1.
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P2, 4));
		assert_ok!(commit(order, 0, P3, 2));
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![(0, ACCEPTED), (1, rejection(1)), (2, ACCEPTED)]));
		assert_eq!(total(), before);
		assert_eq!(round_of(order).index, 1);
		assert_eq!(round_of(order).weights, H256::repeat_byte(0xaa));

		// Round 1: P1 and P2 commit, P3 stays away; both accepted.
		assert_ok!(commit(order, 1, P1, 4));
		assert_ok!(commit(order, 1, P2, 4));
		past_commit_deadline(order);
		assert_ok!(submit(order, 1, vec![(0, ACCEPTED), (1, ACCEPTED)]));
		assert_eq!(total(), before);
		past_challenge_window(order, 1);
		assert_eq!(total(), before);
		assert_eq!(Balances::total_issuance(), issuance);

		// Paid steps: P1 8, P2 4, P3 2, at 9 each after the fee; the validator gets 1 per step.
		assert_eq!(free(P1), providers[0] + 72);
		assert_eq!(free(P2), providers[1] + 36);
		assert_eq!(free(P3), providers[2] + 18);
		assert_eq!(free(V), validator + 14);
		assert_eq!(free(CONSUMER), consumer - 140);
		// P3 stayed away from round 1 and is reported for it (the slash is the mock's, off
		// these balances), P2 for its forgery.
		assert_eq!(
			MockOffences::reports(),
			vec![
				(P3, OffenceKind::MissedDeadline, None, Pol::missed_commitment_evidence(order, 1, 2)),
				(P2, OffenceKind::InvalidWork, Some(V), H256::repeat_byte(0xee)),
			]
		);
		assert!(Runs::<Test>::get(order).is_none());
		assert!(MockMarket::order(order).is_none());
		assert!([P1, P2, P3].iter().all(|p| !Pol::has_open_work(p)));
	});
}

#[test]
fn the_configuration_passes_the_integrity_test() {
	ExtBuilder::build_and_execute(integrity_test);
}

// ---------------------------------------------------------------------------------------------
// The invariants catch broken state

#[test]
fn try_state_catches_broken_state() {
	let broken = |corrupt: fn(OrderId)| {
		ExtBuilder::build().execute_with(|| {
			let order = started(2);
			assert_ok!(commit(order, 0, P1, 4));
			assert_ok!(Pol::do_try_state());
			corrupt(order);
			assert!(Pol::do_try_state().is_err());
		});
	};
	// A commitment the round does not count.
	broken(|order| Commitments::<Test>::insert(order, 1, commitment(4)));
	// A commitment of more steps than H.
	broken(|order| Commitments::<Test>::insert(order, 0, commitment(5)));
	// A commitment of a provider with no chunk position.
	broken(|order| {
		Commitments::<Test>::insert(order, 9, commitment(4));
		Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().round.commitments = 2);
	});
	// A round missing from the deadline index.
	broken(|_| {
		let _ = ResultDeadlines::<Test>::clear(u32::MAX, None);
	});
	// A deadline entry of no live run.
	broken(|order| {
		ResultDeadlines::<Test>::mutate(100, |v| v.try_push((OrderId(order.0 + 1), 0)).unwrap())
	});
	// An open-run counter that is off.
	broken(|_| OpenRuns::<Test>::insert(P1, 2));
	broken(|_| OpenRuns::<Test>::insert(STRANGER, 1));
	// A run past its result deadline.
	broken(|order| System::set_block_number(round_of(order).result_deadline + 1));
	// A run past its last round.
	broken(|order| Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().round.index = 2));
	// A commit window closed early although a provider has not committed.
	broken(|order| Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().round.commit_deadline -= 1));
	// A commit deadline later than the window allows.
	broken(|order| Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().round.commit_deadline += 1));
}

#[test]
fn open_work_follows_the_runs() {
	ExtBuilder::build_and_execute(|| {
		assert!(!Pol::has_open_work(&P1));
		let order = started(1);
		assert!([P1, P2, P3].iter().all(Pol::has_open_work));
		assert!(!Pol::has_open_work(&STRANGER));
		past_commit_deadline(order);
		assert_ok!(submit(order, 0, vec![]));
		// Open until the last round settled.
		assert!([P1, P2, P3].iter().all(Pol::has_open_work));
		past_challenge_window(order, 0);
		assert!(![P1, P2, P3].iter().any(Pol::has_open_work));
	});
}

// ---------------------------------------------------------------------------------------------
// A seeded random sequence

/// SplitMix64: a tiny deterministic generator, enough to drive the sequence.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
		z ^ (z >> 31)
	}
	/// Uniform in `lo..=hi`.
	fn range(&mut self, lo: u64, hi: u64) -> u64 {
		lo + self.next() % (hi - lo + 1)
	}
	fn pick<X: Copy>(&mut self, items: &[X]) -> X {
		items[self.range(0, items.len() as u64 - 1) as usize]
	}
	fn chance(&mut self, percent: u64) -> bool {
		self.range(1, 100) <= percent
	}
}

#[derive(Default, Debug)]
struct Tally {
	started: u32,
	commitments: u32,
	results: u32,
	completed: u32,
	failed: u32,
	unstarted_failed: u32,
	challenges: u32,
	votes: u32,
	resolved: u32,
}

/// A round result for `order`'s current round: usually one random verdict per commitment,
/// sometimes a broken list.
fn random_verdicts(rng: &mut Rng, order: OrderId) -> Vec<(Position, Verdict)> {
	let mut verdicts: Vec<(Position, Verdict)> = Commitments::<Test>::iter_prefix(order)
		.map(|(p, c)| {
			let segments = c.steps_done.div_ceil(2);
			let verdict = if rng.chance(70) {
				ACCEPTED
			} else {
				// Now and then one segment past the last.
				let extra = u64::from(rng.chance(5));
				rejection(rng.range(0, u64::from(segments) - 1 + extra) as u32)
			};
			(p, verdict)
		})
		.collect();
	verdicts.sort_by_key(|(p, _)| *p);
	if rng.chance(5) {
		verdicts.pop();
	}
	if rng.chance(5) {
		verdicts.reverse();
	}
	verdicts
}

#[test]
fn random_sequences_keep_every_invariant_and_conserve_balances() {
	ExtBuilder::build_and_execute(|| {
		let accounts = [CONSUMER, V, V2, P1, P2, P3, P4, P5, STRANGER, ESCROW];
		let total = || accounts.iter().map(|a| free(*a)).sum::<Balance>();
		let (before, issuance) = (total(), Balances::total_issuance());
		cluster(&[(P1, GPU, 1), (P2, GPU, 2), (P3, GPU, 1)]);
		MockClusters::join(V2, P4, GPU, 3);
		MockClusters::join(V2, P5, CPU, 1);
		MockOffences::bond(V2, 10_000);
		validators(&[V, V2, W1, W2, W3, W4]);
		MockOffences::bond(STRANGER, 100_000);
		let mut rng = Rng(0x5eed_0001);
		let mut tally = Tally::default();
		let mut orders: Vec<OrderId> = Vec::new();

		for _ in 0..3_000 {
			let pick_order = |rng: &mut Rng, orders: &[OrderId]| {
				if orders.is_empty() || rng.chance(3) {
					OrderId(rng.range(0, 200))
				} else {
					rng.pick(orders)
				}
			};
			// Mostly a live run.
			let pick_live = |rng: &mut Rng, orders: &[OrderId]| {
				let live: Vec<OrderId> = Runs::<Test>::iter_keys().collect();
				if live.is_empty() || rng.chance(10) {
					pick_order(rng, orders)
				} else {
					rng.pick(&live)
				}
			};
			match rng.range(0, 16) {
				0 => {
					let t = task(rng.range(1, 3) as u32, rng.range(1, 6) as u32);
					let max = rng.range(1, 4) as u32;
					let full = t.max_work_units(max).unwrap().0 * PRICE;
					let budget = if rng.chance(30) { rng.range(PRICE, full) } else { full };
					let v = rng.pick(&[V, V, V2]);
					let min = rng.range(1, max.into()) as u32;
					orders.push(MockMarket::create(CONSUMER, v, t, min, max, PRICE, budget));
				}
				1 | 2 => {
					let order = pick_order(&mut rng, &orders);
					let who = rng.pick(&[V, V, V2]);
					if Pol::start_order(RuntimeOrigin::signed(who), order).is_ok() {
						tally.started += 1;
					}
				}
				3..=6 => {
					let order = pick_live(&mut rng, &orders);
					let run = Runs::<Test>::get(order);
					let round =
						run.as_ref().map_or(0, |r| r.round.index) + u32::from(rng.chance(5));
					let participants: Vec<AccountId> = run
						.map(|r| r.participants.iter().map(|p| p.provider).collect())
						.unwrap_or_default();
					let who = if participants.is_empty() || rng.chance(10) {
						rng.pick(&[P1, P2, P3, P4, P5, STRANGER])
					} else {
						rng.pick(&participants)
					};
					let steps = rng.range(0, 7) as u32;
					let mut c = commitment(steps.max(1));
					c.steps_done = steps;
					if rng.chance(5) {
						c.checkpoint_count += 1;
					}
					if Pol::submit_commitment(RuntimeOrigin::signed(who), order, round, c).is_ok() {
						tally.commitments += 1;
					}
				}
				7 | 8 => {
					let order = pick_live(&mut rng, &orders);
					let round = Runs::<Test>::get(order).map_or(0, |r| r.round.index);
					let who = Runs::<Test>::get(order).map_or(V, |r| {
						if rng.chance(95) {
							r.validator
						} else {
							V2
						}
					});
					let verdicts = random_verdicts(&mut rng, order);
					let live = Runs::<Test>::contains_key(order);
					let r = Pol::submit_round_result(
						RuntimeOrigin::signed(who),
						order,
						round,
						result(verdicts),
					);
					if r.is_ok() {
						tally.results += 1;
						assert!(live && Runs::<Test>::contains_key(order));
					}
				}
				9 => {
					let order = pick_order(&mut rng, &orders);
					if Pol::fail_unstarted(RuntimeOrigin::signed(STRANGER), order).is_ok() {
						tally.unstarted_failed += 1;
					}
				}
				10 | 11 => {
					let recorded: Vec<(OrderId, RoundIndex)> =
						RoundResults::<Test>::iter_keys().collect();
					if recorded.is_empty() {
						continue;
					}
					let (order, round) = rng.pick(&recorded);
					let record = RoundResults::<Test>::get(order, round).unwrap();
					let who = rng.pick(&[STRANGER, P1, P4, W1, V2, V]);
					let claim = rng.pick(&[
						ClaimKind::InvalidWorkAccepted,
						ClaimKind::ValidWorkRejected,
						ClaimKind::WrongAggregate,
					]);
					let (target, segment, proof) = match (claim, record.verdicts.is_empty()) {
						(ClaimKind::WrongAggregate, _) | (_, true) => {
							(0, 0, SegmentProof::default())
						}
						_ => {
							let v = rng.pick(&record.verdicts);
							let segments = v.commitment.steps_done.div_ceil(2);
							let segment = match v.verdict {
								Verdict::Rejected(r) if rng.chance(80) => r.segment,
								_ => rng.range(0, u64::from(segments)) as u32,
							};
							let mut proof =
								segment_proof(v.commitment.steps_done, segment.min(segments - 1));
							if rng.chance(5) {
								proof.end = H256::repeat_byte(9);
							}
							(v.position, segment, proof)
						}
					};
					let before = Runs::<Test>::contains_key(order);
					if Pol::challenge(
						RuntimeOrigin::signed(who),
						order,
						round,
						target,
						claim,
						segment,
						proof,
					)
					.is_ok()
					{
						tally.challenges += 1;
					}
					assert_eq!(before, Runs::<Test>::contains_key(order));
				}
				12 | 13 => {
					let open: Vec<ChallengeId> = Challenges::<Test>::iter_keys().collect();
					if open.is_empty() {
						continue;
					}
					let id = rng.pick(&open);
					let c = Challenges::<Test>::get(id).unwrap();
					let members: Vec<AccountId> = c.committee.iter().map(|(m, _)| *m).collect();
					let who = if rng.chance(90) { rng.pick(&members) } else { STRANGER };
					let closing = Runs::<Test>::get(c.order).map(|r| r.closing);
					if Pol::vote(RuntimeOrigin::signed(who), id, rng.chance(50)).is_ok() {
						tally.votes += 1;
						if !Challenges::<Test>::contains_key(id) {
							tally.resolved += 1;
						}
						if !Runs::<Test>::contains_key(c.order) {
							match closing {
								Some(Some(Closing::Complete)) => tally.completed += 1,
								_ => tally.failed += 1,
							}
						}
					}
				}
				_ => {
					let closing: Vec<(OrderId, bool)> = Runs::<Test>::iter()
						.map(|(o, r)| (o, r.closing == Some(Closing::Complete)))
						.collect();
					let open = Challenges::<Test>::iter().count();
					run_to_block(System::block_number() + rng.range(1, 3));
					for (order, complete) in closing {
						if !Runs::<Test>::contains_key(order) {
							if complete {
								tally.completed += 1;
							} else {
								tally.failed += 1;
							}
						}
					}
					tally.resolved += (open - Challenges::<Test>::iter().count()) as u32;
				}
			}
			Pol::do_try_state().unwrap();
			MockMarket::check();
			assert_eq!(total(), before);
			assert_eq!(Balances::total_issuance(), issuance);
		}
		// The sequence went through every path.
		assert!(tally.started > 20, "{tally:?}");
		assert!(tally.commitments > 50, "{tally:?}");
		assert!(tally.results > 20, "{tally:?}");
		assert!(tally.completed > 5, "{tally:?}");
		assert!(tally.failed > 5, "{tally:?}");
		assert!(tally.unstarted_failed > 5, "{tally:?}");
		assert!(tally.challenges > 20, "{tally:?}");
		assert!(tally.votes > 20, "{tally:?}");
		assert!(tally.resolved > 20, "{tally:?}");
	});
}
