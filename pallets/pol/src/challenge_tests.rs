//! Tests of challenges and the deferred settlement: every error path of `challenge` and `vote`,
//! the window's edges, the committee draw, and the outcomes (a lazy validator caught, an
//! unfounded challenge, censorship overturned, missed votes), each checking that the budget is
//! what was paid plus the fee plus the refund. Every test runs in
//! `ExtBuilder::build_and_execute` (invariants after the test).
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{mock::*, tests::*, *};
use codec::Encode;
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	sp_core::H256,
	sp_runtime::{DispatchError, FixedU64},
};
use pot_pol_core::rng::SeededRng;
use pot_primitives::{OffenceKind, OpenWorkInspect, OrderId};

pub(crate) type DispatchResult = Result<(), DispatchError>;

/// The committee pool of these tests.
const POOL: [AccountId; 6] = [V, V2, W1, W2, W3, W4];

/// `started(rounds)` (P1, P2, P3 in V's cluster), the committee pool, STRANGER bonded enough
/// to challenge.
pub(crate) fn setup(rounds: u32) -> OrderId {
	let order = started(rounds);
	validators(&POOL);
	MockOffences::bond(STRANGER, 1_000);
	order
}

fn rejected(segment: u32) -> Verdict {
	Verdict::Rejected(Rejection {
		segment,
		distance: FixedU64::from_rational(1, 1000),
		evidence: H256::repeat_byte(0xee),
	})
}

/// P1, P2 and P3 commit 4 steps to round `round`; the validator's result after the commit
/// deadline gives them `verdicts`. Returns the block of the result.
pub(crate) fn recorded(order: OrderId, round: RoundIndex, verdicts: [Verdict; 3]) -> BlockNumber {
	for p in [P1, P2, P3] {
		assert_ok!(commit(order, round, p, 4));
	}
	past_commit_deadline(order);
	let verdicts = verdicts.into_iter().enumerate().map(|(i, v)| (i as u32, v)).collect();
	assert_ok!(Pol::submit_round_result(RuntimeOrigin::signed(V), order, round, result(verdicts)));
	System::block_number()
}

pub(crate) const ALL_ACCEPTED: [Verdict; 3] = [ACCEPTED, ACCEPTED, ACCEPTED];

pub(crate) fn challenge(
	who: AccountId,
	order: OrderId,
	round: RoundIndex,
	target: Position,
	claim: ClaimKind,
	segment: u32,
) -> DispatchResult {
	let proof =
		if claim.is_segment_claim() { segment_proof(4, segment) } else { SegmentProof::default() };
	Pol::challenge(RuntimeOrigin::signed(who), order, round, target, claim, segment, proof)
}

fn challenge_with(
	order: OrderId,
	target: Position,
	segment: u32,
	proof: SegmentProof,
) -> DispatchResult {
	Pol::challenge(
		RuntimeOrigin::signed(STRANGER),
		order,
		0,
		target,
		ClaimKind::InvalidWorkAccepted,
		segment,
		proof,
	)
}

fn vote(who: AccountId, id: ChallengeId, upheld: bool) -> DispatchResult {
	Pol::vote(RuntimeOrigin::signed(who), id, upheld).map(|_| ()).map_err(|e| e.error)
}

fn committee(id: ChallengeId) -> Vec<AccountId> {
	Challenges::<Test>::get(id).unwrap().committee.iter().map(|(m, _)| *m).collect()
}

/// The committee's first `n` members vote `upheld`.
pub(crate) fn votes(id: ChallengeId, n: usize, upheld: bool) {
	for m in committee(id).into_iter().take(n) {
		assert_ok!(vote(m, id, upheld));
	}
}

/// Offenders reported so far, with kind and reporter.
pub(crate) fn reports() -> Vec<(AccountId, OffenceKind, Option<AccountId>)> {
	MockOffences::reports().into_iter().map(|(o, k, r, _)| (o, k, r)).collect()
}

/// Free balances of the consumer, the validator and the three providers (taken before the
/// order is created).
pub(crate) fn balances() -> [Balance; 5] {
	[free(CONSUMER), free(V), free(P1), free(P2), free(P3)]
}

/// Checks that a finished order cost the consumer exactly what the providers and the
/// validator received (budget = paid + fee + refund), and returns the providers' gains.
pub(crate) fn assert_conserved(before: [Balance; 5], order: OrderId) -> [Balance; 3] {
	assert!(MockMarket::order(order).is_none(), "the order is final");
	let after = balances();
	let gains = [after[2] - before[2], after[3] - before[3], after[4] - before[4]];
	let fee = after[1] - before[1];
	assert_eq!(before[0] - after[0], gains.iter().sum::<Balance>() + fee);
	gains
}

// ---------------------------------------------------------------------------------------------
// The window's edges

#[test]
fn a_challenge_in_the_windows_last_block_is_accepted_one_block_later_refused() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		let at = recorded(order, 0, ALL_ACCEPTED);
		let end = window_end(order, 0);
		assert_eq!(end, at + CHALLENGE_WINDOW);
		run_to_block(end);
		System::reset_events();
		assert_ok!(challenge(STRANGER, order, 0, 1, ClaimKind::InvalidWorkAccepted, 1));

		let c = Challenges::<Test>::get(0).unwrap();
		assert_eq!((c.order, c.round, c.target, c.segment), (order, 0, 1, 1));
		assert_eq!(c.claim, ClaimKind::InvalidWorkAccepted);
		assert_eq!(c.challenger, STRANGER);
		assert_eq!(c.checkpoints, (H256(checkpoints(4)[1]), H256(checkpoints(4)[2])));
		assert_eq!((c.opened_at, c.vote_deadline), (end, end + VOTE_WINDOW));
		assert_eq!(c.committee.len() as u32, COMMITTEE_SIZE);
		assert!(c.committee.iter().all(|(_, vote)| vote.is_none()));
		assert_eq!(VoteDeadlines::<Test>::get(end + VOTE_WINDOW + 1).to_vec(), vec![0]);
		assert_eq!(NextChallengeId::<Test>::get(), 1);
		assert_eq!(
			RoundResults::<Test>::get(order, 0).unwrap().challenges.to_vec(),
			vec![ChallengeSlot {
				id: 0,
				claim: ClaimKind::InvalidWorkAccepted,
				target: 1,
				segment: 1,
				open: true
			}]
		);
		assert_eq!(
			pol_events(),
			vec![Event::ChallengeOpened {
				id: 0,
				order,
				round: 0,
				claim: ClaimKind::InvalidWorkAccepted,
				target: 1,
				segment: 1,
				start: c.checkpoints.0,
				end: c.checkpoints.1,
				challenger: STRANGER,
				committee: committee(0).try_into().unwrap(),
				vote_deadline: end + VOTE_WINDOW,
			}]
		);

		// One block later: the window is shut, and the challenged round does not settle.
		run_to_block(end + 1);
		assert_noop!(
			challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0),
			Error::<Test>::ChallengeWindowClosed
		);
		assert!(RoundResults::<Test>::get(order, 0).is_some());
		assert_eq!(balances()[2..], before[2..]);
		assert!(MockMarket::order(order).is_some());

		// Two votes against decide it: the round settles at once, the order completes.
		System::reset_events();
		votes(0, 2, false);
		assert!(Challenges::<Test>::get(0).is_none());
		assert!(VoteDeadlines::<Test>::iter().next().is_none());
		assert_eq!(reports(), vec![(STRANGER, OffenceKind::UnfoundedChallenge, Some(V))]);
		assert!(pol_events().contains(&Event::RoundSettled { order, round: 0, paid: 3, rejected: 0 }));
		assert_eq!(assert_conserved(before, order), [36, 36, 36]);
	});
}

#[test]
fn an_unchallenged_round_cannot_be_challenged_once_settled() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(2);
		recorded(order, 0, ALL_ACCEPTED);
		past_challenge_window(order, 0);
		assert!(RoundResults::<Test>::get(order, 0).is_none());
		assert_noop!(
			challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0),
			Error::<Test>::NoRoundResult
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn challenge_errors() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(2);
		let iwa = ClaimKind::InvalidWorkAccepted;
		assert_noop!(
			Pol::challenge(RuntimeOrigin::none(), order, 0, 0, iwa, 0, segment_proof(4, 0)),
			DispatchError::BadOrigin
		);
		// Nothing recorded yet.
		assert_noop!(challenge(STRANGER, order, 0, 0, iwa, 0), Error::<Test>::NoRoundResult);
		// P3 does not commit; P2 is rejected on segment 1.
		assert_ok!(commit(order, 0, P1, 4));
		assert_ok!(commit(order, 0, P2, 4));
		past_commit_deadline(order);
		assert_ok!(Pol::submit_round_result(
			RuntimeOrigin::signed(V),
			order,
			0,
			result(vec![(0, ACCEPTED), (1, rejected(1))])
		));
		assert_noop!(challenge(STRANGER, OrderId(77), 0, 0, iwa, 0), Error::<Test>::NoRoundResult);
		assert_noop!(challenge(STRANGER, order, 1, 0, iwa, 0), Error::<Test>::NoRoundResult);

		MockOffences::bond(STRANGER, CHALLENGE_BOND - 1);
		assert_noop!(challenge(STRANGER, order, 0, 0, iwa, 0), Error::<Test>::InsufficientBond);
		assert_noop!(challenge(CONSUMER, order, 0, 0, iwa, 0), Error::<Test>::InsufficientBond);
		MockOffences::bond(STRANGER, CHALLENGE_BOND);

		assert_noop!(challenge(STRANGER, order, 0, 2, iwa, 0), Error::<Test>::UnknownTarget);
		assert_noop!(challenge(STRANGER, order, 0, 9, iwa, 0), Error::<Test>::UnknownTarget);
		assert_noop!(challenge(STRANGER, order, 0, 1, iwa, 1), Error::<Test>::ClaimMismatch);
		assert_noop!(
			challenge(STRANGER, order, 0, 0, ClaimKind::ValidWorkRejected, 0),
			Error::<Test>::ClaimMismatch
		);
		assert_noop!(
			challenge(P2, order, 0, 1, ClaimKind::ValidWorkRejected, 0),
			Error::<Test>::WrongSegment
		);
		// 4 steps at k = 2: segments 0 and 1.
		assert_noop!(
			challenge_with(order, 0, 2, SegmentProof::default()),
			Error::<Test>::SegmentOutOfRange
		);
		let wa = |target, segment, proof| {
			Pol::challenge(
				RuntimeOrigin::signed(STRANGER),
				order,
				0,
				target,
				ClaimKind::WrongAggregate,
				segment,
				proof,
			)
		};
		assert_noop!(wa(1, 0, SegmentProof::default()), Error::<Test>::MalformedClaim);
		assert_noop!(wa(0, 1, SegmentProof::default()), Error::<Test>::MalformedClaim);
		assert_noop!(wa(0, 0, segment_proof(4, 0)), Error::<Test>::MalformedClaim);

		// Not enough validators besides the challenger, the validator and the target.
		MockClusters::set_validators(&[V, V2, W1, P1]);
		assert_noop!(challenge(STRANGER, order, 0, 0, iwa, 0), Error::<Test>::NoCommittee);
		MockClusters::set_validators(&POOL);

		// Challenge ids exhausted.
		NextChallengeId::<Test>::put(ChallengeId::MAX);
		assert_noop!(challenge(STRANGER, order, 0, 0, iwa, 0), Error::<Test>::Overflow);
		NextChallengeId::<Test>::put(0);

		// One open challenge per submission, each segment once.
		assert_ok!(challenge(STRANGER, order, 0, 0, iwa, 0));
		assert_noop!(challenge(STRANGER, order, 0, 0, iwa, 0), Error::<Test>::AlreadyChallenged);
		assert_noop!(challenge(W1, order, 0, 0, iwa, 1), Error::<Test>::ChallengeOpen);
		// A second challenge in the block: the vote-deadline block still has room for one.
		assert_ok!(challenge(P2, order, 0, 1, ClaimKind::ValidWorkRejected, 1));
		assert_noop!(
			challenge(STRANGER, order, 0, 0, ClaimKind::WrongAggregate, 0),
			Error::<Test>::DeadlineBlockFull
		);
		run_to_block(System::block_number() + 1);
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::WrongAggregate, 0));
		assert_noop!(
			challenge(W1, order, 0, 0, ClaimKind::WrongAggregate, 0),
			Error::<Test>::AlreadyChallenged
		);
		// Upheld: P1's acceptance is overturned for good; the round's list is full.
		votes(0, 2, true);
		assert_noop!(challenge(STRANGER, order, 0, 0, iwa, 1), Error::<Test>::VerdictOverturned);
		votes(1, 2, false);
		assert_noop!(
			challenge(W1, order, 0, 1, ClaimKind::ValidWorkRejected, 1),
			Error::<Test>::AlreadyChallenged
		);
		let full = RoundResults::<Test>::get(order, 0).unwrap();
		assert_eq!(full.challenges.len() as u32, MAX_CHALLENGES_PER_ROUND);
		// (A fourth challenge would need a fresh subject: none is left here; see
		// `a_round_takes_at_most_max_challenges`.)
	});
}

#[test]
fn a_round_takes_at_most_max_challenges() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(1);
		recorded(order, 0, ALL_ACCEPTED);
		let iwa = ClaimKind::InvalidWorkAccepted;
		assert_ok!(challenge(STRANGER, order, 0, 0, iwa, 0));
		assert_ok!(challenge(STRANGER, order, 0, 1, iwa, 0));
		run_to_block(System::block_number() + 1);
		assert_ok!(challenge(STRANGER, order, 0, 2, iwa, 0));
		assert_noop!(
			challenge(STRANGER, order, 0, 0, ClaimKind::WrongAggregate, 0),
			Error::<Test>::TooManyChallenges
		);
	});
}

#[test]
fn a_bad_merkle_proof_is_refused() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(1);
		recorded(order, 0, ALL_ACCEPTED);
		let good = segment_proof(4, 1);
		let refused = |proof: SegmentProof| {
			assert_noop!(challenge_with(order, 0, 1, proof), Error::<Test>::InvalidProof);
		};
		// Another checkpoint at either end.
		refused(SegmentProof { start: H256::repeat_byte(1), ..good.clone() });
		refused(SegmentProof { end: H256(checkpoints(4)[0]), ..good.clone() });
		// The ends swapped.
		refused(SegmentProof {
			start: good.end,
			start_path: good.end_path.clone(),
			end: good.start,
			end_path: good.start_path.clone(),
		});
		// The proof of another segment.
		refused(segment_proof(4, 0));
		// A path one hash short or long, or with a wrong sibling.
		let mut short = good.clone();
		short.start_path.pop();
		refused(short);
		let mut long = good.clone();
		long.end_path.try_push(H256::zero()).unwrap();
		refused(long);
		let mut wrong = good.clone();
		wrong.end_path[0] = H256::repeat_byte(7);
		refused(wrong);
		// The checkpoints of another commitment (2 steps: another root and leaf count).
		refused(segment_proof(2, 0));
		// An empty proof.
		refused(SegmentProof::default());
		assert_ok!(challenge_with(order, 0, 1, good));
	});
}

#[test]
fn a_proof_longer_than_the_bound_does_not_decode() {
	use codec::Decode;
	let mut too_long = Vec::<H256>::new();
	too_long.resize(MAX_PROOF_DEPTH as usize + 1, H256::zero());
	let encoded = (H256::zero(), too_long, H256::zero(), Vec::<H256>::new()).encode();
	assert!(SegmentProof::decode(&mut &encoded[..]).is_err());
	let mut longest = Vec::<H256>::new();
	longest.resize(MAX_PROOF_DEPTH as usize, H256::zero());
	let encoded = (H256::zero(), longest, H256::zero(), Vec::<H256>::new()).encode();
	assert!(SegmentProof::decode(&mut &encoded[..]).is_ok());
}

// ---------------------------------------------------------------------------------------------
// The committee

/// The committee the pallet must draw for challenge `id` in the current block from `pool`
/// less `excluded`.
fn expected_committee(id: ChallengeId, pool: &[AccountId], excluded: &[AccountId]) -> Vec<AccountId> {
	let mut eligible: Vec<AccountId> =
		pool.iter().copied().filter(|v| !excluded.contains(v)).collect();
	let parent = System::parent_hash();
	let mut rng = SeededRng::new(b"pot/pol/committee/v1", &(parent, id).encode());
	rng.shuffle(&mut eligible);
	eligible.truncate(COMMITTEE_SIZE as usize);
	eligible
}

#[test]
fn the_committee_excludes_the_parties_and_has_m_members() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(1);
		recorded(order, 0, ALL_ACCEPTED);
		// The target provider, the challenger and the run's validator are in the pool too.
		let pool = [V, V2, P1, W1, W2, W3, W4, STRANGER];
		MockClusters::set_validators(&pool);
		let expected = expected_committee(0, &pool, &[STRANGER, V, P1]);
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0));
		let drawn = committee(0);
		assert_eq!(drawn, expected);
		assert_eq!(drawn.len() as u32, COMMITTEE_SIZE);
		assert!(drawn.iter().all(|m| ![STRANGER, V, P1].contains(m)));

		// Exactly M eligible: all of them, whatever the draw.
		MockClusters::set_validators(&[V, V2, P2, W1, W2, W3]);
		assert_ok!(challenge(V2, order, 0, 1, ClaimKind::InvalidWorkAccepted, 0));
		let mut drawn = committee(1);
		drawn.sort();
		assert_eq!(drawn, vec![W1, W2, W3]);
		// The aggregate has no target provider to exclude: P1 may sit on its committee.
		run_to_block(System::block_number() + 1);
		MockClusters::set_validators(&[V, V2, P1, W1, W2]);
		assert_ok!(challenge(V2, order, 0, 0, ClaimKind::WrongAggregate, 0));
		let mut drawn = committee(2);
		drawn.sort();
		assert_eq!(drawn, vec![P1, W1, W2]);
	});
}

// ---------------------------------------------------------------------------------------------
// Votes

#[test]
fn vote_errors() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(1);
		recorded(order, 0, ALL_ACCEPTED);
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0));
		let members = committee(0);
		assert_noop!(Pol::vote(RuntimeOrigin::none(), 0, true), DispatchError::BadOrigin);
		assert_noop!(vote(members[0], 1, true), Error::<Test>::UnknownChallenge);
		for outsider in [STRANGER, V, P1, CONSUMER] {
			assert_noop!(vote(outsider, 0, true), Error::<Test>::NotCommitteeMember);
		}
		System::reset_events();
		// A vote that decides nothing is charged less.
		let info = Pol::vote(RuntimeOrigin::signed(members[0]), 0, true).unwrap();
		assert_eq!(
			info.actual_weight,
			Some(<() as crate::weights::WeightInfo>::vote_cast())
		);
		assert_eq!(pol_events(), vec![Event::VoteCast { id: 0, voter: members[0], upheld: true }]);
		assert_eq!(Challenges::<Test>::get(0).unwrap().committee[0], (members[0], Some(true)));
		assert_noop!(vote(members[0], 0, true), Error::<Test>::AlreadyVoted);
		assert_noop!(vote(members[0], 0, false), Error::<Test>::AlreadyVoted);
		// Until the deadline, inclusive.
		let deadline = Challenges::<Test>::get(0).unwrap().vote_deadline;
		run_to_block(deadline);
		assert_ok!(vote(members[1], 0, false));
		// The block after, before its hook resolved it.
		System::set_block_number(deadline + 1);
		assert_noop!(vote(members[2], 0, true), Error::<Test>::VoteWindowClosed);
		use polkadot_sdk::frame_support::traits::Hooks;
		Pol::on_initialize(deadline + 1);
		assert_noop!(vote(members[2], 0, true), Error::<Test>::UnknownChallenge);
	});
}

#[test]
fn the_deciding_vote_resolves_at_once_and_spares_those_who_had_not_voted() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(1);
		recorded(order, 0, ALL_ACCEPTED);
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0));
		let members = committee(0);
		let deadline = Challenges::<Test>::get(0).unwrap().vote_deadline;
		assert_ok!(vote(members[0], 0, false));
		assert!(Challenges::<Test>::get(0).is_some());
		System::reset_events();
		assert_ok!(vote(members[1], 0, false));
		assert!(Challenges::<Test>::get(0).is_none());
		assert!(VoteDeadlines::<Test>::get(deadline + 1).is_empty());
		let evidence = {
			// The evidence named in the report is the challenge's.
			let (_, _, _, e) = MockOffences::reports()[0];
			e
		};
		assert_eq!(
			pol_events(),
			vec![
				Event::VoteCast { id: 0, voter: members[1], upheld: false },
				Event::ChallengeResolved {
					id: 0,
					order,
					round: 0,
					claim: ClaimKind::InvalidWorkAccepted,
					target: 0,
					upheld: false,
					ayes: 0,
					nays: 2,
				},
				Event::ChallengeOffence {
					id: 0,
					offender: STRANGER,
					kind: OffenceKind::UnfoundedChallenge,
					slashed: Some(100),
				},
			]
		);
		assert_ne!(evidence, H256::zero());
		// The third member is not reported, and not at the old deadline either.
		run_to_block(deadline + 1);
		assert_eq!(reports(), vec![(STRANGER, OffenceKind::UnfoundedChallenge, Some(V))]);
		assert!(!RoundResults::<Test>::get(order, 0).unwrap().challenged());
	});
}

#[test]
fn members_that_do_not_vote_are_penalized_lightly() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		recorded(order, 0, ALL_ACCEPTED);
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0));
		let members = committee(0);
		// One for, one against, one silent: no majority at the deadline, not upheld.
		assert_ok!(vote(members[0], 0, true));
		assert_ok!(vote(members[1], 0, false));
		let deadline = Challenges::<Test>::get(0).unwrap().vote_deadline;
		run_to_block(deadline);
		System::reset_events();
		run_to_block(deadline + 1);
		assert!(Challenges::<Test>::get(0).is_none());
		assert_eq!(
			reports(),
			vec![
				(STRANGER, OffenceKind::UnfoundedChallenge, Some(V)),
				(members[2], OffenceKind::MissedVote, None),
			]
		);
		assert!(pol_events().contains(&Event::ChallengeResolved {
			id: 0,
			order,
			round: 0,
			claim: ClaimKind::InvalidWorkAccepted,
			target: 0,
			upheld: false,
			ayes: 1,
			nays: 1,
		}));
		// Nobody votes on a second one: every member is reported.
		let order2 = {
			let o = order_of(task(1, 4), 3);
			assert_ok!(Pol::start_order(RuntimeOrigin::signed(V), o));
			o
		};
		recorded(order2, 0, ALL_ACCEPTED);
		assert_ok!(challenge(STRANGER, order2, 0, 2, ClaimKind::InvalidWorkAccepted, 1));
		let silent = committee(1);
		let deadline = Challenges::<Test>::get(1).unwrap().vote_deadline;
		run_to_block(deadline + 1);
		let missed: Vec<_> = reports()
			.into_iter()
			.filter(|(_, k, _)| *k == OffenceKind::MissedVote)
			.map(|(o, _, _)| o)
			.collect();
		assert_eq!(missed, [vec![members[2]], silent].concat());
		past_challenge_window(order2, 0);
		assert_conserved(before, order);
	});
}

// ---------------------------------------------------------------------------------------------
// Outcomes

#[test]
fn a_lazy_validator_that_accepts_forged_work_is_caught_and_slashed() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		// P2 forged its checkpoints; the lazy validator accepted everything.
		recorded(order, 0, ALL_ACCEPTED);
		// Another validator re-executes segment 1 of P2 and challenges.
		assert_ok!(challenge(W1, order, 0, 1, ClaimKind::InvalidWorkAccepted, 1));
		assert!(!committee(0).contains(&W1) && !committee(0).contains(&P2));
		System::reset_events();
		votes(0, 2, true);
		let events = pol_events();
		assert!(events.contains(&Event::ChallengeResolved {
			id: 0,
			order,
			round: 0,
			claim: ClaimKind::InvalidWorkAccepted,
			target: 1,
			upheld: true,
			ayes: 2,
			nays: 0,
		}));
		assert!(events.contains(&Event::ChallengeOffence {
			id: 0,
			offender: P2,
			kind: OffenceKind::InvalidWork,
			slashed: Some(100),
		}));
		assert!(events.contains(&Event::ChallengeOffence {
			id: 0,
			offender: V,
			kind: OffenceKind::WrongVerdict,
			slashed: Some(1_000),
		}));
		// The challenger reported both (and gets staking's reporter share).
		assert_eq!(
			reports(),
			vec![
				(P2, OffenceKind::InvalidWork, Some(W1)),
				(V, OffenceKind::WrongVerdict, Some(W1)),
			]
		);
		let record = RoundResults::<Test>::get(order, 0).unwrap();
		assert!(record.verdicts[1].overturned && !record.verdicts[1].pays());
		// Nothing paid before the window closes; then P1 and P3 only.
		assert_eq!(balances()[2..], before[2..]);
		System::reset_events();
		past_challenge_window(order, 0);
		assert!(pol_events().contains(&Event::RoundSettled { order, round: 0, paid: 2, rejected: 0 }));
		assert_eq!(assert_conserved(before, order), [36, 0, 36]);
		// P2 was not reported a second time at the settlement.
		assert_eq!(reports().len(), 2);
	});
}

#[test]
fn an_honest_validator_challenged_without_ground_is_never_slashed() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		recorded(order, 0, [ACCEPTED, ACCEPTED, rejected(0)]);
		// Two unfounded challenges: of an acceptance and of the aggregate.
		assert_ok!(challenge(STRANGER, order, 0, 1, ClaimKind::InvalidWorkAccepted, 0));
		assert_ok!(challenge(W2, order, 0, 0, ClaimKind::WrongAggregate, 0));
		votes(0, 2, false);
		votes(1, 2, false);
		past_challenge_window(order, 0);
		assert_eq!(
			reports(),
			vec![
				(STRANGER, OffenceKind::UnfoundedChallenge, Some(V)),
				(W2, OffenceKind::UnfoundedChallenge, Some(V)),
				(P3, OffenceKind::InvalidWork, Some(V)),
			]
		);
		assert!(reports().iter().all(|(offender, _, _)| *offender != V));
		assert_eq!(assert_conserved(before, order), [36, 36, 0]);
	});
}

#[test]
fn forged_work_the_sample_could_miss_reports_the_provider_and_spares_the_validator() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		// P2 forged segment 1, outside the validator's sample: the validator accepted honestly.
		recorded(order, 0, ALL_ACCEPTED);
		// Named as a wrong verdict, the committee finds the validator was not obliged to see it.
		assert_ok!(challenge(W1, order, 0, 1, ClaimKind::InvalidWorkAccepted, 1));
		votes(0, 2, false);
		assert_eq!(reports(), vec![(W1, OffenceKind::UnfoundedChallenge, Some(V))]);
		// The same segment may still be claimed against the provider alone.
		assert_noop!(
			challenge(W1, order, 0, 1, ClaimKind::InvalidWorkAccepted, 1),
			Error::<Test>::AlreadyChallenged
		);
		assert_ok!(challenge(STRANGER, order, 0, 1, ClaimKind::ForgedWork, 1));
		// Two claims on one segment are a state the invariants accept.
		assert_ok!(Pol::do_try_state());
		assert!(!committee(1).contains(&STRANGER) && !committee(1).contains(&P2));
		assert_noop!(
			challenge(W2, order, 0, 1, ClaimKind::ForgedWork, 0),
			Error::<Test>::ChallengeOpen
		);
		System::reset_events();
		votes(1, 2, true);
		assert!(pol_events().contains(&Event::ChallengeResolved {
			id: 1,
			order,
			round: 0,
			claim: ClaimKind::ForgedWork,
			target: 1,
			upheld: true,
			ayes: 2,
			nays: 0,
		}));
		assert_eq!(reports()[1..], [(P2, OffenceKind::InvalidWork, Some(STRANGER))]);
		assert!(!RoundResults::<Test>::get(order, 0).unwrap().verdicts[1].pays());
		assert_noop!(
			challenge(W2, order, 0, 1, ClaimKind::ForgedWork, 0),
			Error::<Test>::VerdictOverturned
		);
		past_challenge_window(order, 0);
		// P2 is not paid; the validator keeps its stake and its fee.
		assert_eq!(assert_conserved(before, order), [36, 0, 36]);
		assert!(reports().iter().all(|(offender, _, _)| *offender != V));
	});
}

#[test]
fn an_unfounded_forged_work_claim_is_reported_by_the_accused_provider() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		recorded(order, 0, [ACCEPTED, ACCEPTED, rejected(0)]);
		assert_noop!(
			challenge(STRANGER, order, 0, 2, ClaimKind::ForgedWork, 0),
			Error::<Test>::ClaimMismatch
		);
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::ForgedWork, 1));
		votes(0, 2, false);
		past_challenge_window(order, 0);
		assert_eq!(
			reports(),
			vec![
				(STRANGER, OffenceKind::UnfoundedChallenge, Some(P1)),
				(P3, OffenceKind::InvalidWork, Some(V)),
			]
		);
		assert_eq!(assert_conserved(before, order), [36, 36, 0]);
	});
}

#[test]
fn valid_work_rejected_upheld_pays_the_provider() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		// The validator censors P2 with a bogus rejection of segment 1.
		recorded(order, 0, [ACCEPTED, rejected(1), ACCEPTED]);
		assert_ok!(challenge(P2, order, 0, 1, ClaimKind::ValidWorkRejected, 1));
		votes(0, 2, true);
		assert_eq!(reports(), vec![(V, OffenceKind::Censorship, Some(P2))]);
		assert!(RoundResults::<Test>::get(order, 0).unwrap().verdicts[1].pays());
		System::reset_events();
		past_challenge_window(order, 0);
		assert!(pol_events().contains(&Event::RoundSettled { order, round: 0, paid: 3, rejected: 0 }));
		// Paid, and never reported for invalid work.
		assert_eq!(assert_conserved(before, order), [36, 36, 36]);
		assert_eq!(reports().len(), 1);
	});
}

#[test]
fn a_wrong_aggregate_upheld_reports_the_validator_and_pays_the_providers() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(1);
		recorded(order, 0, ALL_ACCEPTED);
		run_to_block(window_end(order, 0));
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::WrongAggregate, 0));
		// The committee votes after the window closed: the round waits for it.
		run_to_block(window_end(order, 0) + 1);
		assert!(RoundResults::<Test>::get(order, 0).is_some());
		assert_eq!(balances()[2..], before[2..]);
		votes(0, 2, true);
		assert_eq!(reports(), vec![(V, OffenceKind::WrongVerdict, Some(STRANGER))]);
		// The resolution settled the round and failed the order: no fee for the validator.
		assert!(Runs::<Test>::get(order).is_none());
		assert_eq!(assert_conserved(before, order), [36, 36, 36]);
		assert_eq!(free(V), before[1]);
	});
}

#[test]
fn the_order_completes_only_after_its_last_window() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(2);
		recorded(order, 0, ALL_ACCEPTED);
		let last = recorded(order, 1, ALL_ACCEPTED);
		// Round 0 settles when its window closes, the order goes on.
		past_challenge_window(order, 0);
		assert!(RoundResults::<Test>::get(order, 0).is_none());
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!((run.settled, run.unsettled), (1, 1));
		// The last round is challenged in its window's last block; nobody votes.
		run_to_block(last + CHALLENGE_WINDOW);
		assert_ok!(challenge(STRANGER, order, 1, 2, ClaimKind::InvalidWorkAccepted, 0));
		let deadline = Challenges::<Test>::get(0).unwrap().vote_deadline;
		run_to_block(deadline);
		assert!(Runs::<Test>::get(order).is_some());
		assert!(MockMarket::order(order).is_some());
		assert!(Pol::has_open_work(&P1));
		System::reset_events();
		run_to_block(deadline + 1);
		let events = pol_events();
		assert!(matches!(events.last(), Some(Event::RunCompleted { .. })));
		assert!(events.contains(&Event::RoundSettled { order, round: 1, paid: 3, rejected: 0 }));
		assert!(!Pol::has_open_work(&P1));
		assert_eq!(assert_conserved(before, order), [72, 72, 72]);
	});
}

#[test]
fn a_run_that_misses_a_deadline_fails_once_its_recorded_rounds_settle() {
	ExtBuilder::build_and_execute(|| {
		let before = balances();
		let order = setup(2);
		recorded(order, 0, ALL_ACCEPTED);
		// Round 0 is challenged at its window's end; round 1's result never comes.
		run_to_block(window_end(order, 0));
		assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0));
		let vote_deadline = Challenges::<Test>::get(0).unwrap().vote_deadline;
		let missed = round_of(order).result_deadline + 1;
		assert!(missed <= vote_deadline);
		run_to_block(missed);
		// The validator is reported now; the order waits for round 0.
		assert_eq!(reports(), vec![(V, OffenceKind::MissedDeadline, None)]);
		let run = Runs::<Test>::get(order).unwrap();
		assert_eq!(
			run.closing,
			Some(Closing::Fail {
				round: 1,
				reason: FailureReason::MissedResultDeadline,
				validator_slashed: Some(1_000),
				// Nobody committed to round 1: nothing to compensate.
				providers_compensated: Some(0),
			})
		);
		assert!(ResultDeadlines::<Test>::iter().next().is_none());
		assert!(MockMarket::order(order).is_some());
		assert_noop!(commit(order, 1, P1, 4), Error::<Test>::RunClosing);
		// The challenge fails for want of votes; round 0 pays, then the order fails.
		System::reset_events();
		run_to_block(vote_deadline + 1);
		let events = pol_events();
		assert!(events.contains(&Event::RoundSettled { order, round: 0, paid: 3, rejected: 0 }));
		// Budget 240; the providers got 3 × 36, the validator's fee share (12) is refunded.
		let budget = 3 * 2 * 4 * PRICE;
		assert_eq!(
			events.last(),
			Some(&Event::RunFailed {
				order,
				round: 1,
				reason: FailureReason::MissedResultDeadline,
				refunded: Some(budget - 3 * 36),
				validator_slashed: Some(1_000),
				providers_compensated: Some(0),
			})
		);
		assert!(Runs::<Test>::get(order).is_none());
		// The validator's fee went back to the consumer with the rest.
		let gains = assert_conserved(before, order);
		assert_eq!(gains, [36, 36, 36]);
		assert_eq!(free(V), before[1]);
	});
}

#[test]
fn a_provider_paid_for_a_round_is_never_paid_twice_for_it() {
	ExtBuilder::build_and_execute(|| {
		let order = setup(1);
		recorded(order, 0, [ACCEPTED, rejected(1), ACCEPTED]);
		assert_ok!(challenge(P2, order, 0, 1, ClaimKind::ValidWorkRejected, 1));
		votes(0, 2, true);
		past_challenge_window(order, 0);
		// Settlement ran once: the market saw 4 units per provider (checked by the mock too).
		assert!(MockMarket::order(order).is_none());
		run_to_block(System::block_number() + 2 * CHALLENGE_WINDOW);
		assert!(RoundResults::<Test>::iter().next().is_none());
		assert!(SettleAt::<Test>::iter().next().is_none());
	});
}

// ---------------------------------------------------------------------------------------------
// Invariants

#[test]
fn try_state_catches_broken_challenge_state() {
	let broken = |corrupt: fn(OrderId)| {
		ExtBuilder::build().execute_with(|| {
			let order = setup(2);
			recorded(order, 0, ALL_ACCEPTED);
			assert_ok!(challenge(STRANGER, order, 0, 0, ClaimKind::InvalidWorkAccepted, 0));
			assert_ok!(Pol::do_try_state());
			corrupt(order);
			assert!(Pol::do_try_state().is_err());
		});
	};
	// An open challenge its round does not list, or lists as resolved.
	broken(|_| Challenges::<Test>::mutate(0, |c| c.as_mut().unwrap().target = 1));
	broken(|order| {
		RoundResults::<Test>::mutate(order, 0, |r| r.as_mut().unwrap().challenges[0].open = false)
	});
	// A listed open challenge that is gone.
	broken(|_| Challenges::<Test>::remove(0));
	// Not indexed by its vote deadline.
	broken(|_| {
		let _ = VoteDeadlines::<Test>::clear(u32::MAX, None);
	});
	// A committee with the challenger, the validator, a member twice, or too few.
	broken(|_| Challenges::<Test>::mutate(0, |c| c.as_mut().unwrap().committee[0].0 = STRANGER));
	broken(|_| Challenges::<Test>::mutate(0, |c| c.as_mut().unwrap().committee[0].0 = V));
	broken(|_| Challenges::<Test>::mutate(0, |c| c.as_mut().unwrap().committee[0].0 = P1));
	broken(|_| {
		Challenges::<Test>::mutate(0, |c| {
			let c = c.as_mut().unwrap();
			c.committee[1].0 = c.committee[0].0;
		})
	});
	broken(|_| {
		Challenges::<Test>::mutate(0, |c| {
			let _ = c.as_mut().unwrap().committee.pop();
		})
	});
	// A decided challenge left open; one past its vote deadline.
	broken(|_| {
		Challenges::<Test>::mutate(0, |c| {
			let c = c.as_mut().unwrap();
			c.committee[0].1 = Some(true);
			c.committee[1].1 = Some(true);
		})
	});
	broken(|_| {
		System::set_block_number(Challenges::<Test>::get(0).unwrap().vote_deadline + 1)
	});
	// The same claim on a segment twice.
	broken(|order| {
		RoundResults::<Test>::mutate(order, 0, |r| {
			let r = r.as_mut().unwrap();
			let again = ChallengeSlot { open: false, ..r.challenges[0] };
			r.challenges.try_push(again).unwrap();
		})
	});
	// A verdict overturned without a resolved challenge.
	broken(|order| {
		RoundResults::<Test>::mutate(order, 0, |r| r.as_mut().unwrap().verdicts[1].overturned = true)
	});
	// A round recorded twice over (the unsettled count is off), or settled twice.
	broken(|order| Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().unsettled = 2));
	broken(|order| Runs::<Test>::mutate(order, |r| r.as_mut().unwrap().settled = 1));
	// A round missing from the settlement index.
	broken(|_| {
		let _ = SettleAt::<Test>::clear(u32::MAX, None);
	});
	// An unchallenged round past its window, not settled.
	broken(|order| {
		RoundResults::<Test>::mutate(order, 0, |r| r.as_mut().unwrap().challenges.clear());
		Challenges::<Test>::remove(0);
		let _ = VoteDeadlines::<Test>::clear(u32::MAX, None);
		let end = window_end(order, 0);
		let _ = SettleAt::<Test>::clear(u32::MAX, None);
		System::set_block_number(end + 1);
	});
}
