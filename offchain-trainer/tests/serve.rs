//! `pot-trainer serve`: the artifact API over HTTP (in process), the round verification job
//! without a chain (honest, forged and missing proofs, aggregation, evaluation), the SCALE body,
//! and the verification endpoint's 202 → 200 protocol with a stand-in for the chain.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod common;

use axum::{
	body::{to_bytes, Body},
	http::{Method, Request, StatusCode},
	Router,
};
use common::{copy_params, edit_checkpoint, reseal};
use pot_pol_core::{blake2_256, Hash};
use pot_trainer::{
	aggregate::{self, Rule},
	bundle,
	challenge_verifier::{first_invalid_segment, fetch_missing, judge, ChallengeInputs, Claim},
	checkpoint::{load_weights, save_weights, weights_hash},
	compress::{self, UpdateEncoding},
	data::{digits_pair, digits_split, DatasetPair},
	model::{ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind},
	profile,
	score,
	proof::{self, Manifest},
	round_verifier::{
		decode_result, encode_result, to_chain, verify_round, AggregationRule, CommitmentInfo,
		JobError, RoundInputs, RoundOutcome, RoundSource, TaskParams, ToleranceClass, VerdictOut,
		VerifyConfig,
	},
	serve::{router, ServeState},
	store::{Kind, Store},
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::evaluate,
};
use std::{
	future::Future,
	path::Path,
	pin::Pin,
	sync::{Arc, Mutex},
	time::Duration,
};
use tower::ServiceExt;

const ORDER: u64 = 5;
const ROUND: u32 = 2;
const ROUND_SEED: Hash = [3; 32];
const VERIFICATION_SEED: Hash = [8; 32];
const STEPS: u32 = 20;
const K: u32 = 5;

/// The order's data: the embedded digits pair (the validator has it without an upload).
fn train_set() -> DatasetPair {
	profile::apply_in_process(1);
	digits_pair().unwrap()
}

fn spec() -> ModelSpec {
	ModelSpec::Mlp { inputs: 64, hidden: vec![16], classes: 10 }
}

/// The TaskSpec of the tests' order.
fn task_params(train: &DatasetPair, initial: &Params) -> TaskParams {
	TaskParams {
		model: spec().hash(),
		initial_weights: weights_hash(initial).unwrap(),
		dataset: train.hash(),
		samples: train.train.len() as u64,
		optimizer: OptimizerKind::Adam,
		learning_rate: 5_000_000,
		batch_size: 16,
		local_steps: STEPS,
		checkpoint_interval: K,
		verification_samples: 2,
		tolerance: ToleranceClass::BitwiseExact,
		aggregation: AggregationRule::Mean,
		update: UpdateEncoding::Dense,
	}
}

/// Provider `position`'s task, as the provider builds it from the chain.
fn provider_task(
	train: &DatasetPair,
	initial: &Params,
	capacities: &[u64],
	position: u32,
) -> TrainTask {
	let t = task_params(train, initial);
	TrainTask {
		model: spec(),
		model_hash: HexHash(t.model),
		initial_weights: HexHash(t.initial_weights),
		dataset: HexHash(t.dataset),
		samples: t.samples as u32,
		optimizer: OptimizerConfig::new(t.optimizer, t.learning_rate),
		batch_size: t.batch_size,
		local_steps: t.local_steps,
		checkpoint_interval: t.checkpoint_interval,
		verification_samples: t.verification_samples,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext {
			order: ORDER,
			round: ROUND,
			seed: HexHash(ROUND_SEED),
			capacities: capacities.to_vec(),
			provider: position,
		},
	}
}

fn initial_params() -> Params {
	spec().build().unwrap().init(11).unwrap()
}

fn weights_bytes(params: &Params) -> Vec<u8> {
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("w.safetensors");
	save_weights(params, &path).unwrap();
	std::fs::read(path).unwrap()
}

fn model_bytes() -> Vec<u8> {
	serde_json::to_vec(&spec()).unwrap()
}

/// The dense commitment of the proof `m` in `dir`.
fn commitment_of(m: &Manifest, dir: &Path) -> CommitmentInfo {
	CommitmentInfo {
		update_hash: m.final_weights.0,
		checkpoint_root: m.merkle_root.0,
		proof_hash: blake2_256(&bundle::pack(dir).unwrap()),
		checkpoint_count: m.checkpoints.len() as u32,
		steps_done: m.steps as u32,
		residual_in: compress::NO_RESIDUAL,
		residual_out: compress::NO_RESIDUAL,
	}
}

/// Trains provider `position` honestly into `dir`.
fn train_provider(
	train: &DatasetPair,
	initial: &Params,
	capacities: &[u64],
	position: u32,
	dir: &Path,
) -> Manifest {
	let task = provider_task(train, initial, capacities, position);
	proof::train(&task, train, copy_params(initial), dir, 1).unwrap().manifest
}

fn inputs(
	train: &DatasetPair,
	initial: &Params,
	capacities: &[u64],
	c: Vec<(u32, CommitmentInfo)>,
) -> RoundInputs {
	RoundInputs {
		order: ORDER,
		round: ROUND,
		round_seed: ROUND_SEED,
		round_weights: weights_hash(initial).unwrap(),
		capacities: capacities.to_vec(),
		commitments: c,
		verification_seed: VERIFICATION_SEED,
		task: task_params(train, initial),
	}
}

fn config() -> VerifyConfig {
	VerifyConfig::default()
}

// ---------------------------------------------------------------- HTTP helpers

async fn call(app: &Router, method: Method, uri: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
	let request = Request::builder().method(method).uri(uri).body(Body::from(body)).unwrap();
	let response = app.clone().oneshot(request).await.unwrap();
	let status = response.status();
	let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
	(status, bytes.to_vec())
}

async fn put(app: &Router, kind: &str, hash: &str, body: Vec<u8>) -> (StatusCode, String) {
	let (status, body) =
		call(app, Method::PUT, &format!("/v1/artifacts/{kind}/{hash}"), body).await;
	(status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(app: &Router, kind: &str, hash: &str) -> (StatusCode, Vec<u8>) {
	call(app, Method::GET, &format!("/v1/artifacts/{kind}/{hash}"), vec![]).await
}

/// A chain stand-in: fixed inputs or a fixed error.
struct FakeChain(Mutex<Result<RoundInputs, JobError>>);

impl RoundSource for FakeChain {
	fn read(
		&self,
		order: u64,
		round: u32,
	) -> Pin<Box<dyn Future<Output = Result<RoundInputs, JobError>> + Send + '_>> {
		let answer = self.0.lock().unwrap().clone();
		Box::pin(async move {
			let inputs = answer?;
			if (inputs.order, inputs.round) != (order, round) {
				return Err(JobError::NotFound(format!("no run for order {order}")));
			}
			Ok(inputs)
		})
	}
}

fn no_chain() -> Arc<FakeChain> {
	Arc::new(FakeChain(Mutex::new(Err(JobError::Unavailable("no node".into())))))
}

fn app(dir: &Path, max: u64, source: Arc<FakeChain>) -> Router {
	router(ServeState::new(dir, max, pot_pol_core::select::DEFAULT_MAX_MISS_PPM, source).unwrap())
}

// ---------------------------------------------------------------- artifact API

#[tokio::test]
async fn artifacts_round_trip_and_are_checked_against_their_address() {
	let train = train_set();
	let store = tempfile::tempdir().unwrap();
	let app = app(store.path(), 1 << 20, no_chain());

	// model
	let model = model_bytes();
	let model_hash = hex::encode(spec().hash());
	assert_eq!(put(&app, "model", &model_hash, model.clone()).await.0, StatusCode::CREATED);
	assert_eq!(put(&app, "model", &model_hash, model.clone()).await.0, StatusCode::OK);
	assert_eq!(get(&app, "model", &model_hash).await, (StatusCode::OK, model.clone()));
	let (status, why) = put(&app, "model", &"ab".repeat(32), model.clone()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
	assert_eq!(
		put(&app, "model", &model_hash, b"{\"mlp\":".to_vec()).await.0,
		StatusCode::BAD_REQUEST
	);
	// A spec that parses but cannot be built.
	let unbuildable = ModelSpec::Mlp { inputs: 0, hidden: vec![], classes: 0 };
	let (status, _) = put(
		&app,
		"model",
		&hex::encode(unbuildable.hash()),
		serde_json::to_vec(&unbuildable).unwrap(),
	)
	.await;
	assert_eq!(status, StatusCode::BAD_REQUEST);

	// weights, with and without naming the model
	let initial = initial_params();
	let weights = weights_bytes(&initial);
	let weights_addr = hex::encode(weights_hash(&initial).unwrap());
	let (status, why) = put(&app, "weights", &weights_addr, weights.clone()).await;
	assert_eq!(status, StatusCode::CREATED, "{why}");
	let named = format!("{weights_addr}?model={model_hash}");
	assert_eq!(put(&app, "weights", &named, weights.clone()).await.0, StatusCode::OK);
	assert_eq!(get(&app, "weights", &weights_addr).await, (StatusCode::OK, weights.clone()));
	assert_eq!(
		put(&app, "weights", &format!("{weights_addr}?model={}", "cd".repeat(32)), weights.clone())
			.await
			.0,
		StatusCode::BAD_REQUEST,
		"unknown model"
	);
	let other = ModelSpec::Mlp { inputs: 64, hidden: vec![8], classes: 10 };
	let other_hash = hex::encode(other.hash());
	put(&app, "model", &other_hash, serde_json::to_vec(&other).unwrap()).await;
	let (status, why) =
		put(&app, "weights", &format!("{weights_addr}?model={other_hash}"), weights.clone()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "weights of another model: {why}");
	assert_eq!(
		put(&app, "weights", &"01".repeat(32), weights.clone()).await.0,
		StatusCode::BAD_REQUEST
	);
	let mut garbage = weights.clone();
	garbage.truncate(weights.len() / 2);
	assert_eq!(put(&app, "weights", &weights_addr, garbage).await.0, StatusCode::BAD_REQUEST);
	assert_eq!(
		put(&app, "weights", &weights_addr, b"not safetensors".to_vec()).await.0,
		StatusCode::BAD_REQUEST
	);

	// compressed update: checked against its address and decoded
	let update = compress::compress(&tch::Tensor::from_slice(&[0.5f32, -2.0, 0.0, 1.0]), 2).unwrap();
	let (update_bytes, update_addr) = (update.encode(), hex::encode(update.hash()));
	assert_eq!(put(&app, "update", &update_addr, update_bytes.clone()).await.0, StatusCode::CREATED);
	assert_eq!(get(&app, "update", &update_addr).await, (StatusCode::OK, update_bytes.clone()));
	assert_eq!(
		put(&app, "update", &"03".repeat(32), update_bytes.clone()).await.0,
		StatusCode::BAD_REQUEST,
		"another address"
	);
	let mut not_canonical = update_bytes.clone();
	*not_canonical.last_mut().unwrap() = 0;
	let (status, why) =
		put(&app, "update", &hex::encode(blake2_256(&not_canonical)), not_canonical).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "a zero value: {why}");

	// error-feedback residual: checked against its address and decoded
	let (_, residual) = compress::compress_with_feedback(
		&tch::Tensor::from_slice(&[0.5f32, -2.0, 0.0, 1.0]),
		None,
		2,
	)
	.unwrap();
	let residual_bytes = residual.encode().unwrap();
	let residual_addr = hex::encode(residual.hash().unwrap());
	let (status, why) = put(&app, "residual", &residual_addr, residual_bytes.clone()).await;
	assert_eq!(status, StatusCode::CREATED, "{why}");
	assert_eq!(get(&app, "residual", &residual_addr).await, (StatusCode::OK, residual_bytes.clone()));
	assert_eq!(
		put(&app, "residual", &"04".repeat(32), residual_bytes.clone()).await.0,
		StatusCode::BAD_REQUEST,
		"another address"
	);
	let (status, why) = put(&app, "residual", &update_addr, update_bytes.clone()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "a payload is no residual: {why}");
	let mut infinite = residual_bytes.clone();
	let last = infinite.len() - 4;
	infinite[last..].copy_from_slice(&f32::INFINITY.to_le_bytes());
	let (status, why) = put(&app, "residual", &hex::encode(blake2_256(&infinite)), infinite).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "a non-finite value: {why}");

	// proof
	let capacities = [1, 1];
	let proof_dir = tempfile::tempdir().unwrap();
	let m = train_provider(&train, &initial, &capacities, 0, proof_dir.path());
	let bundle_bytes = bundle::pack(proof_dir.path()).unwrap();
	let root = hex::encode(blake2_256(&bundle_bytes));
	assert_eq!(put(&app, "proof", &root, bundle_bytes.clone()).await.0, StatusCode::CREATED);
	assert_eq!(put(&app, "proof", &root, bundle_bytes.clone()).await.0, StatusCode::OK);
	assert_eq!(get(&app, "proof", &root).await, (StatusCode::OK, bundle_bytes.clone()));
	assert_eq!(
		put(&app, "proof", &"02".repeat(32), bundle_bytes.clone()).await.0,
		StatusCode::BAD_REQUEST
	);
	// Under its Merkle root, as proofs were once addressed: refused.
	let (status, why) = put(&app, "proof", &hex::encode(m.merkle_root.0), bundle_bytes.clone()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert!(why.contains("does not hash to its address"), "{why}");
	let mut truncated = bundle_bytes.clone();
	truncated.pop();
	assert_eq!(put(&app, "proof", &root, truncated).await.0, StatusCode::BAD_REQUEST);
	// The same checkpoints with doctored records (one loss changed) cannot replace the stored
	// proof: they are another bundle, with another address.
	let mut doctored = m.clone();
	doctored.losses[1] += 1.0;
	doctored.write(proof_dir.path()).unwrap();
	let doctored_bytes = bundle::pack(proof_dir.path()).unwrap();
	let (status, why) = put(&app, "proof", &root, doctored_bytes.clone()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert!(why.contains("does not hash to its address"), "{why}");
	assert_eq!(get(&app, "proof", &root).await, (StatusCode::OK, bundle_bytes.clone()));
	let doctored_address = hex::encode(blake2_256(&doctored_bytes));
	assert_eq!(put(&app, "proof", &doctored_address, doctored_bytes).await.0, StatusCode::CREATED);
	// A bundle missing a checkpoint the manifest names.
	m.write(proof_dir.path()).unwrap();
	std::fs::remove_file(proof_dir.path().join(&m.checkpoints[1].file)).unwrap();
	let missing = bundle::pack(proof_dir.path()).unwrap();
	let (status, why) = put(&app, "proof", &hex::encode(blake2_256(&missing)), missing).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert!(why.contains("not in the bundle"), "{why}");
	// A manifest whose root is not the root of its hashes.
	let mut lying = m.clone();
	lying.checkpoints[0].hash = HexHash([1; 32]);
	let lying_dir = tempfile::tempdir().unwrap();
	for e in &m.checkpoints {
		std::fs::write(lying_dir.path().join(&e.file), b"x").unwrap();
	}
	lying.write(lying_dir.path()).unwrap();
	let lying_bytes = bundle::pack(lying_dir.path()).unwrap();
	let (status, why) = put(&app, "proof", &hex::encode(blake2_256(&lying_bytes)), lying_bytes).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	assert!(why.contains("merkle_root"), "{why}");
	// A manifest that does not parse.
	std::fs::write(lying_dir.path().join("manifest.json"), b"{").unwrap();
	let unparsed = bundle::pack(lying_dir.path()).unwrap();
	assert_eq!(
		put(&app, "proof", &hex::encode(blake2_256(&unparsed)), unparsed).await.0,
		StatusCode::BAD_REQUEST
	);

	// Unknown kinds, bad addresses, reports are read-only, absent artifacts.
	assert_eq!(put(&app, "tensor", &root, vec![1]).await.0, StatusCode::NOT_FOUND);
	assert_eq!(get(&app, "tensor", &root).await.0, StatusCode::NOT_FOUND);
	assert_eq!(put(&app, "report", &root, vec![1]).await.0, StatusCode::METHOD_NOT_ALLOWED);
	assert_eq!(get(&app, "proof", &"03".repeat(32)).await.0, StatusCode::NOT_FOUND);
	for bad in [
		root.to_uppercase(),
		format!("0x{root}"),
		root[..63].to_owned(),
		format!("{root}0"),
		"..".into(),
		"..%2F..%2Fetc%2Fpasswd".into(),
		format!("%2E%2E%2F{}", &root[..55]),
	] {
		assert_eq!(get(&app, "model", &bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
		assert_eq!(
			put(&app, "model", &bad, model.clone()).await.0,
			StatusCode::BAD_REQUEST,
			"{bad}"
		);
	}
	for uri in [
		"/v1/artifacts/../../etc/passwd",
		"/v1/artifacts/model/../../../etc/passwd",
		"/v1/artifacts/%2E%2E/model",
		"/v1/artifacts/model",
	] {
		let (status, _) = call(&app, Method::GET, uri, vec![]).await;
		assert!(
			status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
			"{uri}: {status}"
		);
	}
	// Nothing was written outside the kind folders.
	let mut top: Vec<String> = std::fs::read_dir(store.path())
		.unwrap()
		.map(|e| e.unwrap().file_name().into_string().unwrap())
		.collect();
	top.sort();
	assert_eq!(
		top,
		["dataset", "model", "proof", "report", "residual", "results", "tmp", "update", "weights"]
	);
	assert_eq!(std::fs::read_dir(store.path().join("tmp")).unwrap().count(), 0, "temp files left");

	// A new service on the same directory serves the same artifacts.
	drop(app);
	let again = self::app(store.path(), 1 << 20, no_chain());
	assert_eq!(get(&again, "model", &model_hash).await, (StatusCode::OK, model));
	assert_eq!(get(&again, "weights", &weights_addr).await, (StatusCode::OK, weights));
	assert_eq!(get(&again, "proof", &root).await, (StatusCode::OK, bundle_bytes));
	assert_eq!(call(&again, Method::GET, "/v1/health", vec![]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn artifacts_above_the_limit_are_refused_with_413() {
	let store = tempfile::tempdir().unwrap();
	let model = model_bytes();
	let hash = hex::encode(spec().hash());
	let small = app(store.path(), model.len() as u64 - 1, no_chain());
	assert_eq!(put(&small, "model", &hash, model.clone()).await.0, StatusCode::PAYLOAD_TOO_LARGE);
	assert_eq!(put(&small, "proof", &hash, vec![0; 10_000]).await.0, StatusCode::PAYLOAD_TOO_LARGE);
	let exact = app(store.path(), model.len() as u64, no_chain());
	assert_eq!(put(&exact, "model", &hash, model).await.0, StatusCode::CREATED);
}

// ---------------------------------------------------------------- verification job

/// Four participants and a fifth that did not commit: 0 and 1 honest, 2 forged, 3 without a
/// stored proof.
struct Round {
	train: DatasetPair,
	initial: Params,
	store_dir: tempfile::TempDir,
	store: Store,
	inputs: RoundInputs,
	finals: Vec<Params>,
	_proofs: Vec<tempfile::TempDir>,
}

fn round() -> Round {
	let train = train_set();
	let initial = initial_params();
	let capacities = [2, 1, 1, 1, 1];
	let store_dir = tempfile::tempdir().unwrap();
	let store = Store::open(store_dir.path()).unwrap();
	store.put(Kind::Model, &spec().hash(), &model_bytes()).unwrap();
	store.put(Kind::Weights, &weights_hash(&initial).unwrap(), &weights_bytes(&initial)).unwrap();
	let mut commitments = Vec::new();
	let mut finals = Vec::new();
	let mut proofs = Vec::new();
	for position in 0..4u32 {
		let dir = tempfile::tempdir().unwrap();
		let mut m = train_provider(&train, &initial, &capacities, position, dir.path());
		if position == 2 {
			// Forge checkpoint 2 (after step 10) and make the manifest consistent again.
			let task = provider_task(&train, &initial, &capacities, position);
			edit_checkpoint(&task, dir.path(), 2, |c| {
				for t in c.params.values_mut() {
					*t = (t.detach() + 0.01).set_requires_grad(true);
				}
			});
			reseal(&task, dir.path());
			m = Manifest::read(dir.path()).unwrap();
		}
		if position < 2 {
			let model = spec().build().unwrap();
			finals
				.push(load_weights(&dir.path().join("final.safetensors"), model.as_ref()).unwrap());
		}
		let c = commitment_of(&m, dir.path());
		if position != 3 {
			store.put(Kind::Proof, &c.proof_hash, &bundle::pack(dir.path()).unwrap()).unwrap();
		}
		commitments.push((position, c));
		proofs.push(dir);
	}
	// Out of order on purpose: verdicts come back by ascending position.
	commitments.reverse();
	let inputs = inputs(&train, &initial, &capacities, commitments);
	Round { train, initial, store_dir, store, inputs, finals, _proofs: proofs }
}

#[test]
fn honest_proofs_are_accepted_forged_and_missing_ones_rejected_and_accepted_updates_averaged() {
	let r = round();
	let outcome = verify_round(&r.store, &r.inputs, &config()).unwrap();
	let positions: Vec<u32> = outcome.verdicts.iter().map(|(p, _)| *p).collect();
	assert_eq!(positions, [0, 1, 2, 3], "one verdict per commitment, ascending");
	// Each acceptance carries its update's held-out loss improvement, measured alone from θ_r.
	let held_out = digits_split().unwrap().1;
	for (i, (_, verdict)) in outcome.verdicts[..2].iter().enumerate() {
		let update = aggregate::update(&r.initial, &r.finals[i]).unwrap();
		let model = spec().build().unwrap();
		let score = score::score_update(model.as_ref(), &r.initial, &update, &held_out).unwrap();
		assert!(score.improvement() > 0.0, "an honest update helps: {score:?}");
		assert_eq!(
			*verdict,
			VerdictOut::Accepted { improvement: score::improvement_fixed(&score) },
			"provider {i}"
		);
	}

	// The forged proof fails re-execution at the segment ending in the forged checkpoint.
	let VerdictOut::Rejected { segment, distance, evidence } = outcome.verdicts[2].1 else {
		panic!("forged proof accepted: {outcome:?}")
	};
	assert_eq!(segment, 1);
	assert!(distance > 10_000_000 && distance < u64::MAX, "l2 of a 0.01 shift: {distance}");
	let report = r.store.get(Kind::Report, &evidence).unwrap().expect("report stored");
	assert_eq!(blake2_256(&report), evidence);
	let report: pot_trainer::verify::Report = serde_json::from_slice(&report).unwrap();
	assert!(!report.accepted);
	assert!(report.segments.iter().any(|s| s.index == 1 && !s.accepted));

	// The missing proof: segment 0, the largest distance, evidence = hash of the reason.
	let VerdictOut::Rejected { segment, distance, evidence } = outcome.verdicts[3].1 else {
		panic!("missing proof accepted")
	};
	assert_eq!((segment, distance), (0, u64::MAX));
	let reason = r.store.get(Kind::Report, &evidence).unwrap().expect("reason stored");
	assert_eq!(blake2_256(&reason), evidence);
	assert!(String::from_utf8(reason).unwrap().contains("no proof stored"));

	// New weights: θ_r − mean(θ_r − θ_0, θ_r − θ_1), stored; by hand.
	let u0 = aggregate::update(&r.initial, &r.finals[0]).unwrap();
	let u1 = aggregate::update(&r.initial, &r.finals[1]).unwrap();
	let mean =
		aggregate::aggregate(&Rule::Mean, &[u0.shallow_clone(), u1.shallow_clone()]).unwrap();
	let expected = aggregate::apply_update(&r.initial, &mean, 1.0).unwrap();
	assert_eq!(outcome.new_weights, weights_hash(&expected).unwrap());
	let by_hand = aggregate::flatten(&r.initial).unwrap() - (u0 + u1) / 2.0;
	let model = spec().build().unwrap();
	let stored =
		load_weights(&r.store.path(Kind::Weights, &outcome.new_weights), model.as_ref()).unwrap();
	assert!(aggregate::flatten(&stored).unwrap().allclose(&by_hand, 1e-6, 1e-7, false));
	assert_eq!(weights_hash(&stored).unwrap(), outcome.new_weights);
	// …and the average is not either provider's weights.
	assert_ne!(outcome.new_weights, weights_hash(&r.finals[0]).unwrap());

	// Evaluation of the stored weights on the held-out split.
	let (loss, accuracy) = evaluate(model.as_ref(), &stored, &digits_split().unwrap().1).unwrap();
	assert_eq!(outcome.loss, (loss * 1e9).round() as u64);
	assert_eq!(outcome.accuracy, (accuracy * 1e9).round() as u32);
	assert!(outcome.accuracy > 0 && outcome.loss > 0);

	// The SCALE body decodes to exactly these verdicts.
	let decoded = decode_result(&encode_result(&outcome)).unwrap();
	assert_eq!(decoded, to_chain(&outcome));
	assert_eq!(decoded.verdicts.0.len(), 4);
	assert_eq!(decoded.new_weights.0, outcome.new_weights);
	drop(r.store_dir);
}

#[test]
fn other_rules_no_accepted_update_and_unsupported_tasks() {
	let r = round();
	// Median of the two accepted updates (even count: their mean, up to rounding).
	let mut median = r.inputs.clone();
	median.task.aggregation = AggregationRule::CoordinateMedian;
	median.commitments.retain(|(p, _)| *p < 2);
	let out = verify_round(&r.store, &median, &config()).unwrap();
	let u: Vec<_> = r.finals.iter().map(|f| aggregate::update(&r.initial, f).unwrap()).collect();
	let expected = aggregate::apply_update(
		&r.initial,
		&aggregate::aggregate(&Rule::CoordinateMedian, &u).unwrap(),
		1.0,
	)
	.unwrap();
	assert_eq!(out.new_weights, weights_hash(&expected).unwrap());
	let mut trimmed = median.clone();
	trimmed.task.aggregation = AggregationRule::TrimmedMean(10);
	let expected = aggregate::apply_update(
		&r.initial,
		&aggregate::aggregate(&Rule::TrimmedMean { trim_per_side: 10 }, &u).unwrap(),
		1.0,
	)
	.unwrap();
	assert_eq!(
		verify_round(&r.store, &trimmed, &config()).unwrap().new_weights,
		weights_hash(&expected).unwrap()
	);

	// Only rejected submissions: the round's weights carry over.
	let mut none = r.inputs.clone();
	none.commitments.retain(|(p, _)| *p >= 2);
	let out = verify_round(&r.store, &none, &config()).unwrap();
	assert_eq!(out.new_weights, weights_hash(&r.initial).unwrap());
	assert_eq!(out.verdicts.len(), 2);

	// A commitment that disagrees with its proof's manifest is rejected at segment 0.
	let mut lying = r.inputs.clone();
	lying.commitments.retain(|(p, _)| *p == 0);
	lying.commitments[0].1.update_hash = [4; 32];
	let out = verify_round(&r.store, &lying, &config()).unwrap();
	assert!(matches!(
		out.verdicts[0].1,
		VerdictOut::Rejected { segment: 0, distance: u64::MAX, .. }
	));
	// Another provider's proof replayed under position 1 is not position 1's work.
	let mut replay = r.inputs.clone();
	let zero = replay.commitments.iter().find(|(p, _)| *p == 0).unwrap().1;
	replay.commitments = vec![(1, zero)];
	let out = verify_round(&r.store, &replay, &config()).unwrap();
	assert!(matches!(out.verdicts[0], (1, VerdictOut::Rejected { .. })));

	// Problems of the validator's own are job failures, not verdicts.
	let mut measured = r.inputs.clone();
	measured.task.tolerance = ToleranceClass::Measured(1);
	let e = verify_round(&r.store, &measured, &config()).unwrap_err();
	assert!(matches!(&e, JobError::Failed(m) if m.contains("unsupported tolerance class")), "{e}");
	let mut dataset = r.inputs.clone();
	dataset.task.dataset = [6; 32];
	let e = verify_round(&r.store, &dataset, &config()).unwrap_err();
	// A dataset neither embedded nor uploaded: the validator lacks it (retrying may help).
	assert!(matches!(&e, JobError::Unavailable(m) if m.starts_with("dataset 0606")), "{e}");
	let mut samples = r.inputs.clone();
	samples.task.samples += 1;
	assert!(matches!(verify_round(&r.store, &samples, &config()), Err(JobError::Failed(_))));
	let mut weights = r.inputs.clone();
	weights.round_weights = [7; 32];
	assert!(matches!(verify_round(&r.store, &weights, &config()), Err(JobError::Unavailable(_))));
	let mut model = r.inputs.clone();
	model.task.model = [7; 32];
	assert!(matches!(verify_round(&r.store, &model, &config()), Err(JobError::Unavailable(_))));
	let _ = &r.train;
}

#[test]
fn round_result_encoding_is_the_pallet_layout() {
	let outcome = RoundOutcome {
		verdicts: vec![
			(0, VerdictOut::Accepted { improvement: -3 }),
			(2, VerdictOut::Rejected { segment: 3, distance: 5, evidence: [7; 32] }),
		],
		new_weights: [9; 32],
		loss: 1_500_000_000,
		accuracy: 900_000_000,
	};
	let mut expected = vec![2 << 2]; // compact length 2
	expected.extend([0, 0, 0, 0, 0]); // position 0, Accepted
	expected.extend((-3i64).to_le_bytes()); // improvement (FixedI64 inner)
	expected.extend([2, 0, 0, 0, 1]); // position 2, Rejected
	expected.extend(3u32.to_le_bytes()); // segment
	expected.extend(5u64.to_le_bytes()); // distance (FixedU64 inner)
	expected.extend([7; 32]); // evidence
	expected.extend([9; 32]); // new weights
	expected.extend(1_500_000_000u64.to_le_bytes()); // loss
	expected.extend(900_000_000u32.to_le_bytes()); // accuracy (Perbill)
	let encoded = encode_result(&outcome);
	assert_eq!(encoded, expected);
	assert_eq!(decode_result(&encoded).unwrap(), to_chain(&outcome));
	assert!(decode_result(&encoded[..encoded.len() - 1]).is_err());
	let mut longer = encoded.clone();
	longer.push(0);
	assert!(decode_result(&longer).is_err());
	assert_eq!(pot_trainer::round_verifier::fixed9(f64::NAN), u64::MAX);
	assert_eq!(pot_trainer::round_verifier::fixed9(1e30), u64::MAX);
	assert_eq!(pot_trainer::round_verifier::fixed9(-1.0), 0);
	assert_eq!(pot_trainer::round_verifier::perbill(1.5), 1_000_000_000);
}

// ---------------------------------------------------------------- verification endpoint

async fn post_result(app: &Router, order: u64, round: u32) -> (StatusCode, Vec<u8>) {
	call(app, Method::POST, &format!("/v1/rounds/{order}/{round}/result"), vec![]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_answers_202_until_the_result_is_ready_then_200_also_after_a_restart() {
	let r = round();
	let source = Arc::new(FakeChain(Mutex::new(Ok(r.inputs.clone()))));
	let service = app(r.store_dir.path(), 64 << 20, source.clone());

	assert_eq!(post_result(&service, ORDER, ROUND + 1).await.0, StatusCode::NOT_FOUND);
	assert_eq!(post_result(&service, ORDER, ROUND).await.0, StatusCode::ACCEPTED);
	let mut body = None;
	for _ in 0..600 {
		let (status, b) = post_result(&service, ORDER, ROUND).await;
		match status {
			StatusCode::ACCEPTED => tokio::time::sleep(Duration::from_millis(100)).await,
			StatusCode::OK => {
				body = Some(b);
				break;
			}
			other => panic!("{other}: {}", String::from_utf8_lossy(&b)),
		}
	}
	let body = body.expect("a result within a minute");
	let expected = verify_round(&r.store, &r.inputs, &config()).unwrap();
	assert_eq!(body, encode_result(&expected));
	let decoded = decode_result(&body).unwrap();
	assert_eq!(decoded.verdicts.0.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [0, 1, 2, 3]);
	let (status, get_body) =
		call(&service, Method::GET, &format!("/v1/rounds/{ORDER}/{ROUND}/result"), vec![]).await;
	assert_eq!((status, get_body), (StatusCode::OK, body.clone()));
	// The new weights are downloadable.
	let (status, _) = get(&service, "weights", &hex::encode(expected.new_weights)).await;
	assert_eq!(status, StatusCode::OK);

	// A restarted service answers from disk at once, without the chain.
	drop(service);
	*source.0.lock().unwrap() = Err(JobError::Unavailable("node down".into()));
	let restarted = app(r.store_dir.path(), 64 << 20, source.clone());
	assert_eq!(post_result(&restarted, ORDER, ROUND).await, (StatusCode::OK, body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_maps_chain_states_and_reports_a_failed_job_once() {
	let r = round();
	let source =
		Arc::new(FakeChain(Mutex::new(Err(JobError::NotYet("commit window open".into())))));
	let service = app(r.store_dir.path(), 64 << 20, source.clone());
	assert_eq!(post_result(&service, ORDER, ROUND).await.0, StatusCode::CONFLICT);
	*source.0.lock().unwrap() = Err(JobError::NotFound("no run".into()));
	assert_eq!(post_result(&service, ORDER, ROUND).await.0, StatusCode::NOT_FOUND);
	*source.0.lock().unwrap() = Err(JobError::Unavailable("node unreachable".into()));
	assert_eq!(post_result(&service, ORDER, ROUND).await.0, StatusCode::SERVICE_UNAVAILABLE);
	for bad in
		["/v1/rounds/x/1/result", "/v1/rounds/1/-1/result", "/v1/rounds/1/99999999999/result"]
	{
		assert_eq!(
			call(&service, Method::POST, bad, vec![]).await.0,
			StatusCode::BAD_REQUEST,
			"{bad}"
		);
	}

	// The round's weights are not stored: the job fails with 503, once; the next call retries.
	let mut inputs = r.inputs.clone();
	inputs.round_weights = [7; 32];
	*source.0.lock().unwrap() = Ok(inputs);
	assert_eq!(post_result(&service, ORDER, ROUND).await.0, StatusCode::ACCEPTED);
	let mut failed = None;
	for _ in 0..100 {
		let (status, body) = post_result(&service, ORDER, ROUND).await;
		if status != StatusCode::ACCEPTED {
			failed = Some((status, String::from_utf8_lossy(&body).into_owned()));
			break;
		}
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	let (status, why) = failed.expect("the job fails quickly");
	assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{why}");
	assert!(why.contains("not stored"), "{why}");
	assert_eq!(post_result(&service, ORDER, ROUND).await.0, StatusCode::ACCEPTED, "retried");
	assert!(r.store.result(ORDER, ROUND).unwrap().is_none());
}

// ---------------------------------------------------------------- over a real socket

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_artifact_client_talks_to_a_listening_service() {
	use pot_trainer::remote::{ArtifactClient, RemoteError, Stored};
	let store = tempfile::tempdir().unwrap();
	let source = Arc::new(FakeChain(Mutex::new(Err(JobError::NotYet("open".into())))));
	let service = app(store.path(), 1 << 20, source.clone());
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, service).await });

	let client = ArtifactClient::new(&format!("http://{addr}/")).unwrap();
	assert!(ArtifactClient::new("https://example.org").is_err());
	let model = model_bytes();
	let hash = spec().hash();
	assert_eq!(client.put(Kind::Model, &hash, model.clone(), None).await.unwrap(), Stored::Created);
	assert_eq!(
		client.put(Kind::Model, &hash, model.clone(), None).await.unwrap(),
		Stored::AlreadyThere
	);
	assert_eq!(client.get(Kind::Model, &hash, 1 << 20).await.unwrap(), model);
	assert!(matches!(
		client.get(Kind::Model, &[1; 32], 1 << 20).await,
		Err(RemoteError::NotFound { .. })
	));
	let initial = initial_params();
	let w = weights_hash(&initial).unwrap();
	assert_eq!(
		client.put(Kind::Weights, &w, weights_bytes(&initial), Some(&hash)).await.unwrap(),
		Stored::Created
	);
	assert_eq!(client.get(Kind::Weights, &w, 1 << 20).await.unwrap(), weights_bytes(&initial));
	match client.put(Kind::Model, &[1; 32], model, None).await {
		Err(RemoteError::Status { status: 400, body, .. }) => {
			assert!(body.contains("not to its address"), "{body}")
		}
		other => panic!("{other:?}"),
	}
	match client.round_result(1, 0).await {
		Err(RemoteError::Status { status: 409, .. }) => {}
		other => panic!("{other:?}"),
	}
	// A tampered download is caught by the client (written behind the service's back).
	std::fs::write(store.path().join("model").join(hex::encode(hash)), b"{}").unwrap();
	assert!(matches!(
		client.get(Kind::Model, &hash, 1 << 20).await,
		Err(RemoteError::Mismatch { .. })
	));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_allow_list_artifact_requests_must_be_signed_by_a_listed_account() {
	use pot_client::subxt_signer::sr25519::dev;
	use pot_trainer::{
		remote::{ArtifactClient, RemoteError, Stored},
		serve_auth::AllowList,
	};
	let store = tempfile::tempdir().unwrap();
	let source = Arc::new(FakeChain(Mutex::new(Err(JobError::NotYet("open".into())))));
	let state = ServeState::new(store.path(), 1 << 20, 10_000, source)
		.unwrap()
		.with_allow(AllowList::of([dev::alice().public_key().0]));
	let service = router(state);
	let model = model_bytes();
	let hash = spec().hash();
	let addr_hex = hex::encode(hash);
	// Unsigned: refused; the round endpoint stays open for the node.
	assert_eq!(put(&service, "model", &addr_hex, model.clone()).await.0, StatusCode::UNAUTHORIZED);
	assert_eq!(get(&service, "model", &addr_hex).await.0, StatusCode::UNAUTHORIZED);
	assert_eq!(post_result(&service, 1, 0).await.0, StatusCode::CONFLICT);
	// A request without an allowed signer is refused before its body is read: a body above
	// the limit gets 401 or 403, not 413.
	let oversized = vec![0u8; (1 << 20) + 1];
	assert_eq!(put(&service, "model", &addr_hex, oversized.clone()).await.0, StatusCode::UNAUTHORIZED);
	let uri = format!("/v1/artifacts/model/{addr_hex}");
	let mut request = Request::builder().method(Method::PUT).uri(&uri);
	let now = pot_trainer::serve_auth::now_secs();
	for (name, value) in pot_trainer::serve_auth::sign_headers(&dev::bob(), "PUT", &uri, &oversized, now) {
		request = request.header(name, value);
	}
	let response = service.clone().oneshot(request.body(Body::from(oversized)).unwrap()).await;
	assert_eq!(response.unwrap().status(), StatusCode::FORBIDDEN);

	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let endpoint = format!("http://{}", listener.local_addr().unwrap());
	tokio::spawn(async move { axum::serve(listener, service).await });
	let anonymous = ArtifactClient::new(&endpoint).unwrap();
	let alice = ArtifactClient::new(&endpoint).unwrap().with_signer(dev::alice());
	let bob = ArtifactClient::new(&endpoint).unwrap().signed_by(Some(&dev::bob()));
	match anonymous.put(Kind::Model, &hash, model.clone(), None).await {
		Err(RemoteError::Status { status: 401, .. }) => {}
		other => panic!("{other:?}"),
	}
	assert_eq!(alice.put(Kind::Model, &hash, model.clone(), None).await.unwrap(), Stored::Created);
	assert_eq!(alice.get(Kind::Model, &hash, 1 << 20).await.unwrap(), model);
	let initial = initial_params();
	let w = weights_hash(&initial).unwrap();
	let uploaded = alice.put(Kind::Weights, &w, weights_bytes(&initial), Some(&hash)).await;
	assert_eq!(uploaded.unwrap(), Stored::Created, "signed path includes the query");
	match anonymous.get(Kind::Model, &hash, 1 << 20).await {
		Err(RemoteError::Status { status: 401, .. }) => {}
		other => panic!("{other:?}"),
	}
	match bob.get(Kind::Model, &hash, 1 << 20).await {
		Err(RemoteError::Status { status: 403, .. }) => {}
		other => panic!("{other:?}"),
	}
	match bob.put(Kind::Model, &hash, model, None).await {
		Err(RemoteError::Status { status: 403, .. }) => {}
		other => panic!("{other:?}"),
	}
	// Signed or not, the round endpoint answers.
	assert!(matches!(bob.round_result(1, 0).await, Err(RemoteError::Status { status: 409, .. })));

	// The consumer's `order upload` and `order fetch` sign with `--suri`, and only then get in.
	let state = tempfile::tempdir().unwrap();
	let order_dir = state.path().join("0");
	std::fs::create_dir_all(&order_dir).unwrap();
	let record = serde_json::json!({
		"order": 0, "consumer": "consumer", "validator": "validator", "endpoint": endpoint,
		"model": spec(), "model_hash": addr_hex, "initial_weights": hex::encode(w),
		"last_weights": null,
	});
	std::fs::write(order_dir.join("order.json"), serde_json::to_vec(&record).unwrap()).unwrap();
	std::fs::write(order_dir.join("initial.safetensors"), weights_bytes(&initial)).unwrap();
	let state_dir = state.path().display().to_string();
	let out = state.path().join("fetched.safetensors").display().to_string();
	let cli = |args: Vec<String>| {
		tokio::task::spawn_blocking(move || {
			std::process::Command::new(env!("CARGO_BIN_EXE_pot-trainer")).args(args).output().unwrap()
		})
	};
	let order = |command: &str, suri: Option<&str>| {
		let mut args: Vec<String> =
			vec!["order".into(), command.into(), "0".into(), "--state-dir".into(), state_dir.clone()];
		if command == "fetch" {
			args.extend(["--weights".into(), hex::encode(w), "--out".into(), out.clone()]);
		}
		if let Some(suri) = suri {
			args.extend(["--suri".into(), suri.into()]);
		}
		cli(args)
	};
	for command in ["upload", "fetch"] {
		let unsigned = order(command, None).await.unwrap();
		assert!(!unsigned.status.success(), "unsigned {command} got in");
		assert!(String::from_utf8_lossy(&unsigned.stderr).contains("401"), "{unsigned:?}");
		let signed = order(command, Some("//Alice")).await.unwrap();
		assert!(signed.status.success(), "signed {command}: {signed:?}");
	}
	assert_eq!(std::fs::read(&out).unwrap(), weights_bytes(&initial), "fetched θ₀ as stored");
}

// ---------------------------------------------------------------- challenge verdicts

/// Challenge 7 of `r`'s round: `claim` about position `target`, segment `segment`, with the
/// checkpoints of that provider's proof; positions 0 and 1 stand accepted.
fn challenge_of(r: &Round, claim: Claim, target: u32, segment: u32) -> ChallengeInputs {
	let hashes = Manifest::read(r._proofs[target as usize].path()).unwrap().hashes();
	ChallengeInputs {
		id: 7,
		claim,
		target,
		segment,
		start: hashes[segment as usize],
		end: hashes[segment as usize + 1],
		round: r.inputs.clone(),
		accepted: vec![0, 1],
		new_weights: [0; 32],
		validator_endpoint: None,
	}
}

#[test]
fn a_committee_re_executes_the_disputed_segment_and_recomputes_the_aggregate() {
	let r = round();
	let judged = |c: &ChallengeInputs| judge(&r.store, c, &config()).unwrap();
	// An honest segment: its rejection is refuted, its acceptance stands.
	assert!(judged(&challenge_of(&r, Claim::ValidWorkRejected, 0, 1)));
	assert!(!judged(&challenge_of(&r, Claim::InvalidWorkAccepted, 0, 1)));
	// Position 2 forged checkpoint 2: segment 1 does not re-execute, segment 0 does.
	assert!(judged(&challenge_of(&r, Claim::InvalidWorkAccepted, 2, 1)));
	assert!(judged(&challenge_of(&r, Claim::ForgedWork, 2, 1)));
	assert!(!judged(&challenge_of(&r, Claim::ForgedWork, 2, 0)));
	assert!(!judged(&challenge_of(&r, Claim::ForgedWork, 0, 1)));
	assert!(!judged(&challenge_of(&r, Claim::ValidWorkRejected, 2, 1)));
	assert!(judged(&challenge_of(&r, Claim::ValidWorkRejected, 2, 0)));
	// Checkpoints that are not the proof's: nothing to re-execute, the work does not stand.
	let mut other = challenge_of(&r, Claim::ValidWorkRejected, 0, 1);
	other.end = [9; 32];
	assert!(!judged(&other));
	other.claim = Claim::InvalidWorkAccepted;
	assert!(judged(&other));
	// The aggregate: the order's rule over the accepted updates, as the round job computes it.
	let outcome = verify_round(&r.store, &r.inputs, &config()).unwrap();
	let mut aggregate = challenge_of(&r, Claim::WrongAggregate, 0, 0);
	aggregate.new_weights = outcome.new_weights;
	assert!(!judged(&aggregate));
	aggregate.new_weights = weights_hash(&r.finals[0]).unwrap();
	assert!(judged(&aggregate), "one provider's weights are not the mean");
	aggregate.new_weights = outcome.new_weights;
	aggregate.accepted = vec![0];
	assert!(judged(&aggregate), "the announced mean has an update the round did not accept");
	// An accepted commitment whose proof does not end in its update: no verdict on the
	// aggregate (that is an InvalidWorkAccepted claim).
	aggregate.accepted = vec![0, 1];
	for (position, commitment) in &mut aggregate.round.commitments {
		if *position == 0 {
			commitment.update_hash = [7; 32];
		}
	}
	let unbacked = judge(&r.store, &aggregate, &config());
	assert!(matches!(unbacked, Err(JobError::Failed(_))), "{unbacked:?}");
	// Position 3's proof is not stored and there is nowhere to fetch it from: retry later.
	let missing = challenge_of(&r, Claim::ValidWorkRejected, 3, 0);
	assert!(matches!(judge(&r.store, &missing, &config()), Err(JobError::Unavailable(_))));
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let fetched = runtime.block_on(fetch_missing(&r.store, &missing, 64 << 20, None));
	assert!(matches!(fetched, Err(JobError::Unavailable(_))), "{fetched:?}");
}

#[test]
fn a_proof_trained_from_other_weights_than_the_rounds_wins_no_claim() {
	let r = round();
	// Position 1 trains from other weights and names the round's as its initial weights.
	let other = spec().build().unwrap().init(12).unwrap();
	let dir = tempfile::tempdir().unwrap();
	let mut m = train_provider(&r.train, &other, &r.inputs.capacities, 1, dir.path());
	m.initial_weights = HexHash(r.inputs.round_weights);
	m.write(dir.path()).unwrap();
	let c = commitment_of(&m, dir.path());
	r.store.put(Kind::Proof, &c.proof_hash, &bundle::pack(dir.path()).unwrap()).unwrap();
	let mut claim = challenge_of(&r, Claim::ValidWorkRejected, 1, 0);
	for (position, commitment) in &mut claim.round.commitments {
		if *position == 1 {
			*commitment = c;
		}
	}
	(claim.start, claim.end) = (m.hashes()[0], m.hashes()[1]);
	// Its segment 0 re-executes from the weights it started from, yet its rejection stands
	// and its acceptance is wrong: checkpoint 0 is not the round's weights.
	assert!(!judge(&r.store, &claim, &config()).unwrap());
	claim.claim = Claim::InvalidWorkAccepted;
	assert!(judge(&r.store, &claim, &config()).unwrap());
}

#[test]
fn a_segment_that_re_executes_does_not_make_a_commitment_its_proof_does_not_back_valid_work() {
	let r = round();
	let judged = |c: &ChallengeInputs| judge(&r.store, c, &config()).unwrap();
	// Position 0 trained honestly, but commits the update hash of position 1's weights: its
	// segments re-execute, yet its rejection stands and its acceptance is wrong.
	let other_weights = weights_hash(&r.finals[1]).unwrap();
	let lying = |claim| {
		let mut c = challenge_of(&r, claim, 0, 1);
		for (position, commitment) in &mut c.round.commitments {
			if *position == 0 {
				commitment.update_hash = other_weights;
			}
		}
		c
	};
	assert!(!judged(&lying(Claim::ValidWorkRejected)));
	assert!(judged(&lying(Claim::InvalidWorkAccepted)));

	// The same with a manifest that agrees with the lying commitment: its final weights are
	// not its last checkpoint's.
	let copy = tempfile::tempdir().unwrap();
	for entry in std::fs::read_dir(r._proofs[0].path()).unwrap() {
		let entry = entry.unwrap();
		std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
	}
	let mut manifest = Manifest::read(copy.path()).unwrap();
	manifest.final_weights = HexHash(other_weights);
	manifest.write(copy.path()).unwrap();
	let store_dir = tempfile::tempdir().unwrap();
	let store = Store::open(store_dir.path()).unwrap();
	store.put(Kind::Model, &spec().hash(), &model_bytes()).unwrap();
	store.put(Kind::Weights, &weights_hash(&r.initial).unwrap(), &weights_bytes(&r.initial)).unwrap();
	let lying_bundle = bundle::pack(copy.path()).unwrap();
	let lying_hash = blake2_256(&lying_bundle);
	store.put(Kind::Proof, &lying_hash, &lying_bundle).unwrap();
	let lying_with_its_bundle = |claim| {
		let mut c = lying(claim);
		for (position, commitment) in &mut c.round.commitments {
			if *position == 0 {
				commitment.proof_hash = lying_hash;
			}
		}
		c
	};
	let judged_there = |c: &ChallengeInputs| judge(&store, c, &config()).unwrap();
	assert!(!judged_there(&lying_with_its_bundle(Claim::ValidWorkRejected)));
	assert!(judged_there(&lying_with_its_bundle(Claim::InvalidWorkAccepted)));
	// Position 0's own, consistent bundle in that store: the segment claim holds again.
	let honest_bundle = bundle::pack(r._proofs[0].path()).unwrap();
	store.put(Kind::Proof, &blake2_256(&honest_bundle), &honest_bundle).unwrap();
	assert!(judged_there(&challenge_of(&r, Claim::ValidWorkRejected, 0, 1)));
	assert!(!judged_there(&lying(Claim::ValidWorkRejected)));
}

/// 5% of the coordinates, in parts per billion.
const FIVE_PERCENT: u32 = 50_000_000;

/// The error-feedback residual position 0 carries into `r`'s compressed round (one of the
/// model's size: what compressing position 1's update to half the share leaves).
fn carried_residual(r: &Round) -> compress::Residual {
	compress::payload(&r.initial, &r.finals[1], FIVE_PERCENT / 2, None).unwrap().1
}

/// The payload and residual of the proof of `position` in `r`'s compressed round.
fn compressed_update(r: &Round, position: usize) -> (compress::Sparse, compress::Residual) {
	let carried = (position == 0).then(|| carried_residual(r));
	compress::payload(&r.initial, &r.finals[position], FIVE_PERCENT, carried.as_ref()).unwrap()
}

/// `r`'s round under a top-k encoding: positions 0 and 1 uploaded and committed their payloads
/// and residuals; position 0 adds the residual of an earlier round, which the validator keeps.
fn compressed_round(r: &Round) -> RoundInputs {
	let mut inputs = r.inputs.clone();
	inputs.task.update = UpdateEncoding::TopK { kept_ppb: FIVE_PERCENT };
	let carried = carried_residual(r);
	r.store.put(Kind::Residual, &carried.hash().unwrap(), &carried.encode().unwrap()).unwrap();
	for (position, c) in &mut inputs.commitments {
		if (*position as usize) < r.finals.len() {
			let (payload, left) = compressed_update(r, *position as usize);
			r.store.put(Kind::Update, &payload.hash(), &payload.encode()).unwrap();
			r.store.put(Kind::Residual, &left.hash().unwrap(), &left.encode().unwrap()).unwrap();
			c.update_hash = payload.hash();
			c.residual_in =
				if *position == 0 { carried.hash().unwrap() } else { compress::NO_RESIDUAL };
			c.residual_out = left.hash().unwrap();
		}
	}
	inputs
}

#[test]
fn compressed_updates_are_checked_against_the_proof_and_their_payloads_combined() {
	let r = round();
	let inputs = compressed_round(&r);
	let outcome = verify_round(&r.store, &inputs, &config()).unwrap();
	let verdicts: Vec<_> = outcome.verdicts.iter().map(|(_, v)| *v).collect();
	assert!(
		verdicts[..2].iter().all(|v| matches!(v, VerdictOut::Accepted { improvement } if *improvement > 0)),
		"{verdicts:?}"
	);
	assert!(matches!(verdicts[2], VerdictOut::Rejected { segment: 1, .. }), "the forged proof");
	// θ_{r+1} = θ_r − mean of the decoded payloads, not of the dense updates.
	let decoded: Vec<_> =
		(0..r.finals.len()).map(|p| compressed_update(&r, p).0.to_dense().unwrap()).collect();
	let mean = aggregate::aggregate(&Rule::Mean, &decoded).unwrap();
	let expected = aggregate::apply_update(&r.initial, &mean, 1.0).unwrap();
	assert_eq!(outcome.new_weights, weights_hash(&expected).unwrap());
	let dense = verify_round(&r.store, &r.inputs, &config()).unwrap();
	assert_ne!(outcome.new_weights, dense.new_weights);
	let payload_bytes = r
		.store
		.get(Kind::Update, &inputs.commitments.iter().find(|(p, _)| *p == 0).unwrap().1.update_hash)
		.unwrap()
		.unwrap();
	let dense_bytes = aggregate::flatten(&r.initial).unwrap().numel() * 4;
	assert!(payload_bytes.len() * 20 < dense_bytes, "{} of {dense_bytes} bytes", payload_bytes.len());

	// Position 1 names a payload that is not the proof's (another share kept), stored or not,
	// or its dense final weights, or a payload compressed without the residual it claims to
	// add, or residuals it does not have or leave: rejected at segment 0, with the reason as
	// evidence. So is a dense update that names a residual.
	let (other, other_left) =
		compress::payload(&r.initial, &r.finals[1], FIVE_PERCENT / 2, None).unwrap();
	let dense_hash = weights_hash(&r.finals[1]).unwrap();
	let carried_hash = carried_residual(&r).hash().unwrap();
	let honest = |position: u32| inputs.commitments.iter().find(|(p, _)| *p == position).unwrap().1;
	let lie = |position: u32, edit: fn(&mut CommitmentInfo, [Hash; 3])| {
		let mut c = honest(position);
		edit(&mut c, [other.hash(), dense_hash, other_left.hash().unwrap()]);
		(position, c)
	};
	let lies = [
		(lie(1, |c, [other, ..]| c.update_hash = other), false, "no update stored"),
		(lie(1, |c, [other, ..]| c.update_hash = other), true, "not the top-k payload"),
		(lie(1, |c, [_, dense, _]| c.update_hash = dense), false, "no update stored"),
		// Compressed without the residual it names.
		(
			(1, CommitmentInfo { residual_in: carried_hash, ..honest(1) }),
			false,
			"not the top-k payload of the proof's update plus its residual",
		),
		(
			(1, CommitmentInfo { residual_in: [0x5a; 32], ..honest(1) }),
			false,
			"no residual stored under residual_in",
		),
		(lie(1, |c, [.., left]| c.residual_out = left), false, "residual_out is not the residual"),
		// Claims no residual, but its payload was compressed with one.
		(
			(0, CommitmentInfo { residual_in: compress::NO_RESIDUAL, ..honest(0) }),
			false,
			"not the top-k payload",
		),
		(
			(0, CommitmentInfo { residual_out: compress::NO_RESIDUAL, ..honest(0) }),
			false,
			"residual_out is not the residual",
		),
	];
	for ((position, commitment), stored, why) in lies {
		if stored {
			r.store.put(Kind::Update, &other.hash(), &other.encode()).unwrap();
		}
		let mut lying = inputs.clone();
		lying.commitments = vec![(position, commitment)];
		let out = verify_round(&r.store, &lying, &config()).unwrap();
		let VerdictOut::Rejected { segment: 0, distance: u64::MAX, evidence } = out.verdicts[0].1
		else {
			panic!("{why}: {out:?}")
		};
		let reason = String::from_utf8(r.store.get(Kind::Report, &evidence).unwrap().unwrap());
		assert!(reason.unwrap().contains(why), "{why}");
		assert_eq!(out.new_weights, weights_hash(&r.initial).unwrap());
	}

	// A committee recomputes the aggregate from the payloads alone (no proof bundles) and
	// checks a segment claim's commitment names the proof's payload.
	let judged = |c: &ChallengeInputs| judge(&r.store, c, &config()).unwrap();
	let mut aggregate = challenge_of(&r, Claim::WrongAggregate, 0, 0);
	aggregate.round = inputs.clone();
	let needed: Vec<_> = aggregate.needed().into_iter().map(|(kind, _)| kind).collect();
	assert_eq!(needed, [Kind::Model, Kind::Weights, Kind::Update, Kind::Update]);
	aggregate.new_weights = outcome.new_weights;
	assert!(!judged(&aggregate));
	aggregate.new_weights = dense.new_weights;
	assert!(judged(&aggregate), "the mean of the dense updates is not the announced rule's");
	let mut segment = challenge_of(&r, Claim::ValidWorkRejected, 1, 1);
	segment.round = inputs.clone();
	assert!(judged(&segment));
	for (position, c) in &mut segment.round.commitments {
		if *position == 1 {
			c.update_hash = other.hash();
		}
	}
	assert!(!judged(&segment), "the segment re-executes, the committed update is not the proof's");
	segment.claim = Claim::InvalidWorkAccepted;
	assert!(judged(&segment));
	// A segment claim on position 0 reads the residual it carried in, and holds it to the
	// residual it names as left.
	let mut carried_in = challenge_of(&r, Claim::ValidWorkRejected, 0, 1);
	carried_in.round = inputs.clone();
	assert!(carried_in.needed().contains(&(Kind::Residual, carried_hash)));
	assert!(judged(&carried_in));
	carried_in.claim = Claim::InvalidWorkAccepted;
	assert!(!judged(&carried_in));
	for (position, c) in &mut carried_in.round.commitments {
		if *position == 0 {
			c.residual_out = carried_hash;
		}
	}
	assert!(judged(&carried_in), "the residual it names is not the one its update leaves");
	carried_in.claim = Claim::ValidWorkRejected;
	assert!(!judged(&carried_in));

	// Under a dense encoding a commitment names no residual.
	let mut dense_with_residual = r.inputs.clone();
	dense_with_residual.commitments.retain(|(p, _)| *p == 0);
	dense_with_residual.commitments[0].1.residual_out = carried_hash;
	let out = verify_round(&r.store, &dense_with_residual, &config()).unwrap();
	let VerdictOut::Rejected { evidence, .. } = out.verdicts[0].1 else { panic!("{out:?}") };
	let reason = String::from_utf8(r.store.get(Kind::Report, &evidence).unwrap().unwrap()).unwrap();
	assert!(reason.contains("a dense update carries no error-feedback residual"), "{reason}");
}

/// A chain stand-in that knows one challenge and no round.
struct FakeChallenges(ChallengeInputs);

impl RoundSource for FakeChallenges {
	fn challenge(
		&self,
		id: u64,
	) -> Pin<Box<dyn Future<Output = Result<ChallengeInputs, JobError>> + Send + '_>> {
		let known = self.0.clone();
		Box::pin(async move {
			if known.id == id {
				Ok(known)
			} else {
				Err(JobError::NotFound(format!("no open challenge {id}")))
			}
		})
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn the_verdict_endpoint_fetches_what_it_lacks_from_the_accused_validator() {
	let r = round();
	// The accused validator's service, listening, over the round's store.
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let address = listener.local_addr().unwrap();
	let accused = app(r.store_dir.path(), 64 << 20, no_chain());
	tokio::spawn(async move { axum::serve(listener, accused).await.unwrap() });

	let mut challenge = challenge_of(&r, Claim::ValidWorkRejected, 0, 1);
	challenge.validator_endpoint = Some(format!("http://{address}"));
	let member_dir = tempfile::tempdir().unwrap();
	let source = Arc::new(FakeChallenges(challenge.clone()));
	let member = router(
		ServeState::new(member_dir.path(), 64 << 20, pot_pol_core::select::DEFAULT_MAX_MISS_PPM, source)
			.unwrap(),
	);
	let (status, _) = call(&member, Method::POST, "/v1/challenges/seven/verdict", vec![]).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
	let (status, _) = call(&member, Method::POST, "/v1/challenges/8/verdict", vec![]).await;
	assert_eq!(status, StatusCode::NOT_FOUND);
	let (status, _) = call(&member, Method::POST, "/v1/challenges/7/verdict", vec![]).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let started = std::time::Instant::now();
	let body = loop {
		let (status, body) = call(&member, Method::POST, "/v1/challenges/7/verdict", vec![]).await;
		match status {
			StatusCode::OK => break body,
			StatusCode::ACCEPTED => {},
			other => panic!("{other}: {}", String::from_utf8_lossy(&body)),
		}
		assert!(started.elapsed() < Duration::from_secs(120), "no verdict");
		tokio::time::sleep(Duration::from_millis(100)).await;
	};
	assert_eq!(body, vec![1], "SCALE `true`: the rejected segment re-executes");
	let member_store = Store::open(member_dir.path()).unwrap();
	assert!(member_store.contains(Kind::Proof, &r.inputs.commitments.iter().find(|(p, _)| *p == 0).unwrap().1.proof_hash));
	assert!(member_store.contains(Kind::Model, &spec().hash()));
}

// ---------------------------------------------------------------- datasets and chunks

/// A chain stand-in that knows one running round's assignment.
struct FakeRun(pot_trainer::round_verifier::RoundAssignment);

impl RoundSource for FakeRun {
	fn assignment(
		&self,
		order: u64,
		round: u32,
	) -> Pin<
		Box<
			dyn Future<Output = Result<pot_trainer::round_verifier::RoundAssignment, JobError>>
				+ Send
				+ '_,
		>,
	> {
		let known = (order, round) == (ORDER, ROUND);
		let assignment = self.0.clone();
		Box::pin(async move {
			if known {
				Ok(assignment)
			} else {
				Err(JobError::NotFound(format!("order {order} is not training round {round}")))
			}
		})
	}
}

/// A GET of `uri`, signed by `key` for `signed_path` (normally `uri` itself).
async fn signed_get(
	app: &Router,
	uri: &str,
	key: &pot_client::subxt_signer::sr25519::Keypair,
	signed_path: &str,
) -> (StatusCode, Vec<u8>) {
	let mut request = Request::builder().method(Method::GET).uri(uri);
	let now = pot_trainer::serve_auth::now_secs();
	for (name, value) in pot_trainer::serve_auth::sign_headers(key, "GET", signed_path, &[], now) {
		request = request.header(name, value);
	}
	let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
	let status = response.status();
	(status, to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
}

/// The digits as an uploaded dataset: a held-out split other than the embedded one, so the
/// service must have it stored.
fn uploaded_pair() -> DatasetPair {
	let (train, held) = digits_split().unwrap();
	let held_out = held.subset(&(0..100).collect::<Vec<_>>()).unwrap();
	DatasetPair { train, held_out }
}

#[tokio::test]
async fn datasets_are_stored_checked_against_their_address_and_served_to_the_allowed() {
	use pot_client::subxt_signer::sr25519::dev;
	use pot_trainer::serve_auth::AllowList;
	let store = tempfile::tempdir().unwrap();
	let open = app(store.path(), 1 << 20, no_chain());
	let pair = uploaded_pair();
	let file = pair.encode();
	let hash = hex::encode(pair.hash());
	assert_eq!(put(&open, "dataset", &hash, file.clone()).await.0, StatusCode::CREATED);
	assert_eq!(put(&open, "dataset", &hash, file.clone()).await.0, StatusCode::OK);
	assert_eq!(get(&open, "dataset", &hash).await, (StatusCode::OK, file.clone()));
	// Another address, a truncated file, or the embedded pair under this address: refused.
	let (status, why) = put(&open, "dataset", &"ab".repeat(32), file.clone()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
	let (status, why) = put(&open, "dataset", &hash, file[..file.len() - 1].to_vec()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
	let (status, why) = put(&open, "dataset", &hash, digits_pair().unwrap().encode()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");

	// With an allow list, only signed requests of listed accounts read it whole.
	let listed = router(
		ServeState::new(store.path(), 1 << 20, 10_000, no_chain())
			.unwrap()
			.with_allow(AllowList::of([dev::alice().public_key().0])),
	);
	let uri = format!("/v1/artifacts/dataset/{hash}");
	assert_eq!(get(&listed, "dataset", &hash).await.0, StatusCode::UNAUTHORIZED);
	assert_eq!(signed_get(&listed, &uri, &dev::bob(), &uri).await.0, StatusCode::FORBIDDEN);
	assert_eq!(signed_get(&listed, &uri, &dev::alice(), &uri).await, (StatusCode::OK, file));
}

#[tokio::test]
async fn a_participant_gets_its_own_chunk_and_nobody_else_gets_any() {
	use pot_client::subxt_signer::sr25519::dev;
	use pot_pol_core::assign::{chunk_of, RoundKey};
	use pot_trainer::{chunk::Chunk, data::Samples, round_verifier::RoundAssignment};
	let store = tempfile::tempdir().unwrap();
	let pair = uploaded_pair();
	let (alice, bob) = (dev::alice(), dev::bob());
	let capacities = [100u64, 300];
	let assignment = RoundAssignment {
		round_seed: ROUND_SEED,
		dataset: pair.hash(),
		samples: pair.train.len() as u64,
		participants: vec![(alice.public_key().0, capacities[0]), (bob.public_key().0, capacities[1])],
	};
	let service = router(
		ServeState::new(store.path(), 1 << 20, 10_000, Arc::new(FakeRun(assignment))).unwrap(),
	);
	let uri = format!("/v1/rounds/{ORDER}/{ROUND}/chunk");
	// Before the consumer's upload the service cannot serve it.
	assert_eq!(
		signed_get(&service, &uri, &bob, &uri).await.0,
		StatusCode::SERVICE_UNAVAILABLE
	);
	Store::open(store.path()).unwrap().put(Kind::Dataset, &pair.hash(), &pair.encode()).unwrap();

	// Unsigned, signed for another path, or signed by a non-participant: refused.
	assert_eq!(call(&service, Method::GET, &uri, vec![]).await.0, StatusCode::UNAUTHORIZED);
	let other = format!("/v1/rounds/{ORDER}/{}/chunk", ROUND + 1);
	assert_eq!(signed_get(&service, &uri, &bob, &other).await.0, StatusCode::UNAUTHORIZED);
	assert_eq!(signed_get(&service, &uri, &dev::charlie(), &uri).await.0, StatusCode::FORBIDDEN);
	// Another round, or not a number.
	assert_eq!(signed_get(&service, &other, &bob, &other).await.0, StatusCode::NOT_FOUND);
	let bad = format!("/v1/rounds/{ORDER}/x/chunk");
	assert_eq!(signed_get(&service, &bad, &bob, &bad).await.0, StatusCode::BAD_REQUEST);

	// Each participant gets exactly its assigned samples, checked against the order's hash.
	let key = RoundKey { order: ORDER, round: ROUND, seed: ROUND_SEED };
	let samples = pair.train.len() as u32;
	for (position, who) in [&alice, &bob].into_iter().enumerate() {
		let (status, body) = signed_get(&service, &uri, who, &uri).await;
		assert_eq!(status, StatusCode::OK);
		let indices = chunk_of(&key, samples, &capacities, position as u32).unwrap();
		let chunk = Chunk::decode_verified(&body, &pair.hash(), &indices).unwrap();
		assert_eq!(chunk.held().len(), indices.len());
		assert_eq!(chunk.total(), u64::from(samples));
		// The other participant's chunk is not in it.
		let theirs = chunk_of(&key, samples, &capacities, 1 - position as u32).unwrap();
		assert!(theirs.iter().all(|i| chunk.row_of(*i).is_none()));
		assert!(Chunk::decode_verified(&body, &pair.hash(), &theirs).is_err());
	}
}

#[test]
fn training_on_the_chunk_equals_training_on_the_whole_split() {
	use pot_pol_core::assign::chunk_of;
	use pot_trainer::chunk::{self, Chunk};
	let pair = train_set();
	let initial = initial_params();
	let capacities = [1u64, 2];
	let task = provider_task(&pair, &initial, &capacities, 1);
	let indices =
		chunk_of(&task.round.key(), task.samples, &capacities, task.round.provider).unwrap();
	let file = chunk::encode(&pair, &indices).unwrap();
	let only_mine = Chunk::decode_verified(&file, &pair.hash(), &indices).unwrap();
	let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
	let whole = proof::train(&task, &pair, copy_params(&initial), a.path(), 1).unwrap();
	let chunked = proof::train(&task, &only_mine, copy_params(&initial), b.path(), 1).unwrap();
	assert_eq!(whole.manifest.merkle_root, chunked.manifest.merkle_root);
	// Another provider's chunk cannot train this provider's task.
	let theirs = chunk_of(&task.round.key(), task.samples, &capacities, 0).unwrap();
	let wrong =
		Chunk::decode_verified(&chunk::encode(&pair, &theirs).unwrap(), &pair.hash(), &theirs)
			.unwrap();
	let c = tempfile::tempdir().unwrap();
	assert!(proof::train(&task, &wrong, copy_params(&initial), c.path(), 1).is_err());
}

/// A watcher judges an acceptance on the segments the accepting validator had to re-execute,
/// as the round job selects them from the round's verification seed, and on no others: a forged
/// segment that the protocol's sample was allowed to miss is not the validator's fault.
#[test]
fn watchers_and_committees_hold_a_validator_to_the_segments_it_had_to_re_execute() {
	let train = train_set();
	let initial = initial_params();
	let capacities = [1];
	// 200 steps with a checkpoint after each: 200 segments, of which the detection goal (one
	// forged segment caught with 99% probability) has a verifier re-execute 199: the 100
	// largest updates and 99 of the other 100 at random.
	let mut task = provider_task(&train, &initial, &capacities, 0);
	task.local_steps = 200;
	task.checkpoint_interval = 1;
	let dir = tempfile::tempdir().unwrap();
	proof::train(&task, &train, copy_params(&initial), dir.path(), 1).unwrap();
	// Interpolate the last checkpoint halfway: only the last segment stops re-executing, and its
	// update norm becomes the smallest, so it is never among the largest-update segments.
	let before_last = common::load_checkpoint(&task, dir.path(), 199);
	edit_checkpoint(&task, dir.path(), 200, |c| {
		for (name, p) in c.params.iter_mut() {
			let start = &before_last.params[name];
			*p = (start + (p.detach() - start) * 0.5).set_requires_grad(true);
		}
	});
	reseal(&task, dir.path());
	let m = Manifest::read(dir.path()).unwrap();
	let norms = pot_trainer::verify::segment_update_norms(&task, &m, dir.path()).unwrap();
	let selection = |seed: &Hash| {
		pot_trainer::verify::selected_segments(
			&task,
			&norms,
			seed,
			&m.merkle_root.0,
			pot_pol_core::select::DEFAULT_MAX_MISS_PPM,
		)
		.unwrap()
	};
	let seeds = (0u32..5_000).map(|i| blake2_256(&i.to_le_bytes()));
	let missed = seeds.clone().find(|s| !selection(s).contains(&199)).expect("a sample that misses it");
	let caught = seeds.clone().find(|s| selection(s).contains(&199)).unwrap();
	assert_eq!(selection(&missed).len(), 199);

	let store_dir = tempfile::tempdir().unwrap();
	let store = Store::open(store_dir.path()).unwrap();
	store.put(Kind::Model, &spec().hash(), &model_bytes()).unwrap();
	store.put(Kind::Weights, &weights_hash(&initial).unwrap(), &weights_bytes(&initial)).unwrap();
	let c = commitment_of(&m, dir.path());
	store.put(Kind::Proof, &c.proof_hash, &bundle::pack(dir.path()).unwrap()).unwrap();
	let mut round = inputs(&train, &initial, &capacities, vec![(0, c)]);
	round.task.local_steps = 200;
	round.task.checkpoint_interval = 1;
	let watched = |seed: Hash| {
		let round = RoundInputs { verification_seed: seed, ..round.clone() };
		// What the round job decides with that seed, and what a watcher then finds.
		let verdict = verify_round(&store, &round, &config()).unwrap().verdicts[0].1;
		let inputs = ChallengeInputs {
			id: 1,
			claim: Claim::InvalidWorkAccepted,
			target: 0,
			segment: 0,
			start: [0; 32],
			end: [0; 32],
			round,
			accepted: vec![0],
			new_weights: [0; 32],
			validator_endpoint: None,
		};
		let found = first_invalid_segment(&store, &inputs, &config()).unwrap().map(|(s, _)| s);
		// What a committee decides on each claim about a segment.
		let hashes = m.hashes();
		let upheld = |claim: Claim, segment: u32| {
			let at = segment as usize;
			let inputs =
				ChallengeInputs { claim, segment, start: hashes[at], end: hashes[at + 1], ..inputs.clone() };
			judge(&store, &inputs, &config()).unwrap()
		};
		let claims = [Claim::InvalidWorkAccepted, Claim::ForgedWork];
		let on_forged = claims.map(|claim| upheld(claim, 199));
		let on_honest = claims.map(|claim| upheld(claim, 7));
		(verdict, found, on_forged, on_honest)
	};
	// The sample missed the forged segment: an honest validator accepts, and the watcher, which
	// re-executes what the validator had to, leaves the acceptance alone. A committee does not
	// hold the validator to it either, but upholds the claim against the forger alone.
	let (verdict, found, on_forged, on_honest) = watched(missed);
	assert!(matches!(verdict, VerdictOut::Accepted { .. }), "{verdict:?}");
	assert_eq!(found, None);
	assert_eq!(on_forged, [false, true]);
	assert_eq!(on_honest, [false, false]);
	// The sample covered it: an honest validator rejects; one that accepted anyway is caught
	// at that segment, and a committee upholds the claim there, against both.
	let (verdict, found, on_forged, on_honest) = watched(caught);
	assert!(matches!(verdict, VerdictOut::Rejected { segment: 199, .. }), "{verdict:?}");
	assert_eq!(found, Some(199));
	assert_eq!(on_forged, [true, true]);
	assert_eq!(on_honest, [false, false]);
}
