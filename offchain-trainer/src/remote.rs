//! The HTTP client of a validator's artifact service (`pot-trainer serve`, plain `http://`, the
//! endpoint registered in `Staking.ValidatorInfo`), for providers (`work`), consumers (`order`)
//! and tests.
//!
//! `PUT {endpoint}/v1/artifacts/{kind}/{hash}[?model=…]` stores bytes (201 stored, 200 already
//! stored); `GET {endpoint}/v1/artifacts/{kind}/{hash}` returns them (404: unknown);
//! `POST {endpoint}/v1/rounds/{order}/{round}/result` polls a round's result (200 ready, 202
//! running); `GET {endpoint}/v1/rounds/{order}/{round}/chunk` (signed) is a provider's data chunk. Kinds are [`Kind`]s: `model` (JSON of a [`crate::model::ModelSpec`], addressed by its
//! spec hash), `weights` (safetensors, addressed by [`crate::checkpoint::weights_hash`], uploaded
//! with `?model={model hash}`), `proof` ([`crate::bundle::pack`], addressed by the manifest's
//! Merkle root), `dataset` (a [`crate::data::DatasetPair`] file, addressed by its pair hash)
//! and `report` (download only).
//!
//! Connection errors and timeouts are retried with exponential backoff; an HTTP status is an
//! answer and never retried. Responses are read up to a caller's limit and no further. Downloads
//! of `model` and `report` artifacts are checked against their address here; `weights` and
//! `proof` need libtorch or the manifest, so callers check them (with
//! [`crate::serve::check_artifact`] or by loading them with the task's model) before use.
//!
//! [`ArtifactClient::with_signer`] signs every request with the headers of
//! [`crate::serve_auth`] (needed by services started with `--allow`; ignored by others). Each
//! attempt is signed afresh, so retries stay within the service's clock window. The path is
//! signed as this client sends it: a proxy in front of the service must not rewrite it.

use crate::{
	serve::check_artifact,
	serve_auth::{now_secs, sign_headers},
	store::Kind,
};
use pot_client::subxt_signer::sr25519::Keypair;
use pot_pol_core::Hash;
use std::time::Duration;

/// Most bytes of an error response body kept in an error message.
const ERROR_BODY_LIMIT: usize = 2048;

/// Largest round result body read (a SCALE `RoundResult`: a few hashes and a verdict per
/// provider).
const ROUND_RESULT_LIMIT: u64 = 16 << 20;

/// What can go wrong talking to an artifact service.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
	/// The endpoint or hash cannot form a request.
	#[error("invalid artifact request: {0}")]
	Invalid(String),
	/// The service could not be reached (after every retry).
	#[error("{url}: unreachable after {attempts} attempts: {source}")]
	Unreachable {
		/// The request URL.
		url: String,
		/// Attempts made.
		attempts: u32,
		/// The last error.
		#[source]
		source: reqwest::Error,
	},
	/// The service has no such artifact (404).
	#[error("{url}: not found (404)")]
	NotFound {
		/// The request URL.
		url: String,
	},
	/// The service answered with another unexpected status.
	#[error("{url}: HTTP {status}: {body}")]
	Status {
		/// The request URL.
		url: String,
		/// The status code.
		status: u16,
		/// The start of the response body (text).
		body: String,
	},
	/// The response is larger than the caller's limit.
	#[error("{url}: response larger than the limit of {limit} bytes")]
	TooLarge {
		/// The request URL.
		url: String,
		/// The limit.
		limit: u64,
	},
	/// A downloaded `model` or `report` does not match its address.
	#[error("{url}: downloaded bytes do not match the address: {reason}")]
	Mismatch {
		/// The request URL.
		url: String,
		/// Why.
		reason: String,
	},
}

/// How often and how patiently connection errors are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
	/// Attempts in all (at least 1).
	pub attempts: u32,
	/// Wait before the second attempt; doubled after each further failure.
	pub first_backoff: Duration,
	/// Longest wait between attempts.
	pub max_backoff: Duration,
	/// Limit of one whole request (connect, send, read).
	pub timeout: Duration,
}

impl Default for RetryPolicy {
	fn default() -> Self {
		Self {
			attempts: 6,
			first_backoff: Duration::from_millis(500),
			max_backoff: Duration::from_secs(10),
			timeout: Duration::from_secs(300),
		}
	}
}

impl RetryPolicy {
	/// The wait after failed attempt `n` (from 1).
	pub fn backoff(&self, n: u32) -> Duration {
		let factor = 1u32.checked_shl(n.saturating_sub(1).min(16)).unwrap_or(u32::MAX);
		self.first_backoff.saturating_mul(factor).min(self.max_backoff)
	}
}

/// How a `PUT` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
	/// 201: the service stored it now.
	Created,
	/// 200: the service already had it.
	AlreadyThere,
}

/// A round result poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoundPoll {
	/// 200: the SCALE `RoundResult` ([`crate::round_verifier::decode_result`]).
	Ready(Vec<u8>),
	/// 202: the job runs; ask again later.
	Running,
}

/// Parses an artifact address: 64 hex digits, with or without `0x`.
pub fn parse_address(hex: &str) -> Result<Hash, RemoteError> {
	let mut out = [0u8; 32];
	hex::decode_to_slice(hex.trim_start_matches("0x"), &mut out)
		.map_err(|_| RemoteError::Invalid(format!("{hex:?} is not 64 hex digits")))?;
	Ok(out)
}

/// A client of one artifact service endpoint, optionally signing its requests.
#[derive(Clone)]
pub struct ArtifactClient {
	base: String,
	http: reqwest::Client,
	policy: RetryPolicy,
	signer: Option<Keypair>,
}

impl std::fmt::Debug for ArtifactClient {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("ArtifactClient")
			.field("base", &self.base)
			.field("policy", &self.policy)
			.field("signed", &self.signer.is_some())
			.finish()
	}
}

impl ArtifactClient {
	/// A client of `endpoint` (`http://host:port[/prefix]`) with the default retry policy.
	pub fn new(endpoint: &str) -> Result<Self, RemoteError> {
		Self::with_policy(endpoint, RetryPolicy::default())
	}

	/// A client of `endpoint` retrying as `policy` says.
	pub fn with_policy(endpoint: &str, policy: RetryPolicy) -> Result<Self, RemoteError> {
		if !endpoint.starts_with("http://") {
			return Err(RemoteError::Invalid(format!(
				"endpoint {endpoint:?} is not an http:// URL (https is not supported)"
			)));
		}
		let http = reqwest::Client::builder()
			.timeout(policy.timeout)
			.connect_timeout(policy.timeout.min(Duration::from_secs(10)))
			.build()
			.map_err(|e| RemoteError::Invalid(format!("HTTP client: {e}")))?;
		Ok(Self { base: endpoint.trim_end_matches('/').to_owned(), http, policy, signer: None })
	}

	/// Signs every request with `key` (for services started with `--allow`).
	pub fn with_signer(mut self, key: Keypair) -> Self {
		self.signer = Some(key);
		self
	}

	/// [`Self::with_signer`] when `key` is given.
	pub fn signed_by(self, key: Option<&Keypair>) -> Self {
		match key {
			Some(key) => self.with_signer(key.clone()),
			None => self,
		}
	}

	/// The endpoint, without a trailing `/`.
	pub fn endpoint(&self) -> &str {
		&self.base
	}

	/// The URL of an artifact, with `?model={hex}` when `model` is given.
	pub fn artifact_url(&self, kind: Kind, hash: &Hash, model: Option<&Hash>) -> String {
		let mut url = format!("{}/v1/artifacts/{}/{}", self.base, kind.name(), hex::encode(hash));
		if let Some(model) = model {
			url.push_str("?model=");
			url.push_str(&hex::encode(model));
		}
		url
	}

	/// Sends `method url body`, signed when a signer is set, retrying connection errors and
	/// timeouts.
	async fn send(
		&self,
		method: reqwest::Method,
		url: &str,
		body: Vec<u8>,
	) -> Result<reqwest::Response, RemoteError> {
		let parsed = reqwest::Url::parse(url)
			.map_err(|e| RemoteError::Invalid(format!("URL {url:?}: {e}")))?;
		let mut path = parsed.path().to_owned();
		if let Some(query) = parsed.query() {
			path.push('?');
			path.push_str(query);
		}
		let attempts = self.policy.attempts.max(1);
		let mut n = 0u32;
		loop {
			n = n.saturating_add(1);
			let mut request = self.http.request(method.clone(), parsed.clone());
			if let Some(key) = &self.signer {
				for (name, value) in sign_headers(key, method.as_str(), &path, &body, now_secs()) {
					request = request.header(name, value);
				}
			}
			if method == reqwest::Method::PUT {
				request = request.header("content-type", "application/octet-stream");
			}
			match request.body(body.clone()).send().await {
				Ok(response) => return Ok(response),
				Err(e) if n < attempts && (e.is_connect() || e.is_timeout() || e.is_request()) => {
					let wait = self.policy.backoff(n);
					tracing::warn!(%url, attempt = n, error = %e, ?wait, "artifact service unreachable, retrying");
					tokio::time::sleep(wait).await;
				},
				Err(source) => {
					return Err(RemoteError::Unreachable { url: url.into(), attempts: n, source })
				},
			}
		}
	}

	/// Uploads `bytes` as artifact `kind/hash`; `model` names the model of `weights`
	/// (`?model=`).
	pub async fn put(
		&self,
		kind: Kind,
		hash: &Hash,
		bytes: Vec<u8>,
		model: Option<&Hash>,
	) -> Result<Stored, RemoteError> {
		let url = self.artifact_url(kind, hash, model);
		let response = self.send(reqwest::Method::PUT, &url, bytes).await?;
		match response.status().as_u16() {
			201 => Ok(Stored::Created),
			200 => Ok(Stored::AlreadyThere),
			_ => Err(status_error(&url, response).await),
		}
	}

	/// Downloads artifact `kind/hash`, at most `max_bytes` of it ([`RemoteError::NotFound`] when
	/// the service does not have it). `model`, `report`, `update` and `residual` bytes are
	/// checked against the address; the caller checks `weights` and `proof`.
	pub async fn get(&self, kind: Kind, hash: &Hash, max_bytes: u64) -> Result<Vec<u8>, RemoteError> {
		let url = self.artifact_url(kind, hash, None);
		let response = self.send(reqwest::Method::GET, &url, Vec::new()).await?;
		if response.status().as_u16() != 200 {
			return Err(status_error(&url, response).await);
		}
		let body = read_limited(&url, response, max_bytes).await?;
		if matches!(kind, Kind::Model | Kind::Report | Kind::Update | Kind::Residual) {
			check_artifact(kind, hash, &body, max_bytes)
				.map_err(|reason| RemoteError::Mismatch { url: url.clone(), reason })?;
		}
		Ok(body)
	}

	/// Downloads this client's signer's data chunk of `(order, round)` (the request must be
	/// signed), at most `max_bytes`; the caller checks it ([`crate::chunk::Chunk::decode_verified`]).
	pub async fn chunk(&self, order: u64, round: u32, max_bytes: u64) -> Result<Vec<u8>, RemoteError> {
		if self.signer.is_none() {
			return Err(RemoteError::Invalid("a chunk request must be signed".into()));
		}
		let url = format!("{}/v1/rounds/{order}/{round}/chunk", self.base);
		let response = self.send(reqwest::Method::GET, &url, Vec::new()).await?;
		if response.status().as_u16() != 200 {
			return Err(status_error(&url, response).await);
		}
		read_limited(&url, response, max_bytes).await
	}

	/// Asks for the result of `(order, round)` (`POST`, starting the job if needed). Any status
	/// but 200 and 202 is an error carrying the status and the service's reason.
	pub async fn round_result(&self, order: u64, round: u32) -> Result<RoundPoll, RemoteError> {
		let url = format!("{}/v1/rounds/{order}/{round}/result", self.base);
		let response = self.send(reqwest::Method::POST, &url, Vec::new()).await?;
		match response.status().as_u16() {
			200 => Ok(RoundPoll::Ready(read_limited(&url, response, ROUND_RESULT_LIMIT).await?)),
			202 => Ok(RoundPoll::Running),
			_ => Err(status_error(&url, response).await),
		}
	}
}

/// Reads the body of `response`, failing as soon as it exceeds `limit` bytes.
async fn read_limited(
	url: &str,
	mut response: reqwest::Response,
	limit: u64,
) -> Result<Vec<u8>, RemoteError> {
	if response.content_length().is_some_and(|len| len > limit) {
		return Err(RemoteError::TooLarge { url: url.into(), limit });
	}
	let mut body = Vec::new();
	loop {
		let chunk = response.chunk().await.map_err(|source| RemoteError::Unreachable {
			url: url.into(),
			attempts: 1,
			source,
		})?;
		let Some(chunk) = chunk else { return Ok(body) };
		if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
			return Err(RemoteError::TooLarge { url: url.into(), limit });
		}
		body.extend_from_slice(&chunk);
	}
}

/// The error for an unexpected status, with the start of the body as text.
async fn status_error(url: &str, response: reqwest::Response) -> RemoteError {
	let status = response.status().as_u16();
	if status == 404 {
		return RemoteError::NotFound { url: url.into() };
	}
	let body = match read_limited(url, response, ERROR_BODY_LIMIT as u64).await {
		Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
		Err(RemoteError::TooLarge { .. }) => "(long body)".into(),
		Err(e) => format!("(body unreadable: {e})"),
	};
	RemoteError::Status { url: url.into(), status, body }
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::{
		io::{BufRead, BufReader, Read, Write},
		net::{TcpListener, TcpStream},
		sync::mpsc,
		thread,
	};

	const H: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	const M: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

	fn h() -> Hash {
		parse_address(H).unwrap_or_else(|e| panic!("{e}"))
	}

	fn m() -> Hash {
		parse_address(M).unwrap_or_else(|e| panic!("{e}"))
	}

	/// One request as the test server saw it.
	#[derive(Debug)]
	struct Seen {
		method: String,
		path: String,
		headers: Vec<(String, String)>,
		body: Vec<u8>,
	}

	fn read_request(stream: &mut TcpStream) -> Seen {
		let mut reader = BufReader::new(stream);
		let mut line = String::new();
		reader.read_line(&mut line).unwrap_or_else(|e| panic!("request line: {e}"));
		let mut parts = line.split_whitespace();
		let method = parts.next().unwrap_or_default().to_owned();
		let path = parts.next().unwrap_or_default().to_owned();
		let mut length = 0usize;
		let mut headers = Vec::new();
		loop {
			let mut header = String::new();
			reader.read_line(&mut header).unwrap_or_else(|e| panic!("header: {e}"));
			let header = header.trim_end();
			if header.is_empty() {
				break;
			}
			if let Some((name, value)) = header.split_once(':') {
				if name.eq_ignore_ascii_case("content-length") {
					length = value.trim().parse().unwrap_or_else(|e| panic!("length: {e}"));
				}
				headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
			}
		}
		let mut body = vec![0u8; length];
		reader.read_exact(&mut body).unwrap_or_else(|e| panic!("body: {e}"));
		Seen { method, path, headers, body }
	}

	/// Serves one scripted raw response per connection, in order, reporting each request.
	fn serve(listener: TcpListener, responses: Vec<Vec<u8>>) -> mpsc::Receiver<Seen> {
		let (tx, rx) = mpsc::channel();
		thread::spawn(move || {
			for response in responses {
				let (mut stream, _) = listener.accept().unwrap_or_else(|e| panic!("accept: {e}"));
				let seen = read_request(&mut stream);
				let _ = tx.send(seen);
				let _ = stream.write_all(&response);
				let _ = stream.flush();
			}
		});
		rx
	}

	fn response(status: &str, body: &[u8]) -> Vec<u8> {
		let mut out = format!(
			"HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
			body.len()
		)
		.into_bytes();
		out.extend_from_slice(body);
		out
	}

	fn local() -> (TcpListener, String) {
		let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
		let port = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).port();
		(listener, format!("http://127.0.0.1:{port}"))
	}

	fn quick() -> RetryPolicy {
		RetryPolicy {
			attempts: 4,
			first_backoff: Duration::from_millis(100),
			max_backoff: Duration::from_millis(400),
			timeout: Duration::from_secs(10),
		}
	}

	fn rt() -> tokio::runtime::Runtime {
		tokio::runtime::Builder::new_current_thread()
			.enable_all()
			.build()
			.unwrap_or_else(|e| panic!("runtime: {e}"))
	}

	fn client(base: &str, policy: RetryPolicy) -> ArtifactClient {
		ArtifactClient::with_policy(base, policy).unwrap_or_else(|e| panic!("{e}"))
	}

	#[test]
	fn urls_and_addresses_are_checked() {
		let c = client("http://h:1/", quick());
		assert_eq!(c.endpoint(), "http://h:1");
		assert_eq!(
			c.artifact_url(Kind::Weights, &h(), Some(&m())),
			format!("http://h:1/v1/artifacts/weights/{H}?model={M}")
		);
		assert_eq!(
			client("http://h/prefix", quick()).artifact_url(Kind::Model, &h(), None),
			format!("http://h/prefix/v1/artifacts/model/{H}")
		);
		assert!(ArtifactClient::new("https://h").is_err());
		assert!(ArtifactClient::new("h:1").is_err());
		assert_eq!(parse_address(&format!("0x{}", H.to_uppercase())).ok(), Some(h()));
		assert!(parse_address(&H[1..]).is_err());
		assert!(parse_address("zz").is_err());
	}

	#[test]
	fn backoff_doubles_up_to_the_cap() {
		let p = quick();
		let waits: Vec<u64> = (1..=5).map(|n| p.backoff(n).as_millis() as u64).collect();
		assert_eq!(waits, vec![100, 200, 400, 400, 400]);
		assert_eq!(RetryPolicy::default().backoff(u32::MAX), Duration::from_secs(10));
	}

	#[test]
	fn put_reports_created_already_stored_and_errors_with_their_body() {
		let (listener, base) = local();
		let seen = serve(
			listener,
			vec![
				response("201 Created", b""),
				response("200 OK", b""),
				response("400 Bad Request", b"weights do not match the model"),
				response("413 Payload Too Large", b"limit 1 MiB"),
			],
		);
		let rt = rt();
		let c = client(&base, quick());
		let put = |model: Option<&Hash>| {
			rt.block_on(c.put(Kind::Weights, &h(), b"abc".to_vec(), model))
		};
		assert_eq!(put(Some(&m())).ok(), Some(Stored::Created));
		let first = seen.recv().unwrap_or_else(|e| panic!("{e}"));
		assert_eq!(first.method, "PUT");
		assert_eq!(first.path, format!("/v1/artifacts/weights/{H}?model={M}"));
		assert_eq!(first.body, b"abc");
		assert!(
			!first.headers.iter().any(|(name, _)| name.starts_with("x-pot-")),
			"unsigned without a signer"
		);
		assert_eq!(put(None).ok(), Some(Stored::AlreadyThere));
		match put(None) {
			Err(RemoteError::Status { status: 400, body, .. }) => {
				assert_eq!(body, "weights do not match the model")
			},
			other => panic!("expected 400, got {other:?}"),
		}
		let err = put(None).err().map(|e| e.to_string()).unwrap_or_default();
		assert!(err.contains("HTTP 413") && err.contains("limit 1 MiB"), "{err}");
	}

	#[test]
	fn a_signer_signs_method_path_query_and_body() {
		use crate::serve_auth::{check, AllowList};
		use pot_client::subxt_signer::sr25519::dev;
		let (listener, base) = local();
		let seen = serve(
			listener,
			vec![response("201 Created", b""), response("202 Accepted", b"")],
		);
		let rt = rt();
		let alice = dev::alice();
		let c = client(&format!("{base}/pot/"), quick()).signed_by(Some(&alice));
		let stored = rt.block_on(c.put(Kind::Weights, &h(), b"abc".to_vec(), Some(&m())));
		assert_eq!(stored.ok(), Some(Stored::Created));
		assert_eq!(rt.block_on(c.round_result(3, 1)).ok(), Some(RoundPoll::Running));
		let allow = AllowList::of([alice.public_key().0]);
		for (method, path, body) in [
			("PUT", format!("/pot/v1/artifacts/weights/{H}?model={M}"), &b"abc"[..]),
			("POST", "/pot/v1/rounds/3/1/result".to_owned(), &b""[..]),
		] {
			let got = seen.recv().unwrap_or_else(|e| panic!("{e}"));
			assert_eq!((got.method.as_str(), got.path.as_str()), (method, path.as_str()));
			let mut headers = axum::http::HeaderMap::new();
			for (name, value) in &got.headers {
				let name = axum::http::HeaderName::from_bytes(name.as_bytes())
					.unwrap_or_else(|e| panic!("{e}"));
				let value =
					axum::http::HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{e}"));
				headers.insert(name, value);
			}
			let checked = rt.block_on(check(&allow, method, &path, &headers, body, now_secs()));
			assert!(checked.is_ok(), "{path}: {checked:?}");
		}
	}

	#[test]
	fn get_returns_bytes_not_found_and_enforces_the_size_limit() {
		let (listener, base) = local();
		// The last response has no content-length: the limit must hold while streaming.
		let unsized_body = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n0123456789abcdef".to_vec();
		let seen = serve(
			listener,
			vec![
				response("200 OK", b"weights!"),
				response("404 Not Found", b"no such artifact"),
				response("200 OK", &[7u8; 100]),
				unsized_body,
			],
		);
		let rt = rt();
		let c = client(&base, quick());
		let get = |limit| rt.block_on(c.get(Kind::Weights, &h(), limit));
		assert_eq!(get(1024).ok(), Some(b"weights!".to_vec()));
		let first = seen.recv().unwrap_or_else(|e| panic!("{e}"));
		assert_eq!(
			(first.method.as_str(), first.path),
			("GET", format!("/v1/artifacts/weights/{H}"))
		);
		assert!(matches!(get(1024), Err(RemoteError::NotFound { .. })));
		assert!(matches!(get(99), Err(RemoteError::TooLarge { limit: 99, .. })));
		assert!(matches!(get(10), Err(RemoteError::TooLarge { limit: 10, .. })));
	}

	#[test]
	fn downloaded_models_and_reports_must_match_their_address() {
		let report = b"segment 3 diverged".to_vec();
		let address = pot_pol_core::blake2_256(&report);
		let (listener, base) = local();
		let _seen = serve(
			listener,
			vec![
				response("200 OK", &report),
				response("200 OK", b"tampered"),
				response("200 OK", b"{}"),
			],
		);
		let rt = rt();
		let c = client(&base, quick());
		assert_eq!(rt.block_on(c.get(Kind::Report, &address, 1024)).ok(), Some(report));
		assert!(matches!(
			rt.block_on(c.get(Kind::Report, &address, 1024)),
			Err(RemoteError::Mismatch { .. })
		));
		assert!(matches!(
			rt.block_on(c.get(Kind::Model, &h(), 1024)),
			Err(RemoteError::Mismatch { .. })
		));
	}

	#[test]
	fn round_results_are_ready_running_or_refused() {
		let (listener, base) = local();
		let seen = serve(
			listener,
			vec![
				response("202 Accepted", b""),
				response("200 OK", b"\x01\x02"),
				response("409 Conflict", b"commit window open\n"),
			],
		);
		let rt = rt();
		let c = client(&base, quick());
		assert_eq!(rt.block_on(c.round_result(7, 2)).ok(), Some(RoundPoll::Running));
		let first = seen.recv().unwrap_or_else(|e| panic!("{e}"));
		assert_eq!((first.method.as_str(), first.path.as_str()), ("POST", "/v1/rounds/7/2/result"));
		assert_eq!(rt.block_on(c.round_result(7, 2)).ok(), Some(RoundPoll::Ready(vec![1, 2])));
		match rt.block_on(c.round_result(7, 2)) {
			Err(RemoteError::Status { status: 409, body, .. }) => {
				assert_eq!(body, "commit window open")
			},
			other => panic!("expected 409, got {other:?}"),
		}
	}

	#[test]
	fn connection_errors_are_retried_until_the_service_is_up() {
		// Reserve a port, free it, and start serving on it only after the first attempts failed.
		let (listener, base) = local();
		let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
		drop(listener);
		let (tx, rx) = mpsc::channel();
		thread::spawn(move || {
			thread::sleep(Duration::from_millis(250));
			let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("rebind: {e}"));
			let _ = tx.send(serve(listener, vec![response("200 OK", b"late")]));
		});
		let got = rt().block_on(client(&base, quick()).get(Kind::Proof, &h(), 100));
		assert_eq!(got.ok(), Some(b"late".to_vec()));
		assert!(rx.recv().is_ok());
	}

	#[test]
	fn an_unreachable_service_fails_after_every_attempt() {
		let (listener, base) = local();
		drop(listener);
		let policy = RetryPolicy { attempts: 3, ..quick() };
		let started = std::time::Instant::now();
		match rt().block_on(client(&base, policy).get(Kind::Proof, &h(), 100)) {
			Err(RemoteError::Unreachable { attempts: 3, .. }) => {},
			other => panic!("expected unreachable after 3 attempts, got {other:?}"),
		}
		// Two waits: 100 ms and 200 ms.
		assert!(started.elapsed() >= Duration::from_millis(300));
	}
}
