//! `pot-trainer serve`: the validator's artifact store and verifier service (HTTP/1.1).
//!
//! | method and path | answers |
//! |---|---|
//! | `PUT /v1/artifacts/{kind}/{hash}` | 201 stored, 200 already stored (same bytes), 400 body does not match the address or is malformed / bad hash, 404 unknown kind, 405 kind `report`, 413 above `--max-artifact-bytes` |
//! | `GET /v1/artifacts/{kind}/{hash}` | 200 bytes, 404 absent or unknown kind, 400 bad hash |
//! | `POST /v1/rounds/{order}/{round}/result` | 200 SCALE `RoundResult`, 202 job running (started by the first call), 409 commit window open, 404 no such run/round, 503 node unreachable or the validator's own artifacts (model, round weights) missing, 500 job failed (returned once; the next call retries) |
//! | `GET /v1/rounds/{order}/{round}/result` | 200 SCALE `RoundResult` once computed, 404 otherwise (never starts a job) |
//! | `POST /v1/challenges/{id}/verdict` | 200 SCALE `bool` (`true`: the claim is right; [`crate::challenge_verifier`]), 202 re-executing (started by the first call), 404 no such open challenge, 400 bad id, 503 node or artifacts unavailable, 500 job failed (returned once; the next call retries) |
//! | `GET /v1/rounds/{order}/{round}/chunk` | signed by a participant of the run's current round ([`crate::serve_auth`] headers, whatever the allow list): 200 its chunk file ([`crate::chunk`]); 401 unsigned or bad signature, 403 not a participant, 404 no such run or round, or an empty chunk, 503 node or dataset unavailable |
//! | `GET /v1/health` | 200 `ok` |
//!
//! With `--allow ss58,...` every artifact request must be signed by a listed account
//! ([`crate::serve_auth`]: 401 unsigned or bad signature, 403 not listed); the round and health
//! endpoints stay unsigned. Hashes are 64 lowercase hex digits without `0x`. Kinds and the check of a `PUT` body against
//! its address ([`check_artifact`]):
//! - `model`: JSON of [`ModelSpec`]; address = [`ModelSpec::hash`] (`TaskSpec.model`); it must build.
//! - `weights`: safetensors as [`save_weights`](crate::checkpoint::save_weights) writes them;
//!   address = [`weights_hash`] of the f32 tensors in the file. With `?model={model hash}` (a
//!   stored model; 400 when it is not) the file must also have exactly that model's tensors
//!   and shapes. Consumers upload the model first and name it.
//! - `proof`: a proof bundle ([`crate::bundle`]); address = its BLAKE2b-256 (the commitment's
//!   `proof_hash`, so no other copy of the proof can stand in for the committed one); its
//!   manifest's `merkle_root` must be the Merkle root of the manifest's checkpoint hashes and
//!   every checkpoint file the manifest names must be in the bundle. (Checkpoint contents are
//!   checked by the verifier.)
//! - `report`: written by the verifier only (evidence of rejections), readable by anyone.
//! - `dataset`: an order's data, a [`DatasetPair`] file; address = [`DatasetPair::hash`]
//!   (`TaskSpec.dataset`). With an allow list, only validators may download it whole (403
//!   otherwise, [`AllowList::admits_dataset_reader`]): a provider fetches its own chunk.

use crate::{
	bundle,
	checkpoint::{load_weights, weights_hash},
	error::{Error, Result},
	model::{ModelSpec, Params},
	proof::Manifest,
	chain_allow::ChainAllowList,
	challenge_verifier::{fetch_missing, judge},
	chunk,
	data::DatasetPair,
	round_verifier::{
		stored_dataset_and_leaves, verify_round, ChainSource, JobError, RoundSource, VerifyConfig,
	},
	serve_auth::{now_secs, require_signature, signer_of, AllowList, AuthState, Signer},
	store::{parse_hash, Kind, Put, Store},
	watch::Watcher,
};
use axum::{
	body::Bytes,
	extract::{DefaultBodyLimit, Extension, Path as UrlPath, Query, State},
	http::{header, HeaderMap, StatusCode, Uri},
	response::{IntoResponse, Response},
	routing::{get, post},
	Router,
};
use pot_client::{account_of, keypair_from_suri, subxt_signer::sr25519::Keypair};
use pot_pol_core::{merkle, Hash};
use std::{
	collections::HashMap,
	net::SocketAddr,
	path::{Path, PathBuf},
	sync::{Arc, Mutex},
};

/// Default `--max-artifact-bytes`: 64 MiB.
pub const DEFAULT_MAX_ARTIFACT_BYTES: u64 = 64 << 20;

/// `pot-trainer serve` options.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
	/// Address to listen on (localhost by default: the node's offchain worker and a reverse
	/// proxy talk to it).
	#[arg(long, default_value = "127.0.0.1:8800")]
	pub listen: SocketAddr,
	/// The validator's node (WebSocket RPC).
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// Artifact store directory.
	#[arg(long)]
	pub store: PathBuf,
	/// Largest artifact accepted (bytes).
	#[arg(long, default_value_t = DEFAULT_MAX_ARTIFACT_BYTES)]
	pub max_artifact_bytes: u64,
	/// Largest allowed chance (ppm) of missing one forged segment (as for `verify`).
	#[arg(long, default_value_t = pot_pol_core::select::DEFAULT_MAX_MISS_PPM)]
	pub max_miss_ppm: u32,
	/// Accept artifact requests only when signed by one of these accounts (comma-separated
	/// SS58 addresses; see `serve_auth`). Without it (and `--allow-chain`) the artifact API is
	/// open.
	#[arg(long)]
	pub allow: Option<String>,
	/// Accept artifact requests only when signed by an account the chain relates to the
	/// validator `--suri` names (`chain_allow`: itself, registered validators, its cluster's
	/// providers, its orders' consumers, challengers before its committees), or by `--allow`.
	#[arg(long, requires = "suri")]
	pub allow_chain: bool,
	/// The validator account's secret URI: signs the service's requests to other validators'
	/// services (a committee member fetching the accused's artifacts) and, with
	/// `--allow-chain`, names the validator.
	#[arg(long)]
	pub suri: Option<String>,
	/// Watch the other validators' acceptances and challenge those that do not re-execute
	/// (`watch`), signing and bonding as the `--suri` validator.
	#[arg(long, requires = "suri")]
	pub watch: bool,
}

/// A verification job.
#[derive(Clone)]
enum Job {
	Running,
	Done(Bytes),
	Failed(JobError),
}

struct Inner {
	store: Store,
	max_artifact_bytes: u64,
	verify: VerifyConfig,
	source: Arc<dyn RoundSource>,
	jobs: Mutex<HashMap<(u64, u32), Job>>,
	verdicts: Mutex<HashMap<u64, Job>>,
	/// `pot-malus` only: how its round results lie.
	malice: Option<Malice>,
	/// Signs the service's requests to other services.
	signer: Option<Keypair>,
}

/// How a `pot-malus serve` validator's round results lie, whatever its verification found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malice {
	/// Censors: rejects one position's submissions.
	Censor(Censor),
	/// Lazy: accepts every submission (the announced weights stay as verified), so a forged
	/// one is accepted and only another validator's watcher can catch it.
	AcceptAll,
}

/// A censoring validator's rule (`pot-malus serve` only): every round result rejects the
/// submission at `position`, naming `segment`, whatever its verification found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Censor {
	/// The censored run position.
	pub position: u32,
	/// The segment the rejection names.
	pub segment: u32,
}

/// The service's shared state.
#[derive(Clone)]
pub struct ServeState(Arc<Inner>, Option<AllowList>);

impl ServeState {
	/// A service over the store in `dir`, reading rounds from `source`.
	pub fn new(
		dir: &Path,
		max_artifact_bytes: u64,
		max_miss_ppm: u32,
		source: Arc<dyn RoundSource>,
	) -> Result<Self> {
		Ok(Self(
			Arc::new(Inner {
				store: Store::open(dir)?,
				max_artifact_bytes,
				verify: VerifyConfig { max_artifact_bytes, max_miss_ppm },
				source,
				jobs: Mutex::new(HashMap::new()),
				verdicts: Mutex::new(HashMap::new()),
				malice: None,
				signer: None,
			}),
			None,
		))
	}

	/// Applies `change` to the service's settings; only before the service is shared.
	fn configured(self, change: impl FnOnce(&mut Inner)) -> Self {
		let Self(inner, allow) = self;
		match Arc::try_unwrap(inner) {
			Ok(mut inner) => {
				change(&mut inner);
				Self(Arc::new(inner), allow)
			},
			Err(inner) => Self(inner, allow),
		}
	}

	/// Lies in every round result as `malice` says (`pot-malus` only).
	pub fn lying(self, malice: Malice) -> Self {
		self.configured(|inner| inner.malice = Some(malice))
	}

	/// Signs the service's own requests to other services (artifact fetches) with `key`.
	pub fn signing(self, key: Keypair) -> Self {
		self.configured(|inner| inner.signer = Some(key))
	}

	/// Requires signed artifact requests from `allow` (`serve_auth`).
	pub fn with_allow(self, allow: AllowList) -> Self {
		Self(self.0, Some(allow))
	}

	/// The store.
	pub fn store(&self) -> &Store {
		&self.0.store
	}

	fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, u32), Job>> {
		self.0.jobs.lock().unwrap_or_else(|p| p.into_inner())
	}

	fn verdicts(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Job>> {
		self.0.verdicts.lock().unwrap_or_else(|p| p.into_inner())
	}
}

/// The HTTP routes.
pub fn router(state: ServeState) -> Router {
	// The extractor's limit, one byte above ours, so that we answer 413 ourselves for
	// anything above the limit and axum answers 413 for bodies far above it.
	let limit = usize::try_from(state.0.max_artifact_bytes.saturating_add(1)).unwrap_or(usize::MAX);
	let artifacts =
		Router::new().route("/v1/artifacts/{kind}/{hash}", get(get_artifact).put(put_artifact));
	let artifacts = match &state.1 {
		Some(allow) => artifacts.layer(axum::middleware::from_fn_with_state(
			AuthState { allow: allow.clone(), max_body: limit },
			require_signature,
		)),
		None => artifacts,
	};
	Router::new()
		.merge(artifacts)
		.route("/v1/rounds/{order}/{round}/result", get(get_result).post(post_result))
		.route("/v1/rounds/{order}/{round}/chunk", get(get_chunk))
		.route("/v1/challenges/{id}/verdict", post(post_verdict))
		.route("/v1/health", get(|| async { "ok" }))
		.layer(DefaultBodyLimit::max(limit))
		.with_state(state)
}

/// Runs the service until the process is stopped.
pub fn main(args: ServeArgs) -> anyhow::Result<()> {
	serve_with(args, None)
}

/// [`main`] as a lying validator: every round result lies as `malice` says. Only the
/// `pot-malus` test binary calls this.
pub fn main_malicious(args: ServeArgs, malice: Malice) -> anyhow::Result<()> {
	serve_with(args, Some(malice))
}

fn serve_with(args: ServeArgs, malice: Option<Malice>) -> anyhow::Result<()> {
	let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
	runtime.block_on(async move {
		let source = Arc::new(ChainSource::new(&args.node));
		let mut state =
			ServeState::new(&args.store, args.max_artifact_bytes, args.max_miss_ppm, source)?;
		if let Some(malice) = malice {
			tracing::warn!(?malice, "MALICIOUS: round results lie about the verification");
			state = state.lying(malice);
		}
		let fixed = match &args.allow {
			Some(list) => {
				Some(AllowList::parse(list).map_err(|e| anyhow::anyhow!("--allow: {e}"))?)
			},
			None => None,
		};
		let key = args.suri.as_deref().map(keypair_from_suri).transpose()?;
		let allow = match &key {
			Some(key) if args.allow_chain => {
				let validator = account_of(key);
				tracing::info!(%validator, "artifact requests: accounts related to this validator on chain");
				let chain = ChainAllowList::new(validator, &args.node, &args.store)?;
				Some(AllowList::chain(chain, fixed))
			},
			_ => fixed,
		};
		if let Some(allow) = allow {
			state = state.with_allow(allow);
		}
		if let Some(key) = key {
			if args.watch {
				let config = VerifyConfig {
					max_artifact_bytes: args.max_artifact_bytes,
					max_miss_ppm: args.max_miss_ppm,
				};
				let watcher = Watcher::new(&args.node, &args.store, key.clone(), config)?;
				tokio::spawn(watcher.run());
			}
			state = state.signing(key);
		}
		let listener = tokio::net::TcpListener::bind(args.listen).await?;
		tracing::info!(
			listen = %listener.local_addr()?,
			node = %args.node,
			store = %args.store.display(),
			signed = state.1.is_some(),
			"serving artifacts and round verification"
		);
		axum::serve(listener, router(state)).await?;
		Ok(())
	})
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
	let mut body: String = body.into();
	body.push('\n');
	(status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn bytes(status: StatusCode, body: Bytes) -> Response {
	(status, [(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
	tracing::warn!(error = %e, "internal error");
	text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A refused request: status and reason.
type Refusal = (StatusCode, String);

fn refused((status, why): Refusal) -> Response {
	text(status, why)
}

fn address(kind: &str, hash: &str) -> std::result::Result<(Kind, Hash), Refusal> {
	let kind = Kind::parse(kind)
		.ok_or_else(|| (StatusCode::NOT_FOUND, format!("unknown artifact kind {kind:?}")))?;
	let hash = parse_hash(hash).ok_or_else(|| {
		(StatusCode::BAD_REQUEST, "the address must be 64 lowercase hex digits".to_owned())
	})?;
	Ok((kind, hash))
}

async fn get_artifact(
	State(state): State<ServeState>,
	UrlPath((kind, hash)): UrlPath<(String, String)>,
	signer: Option<Extension<Signer>>,
) -> Response {
	let (kind, hash) = match address(&kind, &hash) {
		Ok(a) => a,
		Err(r) => return refused(r),
	};
	if let (Kind::Dataset, Some(allow)) = (kind, &state.1) {
		let admitted = match &signer {
			Some(Extension(Signer(account))) => allow.admits_dataset_reader(&account.0).await,
			None => false,
		};
		if !admitted {
			return text(
				StatusCode::FORBIDDEN,
				"whole datasets are served to validators only; a provider fetches its chunk from \
				 /v1/rounds/{order}/{round}/chunk",
			);
		}
	}
	let s = state.clone();
	match tokio::task::spawn_blocking(move || s.store().get(kind, &hash)).await {
		Ok(Ok(Some(body))) => bytes(StatusCode::OK, body.into()),
		Ok(Ok(None)) => text(StatusCode::NOT_FOUND, "not stored"),
		Ok(Err(e)) => internal(e),
		Err(e) => internal(e),
	}
}

/// The signed requester's chunk of the run's current round.
async fn get_chunk(
	State(state): State<ServeState>,
	UrlPath((order, round)): UrlPath<(String, String)>,
	uri: Uri,
	headers: HeaderMap,
) -> Response {
	let (order, round) = match parse_round(&order, &round) {
		Ok(x) => x,
		Err(r) => return refused(r),
	};
	let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
	let account = match signer_of("GET", path, &headers, &[], now_secs()) {
		Ok(a) => a,
		Err(r) => return refused(r),
	};
	let assignment = match state.0.source.assignment(order, round).await {
		Ok(a) => a,
		Err(e) => return job_error(&e),
	};
	let indices = match assignment.chunk_of(order, round, &account.0) {
		Ok(Some(indices)) if !indices.is_empty() => indices,
		Ok(Some(_)) => {
			return text(StatusCode::NOT_FOUND, format!("{account}'s chunk of round {round} is empty"))
		},
		Ok(None) => {
			return text(
				StatusCode::FORBIDDEN,
				format!("{account} is not a participant of order {order}"),
			)
		},
		Err(e) => return job_error(&e),
	};
	let s = state.clone();
	let dataset = assignment.dataset;
	let file = tokio::task::spawn_blocking(move || {
		let (pair, leaves) = stored_dataset_and_leaves(s.store(), &dataset)?;
		chunk::encode_with_leaves(&pair, &leaves, &indices).map_err(JobError::from)
	})
	.await;
	match file {
		Ok(Ok(file)) => {
			tracing::info!(order, round, provider = %account, bytes = file.len(), "chunk served");
			bytes(StatusCode::OK, file.into())
		},
		Ok(Err(e)) => job_error(&e),
		Err(e) => internal(e),
	}
}

/// Query of a `PUT`.
#[derive(serde::Deserialize)]
pub struct PutQuery {
	/// For `weights`: the stored model whose tensors the file must have.
	pub model: Option<String>,
}

async fn put_artifact(
	State(state): State<ServeState>,
	UrlPath((kind, hash)): UrlPath<(String, String)>,
	Query(query): Query<PutQuery>,
	body: Bytes,
) -> Response {
	let (kind, hash) = match address(&kind, &hash) {
		Ok(a) => a,
		Err(r) => return refused(r),
	};
	if kind == Kind::Report {
		return text(StatusCode::METHOD_NOT_ALLOWED, "reports are written by the verifier");
	}
	if body.len() as u64 > state.0.max_artifact_bytes {
		return text(
			StatusCode::PAYLOAD_TOO_LARGE,
			format!("above the limit of {} bytes", state.0.max_artifact_bytes),
		);
	}
	let model = match query.model.as_deref().map(parse_hash) {
		None => None,
		Some(Some(m)) => Some(m),
		Some(None) => {
			return text(StatusCode::BAD_REQUEST, "?model= must be 64 lowercase hex digits")
		}
	};
	let s = state.clone();
	let stored = tokio::task::spawn_blocking(move || {
		store_checked(s.store(), kind, &hash, &body, model, s.0.max_artifact_bytes)
	})
	.await;
	match stored {
		Ok(Ok(Ok(Put::Created))) => text(StatusCode::CREATED, "stored"),
		Ok(Ok(Ok(Put::Unchanged))) => text(StatusCode::OK, "already stored"),
		Ok(Ok(Err(why))) => text(StatusCode::BAD_REQUEST, why),
		Ok(Err(e)) => internal(e),
		Err(e) => internal(e),
	}
}

/// Checks `body` against `(kind, hash)` and stores it: `Ok(Err(reason))` when the body is
/// refused, `Err` on a store failure.
fn store_checked(
	store: &Store,
	kind: Kind,
	hash: &Hash,
	body: &[u8],
	model: Option<Hash>,
	max_bytes: u64,
) -> Result<std::result::Result<Put, String>> {
	match kind {
		Kind::Weights => {
			let model = match model {
				None => None,
				Some(m) => match store.get(Kind::Model, &m)? {
					Some(json) => match parse_model(&json, &m) {
						Ok(spec) => Some(spec),
						Err(why) => return Ok(Err(why)),
					},
					None => return Ok(Err(format!("model {} is not stored", hex::encode(m)))),
				},
			};
			// Checked from a temporary file (libtorch reads safetensors from files), which
			// then becomes the artifact.
			let temp = store.temp_path();
			std::fs::write(&temp, body).map_err(|e| Error::io(&temp, e))?;
			match check_weights_file(&temp, hash, model.as_ref()) {
				Ok(()) => Ok(Ok(store.put_file(kind, hash, &temp)?)),
				Err(why) => {
					let _ = std::fs::remove_file(&temp);
					Ok(Err(why))
				}
			}
		}
		_ => match check_artifact(kind, hash, body, max_bytes) {
			Ok(()) => Ok(Ok(store.put(kind, hash, body)?)),
			Err(why) => Ok(Err(why)),
		},
	}
}

fn parse_model(json: &[u8], hash: &Hash) -> std::result::Result<ModelSpec, String> {
	let spec: ModelSpec =
		serde_json::from_slice(json).map_err(|e| format!("not a model spec: {e}"))?;
	if spec.hash() != *hash {
		return Err(format!(
			"the model spec hashes to {}, not to its address",
			hex::encode(spec.hash())
		));
	}
	spec.build().map_err(|e| format!("the model cannot be built: {e}"))?;
	Ok(spec)
}

/// Checks a safetensors weights file against its address (and against `model`'s tensors when
/// given). Needs libtorch.
pub fn check_weights_file(
	path: &Path,
	hash: &Hash,
	model: Option<&ModelSpec>,
) -> std::result::Result<(), String> {
	let params: Params = match model {
		Some(spec) => {
			let built = spec.build().map_err(|e| e.to_string())?;
			load_weights(path, built.as_ref())
				.map_err(|e| format!("not weights of the named model: {e}"))?
		}
		None => tch::Tensor::read_safetensors(path)
			.map_err(|e| format!("not a safetensors file: {e}"))?
			.into_iter()
			.collect(),
	};
	let got = weights_hash(&params).map_err(|e| format!("not f32 weights: {e}"))?;
	if got != *hash {
		return Err(format!("the weights hash to {}, not to their address", hex::encode(got)));
	}
	Ok(())
}

/// Checks a proof bundle against its address: it hashes to it (BLAKE2b-256, the commitment's
/// `proof_hash`), unpacks within `max_bytes`, its manifest parses and names only files of the
/// bundle, and its Merkle root is the root of its checkpoint hashes.
pub fn check_proof(
	bundle_bytes: &[u8],
	hash: &Hash,
	max_bytes: u64,
) -> std::result::Result<(), String> {
	if pot_pol_core::blake2_256(bundle_bytes) != *hash {
		return Err("the proof bundle does not hash to its address".into());
	}
	let files = bundle::unpack(bundle_bytes, max_bytes).map_err(|e| e.to_string())?;
	let manifest_bytes = files
		.iter()
		.find(|(name, _)| name == bundle::MANIFEST)
		.map(|(_, b)| b)
		.ok_or("no manifest")?;
	let manifest: Manifest = serde_json::from_slice(manifest_bytes)
		.map_err(|e| format!("the manifest does not parse: {e}"))?;
	if let Some(missing) =
		manifest.checkpoints.iter().find(|c| !files.iter().any(|(name, _)| *name == c.file))
	{
		return Err(format!("checkpoint file {:?} is not in the bundle", missing.file));
	}
	let root = merkle::root(&manifest.hashes()).map_err(|e| format!("Merkle root: {e:?}"))?;
	if root != manifest.merkle_root.0 {
		return Err("the manifest's merkle_root is not the root of its checkpoint hashes".into());
	}
	Ok(())
}

/// Checks an artifact's bytes against its address, without a store: `model` and `proof`
/// directly, `weights` through a temporary file (without a model). Providers and consumers can
/// run it before uploading; `dataset`s are `DatasetPair` files. `report`s are any bytes whose BLAKE2b-256 is the address.
pub fn check_artifact(
	kind: Kind,
	hash: &Hash,
	body: &[u8],
	max_bytes: u64,
) -> std::result::Result<(), String> {
	if body.len() as u64 > max_bytes {
		return Err(format!("above the limit of {max_bytes} bytes"));
	}
	match kind {
		Kind::Model => parse_model(body, hash).map(|_| ()),
		Kind::Proof => check_proof(body, hash, max_bytes),
		Kind::Report => {
			if pot_pol_core::blake2_256(body) == *hash {
				Ok(())
			} else {
				Err("the report does not hash to its address".into())
			}
		}
		Kind::Dataset => {
			let pair = DatasetPair::decode(body).map_err(|e| e.to_string())?;
			if pair.hash() == *hash {
				Ok(())
			} else {
				Err(format!(
					"the dataset hashes to {}, not to its address",
					hex::encode(pair.hash())
				))
			}
		}
		Kind::Update => {
			if pot_pol_core::blake2_256(body) != *hash {
				return Err("the update does not hash to its address".into());
			}
			crate::compress::Sparse::decode(body, u32::MAX).map(|_| ()).map_err(|e| e.to_string())
		}
		Kind::Residual => {
			if pot_pol_core::blake2_256(body) != *hash {
				return Err("the residual does not hash to its address".into());
			}
			crate::compress::Residual::decode(body, u32::MAX).map(|_| ()).map_err(|e| e.to_string())
		}
		Kind::Weights => {
			// A file of its own (created exclusively, removed when dropped): two checks of one
			// address never share it, and no link planted in the temporary directory is
			// followed.
			let mut file = tempfile::NamedTempFile::with_prefix("pot-weights-check-")
				.map_err(|e| format!("a temporary file: {e}"))?;
			std::io::Write::write_all(&mut file, body)
				.map_err(|e| format!("a temporary file: {e}"))?;
			check_weights_file(file.path(), hash, None)
		}
	}
}

fn parse_round(order: &str, round: &str) -> std::result::Result<(u64, u32), Refusal> {
	match (order.parse::<u64>(), round.parse::<u32>()) {
		(Ok(o), Ok(r)) => Ok((o, r)),
		_ => Err((StatusCode::BAD_REQUEST, "order and round must be decimal integers".to_owned())),
	}
}

fn job_error(e: &JobError) -> Response {
	let status = match e {
		JobError::NotFound(_) => StatusCode::NOT_FOUND,
		JobError::NotYet(_) => StatusCode::CONFLICT,
		JobError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
		JobError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
	};
	text(status, e.to_string())
}

/// A finished result from memory or disk.
fn finished(state: &ServeState, order: u64, round: u32) -> Result<Option<Bytes>> {
	if let Some(Job::Done(b)) = state.jobs().get(&(order, round)) {
		return Ok(Some(b.clone()));
	}
	let Some(saved) = state.store().result(order, round)? else {
		return Ok(None);
	};
	let saved = Bytes::from(saved);
	state.jobs().insert((order, round), Job::Done(saved.clone()));
	Ok(Some(saved))
}

async fn get_result(
	State(state): State<ServeState>,
	UrlPath((order, round)): UrlPath<(String, String)>,
) -> Response {
	let (order, round) = match parse_round(&order, &round) {
		Ok(x) => x,
		Err(r) => return refused(r),
	};
	match finished(&state, order, round) {
		Ok(Some(b)) => bytes(StatusCode::OK, b),
		Ok(None) => text(StatusCode::NOT_FOUND, "no result computed"),
		Err(e) => internal(e),
	}
}

async fn post_result(
	State(state): State<ServeState>,
	UrlPath((order, round)): UrlPath<(String, String)>,
) -> Response {
	let (order, round) = match parse_round(&order, &round) {
		Ok(x) => x,
		Err(r) => return refused(r),
	};
	match finished(&state, order, round) {
		Ok(Some(b)) => return bytes(StatusCode::OK, b),
		Ok(None) => {}
		Err(e) => return internal(e),
	}
	{
		let mut jobs = state.jobs();
		match jobs.get(&(order, round)) {
			Some(Job::Running) => return text(StatusCode::ACCEPTED, "verifying"),
			Some(Job::Failed(e)) => {
				// Reported once; the next call retries.
				let response = job_error(e);
				jobs.remove(&(order, round));
				return response;
			}
			Some(Job::Done(b)) => return bytes(StatusCode::OK, b.clone()),
			None => {
				jobs.insert((order, round), Job::Running);
			}
		}
	}
	let inputs = match state.0.source.read(order, round).await {
		Ok(inputs) => inputs,
		Err(e) => {
			state.jobs().remove(&(order, round));
			return job_error(&e);
		}
	};
	tracing::info!(order, round, commitments = inputs.commitments.len(), "verification started");
	let job_state = state.clone();
	tokio::spawn(async move {
		let s = job_state.clone();
		let outcome = tokio::task::spawn_blocking(move || {
			let mut outcome = verify_round(s.store(), &inputs, &s.0.verify)?;
			match s.0.malice {
				Some(Malice::Censor(censor)) => censor_outcome(s.store(), &mut outcome, censor)?,
				Some(Malice::AcceptAll) => accept_all(&mut outcome),
				None => {}
			}
			let encoded = crate::round_verifier::encode_result(&outcome);
			s.store().put_result(order, round, &encoded)?;
			Ok::<_, JobError>(encoded)
		})
		.await;
		let job = match outcome {
			Ok(Ok(encoded)) => Job::Done(Bytes::from(encoded)),
			Ok(Err(e)) => {
				tracing::warn!(order, round, error = %e, "verification failed");
				Job::Failed(e)
			}
			Err(e) => Job::Failed(JobError::Failed(format!("verification job: {e}"))),
		};
		job_state.jobs().insert((order, round), job);
	});
	text(StatusCode::ACCEPTED, "verification started")
}

/// Starts (first call) or reports the verdict job of challenge `id`.
async fn post_verdict(State(state): State<ServeState>, UrlPath(id): UrlPath<String>) -> Response {
	let Ok(id) = id.parse::<u64>() else {
		return text(StatusCode::BAD_REQUEST, "the challenge id must be a decimal integer");
	};
	{
		let mut verdicts = state.verdicts();
		match verdicts.get(&id) {
			Some(Job::Running) => return text(StatusCode::ACCEPTED, "re-executing"),
			Some(Job::Done(b)) => return bytes(StatusCode::OK, b.clone()),
			Some(Job::Failed(e)) => {
				// Reported once; the next call retries.
				let response = job_error(e);
				verdicts.remove(&id);
				return response;
			},
			None => {
				verdicts.insert(id, Job::Running);
			},
		}
	}
	let inputs = match state.0.source.challenge(id).await {
		Ok(inputs) => inputs,
		Err(e) => {
			state.verdicts().remove(&id);
			return job_error(&e);
		},
	};
	tracing::info!(id, claim = ?inputs.claim, target = inputs.target, segment = inputs.segment, "challenge verdict started");
	let job_state = state.clone();
	tokio::spawn(async move {
		let s = job_state.clone();
		let outcome = async move {
			fetch_missing(s.store(), &inputs, s.0.max_artifact_bytes, s.0.signer.as_ref()).await?;
			tokio::task::spawn_blocking(move || judge(s.store(), &inputs, &s.0.verify))
				.await
				.map_err(|e| JobError::Failed(format!("verdict job: {e}")))?
		}
		.await;
		let job = match outcome {
			Ok(upheld) => {
				tracing::info!(id, upheld, "challenge verdict");
				// SCALE `bool`.
				Job::Done(Bytes::from(vec![u8::from(upheld)]))
			},
			Err(e) => {
				tracing::warn!(id, error = %e, "challenge verdict failed");
				Job::Failed(e)
			},
		};
		job_state.verdicts().insert(id, job);
	});
	text(StatusCode::ACCEPTED, "re-executing")
}

/// Turns every rejection into an acceptance measured as no improvement (the announced weights
/// stay as verified).
fn accept_all(outcome: &mut crate::round_verifier::RoundOutcome) {
	use crate::round_verifier::VerdictOut;
	for (position, verdict) in &mut outcome.verdicts {
		if matches!(verdict, VerdictOut::Rejected { .. }) {
			tracing::warn!(position, "accepting a submission that failed verification");
			*verdict = VerdictOut::Accepted { improvement: 0 };
		}
	}
}

/// Turns the verdict at `censor.position` into a rejection at `censor.segment` with a made-up
/// reason as evidence (the announced weights stay as verified).
fn censor_outcome(
	store: &Store,
	outcome: &mut crate::round_verifier::RoundOutcome,
	censor: Censor,
) -> std::result::Result<(), JobError> {
	use crate::round_verifier::VerdictOut;
	for (position, verdict) in &mut outcome.verdicts {
		if *position == censor.position {
			let reason = format!("censored position {position} (pot-malus)");
			let evidence = pot_pol_core::blake2_256(reason.as_bytes());
			store.put(Kind::Report, &evidence, reason.as_bytes())?;
			tracing::warn!(position, segment = censor.segment, "censoring a submission");
			*verdict = VerdictOut::Rejected { segment: censor.segment, distance: u64::MAX, evidence };
		}
	}
	Ok(())
}
