//! A client of `pot-trainer serve` (a validator's artifact endpoint), for providers, consumers
//! and tests: upload and download artifacts, poll a round's result.
//!
//! [`ArtifactClient::with_signer`] signs requests for services started with `--allow`.
//! `http://` endpoints only (the service is localhost-bound; put TLS in a proxy). The endpoint
//! is the URL a validator registered (`http://host:port` with an optional path prefix);
//! artifact URLs are `{endpoint}/v1/artifacts/{kind}/{hash}`. Downloads of `model` and
//! `report` artifacts are checked against their address here; `weights` and `proof` need
//! libtorch or the manifest, so check them with [`crate::serve::check_artifact`] (or load them
//! with the task's model) before use.

use crate::{
	serve::check_artifact,
	serve_auth::{now_secs, sign_headers},
	store::Kind,
};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{
	client::legacy::{connect::HttpConnector, Client},
	rt::TokioExecutor,
};
use pot_client::subxt_signer::sr25519::Keypair;
use pot_pol_core::Hash;

/// What can go wrong talking to an artifact endpoint.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
	/// The endpoint URL is not usable.
	#[error("endpoint {0:?}: {1}")]
	Endpoint(String, String),
	/// The request could not be sent or the answer not read.
	#[error("{url}: {reason}")]
	Transport {
		/// The URL.
		url: String,
		/// Why.
		reason: String,
	},
	/// The service refused the request.
	#[error("{url}: HTTP {status}: {reason}")]
	Refused {
		/// The URL.
		url: String,
		/// HTTP status.
		status: u16,
		/// The service's reason (first line of its body).
		reason: String,
	},
	/// A downloaded artifact does not match its address.
	#[error("{url}: downloaded bytes do not match the address: {reason}")]
	Mismatch {
		/// The URL.
		url: String,
		/// Why.
		reason: String,
	},
}

/// How an upload went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploaded {
	/// 201: stored.
	Created,
	/// 200: the same bytes were already there.
	AlreadyStored,
}

/// A round result poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoundPoll {
	/// 200: the SCALE `RoundResult` ([`crate::round_verifier::decode_result`]).
	Ready(Vec<u8>),
	/// 202: the job runs; ask again later.
	Running,
}

/// A client of one endpoint.
#[derive(Clone)]
pub struct ArtifactClient {
	base: String,
	http: Client<HttpConnector, Full<Bytes>>,
	signer: Option<Keypair>,
}

impl ArtifactClient {
	/// A client of `endpoint` (`http://host:port[/prefix]`). Needs a tokio runtime when used.
	pub fn new(endpoint: &str) -> Result<Self, ClientError> {
		let base = endpoint.trim_end_matches('/').to_owned();
		if !base.starts_with("http://") {
			return Err(ClientError::Endpoint(base, "only http:// endpoints are supported".into()));
		}
		let http = Client::builder(TokioExecutor::new()).build_http();
		Ok(Self { base, http, signer: None })
	}

	/// Signs every artifact request with `key` (for services started with `--allow`). The path
	/// is signed as this client sends it: a proxy in front of the service must not rewrite it.
	pub fn with_signer(mut self, key: Keypair) -> Self {
		self.signer = Some(key);
		self
	}

	/// The URL of an artifact.
	pub fn artifact_url(&self, kind: Kind, hash: &Hash) -> String {
		format!("{}/v1/artifacts/{}/{}", self.base, kind.name(), hex::encode(hash))
	}

	async fn send(
		&self,
		method: axum::http::Method,
		url: &str,
		body: Vec<u8>,
	) -> Result<(u16, Vec<u8>), ClientError> {
		let transport = |reason: String| ClientError::Transport { url: url.to_owned(), reason };
		let uri: axum::http::Uri = url.parse().map_err(|e| transport(format!("{e}")))?;
		let mut builder = axum::http::Request::builder().method(method.clone());
		if let Some(key) = &self.signer {
			let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
			for (name, value) in sign_headers(key, method.as_str(), path, &body, now_secs()) {
				builder = builder.header(name, value);
			}
		}
		let request = builder
			.uri(uri)
			.body(Full::new(Bytes::from(body)))
			.map_err(|e| transport(e.to_string()))?;
		let response = self.http.request(request).await.map_err(|e| transport(e.to_string()))?;
		let status = response.status().as_u16();
		let body = response
			.into_body()
			.collect()
			.await
			.map_err(|e| transport(e.to_string()))?
			.to_bytes()
			.to_vec();
		Ok((status, body))
	}

	fn refused(url: &str, status: u16, body: &[u8]) -> ClientError {
		let reason = String::from_utf8_lossy(body).lines().next().unwrap_or("").to_owned();
		ClientError::Refused { url: url.to_owned(), status, reason }
	}

	/// Uploads an artifact; `model` names the model of `weights` (`?model=`).
	pub async fn upload(
		&self,
		kind: Kind,
		hash: &Hash,
		bytes: Vec<u8>,
		model: Option<&Hash>,
	) -> Result<Uploaded, ClientError> {
		let mut url = self.artifact_url(kind, hash);
		if let Some(m) = model {
			url = format!("{url}?model={}", hex::encode(m));
		}
		match self.send(axum::http::Method::PUT, &url, bytes).await? {
			(201, _) => Ok(Uploaded::Created),
			(200, _) => Ok(Uploaded::AlreadyStored),
			(status, body) => Err(Self::refused(&url, status, &body)),
		}
	}

	/// Downloads an artifact: `None` when the endpoint does not have it. `model` and `report`
	/// bytes are checked against the address.
	pub async fn download(&self, kind: Kind, hash: &Hash) -> Result<Option<Vec<u8>>, ClientError> {
		let url = self.artifact_url(kind, hash);
		match self.send(axum::http::Method::GET, &url, vec![]).await? {
			(200, body) => {
				if matches!(kind, Kind::Model | Kind::Report) {
					check_artifact(kind, hash, &body, u64::MAX)
						.map_err(|reason| ClientError::Mismatch { url: url.clone(), reason })?;
				}
				Ok(Some(body))
			}
			(404, _) => Ok(None),
			(status, body) => Err(Self::refused(&url, status, &body)),
		}
	}

	/// Asks for the result of `(order, round)` (`POST`, starting the job if needed). Any status
	/// but 200 and 202 is an error carrying the status and the reason.
	pub async fn round_result(&self, order: u64, round: u32) -> Result<RoundPoll, ClientError> {
		let url = format!("{}/v1/rounds/{order}/{round}/result", self.base);
		match self.send(axum::http::Method::POST, &url, vec![]).await? {
			(200, body) => Ok(RoundPoll::Ready(body)),
			(202, _) => Ok(RoundPoll::Running),
			(status, body) => Err(Self::refused(&url, status, &body)),
		}
	}
}
