//! `pot-trainer work`: the provider (PROTOCOL.md steps 3–4).
//!
//! Optionally joins a validator's cluster (bonding first if needed, with a measured capacity),
//! then follows the node's best blocks. In each block, for every run this account takes part in
//! with a non-empty chunk, [`provider_state::decide`] says what to do from the chain's
//! commitment, the disk record and the commit window; training fetches the model and the round's
//! weights from the run's validator, trains the proof with [`proof::train`] (in a blocking
//! thread), uploads the bundle and submits `Pol.submit_commitment`. The node going away is
//! retried with backoff; the disk state makes restarts safe.

use crate::{
	bundle,
	forge::{self, Forgery},
	chain_task::{
		commitment_of, digits_mlp, format_pot, parse_account, parse_pot, train_task,
		update_encoding, RoundAt,
	},
	compress::{self, UpdateEncoding},
	checkpoint::{load_weights, weights_hash, Checkpoint},
	chunk::Chunk,
	data::Samples,
	model::ModelSpec,
	optim::{OptimizerConfig, OptimizerKind},
	profile::ComputeProfile,
	proof::{self, Manifest},
	provider_state::{decide, Action, CommitmentRecord, StateDir, SubmissionState},
	remote,
	store::Kind,
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::Session,
};
use anyhow::{bail, Context};
use pot_client::{
	account_of,
	api::{
		self,
		runtime_types::{
			pallet_pot_pol::types::{Commitment, Run},
			pot_primitives::ids::{HardwareClass, OrderId, WorkUnits},
			sp_arithmetic::fixed_point::FixedU64,
		},
	},
	keypair_from_suri,
	subxt::utils::{AccountId32, H256},
	subxt_signer::sr25519::Keypair,
	Chain,
};
use std::{
	collections::BTreeSet,
	path::{Path, PathBuf},
	time::{Duration, Instant},
};

mod defend;
pub use defend::segment_proof;

/// The chain's state at one block.
pub type AtBlock = pot_client::subxt::client::ClientAtBlock<
	pot_client::PotConfig,
	pot_client::subxt::client::OnlineClientAtBlockImpl<pot_client::PotConfig>,
>;

/// The artifact endpoint `validator` registered in staking.
pub async fn endpoint_of(at: &AtBlock, validator: &AccountId32) -> anyhow::Result<String> {
	let info = at
		.storage()
		.try_fetch(api::storage().staking().validator_info(), (*validator,))
		.await?
		.map(|v| v.decode())
		.transpose()?
		.with_context(|| format!("validator {validator} has no registered endpoint"))?;
	String::from_utf8(info.endpoint.0).context("the validator's endpoint is not UTF-8")
}

/// Largest model spec downloaded (JSON).
pub const MAX_MODEL_BYTES: u64 = 1 << 20;
/// Largest weights file downloaded.
pub const MAX_WEIGHTS_BYTES: u64 = 512 << 20;
/// Largest data chunk downloaded.
pub const MAX_CHUNK_BYTES: u64 = 512 << 20;

/// `pot-trainer work` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct WorkArgs {
	/// The node's WebSocket RPC URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// The provider account's secret URI (`//Ferdie`, a mnemonic, …).
	#[arg(long)]
	pub suri: String,
	/// Directory of commitment records, proofs and downloaded artifacts.
	#[arg(long)]
	pub state_dir: PathBuf,
	/// Join this validator's cluster first (SS58 or 0x + 64 hex), unless already in it.
	#[arg(long)]
	pub join: Option<String>,
	/// Bond (POT) to hold before joining, if the account holds less; at least the chain's
	/// minimum provider bond.
	#[arg(long, default_value = "100")]
	pub bond: String,
	/// Hardware class (compute profile number) declared when joining.
	#[arg(long, default_value_t = 0)]
	pub hardware_class: u16,
	/// Training steps timed to measure the capacity declared when joining.
	#[arg(long, default_value_t = 200)]
	pub measure_steps: u32,
	/// Print one JSON object per event on stdout (logs stay on stderr).
	#[arg(long)]
	pub json: bool,
}

/// Logs events with tracing and, with `--json`, prints each as one JSON line on stdout.
#[derive(Clone, Copy, Debug)]
pub struct Reporter {
	json: bool,
}

impl Reporter {
	/// A reporter; `json` adds the JSON lines.
	pub fn new(json: bool) -> Self {
		Self { json }
	}

	/// Reports `event` with its `fields` (a JSON object) and a human `message`.
	pub fn event(&self, event: &str, message: &str, fields: serde_json::Value) {
		tracing::info!(event, %fields, "{message}");
		if self.json {
			let mut line = serde_json::json!({ "event": event, "message": message });
			if let (Some(obj), serde_json::Value::Object(extra)) = (line.as_object_mut(), fields) {
				obj.extend(extra);
			}
			println!("{line}");
		}
	}

	/// Reports a problem (logged as a warning).
	pub fn warn(&self, event: &str, message: &str, fields: serde_json::Value) {
		tracing::warn!(event, %fields, "{message}");
		if self.json {
			let mut line =
				serde_json::json!({ "event": event, "message": message, "warning": true });
			if let (Some(obj), serde_json::Value::Object(extra)) = (line.as_object_mut(), fields) {
				obj.extend(extra);
			}
			println!("{line}");
		}
	}
}

/// Work units (optimizer steps) per hour of `steps` steps done in `elapsed`; at least 1.
pub fn units_per_hour(steps: u32, elapsed: Duration) -> u64 {
	let nanos = elapsed.as_nanos().max(1);
	let per_hour =
		u128::from(steps).saturating_mul(3_600_000_000_000).checked_div(nanos).unwrap_or(0);
	u64::try_from(per_hour).unwrap_or(u64::MAX).max(1)
}

/// Times `steps` real training steps of the digits MLP (Adam, batch 32, after one warm-up
/// step) and returns the throughput in work units per hour.
pub fn measure_capacity(steps: u32) -> crate::Result<u64> {
	let steps = steps.max(1);
	let (model, params, train) = digits_mlp(0)?;
	let total = steps.saturating_add(1);
	let task = TrainTask {
		model_hash: HexHash(model.hash()),
		model,
		initial_weights: HexHash(weights_hash(&params)?),
		dataset: HexHash(train.hash()),
		samples: u32::try_from(train.len()).unwrap_or(u32::MAX),
		optimizer: OptimizerConfig::new(OptimizerKind::Adam, 1_000_000),
		batch_size: 32,
		local_steps: total,
		checkpoint_interval: 1,
		verification_samples: 1,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext {
			order: 0,
			round: 0,
			seed: HexHash([0; 32]),
			capacities: vec![1],
			provider: 0,
		},
	};
	let mut session = Session::new(&task, &train, tch::Device::Cpu)?;
	let mut checkpoint = Checkpoint::initial(&task.optimizer, params)?;
	session.run(&mut checkpoint, 1)?;
	let started = Instant::now();
	session.run(&mut checkpoint, u64::from(total))?;
	Ok(units_per_hour(steps, started.elapsed()))
}

/// Runs `pot-trainer work` until interrupted.
pub fn run(args: WorkArgs, profile: ComputeProfile) -> anyhow::Result<()> {
	crate::consumer::runtime()?.block_on(Worker::new(args, profile, None)?.run())
}

/// [`run`] as a cheating provider: every proof gets `forgery` applied (and resealed) before it
/// is uploaded and committed. Only the `pot-malus` test binary calls this.
pub fn run_forging(args: WorkArgs, profile: ComputeProfile, forgery: Forgery) -> anyhow::Result<()> {
	crate::consumer::runtime()?.block_on(Worker::new(args, profile, Some(forgery))?.run())
}

struct Worker {
	args: WorkArgs,
	profile: ComputeProfile,
	signer: Keypair,
	me: AccountId32,
	state: StateDir,
	report: Reporter,
	/// Rounds not to look at again in this process (unsupported task, missing order).
	skipped: BTreeSet<(u64, u32)>,
	/// `pot-malus` only: the forgery applied to every proof.
	forgery: Option<Forgery>,
	/// Challenges whose committee got this provider's proof.
	shared: BTreeSet<u64>,
}

fn hex32(h: &H256) -> String {
	hex::encode(h.0)
}

impl Worker {
	fn new(args: WorkArgs, profile: ComputeProfile, forgery: Option<Forgery>) -> anyhow::Result<Self> {
		let signer = keypair_from_suri(&args.suri)?;
		let me = account_of(&signer);
		let state = StateDir::open(&args.state_dir)?;
		let report = Reporter::new(args.json);
		Ok(Self { args, profile, signer, me, state, report, skipped: BTreeSet::new(), forgery, shared: BTreeSet::new() })
	}

	async fn run(mut self) -> anyhow::Result<()> {
		self.report.event(
			"started",
			"provider started",
			serde_json::json!({ "account": self.me.to_string(), "node": self.args.node, "state_dir": self.state.root() }),
		);
		let mut joined = self.args.join.is_none();
		let mut backoff = Duration::from_secs(1);
		loop {
			match Chain::connect(&self.args.node).await {
				Ok(chain) => {
					backoff = Duration::from_secs(1);
					if !joined {
						self.ensure_joined(&chain).await?;
						joined = true;
					}
					match self.follow(&chain).await {
						Ok(()) => self.report.warn(
							"disconnected",
							"the block stream ended",
							serde_json::json!({}),
						),
						Err(e) => self.report.warn(
							"disconnected",
							"lost the node",
							serde_json::json!({ "error": format!("{e:#}") }),
						),
					}
				},
				Err(e) => self.report.warn(
					"unreachable",
					"cannot reach the node",
					serde_json::json!({ "error": e.to_string(), "retry_in_s": backoff.as_secs() }),
				),
			}
			tokio::time::sleep(backoff).await;
			backoff = backoff.saturating_mul(2).min(Duration::from_secs(30));
		}
	}

	/// Bonds if needed, measures the capacity and joins the `--join` validator's cluster,
	/// unless the account is in it already.
	async fn ensure_joined(&self, chain: &Chain) -> anyhow::Result<()> {
		let Some(target) = &self.args.join else { return Ok(()) };
		let validator = parse_account(target)?;
		let at = chain.client().at_current_block().await?;
		let storage = at.storage();
		let record = storage
			.try_fetch(api::storage().staking().providers(), (self.me,))
			.await?
			.map(|v| v.decode())
			.transpose()?;
		if let Some(record) = record {
			if record.validator == validator {
				self.report.event(
					"already_joined",
					"already in the validator's cluster",
					serde_json::json!({ "validator": validator.to_string(), "capacity": record.capacity.0, "hardware_class": record.hardware_class.0 }),
				);
				return Ok(());
			}
			bail!(
				"{} is in the cluster of {}, not {validator}: leave it first (staking.leave_cluster)",
				self.me,
				record.validator
			);
		}
		let min =
			storage.fetch(api::storage().staking().min_provider_bond(), ()).await?.decode()?;
		let want = parse_pot(&self.args.bond)?.max(min);
		let active = storage
			.try_fetch(api::storage().staking().ledger(), (self.me,))
			.await?
			.map(|v| v.decode())
			.transpose()?
			.map(|l| l.active);
		match active {
			None => {
				chain.submit(&api::tx().staking().bond(want), &self.signer).await?;
				self.report.event(
					"bonded",
					"bonded",
					serde_json::json!({ "amount": format_pot(want) }),
				);
			},
			Some(active) if active < want => {
				let extra = want.saturating_sub(active);
				chain.submit(&api::tx().staking().bond_extra(extra), &self.signer).await?;
				self.report.event(
					"bonded",
					"bonded extra",
					serde_json::json!({ "amount": format_pot(extra) }),
				);
			},
			Some(active) => self.report.event(
				"bond_ok",
				"bond already sufficient",
				serde_json::json!({ "active": format_pot(active) }),
			),
		}
		let steps = self.args.measure_steps;
		let capacity = tokio::task::spawn_blocking(move || measure_capacity(steps)).await??;
		self.report.event(
			"measured",
			"measured capacity",
			serde_json::json!({ "steps": steps, "work_units_per_hour": capacity }),
		);
		chain
			.submit(
				&api::tx().staking().join_cluster(
					validator,
					HardwareClass(self.args.hardware_class),
					WorkUnits(capacity),
				),
				&self.signer,
			)
			.await?;
		self.report.event(
			"joined",
			"joined the validator's cluster",
			serde_json::json!({ "validator": validator.to_string(), "hardware_class": self.args.hardware_class, "capacity": capacity }),
		);
		Ok(())
	}

	/// Follows best blocks until the stream ends or fails.
	async fn follow(&mut self, chain: &Chain) -> anyhow::Result<()> {
		let mut blocks = chain.client().stream_best_blocks().await?;
		self.report.event(
			"connected",
			"following best blocks",
			serde_json::json!({ "node": chain.url() }),
		);
		while let Some(block) = blocks.next().await {
			let block = block?;
			let now = block.number();
			let at = block.at().await?;
			let mut assigned = Vec::new();
			let mut runs = at.storage().iter(api::storage().pol().runs(), ()).await?;
			while let Some(entry) = runs.next().await {
				let entry = entry?;
				let order = entry.key()?.decode()?.0;
				let run = entry.value().decode()?;
				let position =
					run.participants.0.iter().position(|p| p.provider == self.me && p.samples > 0);
				if let Some(position) = position {
					assigned.push((order.0, u32::try_from(position)?, run));
				}
			}
			for (order, position, run) in assigned {
				if let Err(e) = self.defend(chain, &at, order, position, now).await {
					self.report.warn(
						"defence_error",
						"could not check or challenge a rejection; trying again at a later block",
						serde_json::json!({ "order": order, "error": format!("{e:#}") }),
					);
				}
				// A closing run opens no round: its last round's result is in (or it fails: a
				// missed deadline, a refuted aggregate), only settlement is left.
				if run.closing.is_some() {
					continue;
				}
				let round = run.round.index;
				if self.skipped.contains(&(order, round)) {
					continue;
				}
				let on_chain = at
					.storage()
					.try_fetch(api::storage().pol().commitments(), (OrderId(order), position))
					.await?
					.is_some();
				let record = self.state.record(order, round)?;
				let window_open = now <= u64::from(run.round.commit_deadline);
				let action = decide(on_chain, record.as_ref(), window_open, now);
				let outcome = match action {
					Action::Wait => Ok(()),
					Action::RecordConfirmed => {
						self.record_confirmed(order, round, position, record)
					},
					Action::TrainAndSubmit => {
						self.train_and_submit(chain, &at, order, position, &run, now).await
					},
					Action::Resubmit => match record {
						Some(r) => self.resubmit(chain, &at, &run, r, now).await,
						None => Ok(()),
					},
				};
				if let Err(e) = outcome {
					self.report.warn(
						"round_error",
						"could not finish the round's step; trying again at a later block",
						serde_json::json!({ "order": order, "round": round, "error": format!("{e:#}") }),
					);
				}
			}
		}
		Ok(())
	}

	fn record_confirmed(
		&self,
		order: u64,
		round: u32,
		position: u32,
		record: Option<CommitmentRecord>,
	) -> anyhow::Result<()> {
		match record {
			Some(mut r) => {
				r.state = SubmissionState::Confirmed;
				self.state.put_record(&r)?;
			},
			None => {
				// Committed by an earlier process whose record is gone: remember it anyway.
				let r = CommitmentRecord {
					order,
					round,
					position,
					update_hash: String::new(),
					checkpoint_root: String::new(),
					proof_hash: String::new(),
					checkpoint_count: 0,
					steps_done: 0,
					loss_before: 0,
					loss_after: 0,
					residual_in: String::new(),
					residual_out: String::new(),
					state: SubmissionState::Confirmed,
					submitted_at: 0,
					submissions: 0,
				};
				self.state.put_record(&r)?;
			},
		}
		self.report.event(
			"confirmed",
			"commitment is on chain",
			serde_json::json!({ "order": order, "round": round }),
		);
		Ok(())
	}


	async fn train_and_submit(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		order: u64,
		position: u32,
		run: &Run,
		now: u64,
	) -> anyhow::Result<()> {
		let round = run.round.index;
		let Some(order_record) = at
			.storage()
			.try_fetch(api::storage().market().orders(), (OrderId(order),))
			.await?
			.map(|v| v.decode())
			.transpose()?
		else {
			self.report.warn(
				"unknown_order",
				"run without a market order; skipped",
				serde_json::json!({ "order": order }),
			);
			self.skipped.insert((order, round));
			return Ok(());
		};
		let spec = order_record.task;
		let endpoint = endpoint_of(at, &run.validator).await?;
		self.report.event(
			"assigned",
			"training a round",
			serde_json::json!({
				"order": order, "round": round, "position": position, "validator": run.validator.to_string(),
				"endpoint": endpoint, "weights": hex32(&run.round.weights), "commit_deadline": run.round.commit_deadline,
			}),
		);
		let model = self.fetch_model(&endpoint, &spec.model.0).await?;
		let weights_path = self.fetch_weights(&endpoint, &model, &run.round.weights.0).await?;
		let round_at = RoundAt {
			order,
			round,
			seed: run.round.seed.0,
			weights: run.round.weights.0,
			capacities: run.participants.0.iter().map(|p| p.capacity.0).collect(),
			position,
		};
		let task = match train_task(&spec, model, &round_at) {
			Ok(task) => task,
			Err(why) => {
				self.report.warn(
					"skipped",
					"task not trainable here",
					serde_json::json!({ "order": order, "round": round, "reason": why.to_string() }),
				);
				self.skipped.insert((order, round));
				return Ok(());
			},
		};
		let train = self.fetch_chunk(&endpoint, &spec.dataset.0, &task).await?;
		let dir = self.state.proof_dir(order, round);
		let profile = self.profile.clone();
		let started = Instant::now();
		let train_dir = dir.clone();
		let forgery = self.forgery;
		let encoding = update_encoding(&spec);
		let update_path = self.state.update_path(order, round);
		// The residual this round's update must add back: the chain's record of what
		// compression dropped from this provider's accepted updates so far.
		let residual_in = run
			.participants
			.0
			.get(position as usize)
			.map_or(compress::NO_RESIDUAL, |p| p.residual.0);
		let residual_in_path = self.fetch_residual(&endpoint, &residual_in).await?;
		let (manifest, payload) = tokio::task::spawn_blocking(move || {
			let honest = ensure_proof(&task, &train, &weights_path, &train_dir, profile)?;
			let manifest = match forgery {
				Some(forgery) => forge::apply(forgery, &task, &train_dir)?,
				None => honest,
			};
			let payload = match encoding {
				UpdateEncoding::Dense => None,
				UpdateEncoding::TopK { kept_ppb } => {
					let (bytes, residual) = payload_of(
						&task.model,
						&weights_path,
						&train_dir,
						kept_ppb,
						residual_in_path.as_deref(),
					)?;
					crate::provider_state::write_atomic(&update_path, &bytes)?;
					Some((bytes, residual))
				},
			};
			anyhow::Ok((manifest, payload))
		})
		.await??;
		self.report.event(
			"trained",
			"proof ready",
			serde_json::json!({
				"order": order, "round": round, "steps": manifest.steps, "seconds": started.elapsed().as_secs_f64(),
				"merkle_root": manifest.merkle_root.to_string(), "final_weights": manifest.final_weights.to_string(),
				"loss_before": manifest.losses.first(), "loss_after": manifest.losses.last(),
			}),
		);
		let proof_hash = self.upload_hashed(&endpoint, Kind::Proof, bundle::pack(&dir)?).await?;
		let (update_hash, residual_out) = match payload {
			Some((bytes, residual)) => {
				// Kept for the next round and for a resubmission.
				let residual_out = pot_pol_core::blake2_256(&residual);
				let kept = self.state.artifact_path(Kind::Residual.name(), &residual_out);
				crate::provider_state::write_atomic(&kept, &residual)?;
				self.upload_hashed(&endpoint, Kind::Residual, residual).await?;
				(self.upload_hashed(&endpoint, Kind::Update, bytes).await?, residual_out)
			},
			None => (manifest.final_weights.0, compress::NO_RESIDUAL),
		};
		let commitment =
			commitment_of(&manifest, proof_hash, update_hash, residual_in, residual_out)?;
		let record = CommitmentRecord {
			order,
			round,
			position,
			update_hash: hex32(&commitment.update_hash),
			checkpoint_root: hex32(&commitment.checkpoint_root),
			proof_hash: hex32(&commitment.proof_hash),
			checkpoint_count: commitment.checkpoint_count,
			steps_done: commitment.steps_done,
			loss_before: commitment.loss_before.0,
			loss_after: commitment.loss_after.0,
			residual_in: hex32(&commitment.residual_in),
			residual_out: hex32(&commitment.residual_out),
			state: SubmissionState::Pending,
			submitted_at: now,
			submissions: 1,
		};
		// On disk before it is sent: a restart resubmits this, never a second training.
		self.state.put_record(&record)?;
		self.submit(chain, record, commitment).await
	}

	async fn resubmit(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		run: &Run,
		mut record: CommitmentRecord,
		now: u64,
	) -> anyhow::Result<()> {
		let commitment = commitment_of_record(&record)?;
		// The validator may have lost the proof or never got it: upload again (idempotent).
		let dir = self.state.proof_dir(record.order, record.round);
		if dir.join(bundle::MANIFEST).exists() {
			let endpoint = endpoint_of(at, &run.validator).await?;
			let bundle = bundle::pack(&dir)?;
			if pot_pol_core::blake2_256(&bundle) != commitment.proof_hash.0 {
				anyhow::bail!(
					"the proof in {} no longer packs to the committed proof hash {}",
					dir.display(),
					record.proof_hash
				);
			}
			self.upload_hashed(&endpoint, Kind::Proof, bundle).await?;
			if let Ok(bytes) = std::fs::read(self.state.update_path(record.order, record.round)) {
				self.upload_hashed(&endpoint, Kind::Update, bytes).await?;
			}
			let residual = self.state.artifact_path(Kind::Residual.name(), &commitment.residual_out.0);
			if let Ok(bytes) = std::fs::read(residual) {
				self.upload_hashed(&endpoint, Kind::Residual, bytes).await?;
			}
		}
		record.submissions = record.submissions.saturating_add(1);
		record.submitted_at = now;
		self.state.put_record(&record)?;
		self.report.event(
			"resubmitting",
			"the earlier submission did not land; submitting again",
			serde_json::json!({ "order": record.order, "round": record.round, "submission": record.submissions }),
		);
		self.submit(chain, record, commitment).await
	}

	async fn submit(
		&self,
		chain: &Chain,
		mut record: CommitmentRecord,
		commitment: Commitment,
	) -> anyhow::Result<()> {
		let call =
			api::tx().pol().submit_commitment(OrderId(record.order), record.round, commitment);
		chain.submit(&call, &self.signer).await.context("submitting the commitment")?;
		record.state = SubmissionState::Confirmed;
		self.state.put_record(&record)?;
		self.report.event(
			"committed",
			"commitment finalized",
			serde_json::json!({
				"order": record.order, "round": record.round, "checkpoint_root": record.checkpoint_root,
				"proof_hash": record.proof_hash,
				"update_hash": record.update_hash, "steps_done": record.steps_done,
			}),
		);
		Ok(())
	}

	/// A client of a validator's artifact service, signing with the provider's key (checked by
	/// services started with `--allow`).
	fn artifacts(&self, endpoint: &str) -> anyhow::Result<remote::ArtifactClient> {
		Ok(remote::ArtifactClient::new(endpoint)?.with_signer(self.signer.clone()))
	}

	/// Uploads a proof bundle, a top-k payload (`update`) or an error-feedback residual
	/// (`residual`), each addressed by its BLAKE2b-256; returns the hash: the commitment's
	/// `proof_hash`, `update_hash` or `residual_out` (which the validator keeps as the
	/// provider's next `residual_in`).
	async fn upload_hashed(&self, endpoint: &str, kind: Kind, bytes: Vec<u8>) -> anyhow::Result<[u8; 32]> {
		let hash = pot_pol_core::blake2_256(&bytes);
		let size = bytes.len();
		let stored = self.artifacts(endpoint)?.put(kind, &hash, bytes, None).await?;
		self.report.event(
			"uploaded",
			&format!("{} uploaded", kind.name()),
			serde_json::json!({ "kind": kind.name(), "hash": hex::encode(hash), "bytes": size, "new": stored == remote::Stored::Created }),
		);
		Ok(hash)
	}

	/// The file of the residual `hash` (`None` for [`compress::NO_RESIDUAL`]): the one this
	/// provider kept, or else the copy it uploaded to the validator (checked against its hash).
	async fn fetch_residual(
		&self,
		endpoint: &str,
		hash: &[u8; 32],
	) -> anyhow::Result<Option<PathBuf>> {
		if *hash == compress::NO_RESIDUAL {
			return Ok(None);
		}
		let path = self.state.artifact_path(Kind::Residual.name(), hash);
		if !path.exists() {
			let bytes = self
				.artifacts(endpoint)?
				.get(Kind::Residual, hash, MAX_WEIGHTS_BYTES)
				.await
				.context("this provider's error-feedback residual is neither kept nor at the validator")?;
			crate::provider_state::write_atomic(&path, &bytes)?;
			self.report.event(
				"downloaded",
				"error-feedback residual downloaded",
				serde_json::json!({ "residual": hex::encode(hash), "bytes": bytes.len() }),
			);
		}
		Ok(Some(path))
	}

	/// The model spec `hash`, from the cache or the validator (checked against its hash).
	async fn fetch_model(&self, endpoint: &str, hash: &[u8; 32]) -> anyhow::Result<ModelSpec> {
		let path = self.state.artifact_path("model", hash);
		let bytes = match std::fs::read(&path) {
			Ok(bytes) => bytes,
			Err(_) => {
				let bytes =
					self.artifacts(endpoint)?.get(Kind::Model, hash, MAX_MODEL_BYTES).await?;
				self.report.event(
					"downloaded",
					"model spec downloaded",
					serde_json::json!({ "model": hex::encode(hash) }),
				);
				bytes
			},
		};
		let spec: ModelSpec =
			serde_json::from_slice(&bytes).context("the model artifact is not a model spec")?;
		if spec.hash() != *hash {
			bail!("the validator's model spec does not hash to {}", hex::encode(hash));
		}
		crate::provider_state::write_atomic(&path, &bytes)?;
		Ok(spec)
	}

	/// This provider's data chunk of `task`'s round, from the state directory or the validator's
	/// service, checked against the order's `dataset` hash and the assignment.
	async fn fetch_chunk(
		&self,
		endpoint: &str,
		dataset: &[u8; 32],
		task: &TrainTask,
	) -> anyhow::Result<Chunk> {
		let (order, round) = (task.round.order, task.round.round);
		let indices = assigned_chunk(task)?;
		let path = self.state.chunk_path(order, round);
		if let Ok(bytes) = std::fs::read(&path) {
			if let Ok(chunk) = Chunk::decode_verified(&bytes, dataset, &indices) {
				return Ok(chunk);
			}
		}
		let bytes = self.artifacts(endpoint)?.chunk(order, round, MAX_CHUNK_BYTES).await?;
		let chunk = Chunk::decode_verified(&bytes, dataset, &indices).with_context(|| {
			format!("the validator's data chunk of order {order} round {round}")
		})?;
		crate::provider_state::write_atomic(&path, &bytes)?;
		self.report.event(
			"downloaded",
			"data chunk downloaded and checked against the order's dataset",
			serde_json::json!({
				"order": order, "round": round, "samples": chunk.held().len(),
				"of": chunk.total(), "bytes": bytes.len(),
			}),
		);
		Ok(chunk)
	}

	/// The weights `hash` of `model` as a local file, from the cache or the validator (checked).
	async fn fetch_weights(
		&self,
		endpoint: &str,
		model: &ModelSpec,
		hash: &[u8; 32],
	) -> anyhow::Result<PathBuf> {
		let path = self.state.artifact_path("weights", hash);
		if path.exists() {
			return Ok(path);
		}
		let bytes = self.artifacts(endpoint)?.get(Kind::Weights, hash, MAX_WEIGHTS_BYTES).await?;
		let staging = path.with_extension("download");
		crate::provider_state::write_atomic(&staging, &bytes)?;
		let built = model.build()?;
		let got = weights_hash(&load_weights(&staging, built.as_ref())?)?;
		if got != *hash {
			let _ = std::fs::remove_file(&staging);
			bail!(
				"the validator's weights hash to {}, not {}",
				hex::encode(got),
				hex::encode(hash)
			);
		}
		std::fs::rename(&staging, &path).with_context(|| format!("storing {}", path.display()))?;
		self.report.event(
			"downloaded",
			"round weights downloaded",
			serde_json::json!({ "weights": hex::encode(hash), "bytes": bytes.len() }),
		);
		Ok(path)
	}
}

/// The commitment a record holds.
pub fn commitment_of_record(r: &CommitmentRecord) -> anyhow::Result<Commitment> {
	let hash = |s: &str| -> anyhow::Result<H256> {
		let mut out = [0u8; 32];
		hex::decode_to_slice(s, &mut out).with_context(|| format!("record hash {s:?}"))?;
		Ok(H256(out))
	};
	Ok(Commitment {
		update_hash: hash(&r.update_hash)?,
		checkpoint_root: hash(&r.checkpoint_root)?,
		proof_hash: hash(&r.proof_hash)?,
		checkpoint_count: r.checkpoint_count,
		steps_done: r.steps_done,
		loss_before: FixedU64(r.loss_before),
		loss_after: FixedU64(r.loss_after),
		residual_in: hash(&r.residual_in)?,
		residual_out: hash(&r.residual_out)?,
	})
}

/// The sample indices of the provider's chunk in `task`'s round.
pub fn assigned_chunk(task: &TrainTask) -> anyhow::Result<Vec<u32>> {
	pot_pol_core::assign::chunk_of(
		&task.round.key(),
		task.samples,
		&task.round.capacities,
		task.round.provider,
	)
	.map_err(|e| anyhow::anyhow!("the round's assignment: {e:?}"))
}

/// The encoded top-k payload ([`compress::payload`]) of the proof in `dir`, trained from the
/// weights in the file `round_weights`, plus the error-feedback residual in the file
/// `residual` (`None`: none), and the encoded residual it leaves: what a commitment names as
/// its `update_hash` and `residual_out` under a top-k encoding.
pub fn payload_of(
	model: &ModelSpec,
	round_weights: &Path,
	dir: &Path,
	kept_ppb: u32,
	residual: Option<&Path>,
) -> crate::Result<(Vec<u8>, Vec<u8>)> {
	let built = model.build()?;
	let round = load_weights(round_weights, built.as_ref())?;
	let last = load_weights(&dir.join(proof::FINAL_WEIGHTS_FILE), built.as_ref())?;
	let residual = residual
		.map(|path| {
			let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
			compress::Residual::decode(&bytes, u32::MAX)
		})
		.transpose()?;
	let (payload, left) = compress::payload(&round, &last, kept_ppb, residual.as_ref())?;
	Ok((payload.encode(), left.encode()?))
}

/// The proof of `task` in `dir`: the finished one if the directory holds it (its manifest is
/// written last), otherwise trained afresh from the weights file (deterministic, so a retrained
/// round commits to the same root).
pub fn ensure_proof(
	task: &TrainTask,
	train: &dyn Samples,
	weights: &Path,
	dir: &Path,
	profile: ComputeProfile,
) -> crate::Result<Manifest> {
	if let Ok(m) = Manifest::read(dir) {
		let same = m.order == task.round.order
			&& m.round == task.round.round
			&& m.provider == task.round.provider
			&& m.initial_weights == task.initial_weights
			&& m.model_hash == task.model_hash
			&& m.dataset == task.dataset
			&& m.steps == u64::from(task.local_steps)
			&& m.profile == profile;
		if same {
			return Ok(m);
		}
	}
	if dir.exists() {
		std::fs::remove_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
	}
	let model = task.model.build()?;
	let initial = load_weights(weights, model.as_ref())?;
	// A bar on a terminal (hidden in logs and pipes).
	let bar = crate::progress::Bar::new(
		&format!("order {} round {}", task.round.order, task.round.round),
		u64::from(task.local_steps),
	);
	// Orders on chain are verified bitwise under the CPU profile: providers train on the host.
	let outcome = proof::train_observed(
		task,
		train,
		initial,
		dir,
		profile,
		tch::Device::Cpu,
		&mut |step, loss| bar.set(step, &format!("loss {loss:.4}")),
	);
	bar.finish();
	Ok(outcome?.manifest)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn capacity_is_steps_per_hour() {
		assert_eq!(units_per_hour(100, Duration::from_secs(1)), 360_000);
		assert_eq!(units_per_hour(1, Duration::from_secs(7200)), 1);
		assert_eq!(units_per_hour(0, Duration::from_secs(1)), 1);
		assert_eq!(units_per_hour(u32::MAX, Duration::ZERO), u64::MAX);
		let measured = measure_capacity(3).unwrap_or_else(|e| panic!("measuring: {e}"));
		assert!(measured > 1_000, "{measured}");
	}

	#[test]
	fn records_give_back_their_commitment() -> anyhow::Result<()> {
		let r = CommitmentRecord {
			order: 1,
			round: 0,
			position: 2,
			update_hash: "0a".repeat(32),
			checkpoint_root: "0b".repeat(32),
			proof_hash: "0e".repeat(32),
			checkpoint_count: 6,
			steps_done: 50,
			loss_before: 2_000_000_000,
			loss_after: 500_000_000,
			residual_in: "0c".repeat(32),
			residual_out: "0d".repeat(32),
			state: SubmissionState::Pending,
			submitted_at: 9,
			submissions: 1,
		};
		let c = commitment_of_record(&r)?;
		assert_eq!((c.checkpoint_root.0, c.proof_hash.0), ([0x0b; 32], [0x0e; 32]));
		assert_eq!((c.checkpoint_count, c.steps_done, c.loss_after.0), (6, 50, 500_000_000));
		assert_eq!((c.residual_in.0, c.residual_out.0), ([0x0c; 32], [0x0d; 32]));
		let bad_residual = CommitmentRecord { residual_out: "0d".into(), ..r.clone() };
		assert!(commitment_of_record(&bad_residual).is_err());
		assert!(commitment_of_record(&CommitmentRecord { update_hash: "zz".into(), ..r }).is_err());
		Ok(())
	}

	#[test]
	fn a_finished_proof_is_reused_and_a_broken_one_retrained() -> anyhow::Result<()> {
		let (model, params, _) = digits_mlp(0)?;
		let train = crate::data::digits_pair()?;
		let tmp = tempfile::tempdir()?;
		let weights = tmp.path().join("w.safetensors");
		crate::checkpoint::save_weights(&params, &weights)?;
		let spec = crate::chain_task::order_task(&crate::chain_task::OrderTraining {
			rounds: 1,
			steps: 6,
			checkpoint_interval: 3,
			batch_size: 16,
			lr: 0.01,
			optimizer: OptimizerKind::Adam,
			verification_samples: 1,
			init_seed: 0,
			aggregation: crate::round_verifier::AggregationRule::default(),
			update: UpdateEncoding::Dense,
			model: None,
		}, train.clone())?
		.spec;
		let round = RoundAt {
			order: 5,
			round: 0,
			seed: [1; 32],
			weights: weights_hash(&params)?,
			capacities: vec![10, 10],
			position: 1,
		};
		let task = train_task(&spec, model, &round)?;
		let dir = tmp.path().join("proof");
		let profile = ComputeProfile::cpu(1);
		let first = ensure_proof(&task, &train, &weights, &dir, profile.clone())?;
		assert_eq!(first.steps, 6);
		let proof_hash = pot_pol_core::blake2_256(&bundle::pack(&dir)?);
		let (none, weights_hash) = (compress::NO_RESIDUAL, first.final_weights.0);
		let c = commitment_of(&first, proof_hash, weights_hash, none, none)?;
		assert_eq!((c.checkpoint_count, c.steps_done, c.proof_hash.0), (3, 6, proof_hash));
		// Reused as is (the checkpoint files stay untouched).
		let modified = std::fs::metadata(dir.join("ckpt-000001.safetensors"))?.modified()?;
		assert_eq!(ensure_proof(&task, &train, &weights, &dir, profile.clone())?, first);
		assert_eq!(std::fs::metadata(dir.join("ckpt-000001.safetensors"))?.modified()?, modified);
		// An interrupted training (no manifest) is redone and gives the same root.
		std::fs::remove_file(dir.join("manifest.json"))?;
		let again = ensure_proof(&task, &train, &weights, &dir, profile)?;
		assert_eq!(again.merkle_root, first.merkle_root);
		// It packs to the bundle committed, so a resubmission can upload it again.
		assert_eq!(pot_pol_core::blake2_256(&bundle::pack(&dir)?), proof_hash);
		Ok(())
	}
}
