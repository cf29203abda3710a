//! The validator's offchain worker (PROTOCOL.md steps 5 and 6): it starts the orders matched to
//! the validator, asks the validator's verifier service for each round result that is due and
//! submits it, and votes on the challenges whose committee the validator sits on (the verifier
//! re-executes the disputed segment), signed with the validator's own `potv` key, so that no
//! extra daemon needs the validator's keys.
//!
//! Every failure is logged and skipped; the worker retries in a later block. Nothing here
//! panics, and nothing here runs in block execution.

use crate::{
	Call, Challenge, ChallengeId, Challenges, Config, Pallet, RoundIndex, RoundResultOf, Run, Runs,
	VoteDeadlines,
};
use alloc::{format, string::String, vec, vec::Vec};
use codec::{DecodeAll, Encode, MaxEncodedLen};
use polkadot_sdk::{
	frame_support::{
		__private::log,
		storage::{with_transaction, TransactionOutcome},
		traits::Get,
	},
	frame_system::{
		offchain::{Account, SendSignedTransaction, Signer},
		pallet_prelude::BlockNumberFor,
	},
	sp_io,
	sp_runtime::{
		offchain::{
			http,
			storage::{MutateStorageError, StorageRetrievalError, StorageValueRef},
			Duration, StorageKind, Timestamp,
		},
		traits::{One, Saturating},
		DispatchError,
	},
};
use pot_primitives::{ClusterInspect, OrderId, OrderSettlement};

/// Log target of the worker.
pub const LOG_TARGET: &str = "runtime::pot-pol::ocw";

/// Key in the node's persistent offchain local storage of the verifier service's base URL
/// (raw UTF-8 bytes, for example `http://127.0.0.1:8600`). Set it with the
/// `offchain_localStorageSet` RPC (kind `PERSISTENT`); when it is absent or empty, the
/// validator's endpoint registered in staking is used.
pub const VERIFIER_URL_KEY: &[u8] = b"pot::verifier-url";

/// Prefix of the worker's submission locks in persistent offchain local storage.
const LOCK_PREFIX: &[u8] = b"pot::pol::ocw-lock";

/// Blocks during which the worker does not send the same transaction again, while the previous
/// one may still wait in the pool.
pub const LOCK_BLOCKS: u32 = 5;

/// How long the worker waits for the verifier's answer, in milliseconds.
pub const HTTP_TIMEOUT_MS: u64 = 3_000;

/// Most bytes of an error response's text kept for the log.
const MAX_REASON_LEN: usize = 512;

/// What a lock guards: one kind of transaction for one subject (an order and round, or a
/// challenge).
#[derive(Encode, Clone, Copy, PartialEq, Eq, Debug)]
pub enum LockKind {
	/// `start_order` (subject: the order).
	Start,
	/// `submit_round_result` (subject: the order).
	Result,
	/// `vote` (subject: the challenge id).
	Vote,
}

/// The storage key of the lock of `kind` for `subject` (the order's or the challenge's id; one
/// key per kind and subject; the lock value names the round, so that the next round is not
/// held up by the last one's lock).
pub fn lock_key(kind: LockKind, subject: u64) -> Vec<u8> {
	(LOCK_PREFIX, kind, subject).encode()
}

/// The URL the worker posts to for round `round` of `order`, under the verifier's `base` URL.
pub fn result_url(base: &str, order: OrderId, round: RoundIndex) -> String {
	format!("{}/v1/rounds/{}/{}/result", base.trim_end_matches('/'), order.0, round)
}

/// The URL the worker posts to for its verdict on challenge `id`, under the verifier's `base`
/// URL.
pub fn verdict_url(base: &str, id: ChallengeId) -> String {
	format!("{}/v1/challenges/{}/verdict", base.trim_end_matches('/'), id)
}

/// Why asking the verifier gave nothing to submit.
enum Fetch<V> {
	/// 200 with a well-formed answer.
	Ready(V),
	/// 202: the verifier is still computing.
	Pending,
	/// Anything else; the reason is logged.
	Failed(String),
}

impl<T: Config> Pallet<T> {
	/// The work of one offchain worker run at block `now`: for every local `potv` key, its
	/// account's orders to start, round results to submit and challenges to vote on.
	pub(crate) fn offchain_work(now: BlockNumberFor<T>) {
		let accounts: Vec<Account<T>> = Signer::<T, T::AuthorityId>::keystore_accounts().collect();
		if accounts.is_empty() {
			log::trace!(target: LOG_TARGET, "no potv key in the keystore: nothing to do");
			return;
		}
		for account in &accounts {
			for order in T::Settlement::orders_assigned_to(&account.id) {
				match Runs::<T>::get(order) {
					None => Self::offchain_start(now, account, order),
					Some(run) if run.validator == account.id => {
						Self::offchain_result(now, account, order, &run)
					},
					Some(_) => {},
				}
			}
			Self::offchain_votes(now, account);
		}
	}

	/// Votes on every open challenge whose committee `account` sits on and has not voted in:
	/// the challenges with a vote deadline from `now` on, found through [`VoteDeadlines`]
	/// (indexed by the block after the deadline, so at most `VoteWindow + 1` entries to read).
	fn offchain_votes(now: BlockNumberFor<T>, account: &Account<T>) {
		let last = now.saturating_add(T::VoteWindow::get()).saturating_add(One::one());
		let mut block = now.saturating_add(One::one());
		while block <= last {
			for id in VoteDeadlines::<T>::get(block) {
				if let Some(challenge) = Challenges::<T>::get(id) {
					Self::offchain_vote(now, account, id, &challenge);
				}
			}
			block = block.saturating_add(One::one());
		}
	}

	/// Asks the verifier whether challenge `id` is right and votes so, if `account` still has
	/// to vote on it.
	fn offchain_vote(
		now: BlockNumberFor<T>,
		account: &Account<T>,
		id: ChallengeId,
		challenge: &Challenge<T>,
	) {
		let to_vote = challenge.committee.iter().any(|(m, vote)| *m == account.id && vote.is_none());
		if !to_vote || now > challenge.vote_deadline {
			return;
		}
		if Self::is_locked(LockKind::Vote, id, 0, now) {
			log::debug!(target: LOG_TARGET, "vote on challenge {id} recently sent");
			return;
		}
		let Some(base) = Self::verifier_url(&account.id) else { return };
		let url = verdict_url(&base, id);
		let upheld = match Self::post::<bool>(&url) {
			Fetch::Ready(upheld) => upheld,
			Fetch::Pending => {
				log::debug!(target: LOG_TARGET, "{url}: still re-executing; asking again next block");
				return;
			},
			Fetch::Failed(reason) => {
				log::warn!(target: LOG_TARGET, "{url}: {reason}; asking again next block");
				return;
			},
		};
		let who = account.id.clone();
		let dry_run = with_transaction::<_, DispatchError, _>(|| {
			TransactionOutcome::Rollback(Self::do_vote(who, id, upheld).map(|_| ()))
		});
		if let Err(e) = dry_run {
			log::error!(target: LOG_TARGET, "{url}: the vote would be refused: {e:?}");
			return;
		}
		Self::send(now, account, LockKind::Vote, id, 0, Call::vote { id, upheld });
	}

	/// Starts the matched order `order` of `account`, if it would start now.
	fn offchain_start(now: BlockNumberFor<T>, account: &Account<T>, order: OrderId) {
		if Self::is_locked(LockKind::Start, order.0, 0, now) {
			return;
		}
		let who = account.id.clone();
		let dry_run = with_transaction::<_, DispatchError, _>(|| {
			TransactionOutcome::Rollback(Self::do_start_order(who, order))
		});
		if let Err(e) = dry_run {
			log::warn!(
				target: LOG_TARGET,
				"order {order:?} cannot be started by {:?}: {e:?}; trying again next block",
				account.id,
			);
			return;
		}
		Self::send(now, account, LockKind::Start, order.0, 0, Call::start_order { order });
	}

	/// Asks the verifier for the result of the current round of `run` once the commit window
	/// closed, and submits it.
	fn offchain_result(now: BlockNumberFor<T>, account: &Account<T>, order: OrderId, run: &Run<T>) {
		let round = run.round.index;
		if run.closing.is_some() ||
			now <= run.round.commit_deadline ||
			now > run.round.result_deadline
		{
			return;
		}
		if Self::is_locked(LockKind::Result, order.0, round, now) {
			log::debug!(target: LOG_TARGET, "result of {order:?} round {round} recently sent");
			return;
		}
		let Some(base) = Self::verifier_url(&account.id) else { return };
		let url = result_url(&base, order, round);
		let result = match Self::post::<RoundResultOf<T>>(&url) {
			Fetch::Ready(result) => result,
			Fetch::Pending => {
				log::debug!(target: LOG_TARGET, "{url}: still computing; asking again next block");
				return;
			},
			Fetch::Failed(reason) => {
				log::warn!(target: LOG_TARGET, "{url}: {reason}; asking again next block");
				return;
			},
		};
		let verdicts = result.verdicts.len();
		if u32::try_from(verdicts).ok() != Some(run.round.commitments) {
			log::error!(
				target: LOG_TARGET,
				"{url}: {verdicts} verdicts for {} commitments; not submitted",
				run.round.commitments,
			);
			return;
		}
		let who = account.id.clone();
		let checked = result.clone();
		let dry_run = with_transaction::<_, DispatchError, _>(|| {
			TransactionOutcome::Rollback(Self::do_submit_round_result(who, order, round, checked))
		});
		if let Err(e) = dry_run {
			log::error!(target: LOG_TARGET, "{url}: the result would be refused: {e:?}");
			return;
		}
		Self::send(
			now,
			account,
			LockKind::Result,
			order.0,
			round,
			Call::submit_round_result { order, round, result },
		);
	}

	/// The verifier's base URL for `validator`: the operator's setting in offchain local
	/// storage, else the endpoint registered in staking. `None` (logged) if neither is an
	/// `http://` or `https://` URL.
	pub fn verifier_url(validator: &T::AccountId) -> Option<String> {
		let configured = sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, VERIFIER_URL_KEY)
			.filter(|v| !v.is_empty());
		let (raw, source) = match configured {
			Some(raw) => (raw, "offchain storage `pot::verifier-url`"),
			None => match T::Clusters::endpoint_of(validator) {
				Some(raw) => (raw, "the registered endpoint"),
				None => {
					log::error!(
						target: LOG_TARGET,
						"{validator:?} has no registered endpoint and no `pot::verifier-url` is set",
					);
					return None;
				},
			},
		};
		let url = match String::from_utf8(raw) {
			Ok(url) => url,
			Err(_) => {
				log::error!(target: LOG_TARGET, "the verifier URL from {source} is not UTF-8");
				return None;
			},
		};
		let url = url.trim().trim_end_matches('/');
		if !(url.starts_with("http://") || url.starts_with("https://")) {
			log::error!(target: LOG_TARGET, "the verifier URL {url:?} from {source} is not http(s)");
			return None;
		}
		Some(url.into())
	}

	/// `POST url` (empty body) and reads the answer, within [`HTTP_TIMEOUT_MS`]: with `200`,
	/// the SCALE encoding of a `V` (nothing after it).
	fn post<V: DecodeAll + MaxEncodedLen>(url: &str) -> Fetch<V> {
		let deadline =
			sp_io::offchain::timestamp().add(Duration::from_millis(HTTP_TIMEOUT_MS));
		let pending = match http::Request::post(url, Vec::<&[u8]>::new()).deadline(deadline).send()
		{
			Ok(pending) => pending,
			Err(e) => return Fetch::Failed(format!("request not sent: {e:?}")),
		};
		let response = match pending.try_wait(deadline) {
			Ok(Ok(response)) => response,
			Ok(Err(e)) => return Fetch::Failed(format!("request failed: {e:?}")),
			Err(_) => return Fetch::Failed(format!("no answer within {HTTP_TIMEOUT_MS} ms")),
		};
		match response.code {
			200 => {
				let limit = V::max_encoded_len();
				let body = match Self::read_body(&response, limit, deadline) {
					Ok(body) => body,
					Err(reason) => return Fetch::Failed(reason),
				};
				match V::decode_all(&mut &body[..]) {
					Ok(answer) => Fetch::Ready(answer),
					Err(e) => Fetch::Failed(format!(
						"malformed answer ({} bytes): {e:?}; not submitted",
						body.len()
					)),
				}
			},
			202 => {
				// Nothing to read, but read it so the request is released.
				let _ = Self::read_body(&response, MAX_REASON_LEN, deadline);
				Fetch::Pending
			},
			code => {
				let reason = match Self::read_body(&response, MAX_REASON_LEN, deadline) {
					Ok(text) => String::from_utf8_lossy(&text).into_owned(),
					Err(e) => e,
				};
				Fetch::Failed(format!("status {code}: {}", reason.trim()))
			},
		}
	}

	/// At most `limit` bytes of the response body (more is an error).
	fn read_body(
		response: &http::Response,
		limit: usize,
		deadline: Timestamp,
	) -> Result<Vec<u8>, String> {
		let mut body = response.body();
		body.deadline(deadline);
		let bytes: Vec<u8> = body.by_ref().take(limit.saturating_add(1)).collect();
		if let Some(e) = body.error() {
			return Err(format!("reading the body failed: {e:?}"));
		}
		if bytes.len() > limit {
			return Err(format!("body longer than {limit} bytes"));
		}
		Ok(bytes)
	}

	/// Whether a `kind` transaction for `subject` (round `round`) was sent less than
	/// [`LOCK_BLOCKS`] blocks before `now`.
	fn is_locked(kind: LockKind, subject: u64, round: RoundIndex, now: BlockNumberFor<T>) -> bool {
		let key = lock_key(kind, subject);
		match StorageValueRef::persistent(&key).get::<(RoundIndex, BlockNumberFor<T>)>() {
			Ok(Some((locked_round, until))) => locked_round == round && now < until,
			_ => false,
		}
	}

	/// Takes the lock of `kind` for `subject` (round `round`) until `now + LOCK_BLOCKS`,
	/// unless it is held (or another worker run takes it at the same time).
	fn try_lock(kind: LockKind, subject: u64, round: RoundIndex, now: BlockNumberFor<T>) -> bool {
		let key = lock_key(kind, subject);
		let until = now.saturating_add(LOCK_BLOCKS.into());
		let taken = StorageValueRef::persistent(&key).mutate(
			|held: Result<Option<(RoundIndex, BlockNumberFor<T>)>, StorageRetrievalError>| {
				match held {
					Ok(Some((r, held_until))) if r == round && now < held_until => Err(()),
					_ => Ok((round, until)),
				}
			},
		);
		match taken {
			Ok(_) => true,
			Err(MutateStorageError::ValueFunctionFailed(())) |
			Err(MutateStorageError::ConcurrentModification(_)) => false,
		}
	}

	/// Releases the lock of `kind` for `subject`.
	fn unlock(kind: LockKind, subject: u64) {
		let key = lock_key(kind, subject);
		StorageValueRef::persistent(&key).clear();
	}

	/// Signs `call` with `account`'s key and puts it into the pool, under the lock of `kind`
	/// for `subject` (released again if nothing was sent).
	fn send(
		now: BlockNumberFor<T>,
		account: &Account<T>,
		kind: LockKind,
		subject: u64,
		round: RoundIndex,
		call: Call<T>,
	) {
		if !Self::try_lock(kind, subject, round, now) {
			return;
		}
		let signer =
			Signer::<T, T::AuthorityId>::any_account().with_filter(vec![account.public.clone()]);
		match signer.send_signed_transaction(|_| call.clone()) {
			Some((_, Ok(()))) => log::info!(
				target: LOG_TARGET,
				"{kind:?} of {subject} (round {round}) sent by {:?}",
				account.id,
			),
			Some((_, Err(()))) => {
				log::warn!(
					target: LOG_TARGET,
					"the pool refused {kind:?} of {subject} (round {round}); trying again next block",
				);
				Self::unlock(kind, subject);
			},
			None => {
				log::error!(target: LOG_TARGET, "no key of {:?} could sign {kind:?}", account.id);
				Self::unlock(kind, subject);
			},
		}
	}
}
