//! HTTP client of a validator's artifact service (plain `http://`, the endpoint registered in
//! `Staking.ValidatorInfo`).
//!
//! `PUT {base}/v1/artifacts/{kind}/{hash}[?query]` stores bytes (201 stored, 200 already
//! stored); `GET {base}/v1/artifacts/{kind}/{hash}` returns them (404: unknown). Kinds are
//! `model` (JSON of a [`crate::model::ModelSpec`], addressed by its spec hash), `weights`
//! (safetensors, addressed by [`crate::checkpoint::weights_hash`], uploaded with
//! `?model={model hash}`) and `proof` ([`crate::bundle::pack`], addressed by the manifest's Merkle
//! root). Connection errors and timeouts are retried with exponential backoff; an HTTP status is
//! an answer and never retried. Responses are read up to a caller's limit and no further.

use std::time::Duration;

/// Most bytes of an error response body kept in an error message.
const ERROR_BODY_LIMIT: usize = 2048;

/// What can go wrong talking to an artifact service.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
	/// The base URL, kind or hash cannot form a request.
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

fn is_hash(s: &str) -> bool {
	s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The URL of an artifact: `{base}/v1/artifacts/{kind}/{hash}[?query]`.
pub fn artifact_url(
	base: &str,
	kind: &str,
	hash: &str,
	query: Option<&str>,
) -> Result<String, RemoteError> {
	if !base.starts_with("http://") {
		return Err(RemoteError::Invalid(format!(
			"endpoint {base:?} is not an http:// URL (https is not supported)"
		)));
	}
	if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
		return Err(RemoteError::Invalid(format!("artifact kind {kind:?}")));
	}
	if !is_hash(hash) {
		return Err(RemoteError::Invalid(format!("{hash:?} is not 64 lowercase hex digits")));
	}
	let mut url = format!("{}/v1/artifacts/{kind}/{hash}", base.trim_end_matches('/'));
	if let Some(q) = query.filter(|q| !q.is_empty()) {
		url.push('?');
		url.push_str(q);
	}
	Ok(url)
}

fn client(policy: &RetryPolicy) -> Result<reqwest::Client, RemoteError> {
	reqwest::Client::builder()
		.timeout(policy.timeout)
		.connect_timeout(policy.timeout.min(Duration::from_secs(10)))
		.build()
		.map_err(|e| RemoteError::Invalid(format!("HTTP client: {e}")))
}

/// Sends the request `make` builds, retrying connection errors and timeouts.
async fn send(
	url: &str,
	policy: &RetryPolicy,
	make: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, RemoteError> {
	let attempts = policy.attempts.max(1);
	let mut n = 0u32;
	loop {
		n = n.saturating_add(1);
		match make().send().await {
			Ok(response) => return Ok(response),
			Err(e) if n < attempts && (e.is_connect() || e.is_timeout() || e.is_request()) => {
				let wait = policy.backoff(n);
				tracing::warn!(%url, attempt = n, error = %e, ?wait, "artifact service unreachable, retrying");
				tokio::time::sleep(wait).await;
			},
			Err(source) => {
				return Err(RemoteError::Unreachable { url: url.into(), attempts: n, source })
			},
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

/// Uploads `bytes` as artifact `kind/hash` (with `query`, e.g. `model=<hash>` for weights).
pub async fn put_artifact(
	base: &str,
	kind: &str,
	hash: &str,
	bytes: Vec<u8>,
	query: Option<&str>,
) -> Result<Stored, RemoteError> {
	put_artifact_with(base, kind, hash, bytes, query, &RetryPolicy::default()).await
}

/// [`put_artifact`] with an explicit retry policy.
pub async fn put_artifact_with(
	base: &str,
	kind: &str,
	hash: &str,
	bytes: Vec<u8>,
	query: Option<&str>,
	policy: &RetryPolicy,
) -> Result<Stored, RemoteError> {
	let url = artifact_url(base, kind, hash, query)?;
	let http = client(policy)?;
	let response = send(&url, policy, || {
		http.put(&url).header("content-type", "application/octet-stream").body(bytes.clone())
	})
	.await?;
	match response.status().as_u16() {
		201 => Ok(Stored::Created),
		200 => Ok(Stored::AlreadyThere),
		_ => Err(status_error(&url, response).await),
	}
}

/// Downloads artifact `kind/hash`, at most `max_bytes` of it. The caller checks the hash.
pub async fn get_artifact(
	base: &str,
	kind: &str,
	hash: &str,
	max_bytes: u64,
) -> Result<Vec<u8>, RemoteError> {
	get_artifact_with(base, kind, hash, max_bytes, &RetryPolicy::default()).await
}

/// [`get_artifact`] with an explicit retry policy.
pub async fn get_artifact_with(
	base: &str,
	kind: &str,
	hash: &str,
	max_bytes: u64,
	policy: &RetryPolicy,
) -> Result<Vec<u8>, RemoteError> {
	let url = artifact_url(base, kind, hash, None)?;
	let http = client(policy)?;
	let response = send(&url, policy, || http.get(&url)).await?;
	if response.status().as_u16() != 200 {
		return Err(status_error(&url, response).await);
	}
	read_limited(&url, response, max_bytes).await
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

	/// One request as the test server saw it.
	#[derive(Debug)]
	struct Seen {
		method: String,
		path: String,
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
			}
		}
		let mut body = vec![0u8; length];
		reader.read_exact(&mut body).unwrap_or_else(|e| panic!("body: {e}"));
		Seen { method, path, body }
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

	#[test]
	fn urls_are_checked() {
		assert_eq!(
			artifact_url("http://h:1/", "weights", H, Some("model=ab")).ok().as_deref(),
			Some(format!("http://h:1/v1/artifacts/weights/{H}?model=ab").as_str())
		);
		assert!(artifact_url("https://h", "model", H, None).is_err());
		assert!(artifact_url("http://h", "Model", H, None).is_err());
		assert!(artifact_url("http://h", "model", &H.to_uppercase(), None).is_err());
		assert!(artifact_url("http://h", "model", &H[1..], None).is_err());
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
		let put = |q: Option<&'static str>| {
			rt.block_on(put_artifact_with(&base, "weights", H, b"abc".to_vec(), q, &quick()))
		};
		assert_eq!(put(Some("model=00")).ok(), Some(Stored::Created));
		let first = seen.recv().unwrap_or_else(|e| panic!("{e}"));
		assert_eq!(first.method, "PUT");
		assert_eq!(first.path, format!("/v1/artifacts/weights/{H}?model=00"));
		assert_eq!(first.body, b"abc");
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
		let get = |limit| rt.block_on(get_artifact_with(&base, "model", H, limit, &quick()));
		assert_eq!(get(1024).ok(), Some(b"weights!".to_vec()));
		let first = seen.recv().unwrap_or_else(|e| panic!("{e}"));
		assert_eq!(
			(first.method.as_str(), first.path),
			("GET", format!("/v1/artifacts/model/{H}"))
		);
		assert!(matches!(get(1024), Err(RemoteError::NotFound { .. })));
		assert!(matches!(get(99), Err(RemoteError::TooLarge { limit: 99, .. })));
		assert!(matches!(get(10), Err(RemoteError::TooLarge { limit: 10, .. })));
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
		let got = rt().block_on(get_artifact_with(&base, "proof", H, 100, &quick()));
		assert_eq!(got.ok(), Some(b"late".to_vec()));
		assert!(rx.recv().is_ok());
	}

	#[test]
	fn an_unreachable_service_fails_after_every_attempt() {
		let (listener, base) = local();
		drop(listener);
		let policy = RetryPolicy { attempts: 3, ..quick() };
		let started = std::time::Instant::now();
		match rt().block_on(get_artifact_with(&base, "proof", H, 100, &policy)) {
			Err(RemoteError::Unreachable { attempts: 3, .. }) => {},
			other => panic!("expected unreachable after 3 attempts, got {other:?}"),
		}
		// Two waits: 100 ms and 200 ms.
		assert!(started.elapsed() >= Duration::from_millis(300));
	}
}
