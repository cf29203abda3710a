//! The validator's round verification job (PROTOCOL.md step 5), behind
//! `POST /v1/rounds/{order}/{round}/result` of `pot-trainer serve`.
//!
//! Two halves:
//! - [`verify_round`]: the whole job, given plain inputs ([`RoundInputs`]: the order's task,
//!   the round, the commitments, the verification seed) and the [`Store`] holding the artifacts.
//!   No chain: tests drive it directly. Blocking (libtorch); run it on a blocking thread.
//! - [`ChainSource`]: reads those inputs from a node through `pot-client` (`Pol.Runs`,
//!   `Pol.Commitments`, `Market.Orders`, `System.BlockHash`) at the best block. Kept thin.
//!
//! Per commitment (ascending position): the proof bundle stored under the commitment's
//! `proof_hash` is unpacked; a missing or malformed bundle, or a manifest that disagrees
//! with the commitment (steps, checkpoint count, final weights = `update_hash`, initial weights
//! = the round's weights, order, round, position) is rejected at segment 0 with the largest
//! distance and evidence = BLAKE2b-256 of a short reason (stored as a `report` artifact).
//! Otherwise [`verify_with`] re-executes it with the verification seed; a failed report is
//! rejected at its first failing segment (distance = that segment's l2, or the largest distance
//! when no segment was re-executed) with evidence = BLAKE2b-256 of the JSON report, stored as a
//! `report` artifact. Under a top-k `UpdateEncoding` an accepted proof's commitment must name
//! the proof's payload, uploaded as an `update` artifact ([`committed_update`]); otherwise it is
//! rejected like a manifest that disagrees. Each acceptance carries the update's held-out loss
//! improvement on its own ([`score::score_update`]), by which a public run weighs its reward.
//! The accepted updates (round weights − last
//! checkpoint's weights, or the decoded payloads) are combined with the order's rule and
//! applied with server learning rate 1 ([`aggregate`]); with
//! none accepted the round's weights carry over. The new weights are stored as a `weights`
//! artifact and evaluated on the held-out split of the order's dataset ([`stored_dataset`]).
//!
//! The verification seed is the pallet's (`Pallet::verification_seed`):
//! `blake2_256(SCALE(("pot/pol/verification-seed/v1", block_hash(commit_deadline))))`, so the
//! verifier selects the same segments that challengers derive from the `RoundVerified` event.

use crate::{
	aggregate::{self, Rule},
	compress::{self, Sparse, UpdateEncoding},
	challenge_verifier::ChallengeInputs,
	bundle,
	checkpoint::{load_weights, save_weights, weights_hash, Checkpoint},
	data::{self, DatasetPair, Samples},
	error::Error,
	model::{Model, ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind},
	proof::{entry_path, Manifest},
	score,
	store::{Kind, Store},
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::evaluate,
	verify::{verify_with, Report},
	work::AtBlock,
};
use pot_client::{
	api::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_pot_pol::types as chain,
			pot_primitives::{ids::OrderId, task as chain_task},
			sp_arithmetic::{
				fixed_point::{FixedI64, FixedU64},
				per_things::Perbill,
			},
		},
	},
	subxt::{self, ext::codec::Encode, utils::H256},
	Chain,
};
use pot_pol_core::{blake2_256, Hash};
use std::{future::Future, path::PathBuf, pin::Pin, sync::Mutex};

/// Domain of the pallet's verification seed.
pub const VERIFICATION_SEED_DOMAIN: &[u8] = b"pot/pol/verification-seed/v1";

/// Why a round cannot be verified (yet); each maps to one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
	/// No such run, or the round is not the run's current round (404).
	#[error("{0}")]
	NotFound(String),
	/// The commit window is still open (409).
	#[error("{0}")]
	NotYet(String),
	/// Something the validator itself needs is missing: the node, the model, the round's
	/// weights (503; retrying may help).
	#[error("{0}")]
	Unavailable(String),
	/// The job failed (500): unsupported task, unknown dataset, internal error.
	#[error("{0}")]
	Failed(String),
}

impl From<Error> for JobError {
	fn from(e: Error) -> Self {
		JobError::Failed(e.to_string())
	}
}

/// The on-chain tolerance class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToleranceClass {
	/// Bitwise exact (the only one supported).
	BitwiseExact,
	/// A measured class (not supported yet).
	Measured(u8),
}

/// The on-chain aggregation rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregationRule {
	/// Coordinate-wise mean.
	Mean,
	/// Coordinate-wise median.
	CoordinateMedian,
	/// Trimmed mean, percent dropped at each end.
	TrimmedMean(u8),
	/// Multi-Krum, percent of the updates assumed Byzantine.
	MultiKrum(u8),
	/// Centered clipping (radius: the median distance), iterations.
	CenteredClipping(u8),
}

impl Default for AggregationRule {
	/// [`Rule::default`]: Multi-Krum assuming 40% Byzantine updates.
	fn default() -> Self {
		Self::MultiKrum(40)
	}
}

impl AggregationRule {
	/// The trainer's rule.
	pub fn rule(self) -> Rule {
		match self {
			AggregationRule::Mean => Rule::Mean,
			AggregationRule::CoordinateMedian => Rule::CoordinateMedian,
			AggregationRule::TrimmedMean(trim_per_side) => Rule::TrimmedMean { trim_per_side },
			AggregationRule::MultiKrum(byzantine_percent) => {
				Rule::MultiKrum { byzantine_percent, selected: 0 }
			},
			AggregationRule::CenteredClipping(iterations) => {
				Rule::CenteredClipping { radius: 0, iterations: u32::from(iterations) }
			},
		}
	}
}

impl std::str::FromStr for AggregationRule {
	type Err = String;

	/// `mean`, `median`, `trimmed-mean:P`, `multi-krum:P` (P percent, below 50) or
	/// `centered-clipping:I` (1 to 16 iterations): the ranges the market accepts.
	fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
		let (name, value) = match s.split_once(':') {
			Some((name, value)) => (name, Some(value)),
			None => (s, None),
		};
		let number = |range: std::ops::RangeInclusive<u8>, what: &str| -> std::result::Result<u8, String> {
			let value = value.ok_or_else(|| format!("{name} needs :{what}"))?;
			value
				.parse::<u8>()
				.ok()
				.filter(|v| range.contains(v))
				.ok_or_else(|| format!("{name}: {what} must be {} to {}, got {value:?}", range.start(), range.end()))
		};
		match name {
			"mean" | "median" if value.is_some() => Err(format!("{name} takes no parameter")),
			"mean" => Ok(Self::Mean),
			"median" => Ok(Self::CoordinateMedian),
			"trimmed-mean" => Ok(Self::TrimmedMean(number(0..=49, "percent")?)),
			"multi-krum" => Ok(Self::MultiKrum(number(0..=49, "percent")?)),
			"centered-clipping" => Ok(Self::CenteredClipping(number(1..=16, "iterations")?)),
			_ => Err(format!(
				"unknown rule {name:?}: mean, median, trimmed-mean:P, multi-krum:P or centered-clipping:I"
			)),
		}
	}
}

/// The order's `TaskSpec`, in plain types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskParams {
	/// Model spec hash (`ModelSpec::hash`).
	pub model: Hash,
	/// θ_0.
	pub initial_weights: Hash,
	/// Dataset hash.
	pub dataset: Hash,
	/// Samples of the dataset.
	pub samples: u64,
	/// Optimizer.
	pub optimizer: OptimizerKind,
	/// Learning rate, 9-decimal fixed point (`FixedU64`'s inner value).
	pub learning_rate: u64,
	/// Samples per step.
	pub batch_size: u32,
	/// Steps per round (H).
	pub local_steps: u32,
	/// Checkpoint interval (k).
	pub checkpoint_interval: u32,
	/// Segments re-executed (Q).
	pub verification_samples: u32,
	/// Tolerance class.
	pub tolerance: ToleranceClass,
	/// Aggregation rule.
	pub aggregation: AggregationRule,
	/// What commitments name as their update.
	pub update: UpdateEncoding,
}

/// A provider's commitment, in plain types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitmentInfo {
	/// Hash of the provider's final weights.
	pub update_hash: Hash,
	/// Merkle root of the checkpoint hashes.
	pub checkpoint_root: Hash,
	/// BLAKE2b-256 of the proof bundle: its address.
	pub proof_hash: Hash,
	/// Checkpoints under the root.
	pub checkpoint_count: u32,
	/// Steps done.
	pub steps_done: u32,
	/// The error-feedback residual the update was compressed with ([`compress::NO_RESIDUAL`]:
	/// none).
	pub residual_in: Hash,
	/// The residual the update leaves ([`compress::NO_RESIDUAL`] under a dense encoding).
	pub residual_out: Hash,
}

/// Everything the job needs from the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundInputs {
	/// Order id.
	pub order: u64,
	/// Round.
	pub round: u32,
	/// The round's seed (data assignment and order).
	pub round_seed: Hash,
	/// The round's starting weights θ_r.
	pub round_weights: Hash,
	/// Capacities of every participant, by position.
	pub capacities: Vec<u64>,
	/// The commitments of the round: (position, commitment), any order.
	pub commitments: Vec<(u32, CommitmentInfo)>,
	/// The verification seed (selects the re-executed segments).
	pub verification_seed: Hash,
	/// The order's task.
	pub task: TaskParams,
}

/// A verdict in plain types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictOut {
	/// Accepted; `improvement` is what the update alone lowers the held-out loss by
	/// ([`crate::score::improvement_fixed`]: `FixedI64` inner value, negative when it raises it).
	Accepted {
		/// Measured held-out loss improvement.
		improvement: i64,
	},
	/// Rejected at `segment`, with `distance` (9-decimal fixed point) and `evidence`.
	Rejected {
		/// Failing segment.
		segment: u32,
		/// `FixedU64` inner value of the distance.
		distance: u64,
		/// Hash of the stored report (or reason).
		evidence: Hash,
	},
}

/// What the job produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundOutcome {
	/// One verdict per commitment, ascending position.
	pub verdicts: Vec<(u32, VerdictOut)>,
	/// Hash of θ_{r+1} (stored as a `weights` artifact).
	pub new_weights: Hash,
	/// Held-out loss, `FixedU64` inner value.
	pub loss: u64,
	/// Held-out accuracy, parts per billion (`Perbill`).
	pub accuracy: u32,
}

/// Settings of the job.
#[derive(Clone, Copy, Debug)]
pub struct VerifyConfig {
	/// Largest bundle unpacked.
	pub max_artifact_bytes: u64,
	/// [`verify_with`]'s `max_miss_ppm`.
	pub max_miss_ppm: u32,
}

impl Default for VerifyConfig {
	fn default() -> Self {
		Self {
			max_artifact_bytes: 64 << 20,
			max_miss_ppm: pot_pol_core::select::DEFAULT_MAX_MISS_PPM,
		}
	}
}

/// A value as a 9-decimal fixed-point integer, saturating (NaN and +∞ → max, negative → 0).
pub fn fixed9(x: f64) -> u64 {
	if x.is_nan() {
		return u64::MAX;
	}
	// `as` saturates.
	(x * 1e9).round() as u64
}

/// A share in [0, 1] as parts per billion (clamped; NaN → 0).
pub fn perbill(x: f64) -> u32 {
	if x.is_nan() {
		return 0;
	}
	(x * 1e9).round().clamp(0.0, 1e9) as u32
}

/// The pallet's verification seed from the hash of the commit deadline's block.
pub fn verification_seed(commit_deadline_block_hash: &Hash) -> Hash {
	blake2_256(&(VERIFICATION_SEED_DOMAIN, commit_deadline_block_hash).encode())
}

/// libtorch's thread count is process-wide and [`verify_with`] changes it: one job at a time.
pub(crate) static JOB_LOCK: Mutex<()> = Mutex::new(());

/// Removes a directory when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl Drop for TempDir {
	fn drop(&mut self) {
		let _ = std::fs::remove_dir_all(&self.0);
	}
}

pub(crate) fn copy_params(p: &Params) -> Result<Params, JobError> {
	p.iter()
		.map(|(n, t)| Ok((n.clone(), t.f_detach()?.f_detach_copy()?.set_requires_grad(true))))
		.collect::<Result<Params, tch::TchError>>()
		.map_err(|e| JobError::Failed(format!("copying weights: {e}")))
}

/// The model spec stored under `hash`.
pub fn stored_model(store: &Store, hash: &Hash) -> Result<ModelSpec, JobError> {
	let bytes = store.get(Kind::Model, hash)?.ok_or_else(|| {
		JobError::Unavailable(format!("model {} is not stored", hex::encode(hash)))
	})?;
	let spec: ModelSpec = serde_json::from_slice(&bytes)
		.map_err(|e| JobError::Failed(format!("stored model {}: {e}", hex::encode(hash))))?;
	if spec.hash() != *hash {
		return Err(JobError::Failed(format!(
			"stored model {} has another hash",
			hex::encode(hash)
		)));
	}
	Ok(spec)
}

/// The weights stored under `hash`, for `model`.
pub fn stored_weights(store: &Store, model: &dyn Model, hash: &Hash) -> Result<Params, JobError> {
	let path = store.path(Kind::Weights, hash);
	if !path.is_file() {
		return Err(JobError::Unavailable(format!("weights {} are not stored", hex::encode(hash))));
	}
	let params = load_weights(&path, model)?;
	if weights_hash(&params)? != *hash {
		return Err(JobError::Failed(format!(
			"stored weights {} have another hash",
			hex::encode(hash)
		)));
	}
	Ok(params)
}

/// The provider-independent part of every provider's task.
pub(crate) fn base_task(
	inputs: &RoundInputs,
	model: ModelSpec,
	train: &dyn Samples,
) -> Result<TrainTask, JobError> {
	let t = &inputs.task;
	let tolerance = match t.tolerance {
		ToleranceClass::BitwiseExact => Tolerance::BitwiseExact,
		ToleranceClass::Measured(n) => {
			return Err(JobError::Failed(format!("unsupported tolerance class Measured({n})")))
		}
	};
	if train.dataset_hash() != t.dataset {
		return Err(JobError::Failed(format!("unknown dataset {}", hex::encode(t.dataset))));
	}
	let samples =
		u32::try_from(t.samples).ok().filter(|s| u64::from(*s) == train.total()).ok_or_else(|| {
			JobError::Failed(format!(
				"the task names {} samples, the dataset has {}",
				t.samples,
				train.total()
			))
		})?;
	let task = TrainTask {
		model_hash: HexHash(t.model),
		model,
		initial_weights: HexHash(inputs.round_weights),
		dataset: HexHash(t.dataset),
		samples,
		optimizer: OptimizerConfig::new(t.optimizer, t.learning_rate),
		batch_size: t.batch_size,
		local_steps: t.local_steps,
		checkpoint_interval: t.checkpoint_interval,
		verification_samples: t.verification_samples,
		tolerance,
		round: RoundContext {
			order: inputs.order,
			round: inputs.round,
			seed: HexHash(inputs.round_seed),
			capacities: inputs.capacities.clone(),
			provider: 0,
		},
	};
	task.validate().map_err(|e| JobError::Failed(format!("the order's task: {e}")))?;
	Ok(task)
}

/// One provider's verification.
enum Checked {
	/// Accepted, with the update the aggregate combines.
	Accepted(tch::Tensor),
	Rejected(VerdictOut),
}

/// Stores `bytes` as a `report` artifact and returns its address.
fn store_evidence(store: &Store, bytes: &[u8]) -> Result<Hash, JobError> {
	let hash = blake2_256(bytes);
	store.put(Kind::Report, &hash, bytes)?;
	Ok(hash)
}

fn reject_for(
	store: &Store,
	inputs: &RoundInputs,
	position: u32,
	why: &str,
) -> Result<Checked, JobError> {
	let reason =
		format!("order {} round {} position {position}: {why}", inputs.order, inputs.round);
	tracing::info!(%reason, "submission rejected");
	let evidence = store_evidence(store, reason.as_bytes())?;
	Ok(Checked::Rejected(VerdictOut::Rejected { segment: 0, distance: u64::MAX, evidence }))
}

/// Why `m` is not the manifest of commitment `c` at `position` of the round, if it is not.
pub(crate) fn manifest_mismatch(
	m: &Manifest,
	inputs: &RoundInputs,
	position: u32,
	c: &CommitmentInfo,
) -> Option<String> {
	let checks = [
		(m.steps == u64::from(c.steps_done), "steps differ from the commitment's steps_done"),
		(
			m.checkpoints.len() == c.checkpoint_count as usize,
			"checkpoint count differs from the commitment's",
		),
		(
			inputs.task.update != UpdateEncoding::Dense || m.final_weights.0 == c.update_hash,
			"final weights differ from the commitment's update_hash",
		),
		(
			m.initial_weights.0 == inputs.round_weights,
			"initial weights are not the round's weights",
		),
		(m.merkle_root.0 == c.checkpoint_root, "Merkle root differs from the commitment's"),
		(m.order == inputs.order, "order differs"),
		(m.round == inputs.round, "round differs"),
		(m.provider == position, "provider position differs"),
	];
	checks.iter().find(|(ok, _)| !ok).map(|(_, why)| format!("manifest inconsistent: {why}"))
}

#[allow(clippy::too_many_arguments)]
fn check_provider(
	store: &Store,
	config: &VerifyConfig,
	inputs: &RoundInputs,
	base: &TrainTask,
	model: &dyn Model,
	train: &dyn Samples,
	round_params: &Params,
	position: u32,
	c: &CommitmentInfo,
) -> Result<Checked, JobError> {
	let Some(bytes) = store.get(Kind::Proof, &c.proof_hash)? else {
		return reject_for(
			store,
			inputs,
			position,
			&format!("no proof stored under proof hash {}", hex::encode(c.proof_hash)),
		);
	};
	let dir = TempDir(store.temp_path());
	std::fs::create_dir(&dir.0).map_err(|e| Error::io(&dir.0, e))?;
	if let Err(e) = bundle::unpack_into(&bytes, config.max_artifact_bytes, &dir.0) {
		return reject_for(store, inputs, position, &format!("proof bundle: {e}"));
	}
	let manifest = match Manifest::read(&dir.0) {
		Ok(m) => m,
		Err(e) => return reject_for(store, inputs, position, &format!("proof manifest: {e}")),
	};
	if let Some(why) = manifest_mismatch(&manifest, inputs, position, c) {
		return reject_for(store, inputs, position, &why);
	}
	let mut task = base.clone();
	task.local_steps = c.steps_done;
	task.round.provider = position;
	if let Err(e) = task.validate() {
		return reject_for(store, inputs, position, &format!("commitment not verifiable: {e}"));
	}
	let report = verify_with(
		&task,
		train,
		copy_params(round_params)?,
		&dir.0,
		&inputs.verification_seed,
		Some(&c.checkpoint_root),
		config.max_miss_ppm,
	);
	let report = match report {
		Ok(r) => r,
		// The task, dataset and round weights were checked before: what is left is the proof's.
		Err(e) => return reject_for(store, inputs, position, &format!("verifier error: {e}")),
	};
	if !report.accepted {
		return Ok(Checked::Rejected(rejection(store, &report)?));
	}
	let last = manifest
		.checkpoints
		.last()
		.ok_or_else(|| JobError::Failed("accepted proof without checkpoints".into()))?;
	let checkpoint = Checkpoint::load(&entry_path(&dir.0, last)?, model, &task.optimizer)?;
	match committed_update(store, inputs.task.update, round_params, &checkpoint.params, c)? {
		Ok(update) => Ok(Checked::Accepted(update)),
		Err(why) => reject_for(store, inputs, position, &why),
	}
}

/// The update a verified proof ending at `last` contributes, or why its commitment does not
/// name it. Dense: θ_r − θ_H (the manifest's final weights were checked against `update_hash`),
/// with no residual ([`dense_mismatch`]). Top-k: the payload stored under `update_hash` (the
/// provider uploads it), which must be byte for byte [`committed_payload`].
pub(crate) fn committed_update(
	store: &Store,
	encoding: UpdateEncoding,
	round_params: &Params,
	last: &Params,
	c: &CommitmentInfo,
) -> Result<Result<tch::Tensor, String>, JobError> {
	let UpdateEncoding::TopK { kept_ppb } = encoding else {
		if let Some(why) = dense_mismatch(c) {
			return Ok(Err(why));
		}
		return Ok(Ok(aggregate::update(round_params, last)?));
	};
	let Some(bytes) = store.get(Kind::Update, &c.update_hash)? else {
		return Ok(Err(format!("no update stored under update_hash {}", hex::encode(c.update_hash))));
	};
	let payload = match committed_payload(store, kept_ppb, round_params, last, c)? {
		Ok(payload) => payload,
		Err(why) => return Ok(Err(why)),
	};
	if payload.encode() != bytes {
		return Ok(Err("the update stored under update_hash is not the committed payload".into()));
	}
	Ok(Ok(payload.to_dense()?))
}

/// Why commitment `c` under a dense encoding is not one, if it is not: it names a residual.
pub(crate) fn dense_mismatch(c: &CommitmentInfo) -> Option<String> {
	(c.residual_in != compress::NO_RESIDUAL || c.residual_out != compress::NO_RESIDUAL)
		.then(|| "a dense update carries no error-feedback residual".into())
}

/// The top-k payload (share `kept_ppb`) of a verified proof ending at `last`, started from
/// `round_params` and compressed with the residual stored under `residual_in`
/// ([`compress::payload`]), or why commitment `c` does not name it: its `update_hash` must be
/// the payload's hash and its `residual_out` the hash of the residual the payload leaves.
pub(crate) fn committed_payload(
	store: &Store,
	kept_ppb: u32,
	round_params: &Params,
	last: &Params,
	c: &CommitmentInfo,
) -> Result<Result<Sparse, String>, JobError> {
	let residual_in = match stored_residual(store, &c.residual_in, round_params)? {
		Ok(residual) => residual,
		Err(why) => return Ok(Err(why)),
	};
	let (payload, residual_out) =
		compress::payload(round_params, last, kept_ppb, residual_in.as_ref())?;
	if payload.hash() != c.update_hash {
		return Ok(Err("the committed update is not the top-k payload of the proof's update \
			plus its residual"
			.into()));
	}
	if residual_out.hash()? != c.residual_out {
		return Ok(Err("the committed residual_out is not the residual the update leaves".into()));
	}
	Ok(Ok(payload))
}

/// The error-feedback residual stored under `hash` for a model with `round_params`'
/// coordinates (`None` for [`compress::NO_RESIDUAL`]), or why there is none.
pub(crate) fn stored_residual(
	store: &Store,
	hash: &Hash,
	round_params: &Params,
) -> Result<Result<Option<compress::Residual>, String>, JobError> {
	if *hash == compress::NO_RESIDUAL {
		return Ok(Ok(None));
	}
	let Some(bytes) = store.get(Kind::Residual, hash)? else {
		return Ok(Err(format!("no residual stored under residual_in {}", hex::encode(hash))));
	};
	let dim = aggregate::coordinate_count(round_params);
	let residual = u32::try_from(dim)
		.map_err(|_| JobError::Failed("the model has too many parameters".into()))
		.map(|dim| compress::Residual::decode(&bytes, dim))?;
	Ok(match residual {
		Ok(r) if usize::try_from(r.dim()).ok() == Some(dim) => Ok(Some(r)),
		Ok(r) => Err(format!("the residual_in has {} coordinates, the model {dim}", r.dim())),
		Err(e) => Err(format!("the residual_in: {e}")),
	})
}

/// The verdict of a failed report; stores the report.
fn rejection(store: &Store, report: &Report) -> Result<VerdictOut, JobError> {
	let json = serde_json::to_vec(report).map_err(|e| JobError::Failed(format!("report: {e}")))?;
	let evidence = store_evidence(store, &json)?;
	let first_failing = report.segments.iter().filter(|s| !s.accepted).min_by_key(|s| s.index);
	let (segment, distance) = match first_failing {
		Some(s) => (s.index, fixed9(s.l2)),
		None => (0, u64::MAX),
	};
	tracing::info!(failures = ?report.failures, segment, "submission rejected");
	Ok(VerdictOut::Rejected { segment, distance, evidence })
}

/// θ_{r+1}: the `accepted` updates (flat, as [`committed_update`] gives them) combined with
/// `rule` and applied to `round_params` with server learning rate 1; with none accepted, the
/// round's weights carry over.
pub(crate) fn aggregated(
	round_params: &Params,
	updates: &[tch::Tensor],
	rule: AggregationRule,
) -> Result<Params, JobError> {
	if updates.is_empty() {
		return copy_params(round_params);
	}
	let combined = aggregate::aggregate(&rule.rule(), updates)?;
	Ok(aggregate::apply_update(round_params, &combined, 1.0)?)
}

/// Runs the verification job of one round (blocking: libtorch). Fails only for reasons that
/// are not a provider's: the validator's missing artifacts, an unsupported task, an internal
/// error; every provider-side problem becomes that provider's rejection.
pub fn verify_round(
	store: &Store,
	inputs: &RoundInputs,
	config: &VerifyConfig,
) -> Result<RoundOutcome, JobError> {
	let _one_at_a_time = JOB_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
	let spec = stored_model(store, &inputs.task.model)?;
	let model_box = spec.build()?;
	let model: &dyn Model = model_box.as_ref();
	let pair = stored_dataset(store, &inputs.task.dataset)?;
	let base = base_task(inputs, spec, &pair)?;
	let round_params = stored_weights(store, model, &inputs.round_weights)?;

	let mut commitments = inputs.commitments.clone();
	commitments.sort_by_key(|(p, _)| *p);
	commitments.dedup_by_key(|(p, _)| *p);
	let mut verdicts = Vec::new();
	let mut accepted = Vec::new();
	// Evaluates θ_r once, at the first acceptance.
	let mut scorer: Option<score::Scorer> = None;
	for (position, c) in &commitments {
		let checked = check_provider(
			store,
			config,
			inputs,
			&base,
			model,
			&pair,
			&round_params,
			*position,
			c,
		)?;
		match checked {
			Checked::Accepted(update) => {
				let scorer = match scorer {
					Some(ref scorer) => scorer,
					None => scorer.insert(score::Scorer::new(model, &round_params, &pair.held_out)?),
				};
				let score = scorer.score(&update)?;
				let improvement = score::improvement_fixed(&score);
				tracing::info!(position, improvement = score.improvement(), "submission accepted");
				accepted.push(update);
				verdicts.push((*position, VerdictOut::Accepted { improvement }));
			}
			Checked::Rejected(v) => verdicts.push((*position, v)),
		}
	}

	let new_params = aggregated(&round_params, &accepted, inputs.task.aggregation)?;
	let new_weights = weights_hash(&new_params)?;
	let temp = store.temp_path();
	save_weights(&new_params, &temp)?;
	store.put_file(Kind::Weights, &new_weights, &temp)?;
	let (loss, accuracy) = evaluate(model, &new_params, &pair.held_out)?;
	tracing::info!(
		order = inputs.order,
		round = inputs.round,
		accepted = accepted.len(),
		loss,
		accuracy,
		new_weights = %hex::encode(new_weights),
		"round verified"
	);
	Ok(RoundOutcome { verdicts, new_weights, loss: fixed9(loss), accuracy: perbill(accuracy) })
}

/// The pallet's `RoundResult` type, as generated from the metadata.
pub type ChainRoundResult = chain::RoundResult<BoundedVec<(u32, chain::Verdict)>>;

/// The outcome as the pallet's `RoundResult` (generated types).
pub fn to_chain(outcome: &RoundOutcome) -> ChainRoundResult {
	let verdicts = outcome
		.verdicts
		.iter()
		.map(|(p, v)| {
			let v = match *v {
				VerdictOut::Accepted { improvement } => {
					chain::Verdict::Accepted { improvement: FixedI64(improvement) }
				}
				VerdictOut::Rejected { segment, distance, evidence } => {
					chain::Verdict::Rejected(chain::Rejection {
						segment,
						distance: FixedU64(distance),
						evidence: H256(evidence),
					})
				}
			};
			(*p, v)
		})
		.collect();
	chain::RoundResult {
		verdicts: BoundedVec(verdicts),
		new_weights: H256(outcome.new_weights),
		eval: chain::EvalMetrics {
			loss: FixedU64(outcome.loss),
			accuracy: Perbill(outcome.accuracy),
		},
	}
}

/// SCALE encoding of the outcome as the pallet's `RoundResult` (the 200 body).
pub fn encode_result(outcome: &RoundOutcome) -> Vec<u8> {
	to_chain(outcome).encode()
}

/// Decodes a 200 body.
pub fn decode_result(mut bytes: &[u8]) -> Result<ChainRoundResult, String> {
	use subxt::ext::codec::Decode;
	let result = ChainRoundResult::decode(&mut bytes).map_err(|e| e.to_string())?;
	if !bytes.is_empty() {
		return Err(format!("{} trailing bytes", bytes.len()));
	}
	Ok(result)
}

/// Where the inputs of a round come from.
pub trait RoundSource: Send + Sync {
	/// The inputs of `(order, round)`, or why it cannot be verified now. A source without
	/// runs knows none.
	fn read(
		&self,
		order: u64,
		_round: u32,
	) -> Pin<Box<dyn Future<Output = Result<RoundInputs, JobError>> + Send + '_>> {
		Box::pin(async move { Err(JobError::NotFound(format!("no run for order {order}"))) })
	}

	/// The inputs of challenge `id`'s verdict, or why it cannot be judged now. A source without
	/// a chain knows no challenge.
	fn challenge(
		&self,
		id: u64,
	) -> Pin<Box<dyn Future<Output = Result<ChallengeInputs, JobError>> + Send + '_>> {
		Box::pin(async move { Err(JobError::NotFound(format!("no open challenge {id}"))) })
	}

	/// Who trains what in `(order, round)`, the run's current round, or why it is not known.
	fn assignment(
		&self,
		order: u64,
		round: u32,
	) -> Pin<Box<dyn Future<Output = Result<RoundAssignment, JobError>> + Send + '_>> {
		Box::pin(async move {
			Err(JobError::NotFound(format!("no run of order {order} in round {round}")))
		})
	}
}

/// A running round's data assignment: what the chunk endpoint needs from the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundAssignment {
	/// The round's seed.
	pub round_seed: Hash,
	/// The order's dataset (pair hash).
	pub dataset: Hash,
	/// Samples of its training split.
	pub samples: u64,
	/// The participants' accounts and capacities, by position.
	pub participants: Vec<([u8; 32], u64)>,
}

impl RoundAssignment {
	/// The sample indices of the participant `account`'s chunk, `None` when it is not one;
	/// `Err` when the assignment cannot be computed.
	pub fn chunk_of(
		&self,
		order: u64,
		round: u32,
		account: &[u8; 32],
	) -> Result<Option<Vec<u32>>, JobError> {
		let Some(position) = self.participants.iter().position(|(a, _)| a == account) else {
			return Ok(None);
		};
		let samples = u32::try_from(self.samples)
			.map_err(|_| JobError::Failed(format!("{} samples do not fit u32", self.samples)))?;
		let capacities: Vec<u64> = self.participants.iter().map(|(_, c)| *c).collect();
		let key = pot_pol_core::assign::RoundKey { order, round, seed: self.round_seed };
		pot_pol_core::assign::chunk_of(&key, samples, &capacities, position as u32)
			.map(Some)
			.map_err(|e| JobError::Failed(format!("assignment: {e:?}")))
	}
}

/// The order's data: the embedded digits pair when `hash` names it, else the `dataset`
/// artifact stored under `hash`.
pub fn stored_dataset(store: &Store, hash: &Hash) -> Result<DatasetPair, JobError> {
	if let Some(pair) = data::embedded_pair(hash)? {
		return Ok(pair);
	}
	Ok(stored_dataset_and_leaves(store, hash)?.0)
}

/// [`stored_dataset`] with the training split's leaves, computed once: for checking the stored
/// file against its address and for writing chunks ([`crate::chunk::encode_with_leaves`]).
pub fn stored_dataset_and_leaves(
	store: &Store,
	hash: &Hash,
) -> Result<(DatasetPair, Vec<Hash>), JobError> {
	if let Some(pair) = data::embedded_pair(hash)? {
		let leaves = pair.train.leaves();
		return Ok((pair, leaves));
	}
	let bytes = store.get(Kind::Dataset, hash)?.ok_or_else(|| {
		JobError::Unavailable(format!("dataset {} is not stored", hex::encode(hash)))
	})?;
	let pair = DatasetPair::decode(&bytes)
		.map_err(|e| JobError::Failed(format!("stored dataset {}: {e}", hex::encode(hash))))?;
	let leaves = pair.train.leaves();
	let train_hash = data::hash_of_leaves(&pair.train.shape(), &leaves);
	if data::pair_hash(&train_hash, &pair.held_out.hash()) != *hash {
		return Err(JobError::Failed(format!(
			"stored dataset {} has another hash",
			hex::encode(hash)
		)));
	}
	Ok((pair, leaves))
}

/// Reads round inputs from a node (at its best block), connecting lazily and reconnecting
/// after an error.
pub struct ChainSource {
	url: String,
	chain: tokio::sync::Mutex<Option<Chain>>,
}

impl ChainSource {
	/// A source for the node at `url` (`ws://…`); nothing is connected yet.
	pub fn new(url: &str) -> Self {
		Self { url: url.into(), chain: tokio::sync::Mutex::new(None) }
	}

	async fn connected(&self) -> Result<Chain, JobError> {
		let mut guard = self.chain.lock().await;
		match guard.as_ref() {
			Some(c) => Ok(c.clone()),
			None => {
				let c = Chain::connect(&self.url)
					.await
					.map_err(|e| JobError::Unavailable(e.to_string()))?;
				*guard = Some(c.clone());
				Ok(c)
			}
		}
	}

	/// Forgets the connection after a read that found the node unavailable.
	async fn after<V>(&self, read: Result<V, JobError>) -> Result<V, JobError> {
		if matches!(read, Err(JobError::Unavailable(_))) {
			*self.chain.lock().await = None;
		}
		read
	}

	async fn read_inputs(&self, order: u64, round: u32) -> Result<RoundInputs, JobError> {
		let chain = self.connected().await?;
		self.after(read_chain(&chain, order, round).await).await
	}

	async fn read_challenge_inputs(&self, id: u64) -> Result<ChallengeInputs, JobError> {
		let chain = self.connected().await?;
		self.after(crate::challenge_verifier::read_challenge(&chain, id).await).await
	}

	async fn read_assignment(&self, order: u64, round: u32) -> Result<RoundAssignment, JobError> {
		let chain = self.connected().await?;
		self.after(read_assignment(&chain, order, round).await).await
	}
}

impl RoundSource for ChainSource {
	fn read(
		&self,
		order: u64,
		round: u32,
	) -> Pin<Box<dyn Future<Output = Result<RoundInputs, JobError>> + Send + '_>> {
		Box::pin(self.read_inputs(order, round))
	}

	fn challenge(
		&self,
		id: u64,
	) -> Pin<Box<dyn Future<Output = Result<ChallengeInputs, JobError>> + Send + '_>> {
		Box::pin(self.read_challenge_inputs(id))
	}

	fn assignment(
		&self,
		order: u64,
		round: u32,
	) -> Pin<Box<dyn Future<Output = Result<RoundAssignment, JobError>> + Send + '_>> {
		Box::pin(self.read_assignment(order, round))
	}
}

/// Reads `Pol.Runs` and `Market.Orders` at the best block: the assignment of the run's current
/// round.
async fn read_assignment(chain: &Chain, order: u64, round: u32) -> Result<RoundAssignment, JobError> {
	// The best block, as providers follow it: a provider asks as soon as it sees the round.
	let (_, at) = best_block(chain).await?;
	let run = fetch_run(&at, order).await?;
	if run.round.index != round || run.closing.is_some() {
		return Err(JobError::NotFound(format!(
			"order {order} is not training round {round} (its round is {}{})",
			run.round.index,
			if run.closing.is_some() { ", closing" } else { "" }
		)));
	}
	let task = fetch_task(&at, order).await?;
	Ok(RoundAssignment {
		round_seed: run.round.seed.0,
		dataset: task.dataset.0,
		samples: task.samples,
		participants: run.participants.0.iter().map(|p| (p.provider.0, p.capacity.0)).collect(),
	})
}

/// The node's best block: its number and its state.
async fn best_block(chain: &Chain) -> Result<(u64, AtBlock), JobError> {
	let best = chain
		.client()
		.stream_best_blocks()
		.await
		.map_err(unavailable)?
		.next()
		.await
		.ok_or_else(|| unavailable("no best block"))?
		.map_err(unavailable)?;
	Ok((best.number(), best.at().await.map_err(unavailable)?))
}

/// `Pol.Runs(order)` at `at` (`NotFound` when there is no run).
async fn fetch_run(at: &AtBlock, order: u64) -> Result<chain::Run, JobError> {
	at.storage()
		.try_fetch(api::storage().pol().runs(), (OrderId(order),))
		.await
		.map_err(unavailable)?
		.ok_or_else(|| JobError::NotFound(format!("no run for order {order}")))?
		.decode()
		.map_err(unavailable)
}

/// The task of `Market.Orders(order)` at `at` (`NotFound` when the market has no such order).
async fn fetch_task(at: &AtBlock, order: u64) -> Result<chain_task::TaskSpec, JobError> {
	let market_order = at
		.storage()
		.try_fetch(api::storage().market().orders(), (OrderId(order),))
		.await
		.map_err(unavailable)?
		.ok_or_else(|| JobError::NotFound(format!("no order {order} in the market")))?
		.decode()
		.map_err(unavailable)?;
	Ok(market_order.task)
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> JobError {
	JobError::Unavailable(format!("node: {e}"))
}

/// Reads `Pol.Runs`, `Pol.Commitments`, `Market.Orders` and `System.BlockHash` at the best block.
async fn read_chain(chain: &Chain, order: u64, round: u32) -> Result<RoundInputs, JobError> {
	let (best_number, at) = best_block(chain).await?;
	let storage = at.storage();
	let run = fetch_run(&at, order).await?;
	if run.closing.is_some() {
		return Err(JobError::NotFound(format!(
			"order {order} is closing: no round is open (its last round's result is recorded, \
			 or it fails)"
		)));
	}
	if run.round.index != round {
		return Err(JobError::NotFound(format!(
			"order {order} is in round {}, not {round}",
			run.round.index
		)));
	}
	let deadline = run.round.commit_deadline;
	if best_number <= u64::from(deadline) {
		return Err(JobError::NotYet(format!(
			"the commit window of order {order} round {round} is open until block {deadline} \
			 (best block {best_number})"
		)));
	}
	let task = fetch_task(&at, order).await?;
	let block_hash = storage
		.try_fetch(api::storage().system().block_hash(), (deadline,))
		.await
		.map_err(unavailable)?
		.ok_or_else(|| unavailable(format!("no hash of block {deadline}")))?
		.decode()
		.map_err(unavailable)?;
	let mut commitments = Vec::new();
	for position in (0u32..).take(run.participants.0.len()) {
		let c = storage
			.try_fetch(api::storage().pol().commitments(), (OrderId(order), position))
			.await
			.map_err(unavailable)?;
		if let Some(c) = c {
			let c = c.decode().map_err(unavailable)?;
			commitments.push((
				position,
				CommitmentInfo {
					update_hash: c.update_hash.0,
					checkpoint_root: c.checkpoint_root.0,
					proof_hash: c.proof_hash.0,
					checkpoint_count: c.checkpoint_count,
					steps_done: c.steps_done,
					residual_in: c.residual_in.0,
					residual_out: c.residual_out.0,
				},
			));
		}
	}
	Ok(RoundInputs {
		order,
		round,
		round_seed: run.round.seed.0,
		round_weights: run.round.weights.0,
		capacities: run.participants.0.iter().map(|p| p.capacity.0).collect(),
		commitments,
		verification_seed: verification_seed(&block_hash.0),
		task: task_params(task),
	})
}

/// The order's task in plain types.
pub(crate) fn task_params(t: chain_task::TaskSpec) -> TaskParams {
	let update = crate::chain_task::update_encoding(&t);
	TaskParams {
		model: t.model.0,
		initial_weights: t.initial_weights.0,
		dataset: t.dataset.0,
		samples: t.samples,
		optimizer: match t.hyper.optimizer {
			chain_task::OptimizerKind::Sgd => OptimizerKind::Sgd,
			chain_task::OptimizerKind::SgdMomentum => OptimizerKind::SgdMomentum,
			chain_task::OptimizerKind::Adam => OptimizerKind::Adam,
			chain_task::OptimizerKind::AdamW => OptimizerKind::AdamW,
		},
		learning_rate: t.hyper.learning_rate.0,
		batch_size: t.hyper.batch_size,
		local_steps: t.hyper.local_steps,
		checkpoint_interval: t.pol.checkpoint_interval,
		verification_samples: t.pol.verification_samples,
		tolerance: match t.pol.tolerance {
			chain_task::ToleranceClass::BitwiseExact => ToleranceClass::BitwiseExact,
			chain_task::ToleranceClass::Measured(n) => ToleranceClass::Measured(n),
		},
		aggregation: match t.aggregation {
			chain_task::AggregationRule::Mean => AggregationRule::Mean,
			chain_task::AggregationRule::CoordinateMedian => AggregationRule::CoordinateMedian,
			chain_task::AggregationRule::TrimmedMean { trim_per_side } => {
				AggregationRule::TrimmedMean(trim_per_side.0)
			}
			chain_task::AggregationRule::MultiKrum { byzantine } => {
				AggregationRule::MultiKrum(byzantine.0)
			}
			chain_task::AggregationRule::CenteredClipping { iterations } => {
				AggregationRule::CenteredClipping(iterations)
			}
		},
		update,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn aggregation_rules_parse_within_the_markets_ranges() {
		use AggregationRule::*;
		for (text, rule) in [
			("mean", Mean),
			("median", CoordinateMedian),
			("trimmed-mean:10", TrimmedMean(10)),
			("multi-krum:40", MultiKrum(40)),
			("multi-krum:0", MultiKrum(0)),
			("centered-clipping:3", CenteredClipping(3)),
		] {
			assert_eq!(text.parse::<AggregationRule>(), Ok(rule), "{text}");
		}
		for bad in [
			"krum",
			"mean:1",
			"multi-krum",
			"multi-krum:50",
			"trimmed-mean:x",
			"centered-clipping:0",
			"centered-clipping:17",
		] {
			assert!(bad.parse::<AggregationRule>().is_err(), "{bad}");
		}
		assert_eq!(AggregationRule::default().rule(), Rule::default());
		assert_eq!(CenteredClipping(3).rule(), Rule::CenteredClipping { radius: 0, iterations: 3 });
	}
}
