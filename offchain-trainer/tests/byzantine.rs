//! Byzantine robustness of the aggregation rules (issue 6): 10 providers train the digits MLP,
//! each on its own chunk of every round (`pot-pol-core`'s assignment), and the validator
//! combines their updates `Δ_i = θ_r − θ_i` as `θ_{r+1} = θ_r − agg(Δ)`. Malicious providers
//! replace their update:
//! - sign flip (20%): `−Δ_own`, the honest update it computed, reversed;
//! - Gaussian noise (20%): `N(0, σ² I)` with σ = 1;
//! - ALIE, "a little is enough" (20%, Baruch et al. 2019): per coordinate `μ − z·σ` of the
//!   honest updates, `z = Φ⁻¹((n − s)/n)`, `s = ⌊n/2 + 1⌋ − f` (z ≈ 0.25 for n = 10, f = 2);
//! - IPM, inner-product manipulation (40%, Xie et al. 2020): `−ε·mean(honest Δ)`, ε = 2.
//!
//! The attackers know every honest update (the strongest usual assumption).
//!
//! `cargo test -p pot-trainer --test byzantine` runs the CI checks: the clean run learns, plain
//! mean degrades visibly under the attacks that break it, and the default rule stays within
//! 5 accuracy points of the clean run under every attack. The full table of
//! `docs/benchmarks.md`: `cargo test -p pot-trainer --test byzantine -- --ignored --nocapture`.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod common;

use common::copy_params as copy;
use pot_trainer::{
	aggregate::{aggregate, apply_update, update, Rule},
	checkpoint::{weights_hash, Checkpoint},
	data::{digits_split, Dataset},
	model::{ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind},
	profile,
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::{evaluate, Session},
};
use tch::{Device, Kind, Tensor};

const PROVIDERS: usize = 10;
const ROUNDS: u32 = 12;
const LOCAL_STEPS: u32 = 10;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Attack {
	None,
	SignFlip,
	Gaussian,
	Alie,
	Ipm,
}

impl Attack {
	fn name(self) -> &'static str {
		match self {
			Self::None => "none (clean)",
			Self::SignFlip => "sign flip, 20%",
			Self::Gaussian => "Gaussian noise σ=1, 20%",
			Self::Alie => "ALIE, 20%",
			Self::Ipm => "IPM ε=2, 40%",
		}
	}

	fn malicious(self) -> usize {
		match self {
			Self::None => 0,
			Self::Ipm => 4,
			_ => 2,
		}
	}
}

fn task(train: &Dataset, init: &Params, spec: &ModelSpec, round: u32, provider: u32) -> TrainTask {
	TrainTask {
		model_hash: HexHash(spec.hash()),
		model: spec.clone(),
		initial_weights: HexHash(weights_hash(init).unwrap()),
		dataset: HexHash(train.hash()),
		samples: train.len() as u32,
		optimizer: OptimizerConfig::new(OptimizerKind::Adam, 5_000_000),
		batch_size: 16,
		local_steps: LOCAL_STEPS,
		checkpoint_interval: LOCAL_STEPS,
		verification_samples: 1,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext {
			order: 7,
			round,
			seed: HexHash(pot_pol_core::blake2_256(&round.to_le_bytes())),
			capacities: vec![1; PROVIDERS],
			provider,
		},
	}
}

/// Φ⁻¹ by bisection on erf (enough for one constant).
fn normal_quantile(p: f64) -> f64 {
	let cdf = |x: f64| 0.5 * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
	let (mut lo, mut hi) = (-10.0, 10.0);
	for _ in 0..200 {
		let mid = (lo + hi) / 2.0;
		if cdf(mid) < p {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	(lo + hi) / 2.0
}

/// erf via torch (f64), to avoid another dependency.
fn libm_erf(x: f64) -> f64 {
	Tensor::from_slice(&[x]).erf().double_value(&[0])
}

/// Held-out accuracy after `ROUNDS` rounds with `rule` under `attack`.
fn run(rule: &Rule, attack: Attack, train: &Dataset, held: &Dataset) -> f64 {
	let spec = ModelSpec::Mlp { inputs: 64, hidden: vec![32], classes: 10 };
	let model = spec.build().unwrap();
	let mut global = model.init(3).unwrap();
	let bad = attack.malicious();
	for round in 0..ROUNDS {
		let honest: Vec<Tensor> = (0..PROVIDERS as u32)
			.map(|p| {
				let t = task(train, &global, &spec, round, p);
				let mut session = Session::new(&t, train, Device::Cpu).unwrap();
				let mut c = Checkpoint::initial(&t.optimizer, copy(&global)).unwrap();
				session.run(&mut c, u64::from(LOCAL_STEPS)).unwrap();
				update(&global, &c.params).unwrap()
			})
			.collect();
		let stacked = Tensor::stack(&honest, 0);
		let mu = stacked.mean_dim(0, false, Kind::Float);
		let sigma = stacked.std_dim(0, true, false);
		let n = PROVIDERS as f64;
		let updates: Vec<Tensor> = honest
			.iter()
			.enumerate()
			.map(|(i, h)| {
				if i < PROVIDERS - bad {
					return h.shallow_clone();
				}
				match attack {
					Attack::None => h.shallow_clone(),
					Attack::SignFlip => -h,
					Attack::Gaussian => {
						tch::manual_seed(i64::from(round) * 100 + i as i64);
						Tensor::randn(h.size(), (Kind::Float, Device::Cpu))
					}
					Attack::Alie => {
						let s = (n / 2.0 + 1.0).floor() - bad as f64;
						let z = normal_quantile((n - s) / n);
						&mu - &sigma * z
					}
					Attack::Ipm => &mu * -2.0,
				}
			})
			.collect();
		let agg = aggregate(rule, &updates).unwrap();
		global = apply_update(&global, &agg, 1.0).unwrap();
	}
	let (_, acc) = evaluate(model.as_ref(), &global, held).unwrap();
	acc
}

fn rules() -> Vec<(&'static str, Rule)> {
	vec![
		("mean", Rule::Mean),
		("coordinate median", Rule::CoordinateMedian),
		("trimmed mean 20%", Rule::TrimmedMean { trim_per_side: 20 }),
		("Multi-Krum 20% (f=2)", Rule::MultiKrum { byzantine_percent: 20, selected: 0 }),
		("Multi-Krum 40% (f=4, default)", Rule::default()),
		("centered clipping τ=median, 3 it.", Rule::CenteredClipping { radius: 0, iterations: 3 }),
	]
}

const ATTACKS: [Attack; 5] =
	[Attack::None, Attack::SignFlip, Attack::Gaussian, Attack::Alie, Attack::Ipm];

#[test]
fn mean_degrades_and_the_default_rule_holds() {
	profile::apply_in_process(1);
	let (train, held) = digits_split().unwrap();
	let clean = run(&Rule::Mean, Attack::None, &train, &held);
	assert!(clean > 0.85, "clean run reached only {clean}");
	let mut worst_mean = 1.0f64;
	for attack in [Attack::Gaussian, Attack::Ipm] {
		let acc = run(&Rule::Mean, attack, &train, &held);
		println!("mean, {}: {acc:.3}", attack.name());
		worst_mean = worst_mean.min(acc);
	}
	assert!(worst_mean < clean - 0.2, "mean did not degrade: {worst_mean} vs {clean}");
	for attack in ATTACKS {
		let acc = run(&Rule::default(), attack, &train, &held);
		println!("default rule, {}: {acc:.3} (clean mean {clean:.3})", attack.name());
		assert!(acc >= clean - 0.05, "{}: {acc} vs clean {clean}", attack.name());
	}
}

#[test]
#[ignore]
fn byzantine_table() {
	profile::apply_in_process(1);
	let (train, held) = digits_split().unwrap();
	let start = std::time::Instant::now();
	let rules = rules();
	print!("| attack |");
	rules.iter().for_each(|(name, _)| print!(" {name} |"));
	println!();
	println!("|---|{}", "---|".repeat(rules.len()));
	for attack in ATTACKS {
		print!("| {} |", attack.name());
		for (_, rule) in &rules {
			print!(" {:.1}% |", run(rule, attack, &train, &held) * 100.0);
		}
		println!();
	}
	println!("({:.1} s)", start.elapsed().as_secs_f64());
}
