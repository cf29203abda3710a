//! Signed artifact requests for `pot-trainer serve --allow ss58,...` (PROTOCOL.md, Artifacts:
//! "upload and download require a request signed by a cluster member's key").
//!
//! With an allow list, every `/v1/artifacts/...` request must carry three headers:
//! - `x-pot-account`: the signer's SS58 address (must be on the allow list, else 403);
//! - `x-pot-timestamp`: Unix time in seconds, within [`MAX_SKEW_SECS`] of the service's clock;
//! - `x-pot-signature`: 128 hex digits, the sr25519 signature (signing context `substrate`, as
//!   `subxt_signer::sr25519::Keypair::sign`) of [`signing_payload`]:
//!   `"{METHOD}|{path and query}|{hex blake2_256(body)}|{timestamp}"`, e.g.
//!   `PUT|/v1/artifacts/weights/ab…?model=cd…|0e57…|1767225600`.
//!
//! Missing or bad headers, a stale timestamp or a wrong signature → 401. The round result
//! endpoints and `/v1/health` stay unsigned: the node's offchain worker calls them on localhost.
//! A signed request can be replayed within the time window; uploads are idempotent and
//! downloads read-only, so a replay gains nothing its signer could not do.

use axum::{
	body::{to_bytes, Body},
	extract::{Request, State},
	http::{HeaderMap, HeaderValue, StatusCode},
	middleware::Next,
	response::{IntoResponse, Response},
};
use pot_client::{
	subxt::utils::AccountId32,
	subxt_signer::sr25519::{verify, Keypair, PublicKey, Signature},
};
use crate::chain_allow::ChainAllowList;
use std::{collections::BTreeSet, sync::Arc};

/// Header naming the signer's SS58 address.
pub const ACCOUNT_HEADER: &str = "x-pot-account";
/// Header with the Unix time of signing (seconds).
pub const TIMESTAMP_HEADER: &str = "x-pot-timestamp";
/// Header with the hex sr25519 signature.
pub const SIGNATURE_HEADER: &str = "x-pot-signature";
/// Largest accepted difference between the request's timestamp and the service's clock.
pub const MAX_SKEW_SECS: u64 = 300;

/// The accounts allowed to use the artifact API.
#[derive(Clone)]
pub enum AllowList {
	/// A fixed set (`--allow`).
	Fixed(Arc<BTreeSet<[u8; 32]>>),
	/// The accounts the chain relates to a validator (`--allow-chain`), plus a fixed set.
	Chain(Arc<ChainAllowList>, Arc<BTreeSet<[u8; 32]>>),
}

impl AllowList {
	/// Parses comma-separated SS58 addresses.
	pub fn parse(list: &str) -> Result<Self, String> {
		let mut out = BTreeSet::new();
		for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
			let account: AccountId32 =
				item.parse().map_err(|e| format!("{item:?} is not an SS58 address: {e:?}"))?;
			out.insert(account.0);
		}
		if out.is_empty() {
			return Err("the allow list is empty".into());
		}
		Ok(Self::Fixed(Arc::new(out)))
	}

	/// An allow list of raw account ids.
	pub fn of(accounts: impl IntoIterator<Item = [u8; 32]>) -> Self {
		Self::Fixed(Arc::new(accounts.into_iter().collect()))
	}

	/// The accounts `chain` admits, and `also` (a fixed list, possibly empty).
	pub fn chain(chain: ChainAllowList, also: Option<AllowList>) -> Self {
		let fixed = match also {
			Some(Self::Fixed(set)) => set,
			Some(Self::Chain(_, set)) => set,
			None => Arc::default(),
		};
		Self::Chain(Arc::new(chain), fixed)
	}

	/// Whether `account` may download whole datasets: on a fixed list, everyone listed; on a
	/// chain list, the validators (and the fixed accounts).
	pub async fn admits_dataset_reader(&self, account: &[u8; 32]) -> bool {
		match self {
			AllowList::Fixed(set) => set.contains(account),
			AllowList::Chain(chain, also) => {
				also.contains(account) || chain.admits_validator(account).await
			},
		}
	}

	/// Whether `account` may use the artifact API now.
	pub async fn admits(&self, account: &[u8; 32]) -> bool {
		match self {
			Self::Fixed(set) => set.contains(account),
			Self::Chain(chain, set) => set.contains(account) || chain.admits(account).await,
		}
	}
}

/// The signed message of a request.
pub fn signing_payload(method: &str, path_and_query: &str, body: &[u8], timestamp: u64) -> Vec<u8> {
	format!("{method}|{path_and_query}|{}|{timestamp}", hex::encode(pot_pol_core::blake2_256(body)))
		.into_bytes()
}

/// The three headers that sign a request with `key` at `timestamp` (Unix seconds).
pub fn sign_headers(
	key: &Keypair,
	method: &str,
	path_and_query: &str,
	body: &[u8],
	timestamp: u64,
) -> [(&'static str, String); 3] {
	let account = AccountId32(key.public_key().0);
	let signature = key.sign(&signing_payload(method, path_and_query, body, timestamp));
	[
		(ACCOUNT_HEADER, account.to_string()),
		(TIMESTAMP_HEADER, timestamp.to_string()),
		(SIGNATURE_HEADER, hex::encode(signature.0)),
	]
}

/// Unix time now, in seconds.
pub fn now_secs() -> u64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_secs())
		.unwrap_or(0)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, String> {
	headers
		.get(name)
		.map(HeaderValue::to_str)
		.ok_or_else(|| format!("missing header {name}"))?
		.map_err(|_| format!("header {name} is not text"))
}

/// What a request's signature headers claim, checked for form and freshness but not yet
/// against the body.
struct SignedClaim {
	account: AccountId32,
	timestamp: u64,
	signature: [u8; 64],
}

fn unauthorized(why: String) -> (StatusCode, String) {
	(StatusCode::UNAUTHORIZED, why)
}

/// Checks a request's signature headers and returns the signer; `Err((status, reason))` when
/// refused (401). Whether the signer is allowed is the caller's question.
pub fn signer_of(
	method: &str,
	path_and_query: &str,
	headers: &HeaderMap,
	body: &[u8],
	now: u64,
) -> Result<AccountId32, (StatusCode, String)> {
	claim_of(headers, now)?.verify(method, path_and_query, body)
}

/// The signature headers, read and checked for form and freshness (401 otherwise).
fn claim_of(headers: &HeaderMap, now: u64) -> Result<SignedClaim, (StatusCode, String)> {
	let account: AccountId32 = header(headers, ACCOUNT_HEADER)
		.map_err(unauthorized)?
		.parse()
		.map_err(|_| unauthorized("x-pot-account is not an SS58 address".into()))?;
	let timestamp: u64 = header(headers, TIMESTAMP_HEADER)
		.map_err(unauthorized)?
		.parse()
		.map_err(|_| unauthorized("x-pot-timestamp is not Unix seconds".into()))?;
	if timestamp.abs_diff(now) > MAX_SKEW_SECS {
		return Err(unauthorized(format!(
			"x-pot-timestamp {timestamp} is more than {MAX_SKEW_SECS} s from the service's clock {now}"
		)));
	}
	let mut signature = [0u8; 64];
	hex::decode_to_slice(
		header(headers, SIGNATURE_HEADER).map_err(unauthorized)?.trim_start_matches("0x"),
		&mut signature,
	)
	.map_err(|_| unauthorized("x-pot-signature is not 128 hex digits".into()))?;
	Ok(SignedClaim { account, timestamp, signature })
}

impl SignedClaim {
	/// The signer, if the signature covers this request and `body` (401 otherwise).
	fn verify(
		self,
		method: &str,
		path_and_query: &str,
		body: &[u8],
	) -> Result<AccountId32, (StatusCode, String)> {
		let payload = signing_payload(method, path_and_query, body, self.timestamp);
		if !verify(&Signature(self.signature), payload, &PublicKey(self.account.0)) {
			return Err(unauthorized("the signature does not verify".into()));
		}
		Ok(self.account)
	}
}

/// Checks a request's signature and that its signer is on `allow` (403 otherwise); returns the
/// signer.
pub async fn check(
	allow: &AllowList,
	method: &str,
	path_and_query: &str,
	headers: &HeaderMap,
	body: &[u8],
	now: u64,
) -> Result<AccountId32, (StatusCode, String)> {
	let account = signer_of(method, path_and_query, headers, body, now)?;
	if !allow.admits(&account.0).await {
		return Err((StatusCode::FORBIDDEN, format!("{account} is not allowed")));
	}
	Ok(account)
}

/// The checked signer of a request, which [`require_signature`] hands on to the handler as a
/// request extension.
#[derive(Clone, Debug)]
pub struct Signer(pub AccountId32);

/// State of the middleware.
#[derive(Clone)]
pub struct AuthState {
	/// Who may use the artifact API.
	pub allow: AllowList,
	/// Largest body read for hashing.
	pub max_body: usize,
}

/// axum middleware: refuses unsigned or foreign artifact requests. The headers and the allow
/// list are checked before the body is read, so a request that names no allowed signer costs
/// no buffer; the signature, which covers the body, is checked once it is read.
pub async fn require_signature(
	State(auth): State<AuthState>,
	request: Request,
	next: Next,
) -> Response {
	let (parts, body) = request.into_parts();
	let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
	let refused = |(status, why): (StatusCode, String)| {
		tracing::info!(%status, %why, path, "refused unsigned request");
		(status, format!("{why}\n")).into_response()
	};
	let claim = match claim_of(&parts.headers, now_secs()) {
		Ok(claim) => claim,
		Err(refusal) => return refused(refusal),
	};
	if !auth.allow.admits(&claim.account.0).await {
		return refused((StatusCode::FORBIDDEN, format!("{} is not allowed", claim.account)));
	}
	let body = match to_bytes(body, auth.max_body).await {
		Ok(b) => b,
		Err(_) => {
			return (StatusCode::PAYLOAD_TOO_LARGE, "above the size limit\n").into_response();
		}
	};
	let account = match claim.verify(parts.method.as_str(), &path, &body) {
		Ok(account) => account,
		Err(refusal) => return refused(refusal),
	};
	let mut request = Request::from_parts(parts, Body::from(body));
	request.extensions_mut().insert(Signer(account));
	next.run(request).await
}

#[cfg(test)]
mod tests {
	use super::*;
	use pot_client::subxt_signer::sr25519::dev;

	/// [`check`] on a fixed list (which never awaits the chain).
	fn check(
		allow: &AllowList,
		method: &str,
		path: &str,
		headers: &HeaderMap,
		body: &[u8],
		now: u64,
	) -> Result<AccountId32, (StatusCode, String)> {
		let runtime = tokio::runtime::Builder::new_current_thread().build();
		let runtime = runtime.unwrap_or_else(|e| panic!("{e}"));
		runtime.block_on(super::check(allow, method, path, headers, body, now))
	}

	fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
		let mut h = HeaderMap::new();
		for (k, v) in pairs {
			h.insert(*k, HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")));
		}
		h
	}

	#[test]
	fn signatures_are_checked_against_method_path_body_time_and_the_allow_list() {
		let alice = dev::alice();
		let alice_ss58 = AccountId32(alice.public_key().0).to_string();
		let allow = AllowList::parse(&format!(" {alice_ss58} ,")).unwrap_or_else(|e| panic!("{e}"));
		let path = "/v1/artifacts/model/ab";
		let signed = headers(&sign_headers(&alice, "PUT", path, b"body", 1000));
		assert_eq!(check(&allow, "PUT", path, &signed, b"body", 1000), Ok(AccountId32(alice.public_key().0)));
		assert!(check(&allow, "PUT", path, &signed, b"body", 1000 + MAX_SKEW_SECS).is_ok());
		for (method, p, body, now) in [
			("GET", path, &b"body"[..], 1000),
			("PUT", "/v1/artifacts/model/cd", &b"body"[..], 1000),
			("PUT", path, &b"other"[..], 1000),
			("PUT", path, &b"body"[..], 1001 + MAX_SKEW_SECS),
		] {
			let got = check(&allow, method, p, &signed, body, now).map_err(|e| e.0);
			assert_eq!(got, Err(StatusCode::UNAUTHORIZED), "{method} {p} {now}");
		}
		let bob = headers(&sign_headers(&dev::bob(), "PUT", path, b"body", 1000));
		assert_eq!(
			check(&allow, "PUT", path, &bob, b"body", 1000).map_err(|e| e.0),
			Err(StatusCode::FORBIDDEN)
		);
		assert!(check(&allow, "PUT", path, &HeaderMap::new(), b"body", 1000).is_err());
		assert!(AllowList::parse("").is_err());
		assert!(AllowList::parse("not-an-address").is_err());
	}
}
