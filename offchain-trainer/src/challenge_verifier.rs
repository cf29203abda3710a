//! A challenge committee member's verdict (PROTOCOL.md step 6), behind
//! `POST /v1/challenges/{id}/verdict` of `pot-trainer serve`: the validator's offchain worker
//! asks it and votes what it answers.
//!
//! Like the round job, two halves:
//! - [`judge`]: the verdict from plain inputs ([`ChallengeInputs`]) and the [`Store`]; no
//!   chain, blocking (libtorch).
//! - [`read_challenge`]: those inputs from a node (`Pol.Challenges`, `Pol.RoundResults`,
//!   `Pol.Runs`, `Market.Orders`, `Staking.ValidatorInfo`) at the best block.
//!
//! The claims:
//! - `ForgedWork` is upheld when the target's segment does not re-execute from the
//!   challenged checkpoint `start` to `end` within the order's tolerance, or the proof is broken
//!   (checkpoint files missing or not hashing to the committed entries, other minibatches than
//!   the assignment's), or the proof does not back the commitment as a whole (its manifest
//!   against the commitment, its Merkle root, final weights = last checkpoint's: see
//!   `inconsistency`).
//! - `InvalidWorkAccepted` is upheld when the proof does not back the commitment as a whole,
//!   or when `ForgedWork` would be upheld on a segment the validator had to re-execute
//!   (`obligated_segments`): a forged segment the protocol's sample was allowed to miss is the
//!   provider's fault, not the validator's.
//! - `ValidWorkRejected` is upheld when the proof backs the commitment and the segment the
//!   rejection names re-executes.
//! - `WrongAggregate` is upheld when the order's rule over the updates that stand accepted does
//!   not give the weights the validator announced (under a top-k encoding, over their decoded
//!   payloads: the committee needs no proof bundle for it).
//!
//! The artifacts come from this service's store; what is missing there (the model, the target's
//! proof bundle, for the aggregate the round's weights and every accepted bundle) is fetched
//! from the challenged validator's registered artifact endpoint and checked against its address
//! first ([`fetch_missing`]). A challenger can also upload its bundle to the committee's
//! services itself (content-addressed, so anyone may): a validator that censors work may well
//! withhold its artifacts too.

use crate::{
	aggregate,
	bundle,
	compress::{self, Sparse, UpdateEncoding},
	checkpoint::{weights_hash, Checkpoint},
	data,
	model::Model,
	proof::{entry_path, Manifest},
	remote::ArtifactClient,
	round_verifier::{
		aggregated, base_task, committed_payload, dense_mismatch, manifest_mismatch, stored_dataset,
		stored_model, stored_weights, task_params, unavailable, CommitmentInfo, JobError, RoundInputs, TempDir, VerifyConfig, JOB_LOCK,
	},
	serve::check_artifact,
	store::{Kind, Store},
	verify::{self, reexecute_segment},
	work::AtBlock,
};
use pot_client::{
	api::{
		self,
		runtime_types::{pallet_pot_pol::types as chain, pot_primitives::ids::OrderId},
	},
	subxt_signer::sr25519::Keypair,
	Chain,
};
use pot_pol_core::{merkle, Hash};

/// What a challenge claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
	/// The target's submission was accepted, its segment does not re-execute, and the
	/// validator had to re-execute it.
	InvalidWorkAccepted,
	/// The target's submission was accepted, its segment does not re-execute (the provider's
	/// fault alone).
	ForgedWork,
	/// The target's submission was rejected at the segment, which does re-execute.
	ValidWorkRejected,
	/// The announced weights are not the aggregate of the accepted updates.
	WrongAggregate,
}

/// Everything the verdict needs from the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeInputs {
	/// The challenge.
	pub id: u64,
	/// Its claim.
	pub claim: Claim,
	/// The target position (segment claims).
	pub target: u32,
	/// The disputed segment (segment claims).
	pub segment: u32,
	/// Hashes of checkpoints `segment` and `segment + 1`, proven on chain against the target's
	/// committed root.
	pub start: Hash,
	/// See `start`.
	pub end: Hash,
	/// The round as its record keeps it: seed, starting weights, verification seed, every judged
	/// commitment, the order's task.
	pub round: RoundInputs,
	/// Positions whose submission stands accepted (accepted and not overturned, or rejected and
	/// overturned).
	pub accepted: Vec<u32>,
	/// The weights the validator announced for the next round.
	pub new_weights: Hash,
	/// The challenged validator's artifact endpoint, if it registered one.
	pub validator_endpoint: Option<String>,
}

impl ChallengeInputs {
	fn commitment(&self, position: u32) -> Result<CommitmentInfo, JobError> {
		self.round
			.commitments
			.iter()
			.find(|(p, _)| *p == position)
			.map(|(_, c)| *c)
			.ok_or_else(|| JobError::NotFound(format!("no commitment at position {position}")))
	}

	/// The artifacts the verdict reads: the model, then the target's proof bundle, the
	/// order's dataset (unless embedded) and the round's weights, plus under a top-k encoding
	/// the target's `residual_in` (unless none); or
	/// for the aggregate the round's weights and every accepted update: the proof bundles of
	/// dense updates, the (small) payloads of top-k ones.
	pub fn needed(&self) -> Vec<(Kind, Hash)> {
		let mut needed = vec![(Kind::Model, self.round.task.model)];
		let embedded = matches!(data::embedded_pair(&self.round.task.dataset), Ok(Some(_)));
		let top_k = self.round.task.update != UpdateEncoding::Dense;
		let of = |positions: &[u32], kind: Kind| -> Vec<(Kind, Hash)> {
			positions
				.iter()
				.filter_map(|p| self.commitment(*p).ok())
				.map(|c| (kind, if kind == Kind::Update { c.update_hash } else { c.proof_hash }))
				.collect()
		};
		match self.claim {
			Claim::WrongAggregate => {
				needed.push((Kind::Weights, self.round.round_weights));
				let kind = if top_k { Kind::Update } else { Kind::Proof };
				needed.extend(of(&self.accepted, kind));
			},
			_ => {
				needed.extend(of(&[self.target], Kind::Proof));
				if !embedded {
					needed.push((Kind::Dataset, self.round.task.dataset));
				}
				// Checkpoint 0 must be the round's weights.
				needed.push((Kind::Weights, self.round.round_weights));
				if top_k {
					let residual_in = self.commitment(self.target).map(|c| c.residual_in);
					if let Some(hash) = residual_in.ok().filter(|h| *h != compress::NO_RESIDUAL) {
						needed.push((Kind::Residual, hash));
					}
				}
			},
		}
		needed
	}
}

/// Fetches what [`ChallengeInputs::needed`] names and the store lacks from the challenged
/// validator's endpoint, checks each against its address and stores it. Fails with
/// [`JobError::Unavailable`] when something cannot be had (retrying may help).
pub async fn fetch_missing(
	store: &Store,
	inputs: &ChallengeInputs,
	max_bytes: u64,
	signer: Option<&Keypair>,
) -> Result<(), JobError> {
	let missing: Vec<_> =
		inputs.needed().into_iter().filter(|(kind, hash)| !store.contains(*kind, hash)).collect();
	if missing.is_empty() {
		return Ok(());
	}
	let endpoint = inputs.validator_endpoint.as_deref().ok_or_else(|| {
		JobError::Unavailable("artifacts missing and the validator registered no endpoint".into())
	})?;
	let client = ArtifactClient::new(endpoint).map_err(unavailable)?.signed_by(signer);
	for (kind, hash) in missing {
		let bytes = client.get(kind, &hash, max_bytes).await.map_err(|e| {
			JobError::Unavailable(format!("{} {}: {e}", kind.name(), hex::encode(hash)))
		})?;
		check_artifact(kind, &hash, &bytes, max_bytes).map_err(|reason| {
			JobError::Unavailable(format!(
				"{} {} from {endpoint} is not what its address says: {reason}",
				kind.name(),
				hex::encode(hash)
			))
		})?;
		store.put(kind, &hash, &bytes)?;
	}
	Ok(())
}

/// The verdict on the challenge: `true` when the claim is right. Blocking (libtorch).
pub fn judge(store: &Store, inputs: &ChallengeInputs, config: &VerifyConfig) -> Result<bool, JobError> {
	let _one_at_a_time = JOB_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
	match inputs.claim {
		Claim::WrongAggregate => wrong_aggregate(store, inputs, config),
		Claim::ForgedWork => Ok(!reproduces(store, inputs, config)?),
		Claim::InvalidWorkAccepted => wrong_acceptance(store, inputs, config),
		Claim::ValidWorkRejected => reproduces(store, inputs, config),
	}
}

/// Whether the validator was wrong to accept the target: its proof does not back the
/// commitment, or the challenged segment does not reproduce and was one the validator had to
/// re-execute.
fn wrong_acceptance(
	store: &Store,
	inputs: &ChallengeInputs,
	config: &VerifyConfig,
) -> Result<bool, JobError> {
	let proof = match unpack_target(store, inputs, config)? {
		Ok(proof) => proof,
		Err(why) => {
			tracing::info!(challenge = inputs.id, %why, "the proof does not back its commitment");
			return Ok(true);
		},
	};
	if segment_reproduces(&proof, inputs.id, inputs.segment, &inputs.start, &inputs.end)? {
		return Ok(false);
	}
	let obliged = obligated_segments(&proof, &inputs.round.verification_seed)?.contains(&inputs.segment);
	if !obliged {
		tracing::info!(
			challenge = inputs.id,
			segment = inputs.segment,
			"forged, but outside the validator's sample: the provider's fault alone (ForgedWork)"
		);
	}
	Ok(obliged)
}

/// The target's proof unpacked into a temporary directory and checked as a whole, ready to
/// re-execute its segments.
struct UnpackedProof {
	task: crate::task::TrainTask,
	pair: data::DatasetPair,
	dir: TempDir,
	manifest: Manifest,
	/// The committed Merkle root, which the manifest's checkpoint hashes were checked to have.
	root: Hash,
}

/// Unpacks the target's proof and makes the whole-proof checks (`inconsistency`); `Ok(Err(why))`
/// when the proof is broken or does not back the commitment.
fn unpack_target(
	store: &Store,
	inputs: &ChallengeInputs,
	config: &VerifyConfig,
) -> Result<Result<UnpackedProof, String>, JobError> {
	let spec = stored_model(store, &inputs.round.task.model)?;
	let pair = stored_dataset(store, &inputs.round.task.dataset)?;
	let base = base_task(&inputs.round, spec, &pair)?;
	let c = inputs.commitment(inputs.target)?;
	let bytes = store.get(Kind::Proof, &c.proof_hash)?.ok_or_else(|| {
		JobError::Unavailable(format!("proof {} is not stored", hex::encode(c.proof_hash)))
	})?;
	let dir = TempDir(store.temp_path());
	std::fs::create_dir(&dir.0).map_err(|e| crate::error::Error::io(&dir.0, e))?;
	if let Err(e) = bundle::unpack_into(&bytes, config.max_artifact_bytes, &dir.0) {
		return Ok(Err(format!("proof bundle: {e}")));
	}
	let mut task = base;
	task.local_steps = c.steps_done;
	task.round.provider = inputs.target;
	if let Err(e) = task.validate() {
		return Ok(Err(format!("commitment not re-executable: {e}")));
	}
	let manifest = match Manifest::read(&dir.0) {
		Ok(m) => m,
		Err(e) => return Ok(Err(format!("proof manifest: {e}"))),
	};
	if let Some(why) =
		inconsistency(store, &task, &dir.0, &manifest, &inputs.round, inputs.target, &c)?
	{
		return Ok(Err(why));
	}
	// What the round verifier checks before re-executing: every checkpoint against its hash,
	// checkpoint 0 against the round's weights, every step's minibatch. Without it a proof
	// trained from other weights than the round's could win `ValidWorkRejected` on a segment
	// that re-executes from them.
	let model_box = task.model.build()?;
	let round_params = stored_weights(store, model_box.as_ref(), &inputs.round.round_weights)?;
	let failures =
		verify::whole_proof_failures(&task, &pair, round_params, &dir.0, &c.checkpoint_root)?;
	if !failures.is_empty() {
		return Ok(Err(format!("the proof as a whole: {}", failures.join("; "))));
	}
	Ok(Ok(UnpackedProof { task, pair, dir, manifest, root: c.checkpoint_root }))
}

/// Whether `segment` of an unpacked proof re-executes from `start` to `end` within the
/// tolerance.
fn segment_reproduces(
	proof: &UnpackedProof,
	challenge: u64,
	segment: u32,
	start: &Hash,
	end: &Hash,
) -> Result<bool, JobError> {
	match reexecute_segment(&proof.task, &proof.pair, &proof.dir.0, segment, start, end)? {
		Ok(report) => {
			tracing::info!(
				challenge,
				segment = report.index,
				l2 = report.l2,
				hash_matches = report.hash_matches,
				accepted = report.accepted,
				"challenged segment re-executed"
			);
			Ok(report.accepted)
		},
		Err(why) => {
			tracing::info!(challenge, %why, "the challenged segment does not reproduce");
			Ok(false)
		},
	}
}

/// Whether the target's segment re-executes within the tolerance (a broken proof does not).
fn reproduces(store: &Store, inputs: &ChallengeInputs, config: &VerifyConfig) -> Result<bool, JobError> {
	match unpack_target(store, inputs, config)? {
		Ok(proof) => segment_reproduces(&proof, inputs.id, inputs.segment, &inputs.start, &inputs.end),
		Err(why) => {
			tracing::info!(challenge = inputs.id, %why, "the challenged segment does not reproduce");
			Ok(false)
		},
	}
}

/// The first segment the accepting validator had to re-execute (`obligated_segments`) on which
/// [`judge`] would uphold `InvalidWorkAccepted`, with the proof's checkpoint hashes (empty when
/// its manifest cannot be read); `None` when the proof backs the commitment and every such
/// segment re-executes. A proof that does not back its commitment as a whole was the
/// validator's to reject, so it is found at segment 0. The proof is unpacked and checked as a
/// whole once for all its segments. Blocking (libtorch).
pub fn first_invalid_segment(
	store: &Store,
	inputs: &ChallengeInputs,
	config: &VerifyConfig,
) -> Result<Option<(u32, Vec<Hash>)>, JobError> {
	let _one_at_a_time = JOB_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
	let proof = match unpack_target(store, inputs, config)? {
		Ok(proof) => proof,
		Err(why) => {
			tracing::info!(target = inputs.target, %why, "the proof does not back its commitment");
			// A committee upholds the claim on any segment; segment 0 needs the least proof.
			let hashes = inputs
				.commitment(inputs.target)
				.ok()
				.and_then(|c| store.get(Kind::Proof, &c.proof_hash).ok().flatten())
				.and_then(|bytes| bundle::unpack(&bytes, config.max_artifact_bytes).ok())
				.and_then(|files| files.into_iter().find(|(name, _)| name == bundle::MANIFEST))
				.and_then(|(_, text)| serde_json::from_slice::<Manifest>(&text).ok())
				.map(|m| m.hashes())
				.unwrap_or_default();
			return Ok(Some((0, hashes)));
		},
	};
	let hashes = proof.manifest.hashes();
	for segment in obligated_segments(&proof, &inputs.round.verification_seed)? {
		let index = segment as usize;
		let (Some(start), Some(end)) = (hashes.get(index), hashes.get(index.saturating_add(1)))
		else {
			continue;
		};
		if !segment_reproduces(&proof, inputs.id, segment, start, end)? {
			return Ok(Some((segment, hashes)));
		}
	}
	Ok(None)
}

/// The segments of `proof` that the round's validator had to re-execute before accepting it:
/// [`verify::selected_segments`] at the protocol's detection goal
/// ([`DEFAULT_MAX_MISS_PPM`](pot_pol_core::select::DEFAULT_MAX_MISS_PPM)) from the round's
/// verification seed, as an honest validator selects them. A validator answers for those: a
/// forged segment outside them is one the protocol lets a sample miss, not a wrong verdict.
/// Every segment when the update norms cannot be measured (a checkpoint does not load): the
/// validator had to reject such a proof outright.
fn obligated_segments(proof: &UnpackedProof, verification_seed: &Hash) -> Result<Vec<u32>, JobError> {
	let all = || (0u32..).take(proof.manifest.checkpoints.len().saturating_sub(1)).collect();
	let Ok(norms) = verify::segment_update_norms(&proof.task, &proof.manifest, &proof.dir.0) else {
		return Ok(all());
	};
	Ok(verify::selected_segments(
		&proof.task,
		&norms,
		verification_seed,
		&proof.root,
		pot_pol_core::select::DEFAULT_MAX_MISS_PPM,
	)?)
}

/// Why the proof in `dir` does not back commitment `c` of `position` as a whole, if it does
/// not: its manifest disagrees with the commitment (steps, checkpoint count, Merkle root, the
/// committed update hash, the round's weights, order, round, position), its Merkle root is not
/// the root of its checkpoint hashes, its final weights are not the last checkpoint's, or (top-k
/// encoding) the committed update and residual hashes are not those of the proof's payload
/// plus the stored `residual_in` and of the residual it leaves (dense: no residual). A
/// segment that re-executes does not make such a submission valid work: without these checks a
/// provider whose update hash names other weights than it trained could win a
/// `ValidWorkRejected` claim against the validator that rightly rejected it.
fn inconsistency(
	store: &Store,
	task: &crate::task::TrainTask,
	dir: &std::path::Path,
	manifest: &Manifest,
	round: &RoundInputs,
	position: u32,
	c: &CommitmentInfo,
) -> Result<Option<String>, JobError> {
	if let Some(why) = manifest_mismatch(manifest, round, position, c) {
		return Ok(Some(why));
	}
	match merkle::root(&manifest.hashes()) {
		Ok(root) if root == c.checkpoint_root => {},
		_ => return Ok(Some("the checkpoint hashes do not have the committed Merkle root".into())),
	}
	let Some(last) = manifest.checkpoints.last() else {
		return Ok(Some("the proof has no checkpoints".into()));
	};
	let model_box = task.model.build()?;
	let loaded = entry_path(dir, last)
		.and_then(|p| Checkpoint::load(&p, model_box.as_ref(), &task.optimizer));
	let checkpoint = match loaded {
		Ok(checkpoint) => checkpoint,
		Err(e) => return Ok(Some(format!("the last checkpoint: {e}"))),
	};
	if checkpoint.hash()? != last.hash.0 {
		return Ok(Some("the last checkpoint does not hash to its entry".into()));
	}
	if weights_hash(&checkpoint.params)? != manifest.final_weights.0 {
		return Ok(Some("the final weights are not the last checkpoint's".into()));
	}
	let UpdateEncoding::TopK { kept_ppb } = round.task.update else {
		return Ok(dense_mismatch(c));
	};
	let round_params = stored_weights(store, model_box.as_ref(), &round.round_weights)?;
	Ok(committed_payload(store, kept_ppb, &round_params, &checkpoint.params, c)?.err())
}

/// Whether the announced weights differ from the aggregate of the accepted updates.
fn wrong_aggregate(
	store: &Store,
	inputs: &ChallengeInputs,
	config: &VerifyConfig,
) -> Result<bool, JobError> {
	let spec = stored_model(store, &inputs.round.task.model)?;
	let model_box = spec.build()?;
	let model: &dyn Model = model_box.as_ref();
	let round_params = stored_weights(store, model, &inputs.round.round_weights)?;
	let optimizer = crate::optim::OptimizerConfig::new(
		inputs.round.task.optimizer,
		inputs.round.task.learning_rate,
	);
	let dim = u32::try_from(aggregate::coordinate_count(&round_params))
		.map_err(|_| JobError::Failed("the model has too many parameters".into()))?;
	let mut updates = Vec::new();
	for position in &inputs.accepted {
		let c = inputs.commitment(*position)?;
		if inputs.round.task.update != UpdateEncoding::Dense {
			let bytes = store.get(Kind::Update, &c.update_hash)?.ok_or_else(|| {
				JobError::Unavailable(format!("update {} is not stored", hex::encode(c.update_hash)))
			})?;
			let payload = Sparse::decode(&bytes, dim).map_err(|e| {
				JobError::Failed(format!("accepted update of position {position}: {e}"))
			})?;
			if payload.dim != dim {
				return Err(JobError::Failed(format!(
					"accepted update of position {position} has {} coordinates, the model {dim}",
					payload.dim
				)));
			}
			updates.push(payload.to_dense()?);
			continue;
		}
		let bytes = store.get(Kind::Proof, &c.proof_hash)?.ok_or_else(|| {
			JobError::Unavailable(format!("proof {} is not stored", hex::encode(c.proof_hash)))
		})?;
		let dir = TempDir(store.temp_path());
		std::fs::create_dir(&dir.0).map_err(|e| crate::error::Error::io(&dir.0, e))?;
		bundle::unpack_into(&bytes, config.max_artifact_bytes, &dir.0)
			.map_err(|e| JobError::Failed(format!("accepted proof of position {position}: {e}")))?;
		let manifest = Manifest::read(&dir.0)
			.map_err(|e| JobError::Failed(format!("accepted proof of position {position}: {e}")))?;
		let last = manifest.checkpoints.last().ok_or_else(|| {
			JobError::Failed(format!("accepted proof of position {position} has no checkpoints"))
		})?;
		let checkpoint = Checkpoint::load(&entry_path(&dir.0, last)?, model, &optimizer)?;
		// What the validator aggregated is the committed update: a bundle whose last checkpoint
		// is not it is a matter for `InvalidWorkAccepted`, not evidence about the aggregate.
		if checkpoint.hash()? != last.hash.0 || weights_hash(&checkpoint.params)? != c.update_hash {
			return Err(JobError::Failed(format!(
				"accepted proof of position {position}: its last checkpoint is not the committed \
				 update"
			)));
		}
		updates.push(aggregate::update(&round_params, &checkpoint.params)?);
	}
	let computed = weights_hash(&aggregated(&round_params, &updates, inputs.round.task.aggregation)?)?;
	tracing::info!(
		challenge = inputs.id,
		computed = %hex::encode(computed),
		announced = %hex::encode(inputs.new_weights),
		"aggregate recomputed"
	);
	Ok(computed != inputs.new_weights)
}

/// Reads challenge `id` and what its verdict needs at the node's best block.
/// [`JobError::NotFound`] when no such challenge is open.
pub async fn read_challenge(chain: &Chain, id: u64) -> Result<ChallengeInputs, JobError> {
	let at = chain.client().at_current_block().await.map_err(unavailable)?;
	let challenge = at
		.storage()
		.try_fetch(api::storage().pol().challenges(), (id,))
		.await
		.map_err(unavailable)?
		.ok_or_else(|| JobError::NotFound(format!("no open challenge {id}")))?
		.decode()
		.map_err(unavailable)?;
	let claim = match challenge.claim {
		chain::ClaimKind::InvalidWorkAccepted => Claim::InvalidWorkAccepted,
		chain::ClaimKind::ForgedWork => Claim::ForgedWork,
		chain::ClaimKind::ValidWorkRejected => Claim::ValidWorkRejected,
		chain::ClaimKind::WrongAggregate => Claim::WrongAggregate,
	};
	let mut inputs = claim_inputs(&at, challenge.order.0, challenge.round, claim, challenge.target).await?;
	inputs.id = id;
	inputs.segment = challenge.segment;
	inputs.start = challenge.checkpoints.0 .0;
	inputs.end = challenge.checkpoints.1 .0;
	Ok(inputs)
}

/// What a verdict on `claim` about `target` in round `round` of `order` needs, read at `at`,
/// with challenge id 0, segment 0 and zero checkpoint hashes (a caller judging a segment sets
/// them). [`JobError::NotFound`] when the round is not recorded or the run or order is gone.
pub async fn claim_inputs(
	at: &AtBlock,
	order: u64,
	round: u32,
	claim: Claim,
	target: u32,
) -> Result<ChallengeInputs, JobError> {
	let storage = at.storage();
	let record = storage
		.try_fetch(api::storage().pol().round_results(), (OrderId(order), round))
		.await
		.map_err(unavailable)?
		.ok_or_else(|| JobError::NotFound(format!("no record of order {order} round {round}")))?
		.decode()
		.map_err(unavailable)?;
	let run = storage
		.try_fetch(api::storage().pol().runs(), (OrderId(order),))
		.await
		.map_err(unavailable)?
		.ok_or_else(|| JobError::NotFound(format!("no run of order {order}")))?
		.decode()
		.map_err(unavailable)?;
	let market_order = storage
		.try_fetch(api::storage().market().orders(), (OrderId(order),))
		.await
		.map_err(unavailable)?
		.ok_or_else(|| JobError::NotFound(format!("no order {order} in the market")))?
		.decode()
		.map_err(unavailable)?;
	let validator_endpoint = storage
		.try_fetch(api::storage().staking().validator_info(), (run.validator,))
		.await
		.map_err(unavailable)?
		.map(|v| v.decode())
		.transpose()
		.map_err(unavailable)?
		.and_then(|info| String::from_utf8(info.endpoint.0).ok());
	let mut commitments = Vec::new();
	let mut accepted = Vec::new();
	for v in &record.verdicts.0 {
		let stands = matches!(v.verdict, chain::Verdict::Accepted { .. }) != v.overturned;
		if stands {
			accepted.push(v.position);
		}
		commitments.push((
			v.position,
			CommitmentInfo {
				update_hash: v.commitment.update_hash.0,
				checkpoint_root: v.commitment.checkpoint_root.0,
				proof_hash: v.commitment.proof_hash.0,
				checkpoint_count: v.commitment.checkpoint_count,
				steps_done: v.commitment.steps_done,
				residual_in: v.commitment.residual_in.0,
				residual_out: v.commitment.residual_out.0,
			},
		));
	}
	Ok(ChallengeInputs {
		id: 0,
		claim,
		target,
		segment: 0,
		start: [0; 32],
		end: [0; 32],
		round: RoundInputs {
			order,
			round,
			round_seed: record.seed.0,
			round_weights: record.weights.0,
			capacities: run.participants.0.iter().map(|p| p.capacity.0).collect(),
			commitments,
			verification_seed: record.verification_seed.0,
			task: task_params(market_order.task),
		},
		accepted,
		new_weights: record.new_weights.0,
		validator_endpoint,
	})
}
