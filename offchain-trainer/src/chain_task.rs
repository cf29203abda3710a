//! Between the chain's records and the trainer's: the order's `TaskSpec` a consumer submits, the
//! [`TrainTask`] a provider trains from a `TaskSpec` and a round, the commitment built from a
//! proof manifest, and the units the chain counts in (`FixedU64`, planck, accounts).
//!
//! Everything here is pure; the chain-facing modules (`work`, `consumer`) only move these values
//! between the node, the artifact service and the disk.

use crate::{
	checkpoint::weights_hash,
	compress::UpdateEncoding,
	data::{self, Dataset, DatasetPair},
	error::{Error, Result},
	model::{ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind, ONE},
	proof::Manifest,
	task::{HexHash, RoundContext, Tolerance, TrainTask},
};
use pot_client::api::runtime_types::{
	pallet_pot_pol::types::Commitment,
	pot_primitives::task::{
		AggregationRule, HyperParams, OptimizerKind as ChainOptimizer, PolParams, TaskSpec,
		ToleranceClass, UpdateEncoding as ChainUpdateEncoding,
	},
	sp_arithmetic::{
		fixed_point::FixedU64,
		per_things::{Perbill, Percent},
	},
};
use pot_client::subxt::utils::{AccountId32, H256};

/// Decimals of the POT token (1 POT = 10¹² planck).
pub const POT_DECIMALS: u32 = 12;

/// `FixedU64`'s inner value of 1.0.
pub const FIXED_ONE: u64 = 1_000_000_000;

/// `value` as a `FixedU64` (9 decimals), rounded to nearest; negative values give 0, values
/// above the largest `FixedU64` and NaN give the largest (a diverged loss is the worst loss).
pub fn fixed_u64(value: f64) -> FixedU64 {
	if value.is_nan() {
		return FixedU64(u64::MAX);
	}
	let scaled = (value * FIXED_ONE as f64).round();
	// `as` saturates at both ends (and maps -0.0 and negatives to 0).
	FixedU64(scaled as u64)
}

/// A `FixedU64` as a float.
pub fn fixed_to_f64(value: &FixedU64) -> f64 {
	value.0 as f64 / FIXED_ONE as f64
}

/// A learning rate as the 9-decimal integer `new-task` stores: `round(lr × 10⁹)`.
pub fn learning_rate_fixed(lr: f64) -> Result<u64> {
	if !(lr > 0.0 && lr < 1e9) {
		return Err(Error::Task("learning rate must be positive".into()));
	}
	Ok((lr * ONE as f64).round() as u64)
}

/// Parses a POT amount (`"100"`, `"0.5"`, `"1_000"`) into planck, exactly (no floats).
pub fn parse_pot(amount: &str) -> Result<u128> {
	let bad = || Error::Task(format!("{amount:?} is not a POT amount (up to 12 decimals)"));
	let cleaned: String = amount.trim().chars().filter(|c| *c != '_').collect();
	let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
	if whole.is_empty() && frac.is_empty() {
		return Err(bad());
	}
	let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
	if !digits(whole) || !digits(frac) || frac.len() > POT_DECIMALS as usize {
		return Err(bad());
	}
	let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
	let mut frac_planck: u128 =
		if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
	for _ in frac.len()..POT_DECIMALS as usize {
		frac_planck = frac_planck.checked_mul(10).ok_or_else(bad)?;
	}
	whole
		.checked_mul(10u128.pow(POT_DECIMALS))
		.and_then(|w| w.checked_add(frac_planck))
		.ok_or_else(bad)
}

/// Planck as a POT amount with the trailing zero decimals dropped (`1.5 POT`).
pub fn format_pot(planck: u128) -> String {
	let unit = 10u128.pow(POT_DECIMALS);
	let whole = planck.checked_div(unit).unwrap_or(0);
	let frac = planck.checked_rem(unit).unwrap_or(0);
	if frac == 0 {
		return format!("{whole} POT");
	}
	let frac = format!("{frac:012}");
	format!("{whole}.{} POT", frac.trim_end_matches('0'))
}

/// A signed planck difference as POT (`-0.25 POT`, `+3 POT`).
pub fn format_pot_delta(before: u128, after: u128) -> String {
	if after >= before {
		format!("+{}", format_pot(after.saturating_sub(before)))
	} else {
		format!("-{}", format_pot(before.saturating_sub(after)))
	}
}

/// An account given as SS58 or as `0x` + 64 hex digits.
pub fn parse_account(s: &str) -> Result<AccountId32> {
	let s = s.trim();
	if let Some(hex) = s.strip_prefix("0x") {
		let mut out = [0u8; 32];
		hex::decode_to_slice(hex, &mut out)
			.map_err(|_| Error::Task(format!("{s:?} is not 0x + 64 hex digits")))?;
		return Ok(AccountId32(out));
	}
	s.parse::<AccountId32>().map_err(|e| Error::Task(format!("{s:?} is not an SS58 account: {e}")))
}

/// The trainer's optimizer kind of an on-chain one.
pub fn optimizer_of(kind: &ChainOptimizer) -> OptimizerKind {
	match kind {
		ChainOptimizer::Sgd => OptimizerKind::Sgd,
		ChainOptimizer::SgdMomentum => OptimizerKind::SgdMomentum,
		ChainOptimizer::Adam => OptimizerKind::Adam,
		ChainOptimizer::AdamW => OptimizerKind::AdamW,
	}
}

/// The on-chain optimizer kind of the trainer's.
pub fn chain_optimizer(kind: OptimizerKind) -> ChainOptimizer {
	match kind {
		OptimizerKind::Sgd => ChainOptimizer::Sgd,
		OptimizerKind::SgdMomentum => ChainOptimizer::SgdMomentum,
		OptimizerKind::Adam => ChainOptimizer::Adam,
		OptimizerKind::AdamW => ChainOptimizer::AdamW,
	}
}

/// The digits MLP (64-64-10) exactly as `pot-trainer new-task` builds it by default, its seeded
/// initial weights and the training split it trains on.
pub fn digits_mlp(init_seed: u64) -> Result<(ModelSpec, Params, Dataset)> {
	let train = data::digits_split()?.0;
	let (spec, params) = mlp_for(&train, init_seed)?;
	Ok((spec, params, train))
}

/// The MLP (one hidden layer of 64) for images like `train`'s, with seeded initial weights.
pub fn mlp_for(train: &Dataset, init_seed: u64) -> Result<(ModelSpec, Params)> {
	let spec = ModelSpec::Mlp {
		inputs: train
			.rows
			.checked_mul(train.cols)
			.ok_or_else(|| Error::Task("images too large".into()))?,
		hidden: vec![64],
		classes: train.classes,
	};
	let params = spec.build()?.init(init_seed)?;
	Ok((spec, params))
}

/// What a consumer chooses for an order's training (the `order create` flags).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderTraining {
	/// Rounds R.
	pub rounds: u32,
	/// Local steps H per round and provider.
	pub steps: u32,
	/// Checkpoint interval k.
	pub checkpoint_interval: u32,
	/// Samples per step.
	pub batch_size: u32,
	/// Learning rate.
	pub lr: f64,
	/// Optimizer.
	pub optimizer: OptimizerKind,
	/// How the validator combines the round's accepted updates.
	pub aggregation: crate::round_verifier::AggregationRule,
	/// Segments re-executed per submission Q.
	pub verification_samples: u32,
	/// Seed of the initial weights.
	pub init_seed: u64,
	/// What providers commit as their update: dense final weights or a top-k payload.
	pub update: UpdateEncoding,
	/// The model; `None`: the MLP with one hidden layer of 64 for the data's images.
	pub model: Option<ModelSpec>,
}

/// An order's task as the consumer submits it, with what it must upload.
pub struct OrderTask {
	/// The on-chain task.
	pub spec: TaskSpec,
	/// The model (uploaded as `model/{hash}`).
	pub model: ModelSpec,
	/// θ₀ (uploaded as `weights/{hash}`).
	pub initial: Params,
	/// The order's data (uploaded as `dataset/{hash}`; providers get a chunk each).
	pub data: DatasetPair,
}

/// The chain's form of an aggregation rule.
pub fn chain_aggregation(rule: crate::round_verifier::AggregationRule) -> AggregationRule {
	use crate::round_verifier::AggregationRule as Plain;
	match rule {
		Plain::Mean => AggregationRule::Mean,
		Plain::CoordinateMedian => AggregationRule::CoordinateMedian,
		Plain::TrimmedMean(p) => AggregationRule::TrimmedMean { trim_per_side: Percent(p) },
		Plain::MultiKrum(p) => AggregationRule::MultiKrum { byzantine: Percent(p) },
		Plain::CenteredClipping(iterations) => AggregationRule::CenteredClipping { iterations },
	}
}

/// The chain's form of an update encoding.
pub fn chain_update_encoding(encoding: UpdateEncoding) -> ChainUpdateEncoding {
	match encoding {
		UpdateEncoding::Dense => ChainUpdateEncoding::Dense,
		UpdateEncoding::TopK { kept_ppb } => ChainUpdateEncoding::TopK { kept: Perbill(kept_ppb) },
	}
}

/// The update encoding of an order's task.
pub fn update_encoding(spec: &TaskSpec) -> UpdateEncoding {
	match &spec.update {
		ChainUpdateEncoding::Dense => UpdateEncoding::Dense,
		ChainUpdateEncoding::TopK { kept } => UpdateEncoding::TopK { kept_ppb: kept.0 },
	}
}

/// Builds the order's `TaskSpec` for an MLP on `data` ([`mlp_for`]; on the digits, the model
/// `new-task` builds): model, initial weights and dataset (pair) hashes, the hyper-parameters,
/// PoL parameters (bitwise-exact tolerance) and the aggregation rule.
pub fn order_task(t: &OrderTraining, data: DatasetPair) -> Result<OrderTask> {
	data.validate()?;
	let (model, initial) = match &t.model {
		None => mlp_for(&data.train, t.init_seed)?,
		Some(spec) => {
			let built = spec.build()?;
			let initial = built.init(t.init_seed)?;
			// Before paying for a transaction: the model must take the data's samples (two of
			// them are enough to tell; the whole split need not become tensors).
			let first: Vec<usize> = (0..data.train.len().min(2)).collect();
			let probe = data.train.subset(&first)?;
			let (xs, labels) = probe.tensors(tch::Device::Cpu)?;
			let _probe_loss = built.loss(&initial, &xs, &labels).map_err(|e| {
				Error::Task(format!("the model does not train on this dataset's samples: {e}"))
			})?;
			(spec.clone(), initial)
		}
	};
	let spec = TaskSpec {
		model: H256(model.hash()),
		initial_weights: H256(weights_hash(&initial)?),
		dataset: H256(data.hash()),
		samples: data.train.len() as u64,
		hyper: HyperParams {
			optimizer: chain_optimizer(t.optimizer),
			learning_rate: FixedU64(learning_rate_fixed(t.lr)?),
			batch_size: t.batch_size,
			local_steps: t.steps,
			rounds: t.rounds,
		},
		pol: PolParams {
			checkpoint_interval: t.checkpoint_interval,
			verification_samples: t.verification_samples,
			tolerance: ToleranceClass::BitwiseExact,
		},
		aggregation: chain_aggregation(t.aggregation),
		update: chain_update_encoding(t.update),
	};
	// The same checks the market makes, before paying for a transaction.
	if [t.rounds, t.steps, t.checkpoint_interval, t.batch_size, t.verification_samples].contains(&0)
	{
		return Err(Error::Task(
			"rounds, steps, checkpoint interval, batch size and Q must be positive".into(),
		));
	}
	if t.checkpoint_interval > t.steps {
		return Err(Error::Task("checkpoint interval above the steps per round".into()));
	}
	if t.update == (UpdateEncoding::TopK { kept_ppb: 0 }) {
		return Err(Error::Task("a top-k update must keep some coordinates".into()));
	}
	Ok(OrderTask { spec, model, initial, data })
}

/// Why a provider cannot train an order's task.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
	/// The task asks for a cross-profile tolerance class.
	#[error("unsupported tolerance class {0:?}")]
	Tolerance(u8),
	/// The task's model spec does not hash to the task's model hash.
	#[error("model spec does not match the task's model hash")]
	Model,
}

/// The round of a run as the provider trains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundAt {
	/// Order id.
	pub order: u64,
	/// Round index.
	pub round: u32,
	/// The round's public seed.
	pub seed: [u8; 32],
	/// Hash of the weights the round starts from.
	pub weights: [u8; 32],
	/// Capacities of the participants in position order.
	pub capacities: Vec<u64>,
	/// The provider's position.
	pub position: u32,
}

/// The [`TrainTask`] of `round` of an order with task `spec` and model `model`.
pub fn train_task(
	spec: &TaskSpec,
	model: ModelSpec,
	round: &RoundAt,
) -> std::result::Result<TrainTask, Unsupported> {
	if model.hash() != spec.model.0 {
		return Err(Unsupported::Model);
	}
	let tolerance = match spec.pol.tolerance {
		ToleranceClass::BitwiseExact => Tolerance::BitwiseExact,
		ToleranceClass::Measured(class) => return Err(Unsupported::Tolerance(class)),
	};
	Ok(TrainTask {
		model_hash: HexHash(model.hash()),
		model,
		initial_weights: HexHash(round.weights),
		dataset: HexHash(spec.dataset.0),
		samples: u32::try_from(spec.samples).unwrap_or(u32::MAX),
		optimizer: OptimizerConfig::new(
			optimizer_of(&spec.hyper.optimizer),
			spec.hyper.learning_rate.0,
		),
		batch_size: spec.hyper.batch_size,
		local_steps: spec.hyper.local_steps,
		checkpoint_interval: spec.pol.checkpoint_interval,
		verification_samples: spec.pol.verification_samples,
		tolerance,
		round: RoundContext {
			order: round.order,
			round: round.round,
			seed: HexHash(round.seed),
			capacities: round.capacities.clone(),
			provider: round.position,
		},
	})
}

/// The commitment of a proof uploaded as the bundle hashing to `proof_hash`, naming
/// `update_hash` (the final weights' hash, or the hash of the top-k payload under that
/// encoding) and the error-feedback residuals it was compressed with and leaves (zero hashes
/// under a dense encoding): checkpoint root, count, steps and the first and last training loss.
pub fn commitment_of(
	m: &Manifest,
	proof_hash: [u8; 32],
	update_hash: [u8; 32],
	residual_in: [u8; 32],
	residual_out: [u8; 32],
) -> Result<Commitment> {
	let too_many = |what: &str| Error::Task(format!("{what} does not fit a u32"));
	Ok(Commitment {
		update_hash: H256(update_hash),
		checkpoint_root: H256(m.merkle_root.0),
		proof_hash: H256(proof_hash),
		checkpoint_count: u32::try_from(m.checkpoints.len())
			.map_err(|_| too_many("checkpoints"))?,
		steps_done: u32::try_from(m.steps).map_err(|_| too_many("steps"))?,
		loss_before: fixed_u64(f64::from(m.losses.first().copied().unwrap_or(f32::NAN))),
		loss_after: fixed_u64(f64::from(m.losses.last().copied().unwrap_or(f32::NAN))),
		residual_in: H256(residual_in),
		residual_out: H256(residual_out),
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn fixed_u64_rounds_and_saturates() {
		assert_eq!(fixed_u64(0.0).0, 0);
		assert_eq!(fixed_u64(1.234_567_891_4).0, 1_234_567_891);
		assert_eq!(fixed_u64(1e-10).0, 0);
		assert_eq!(fixed_u64(6e-10).0, 1);
		assert_eq!(fixed_u64(-1.0).0, 0);
		assert_eq!(fixed_u64(1e300).0, u64::MAX);
		assert_eq!(fixed_u64(f64::INFINITY).0, u64::MAX);
		assert_eq!(fixed_u64(f64::NAN).0, u64::MAX);
		assert_eq!(fixed_to_f64(&fixed_u64(0.125)), 0.125);
		// A loss recorded as f32 is taken at its exact binary value.
		assert_eq!(fixed_u64(f64::from(0.5_f32)).0, 500_000_000);
		assert_eq!(fixed_u64(f64::from(0.716_f32)).0, 716_000_021);
	}

	#[test]
	fn learning_rates_are_stored_like_new_task() {
		assert_eq!(learning_rate_fixed(0.01).ok(), Some(10_000_000));
		assert_eq!(learning_rate_fixed(0.001).ok(), Some(1_000_000));
		assert!(learning_rate_fixed(0.0).is_err());
		assert!(learning_rate_fixed(f64::NAN).is_err());
	}

	#[test]
	fn pot_amounts_parse_exactly_and_format_back() {
		assert_eq!(parse_pot("1").ok(), Some(1_000_000_000_000));
		assert_eq!(parse_pot("0.5").ok(), Some(500_000_000_000));
		assert_eq!(parse_pot("1_000.000000000001").ok(), Some(1_000_000_000_000_001));
		assert_eq!(parse_pot(".25").ok(), Some(250_000_000_000));
		for bad in ["", ".", "1.0000000000001", "-1", "1e3", "x", "1.2.3"] {
			assert!(parse_pot(bad).is_err(), "{bad:?}");
		}
		assert!(parse_pot("999999999999999999999999999999999").is_err());
		assert_eq!(format_pot(1_500_000_000_000), "1.5 POT");
		assert_eq!(format_pot(100_000_000_000_000), "100 POT");
		assert_eq!(format_pot(1), "0.000000000001 POT");
		assert_eq!(format_pot_delta(5, 3), "-0.000000000002 POT");
		assert_eq!(format_pot_delta(3_000_000_000_000, 4_000_000_000_000), "+1 POT");
	}

	#[test]
	fn accounts_parse_from_ss58_and_hex() {
		let alice = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
		let from_hex = parse_account(&format!("0x{alice}")).map(|a| hex::encode(a.0));
		assert_eq!(from_hex.ok().as_deref(), Some(alice));
		let ss58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
		assert_eq!(parse_account(ss58).map(|a| hex::encode(a.0)).ok().as_deref(), Some(alice));
		assert!(parse_account("0x1234").is_err());
		assert!(parse_account("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ").is_err());
	}

	fn training() -> OrderTraining {
		OrderTraining {
			rounds: 3,
			steps: 50,
			checkpoint_interval: 10,
			batch_size: 32,
			lr: 0.01,
			optimizer: OptimizerKind::Adam,
			verification_samples: 2,
			init_seed: 0,
			aggregation: crate::round_verifier::AggregationRule::default(),
			update: UpdateEncoding::Dense,
			model: None,
		}
	}

	#[test]
	fn the_order_task_names_the_digits_mlp_and_round_trips_to_a_train_task() -> Result<()> {
		let t = order_task(&training(), data::digits_pair()?)?;
		assert_eq!(t.spec.model.0, t.model.hash());
		assert_eq!(t.spec.initial_weights.0, weights_hash(&t.initial)?);
		assert_eq!(t.spec.dataset.0, data::digits_pair()?.hash());
		assert_eq!(t.spec.samples, 1497);
		assert_eq!(t.spec.hyper.learning_rate.0, 10_000_000);
		assert!(matches!(t.spec.hyper.optimizer, ChainOptimizer::Adam));
		assert!(matches!(
			t.spec.aggregation,
			AggregationRule::MultiKrum { byzantine: Percent(40) }
		));
		assert!(matches!(t.spec.update, ChainUpdateEncoding::Dense));
		let top_k = UpdateEncoding::TopK { kept_ppb: 10_000_000 };
		let compressed =
			order_task(&OrderTraining { update: top_k, ..training() }, data::digits_pair()?)?;
		assert!(matches!(compressed.spec.update, ChainUpdateEncoding::TopK { kept: Perbill(10_000_000) }));
		assert_eq!(update_encoding(&compressed.spec), top_k);
		assert!(order_task(
			&OrderTraining { update: UpdateEncoding::TopK { kept_ppb: 0 }, ..training() },
			data::digits_pair()?
		)
		.is_err());
		// Another seed, other weights; same model and data.
		let other = order_task(&OrderTraining { init_seed: 1, ..training() }, data::digits_pair()?)?;
		assert_eq!(other.spec.model, t.spec.model);
		assert_ne!(other.spec.initial_weights, t.spec.initial_weights);

		let round = RoundAt {
			order: 7,
			round: 1,
			seed: [3; 32],
			weights: t.spec.initial_weights.0,
			capacities: vec![100, 300],
			position: 1,
		};
		let task =
			train_task(&t.spec, t.model.clone(), &round).map_err(|e| Error::Task(e.to_string()))?;
		task.validate()?;
		assert_eq!(task.round.capacities, vec![100, 300]);
		assert_eq!((task.round.order, task.round.round, task.round.provider), (7, 1, 1));
		assert_eq!(task.optimizer, OptimizerConfig::new(OptimizerKind::Adam, 10_000_000));
		assert_eq!(task.local_steps, 50);
		assert_eq!(task.dataset.0, t.spec.dataset.0);

		let mut measured = t.spec.clone();
		measured.pol.tolerance = ToleranceClass::Measured(2);
		assert_eq!(train_task(&measured, t.model.clone(), &round), Err(Unsupported::Tolerance(2)));
		let cnn = ModelSpec::Cnn { side: 8, channels: [8, 16], classes: 10 };
		assert_eq!(train_task(&t.spec, cnn, &round), Err(Unsupported::Model));
		Ok(())
	}

	#[test]
	fn bad_orders_are_refused_before_submission() -> Result<()> {
		let digits = data::digits_pair()?;
		let bad = |t: OrderTraining| order_task(&t, digits.clone()).is_err();
		assert!(bad(OrderTraining { checkpoint_interval: 60, ..training() }));
		assert!(bad(OrderTraining { rounds: 0, ..training() }));
		assert!(bad(OrderTraining { lr: -1.0, ..training() }));
		Ok(())
	}
}
