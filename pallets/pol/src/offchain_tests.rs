//! Tests of the validator's offchain worker: HTTP answers of the verifier are mocked (with the
//! status codes `TestOffchainExt` cannot give), the transactions it puts into the pool are
//! decoded and compared (call, signer, signature), and the pallet's invariants are checked
//! after each test.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{
	mock::*,
	offchain::{lock_key, result_url, verdict_url, LockKind, LOCK_BLOCKS, VERIFIER_URL_KEY},
	tests::{cluster, commit, order_of, result, round_of, segment_proof, started, validators, PRICE},
	*,
};
use codec::{Decode, Encode};
use polkadot_sdk::{
	frame_support::traits::Hooks,
	sp_core::{
		offchain::{
			testing::{PendingRequest, TestOffchainExt, TestTransactionPoolExt},
			Externalities, HttpError, HttpRequestId, HttpRequestStatus, OffchainDbExt,
			OffchainWorkerExt, OpaqueNetworkState, StorageKind, Timestamp,
			TransactionPoolExt,
		},
		sr25519, OpaquePeerId,
	},
	sp_io,
	sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt},
	sp_runtime::{
		generic::Preamble,
		traits::{Dispatchable, Verify},
	},
};
use pot_primitives::OrderId;
use std::{
	collections::VecDeque,
	sync::{Arc, Mutex},
};

/// The endpoint `V` registered in staking (with a trailing slash, which the worker drops).
const ENDPOINT: &[u8] = b"http://validator.example:8600/";
const BASE: &str = "http://validator.example:8600";

/// `TestOffchainExt` answers every request with 200; this one answers with the queued
/// statuses, in request order, and delegates everything else.
struct StatusOffchainExt {
	inner: TestOffchainExt,
	statuses: Arc<Mutex<VecDeque<HttpRequestStatus>>>,
}

impl Externalities for StatusOffchainExt {
	fn is_validator(&self) -> bool {
		self.inner.is_validator()
	}
	fn network_state(&self) -> Result<OpaqueNetworkState, ()> {
		self.inner.network_state()
	}
	fn timestamp(&mut self) -> Timestamp {
		self.inner.timestamp()
	}
	fn sleep_until(&mut self, deadline: Timestamp) {
		self.inner.sleep_until(deadline)
	}
	fn random_seed(&mut self) -> [u8; 32] {
		self.inner.random_seed()
	}
	fn http_request_start(
		&mut self,
		method: &str,
		uri: &str,
		meta: &[u8],
	) -> Result<HttpRequestId, ()> {
		self.inner.http_request_start(method, uri, meta)
	}
	fn http_request_add_header(
		&mut self,
		id: HttpRequestId,
		name: &str,
		value: &str,
	) -> Result<(), ()> {
		self.inner.http_request_add_header(id, name, value)
	}
	fn http_request_write_body(
		&mut self,
		id: HttpRequestId,
		chunk: &[u8],
		deadline: Option<Timestamp>,
	) -> Result<(), HttpError> {
		self.inner.http_request_write_body(id, chunk, deadline)
	}
	fn http_response_wait(
		&mut self,
		ids: &[HttpRequestId],
		deadline: Option<Timestamp>,
	) -> Vec<HttpRequestStatus> {
		ids.iter()
			.map(|id| match self.statuses.lock().unwrap().pop_front() {
				Some(status) => status,
				// Panics for a request nobody expected.
				None => self.inner.http_response_wait(&[*id], deadline)[0],
			})
			.collect()
	}
	fn http_response_headers(&mut self, id: HttpRequestId) -> Vec<(Vec<u8>, Vec<u8>)> {
		self.inner.http_response_headers(id)
	}
	fn http_response_read_body(
		&mut self,
		id: HttpRequestId,
		buffer: &mut [u8],
		deadline: Option<Timestamp>,
	) -> Result<usize, HttpError> {
		self.inner.http_response_read_body(id, buffer, deadline)
	}
	fn set_authorized_nodes(&mut self, nodes: Vec<OpaquePeerId>, authorized_only: bool) {
		self.inner.set_authorized_nodes(nodes, authorized_only)
	}
}

/// The offchain world of a test: the verifier's expected requests and answers, and the pool.
struct World {
	offchain: TestOffchainExt,
	statuses: Arc<Mutex<VecDeque<HttpRequestStatus>>>,
	pool: Box<dyn Fn() -> Vec<Vec<u8>>>,
	/// `V`'s `potv` key, if the keystore has one.
	key: Option<sr25519::Public>,
}

impl World {
	/// Expects `POST uri` with an empty body next, answered with `status` and `body`.
	fn expect_post(&self, uri: &str, status: HttpRequestStatus, body: &[u8]) {
		self.offchain.0.write().expect_request(PendingRequest {
			method: "POST".into(),
			uri: uri.into(),
			response: Some(body.to_vec()),
			sent: true,
			..Default::default()
		});
		self.statuses.lock().unwrap().push_back(status);
	}

	/// Everything the worker put into the pool so far.
	fn transactions(&self) -> Vec<Extrinsic> {
		(self.pool)().iter().map(|t| Extrinsic::decode(&mut &t[..]).unwrap()).collect()
	}
}

/// The mock chain at block 1 with offchain, pool and keystore extensions; `V` registered
/// [`ENDPOINT`] and, if `key`, has a `potv` key in the keystore.
fn world(key: bool) -> (sp_io::TestExternalities, World) {
	let mut ext = ExtBuilder::build();
	let (offchain, _) = TestOffchainExt::new();
	let statuses = Arc::new(Mutex::new(VecDeque::new()));
	let (pool, pool_state) = TestTransactionPoolExt::new();
	let keystore = MemoryKeystore::new();
	let key = key.then(|| keystore.sr25519_generate_new(KEY_TYPE, Some("//PotValidator")).unwrap());
	// A key of another account, which has no work.
	keystore.sr25519_generate_new(KEY_TYPE, Some("//SomeoneElse")).unwrap();
	ext.register_extension(OffchainWorkerExt::new(StatusOffchainExt {
		inner: offchain.clone(),
		statuses: statuses.clone(),
	}));
	ext.register_extension(OffchainDbExt::new(offchain.clone()));
	ext.register_extension(TransactionPoolExt::new(pool));
	ext.register_extension(KeystoreExt::new(Arc::new(keystore)));
	ext.execute_with(|| {
		if let Some(public) = key {
			key_account(public, V);
		}
		MockClusters::set_endpoint(V, ENDPOINT);
	});
	let pool = Box::new(move || pool_state.read().transactions.clone());
	(ext, World { offchain, statuses, pool, key })
}

/// Runs `test` in a [`world`], then checks the pallet's and the mock market's invariants.
fn in_world(key: bool, test: impl FnOnce(&World)) {
	let (mut ext, world) = world(key);
	ext.execute_with(|| {
		test(&world);
		Pol::do_try_state().expect("PoL invariants hold after the test");
		MockMarket::check();
	});
}

/// Runs the offchain worker of the current block.
fn ocw() {
	<Pol as Hooks<BlockNumber>>::offchain_worker(System::block_number());
}

/// Asserts that `xt` is `call`, signed by `V` with its `potv` key over `(call, nonce)`.
fn assert_signed_by_v(xt: &Extrinsic, call: Call<Test>, key: sr25519::Public, nonce: u32) {
	assert_signed_by(xt, V, call, key, nonce);
}

/// Asserts that `xt` is `call`, signed by `signer` with `key` over `(call, nonce)`.
fn assert_signed_by(
	xt: &Extrinsic,
	signer: AccountId,
	call: Call<Test>,
	key: sr25519::Public,
	nonce: u32,
) {
	let call = RuntimeCall::Pol(call);
	assert_eq!(xt.function, call);
	match &xt.preamble {
		Preamble::Signed(who, signature, ()) => {
			assert_eq!(*who, signer);
			assert!(signature.verify(&(&call, nonce).encode()[..], &key), "a bad signature");
		},
		other => panic!("not a signed transaction: {other:?}"),
	}
}

/// A started run of `P1`, `P2`, `P3` whose commitments all came in block 1 (closing the window
/// there), now in block 2: its result is due.
fn due_run() -> OrderId {
	let order = started(2);
	for p in [P1, P2, P3] {
		assert_ok(commit(order, 0, p, 4));
	}
	assert_eq!(round_of(order).commit_deadline, 1);
	run_to_block(2);
	order
}

fn assert_ok(r: crate::tests::DispatchResult) {
	r.unwrap();
}

/// A result with one accepted verdict per position `0..n`.
fn accept(n: u32) -> RoundResultOf<Test> {
	result((0..n).map(|p| (p, ACCEPTED)).collect())
}

fn ok() -> HttpRequestStatus {
	HttpRequestStatus::Finished(200)
}

// ---------------------------------------------------------------------------------------------
// start_order

#[test]
fn the_worker_starts_a_matched_order_once() {
	in_world(true, |w| {
		cluster(&[(P1, GPU, 1), (P2, GPU, 2)]);
		let order = order_of(task(2, 4), 3);
		ocw();
		let txs = w.transactions();
		assert_eq!(txs.len(), 1);
		assert_signed_by_v(&txs[0], Call::start_order { order }, w.key.unwrap(), 0);
		// While the transaction may still be in the pool, it is not sent again.
		for b in 2..1 + u64::from(LOCK_BLOCKS) {
			run_to_block(b);
			ocw();
		}
		assert_eq!(w.transactions().len(), 1);
		// After the lock it is, with the next nonce (the mock keeps the worker's state).
		run_to_block(1 + u64::from(LOCK_BLOCKS));
		ocw();
		let txs = w.transactions();
		assert_eq!(txs.len(), 2);
		assert_signed_by_v(&txs[1], Call::start_order { order }, w.key.unwrap(), 1);
	});
}

#[test]
fn the_worker_does_not_send_a_start_that_would_fail() {
	in_world(true, |w| {
		// One provider for an order that needs two.
		cluster(&[(P1, GPU, 1)]);
		let t = task(1, 4);
		let budget = PRICE * t.max_work_units(2).unwrap().0;
		MockMarket::create(CONSUMER, V, t, 2, 2, PRICE, budget);
		ocw();
		assert!(w.transactions().is_empty());
	});
}


// ---------------------------------------------------------------------------------------------
// submit_round_result

#[test]
fn the_worker_submits_the_verifiers_result() {
	in_world(true, |w| {
		let order = due_run();
		let result = accept(3);
		w.expect_post(&format!("{BASE}/v1/rounds/{}/0/result", order.0), ok(), &result.encode());
		ocw();
		let txs = w.transactions();
		assert_eq!(txs.len(), 1);
		let call = Call::submit_round_result { order, round: 0, result };
		assert_signed_by_v(&txs[0], call.clone(), w.key.unwrap(), 0);
		// The transaction is good: dispatched, it is accepted.
		assert!(RuntimeCall::Pol(call).dispatch(RuntimeOrigin::signed(V)).is_ok());
		assert_eq!(round_of(order).index, 1);
	});
}

#[test]
fn the_lock_keeps_the_worker_from_sending_the_result_again_soon() {
	in_world(true, |w| {
		let order = due_run();
		let result = accept(3);
		let url = result_url(BASE, order, 0);
		w.expect_post(&url, ok(), &result.encode());
		ocw();
		// The next block (the transaction not included yet): no request, no transaction.
		run_to_block(3);
		ocw();
		assert_eq!(w.transactions().len(), 1);
		assert!(StorageLockProbe::held(LockKind::Result, order));
		// Once the lock expired, the worker asks and sends again.
		run_to_block(2 + u64::from(LOCK_BLOCKS));
		w.expect_post(&url, ok(), &result.encode());
		ocw();
		assert_eq!(w.transactions().len(), 2);
	});
}

/// Reads the worker's locks.
struct StorageLockProbe;

impl StorageLockProbe {
	fn held(kind: LockKind, order: OrderId) -> bool {
		sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, &lock_key(kind, order.0))
			.is_some()
	}

	fn held_vote(id: ChallengeId) -> bool {
		sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, &lock_key(LockKind::Vote, id))
			.is_some()
	}
}

#[test]
fn still_computing_sends_nothing_and_asks_again_next_block() {
	in_world(true, |w| {
		let order = due_run();
		let url = result_url(BASE, order, 0);
		w.expect_post(&url, HttpRequestStatus::Finished(202), b"");
		ocw();
		assert!(w.transactions().is_empty());
		assert!(!StorageLockProbe::held(LockKind::Result, order));
		run_to_block(3);
		w.expect_post(&url, ok(), &accept(3).encode());
		ocw();
		assert_eq!(w.transactions().len(), 1);
	});
}

#[test]
fn a_malformed_result_is_not_submitted() {
	in_world(true, |w| {
		let order = due_run();
		let url = result_url(BASE, order, 0);
		// Garbage, a truncated result, and a valid one with a trailing byte.
		let mut trailing = accept(3).encode();
		trailing.push(0);
		let truncated = accept(3).encode()[..10].to_vec();
		for body in [b"not scale".to_vec(), truncated, trailing] {
			w.expect_post(&url, ok(), &body);
			ocw();
			assert!(w.transactions().is_empty());
		}
		// More verdicts than `MaxProviders` do not even decode.
		let mut long = vec![(0u32, ACCEPTED); MAX_PROVIDERS as usize + 1].encode();
		long.extend(accept(0).encode()[1..].iter());
		w.expect_post(&url, ok(), &long);
		ocw();
		assert!(w.transactions().is_empty());
	});
}

#[test]
fn a_result_with_the_wrong_verdicts_is_not_submitted() {
	in_world(true, |w| {
		let order = due_run();
		let url = result_url(BASE, order, 0);
		// Two verdicts for three commitments.
		w.expect_post(&url, ok(), &accept(2).encode());
		ocw();
		// Three verdicts, one position twice: the chain would refuse it.
		let twice = result(vec![(0, ACCEPTED), (0, ACCEPTED), (2, ACCEPTED)]);
		w.expect_post(&url, ok(), &twice.encode());
		ocw();
		assert!(w.transactions().is_empty());
	});
}

#[test]
fn errors_and_timeouts_send_nothing() {
	in_world(true, |w| {
		let order = due_run();
		let url = result_url(BASE, order, 0);
		w.expect_post(&url, HttpRequestStatus::Finished(500), b"segment 3: checkpoint missing");
		ocw();
		w.expect_post(&url, HttpRequestStatus::Finished(404), b"unknown round");
		ocw();
		w.expect_post(&url, HttpRequestStatus::DeadlineReached, b"");
		ocw();
		w.expect_post(&url, HttpRequestStatus::IoError, b"");
		ocw();
		assert!(w.transactions().is_empty());
	});
}

#[test]
fn the_url_in_offchain_storage_overrides_the_registered_endpoint() {
	in_world(true, |w| {
		let order = due_run();
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			VERIFIER_URL_KEY,
			b"http://127.0.0.1:8600",
		);
		w.expect_post(
			&format!("http://127.0.0.1:8600/v1/rounds/{}/0/result", order.0),
			ok(),
			&accept(3).encode(),
		);
		ocw();
		assert_eq!(w.transactions().len(), 1);
	});
}

#[test]
fn without_a_usable_verifier_url_nothing_is_asked() {
	in_world(true, |w| {
		due_run();
		// No request follows (an unexpected one would panic): an endpoint that is not http(s),
		// an empty override (ignored), no endpoint at all.
		MockClusters::set_endpoint(V, b"ftp://validator.example");
		ocw();
		sp_io::offchain::local_storage_set(StorageKind::PERSISTENT, VERIFIER_URL_KEY, b"");
		ocw();
		MockClusters::clear_endpoint(V);
		ocw();
		assert!(w.transactions().is_empty());
	});
}

#[test]
fn without_a_key_nothing_is_done() {
	in_world(false, |w| {
		let order = due_run();
		// An order to start too.
		order_of(task(1, 4), 1);
		// No request (an unexpected one would panic) and no transaction.
		ocw();
		assert!(w.transactions().is_empty());
		assert_eq!(round_of(order).index, 0);
	});
}

#[test]
fn nothing_is_asked_while_the_commit_window_is_open_or_after_the_deadline() {
	in_world(true, |w| {
		let order = started(2);
		assert_ok(commit(order, 0, P1, 4));
		let r = round_of(order);
		for b in 1..=r.commit_deadline {
			run_to_block(b);
			ocw();
		}
		assert!(w.transactions().is_empty());
		// From the block after the commit deadline on, the worker asks.
		run_to_block(r.commit_deadline + 1);
		w.expect_post(&result_url(BASE, order, 0), ok(), &accept(0).encode());
		ocw();
		// One commitment, zero verdicts: not sent.
		assert!(w.transactions().is_empty());
	});
}

// ---------------------------------------------------------------------------------------------
// vote

/// `V`'s round 0 accepted in full (block 2); `STRANGER` challenges P1's segment 1 as invalid
/// work accepted, the committee is W1, W2, W3; the worker's key is W1's (its verifier at
/// [`BASE`]). Returns the challenge id.
fn challenged() -> ChallengeId {
	let order = due_run();
	assert_ok(Pol::submit_round_result(RuntimeOrigin::signed(V), order, 0, accept(3)).map(|_| ()).map_err(|e| e.error));
	validators(&[V, W1, W2, W3]);
	MockOffences::bond(STRANGER, 1_000);
	assert_ok(Pol::challenge(
		RuntimeOrigin::signed(STRANGER),
		order,
		0,
		0,
		ClaimKind::InvalidWorkAccepted,
		1,
		segment_proof(4, 1),
	));
	let id = NextChallengeId::<Test>::get() - 1;
	let mut committee: Vec<_> =
		Challenges::<Test>::get(id).unwrap().committee.iter().map(|(m, _)| *m).collect();
	committee.sort();
	assert_eq!(committee, vec![W1, W2, W3]);
	MockClusters::set_endpoint(W1, ENDPOINT);
	id
}

/// Makes the worker's key W1's.
fn as_w1(w: &World) {
	key_account(w.key.unwrap(), W1);
}

fn votes_of(id: ChallengeId) -> Vec<(AccountId, Option<bool>)> {
	Challenges::<Test>::get(id).map(|c| c.committee.into_inner()).unwrap_or_default()
}

#[test]
fn a_committee_member_votes_as_its_verifier_says() {
	in_world(true, |w| {
		let id = challenged();
		as_w1(w);
		assert_eq!(verdict_url(BASE, id), format!("{BASE}/v1/challenges/{id}/verdict"));
		w.expect_post(&verdict_url(BASE, id), ok(), &true.encode());
		ocw();
		let txs = w.transactions();
		assert_eq!(txs.len(), 1);
		let call = Call::vote { id, upheld: true };
		assert_signed_by(&txs[0], W1, call.clone(), w.key.unwrap(), 0);
		assert!(RuntimeCall::Pol(call).dispatch(RuntimeOrigin::signed(W1)).is_ok());
		assert!(votes_of(id).contains(&(W1, Some(true))));
		// Voted: the verifier is not asked again (an unexpected request would fail the test).
		run_to_block(System::block_number() + 1 + u64::from(LOCK_BLOCKS));
		ocw();
		assert_eq!(w.transactions().len(), 1);
	});
}

#[test]
fn a_verifier_still_re_executing_is_asked_again_and_a_no_is_voted_no() {
	in_world(true, |w| {
		let id = challenged();
		as_w1(w);
		let url = verdict_url(BASE, id);
		w.expect_post(&url, HttpRequestStatus::Finished(202), b"");
		ocw();
		assert!(w.transactions().is_empty());
		assert!(!StorageLockProbe::held_vote(id), "nothing sent, nothing locked");
		run_to_block(System::block_number() + 1);
		w.expect_post(&url, ok(), &false.encode());
		ocw();
		let txs = w.transactions();
		assert_eq!(txs.len(), 1);
		assert_signed_by(&txs[0], W1, Call::vote { id, upheld: false }, w.key.unwrap(), 0);
		assert!(StorageLockProbe::held_vote(id));
	});
}

#[test]
fn a_malformed_or_failed_verdict_is_not_voted() {
	in_world(true, |w| {
		let id = challenged();
		as_w1(w);
		let url = verdict_url(BASE, id);
		// Not a bool, a bool with trailing bytes, a server error.
		w.expect_post(&url, ok(), &[2]);
		ocw();
		w.expect_post(&url, ok(), &[1, 0]);
		ocw();
		w.expect_post(&url, HttpRequestStatus::Finished(500), b"re-execution failed");
		ocw();
		assert!(w.transactions().is_empty());
		assert!(votes_of(id).iter().all(|(_, vote)| vote.is_none()));
	});
}

#[test]
fn only_committee_members_are_asked_and_only_until_the_vote_deadline() {
	in_world(true, |w| {
		let id = challenged();
		// The key is V's, the challenged validator, not on the committee: nothing is asked.
		ocw();
		assert!(w.transactions().is_empty());
		// W1 after the vote deadline: the challenge was resolved without it.
		as_w1(w);
		let deadline = Challenges::<Test>::get(id).unwrap().vote_deadline;
		run_to_block(deadline + 1);
		assert!(Challenges::<Test>::get(id).is_none(), "resolved at the deadline");
		ocw();
		assert!(w.transactions().is_empty());
	});
}
