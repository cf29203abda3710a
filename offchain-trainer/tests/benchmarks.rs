//! Benchmarks behind `docs/benchmarks.md` (ignored by default; run with
//! `cargo test --release -p pot-trainer --test benchmarks -- --ignored --nocapture --test-threads 1`).
//!
//! - Spoof detection rate and honest false rejections over many training runs and verification
//!   seeds (the spoofs of `tests/pol.rs`, plus one forged middle checkpoint, which only the
//!   random half of the selection can catch).
//! - Proof-of-Learning overhead: training with checkpoints and hashes vs the bare loop.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod common;

use common::{copy_params as copy, edit_checkpoint as edit, load_checkpoint as load, reseal};
use pot_trainer::{
	checkpoint::{weights_hash, Checkpoint},
	data::{digits_split, Dataset},
	model::{ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind},
	profile,
	proof::{self, Manifest},
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::Session,
	verify::{verify, verify_with},
};
use std::{path::Path, time::Instant};

fn task(train: &Dataset, trial: u8, steps: u32, k: u32, q: u32) -> (TrainTask, Params) {
	let spec = ModelSpec::Mlp { inputs: 64, hidden: vec![32], classes: 10 };
	let params = spec.build().unwrap().init(u64::from(trial)).unwrap();
	let task = TrainTask {
		model_hash: HexHash(spec.hash()),
		model: spec,
		initial_weights: HexHash(weights_hash(&params).unwrap()),
		dataset: HexHash(train.hash()),
		samples: train.len() as u32,
		optimizer: OptimizerConfig::new(OptimizerKind::Adam, 2_000_000),
		batch_size: 16,
		local_steps: steps,
		checkpoint_interval: k,
		verification_samples: q,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext {
			order: 1,
			round: 0,
			seed: HexHash([trial; 32]),
			capacities: vec![2, 1],
			provider: 0,
		},
	};
	(task, params)
}

fn mix(a: &Params, b: &Params, t: f64) -> Params {
	a.iter()
		.map(|(n, x)| {
			(n.clone(), (x.detach() * (1.0 - t) + b[n].detach() * t).set_requires_grad(true))
		})
		.collect()
}

const SCENARIOS: [&str; 9] = [
	"honest",
	"random checkpoints",
	"interpolated checkpoints",
	"tampered final update (x3)",
	"wrong learning rate (x2)",
	"skipped steps (half)",
	"wrong data order",
	"one forged middle checkpoint",
	"one forged last segment",
];

/// Index of the middle-checkpoint forgery in [`SCENARIOS`].
const FORGED_MIDDLE: usize = 7;
/// Index of the single-segment forgery in [`SCENARIOS`].
const FORGED_LAST: usize = 8;

/// Prepares scenario `s` in `dir` (trial `trial`, 40 steps, checkpoint interval `k`) and returns
/// the task to verify against.
fn prepare(
	s: usize,
	train: &Dataset,
	trial: u8,
	q: u32,
	k: u32,
	dir: &Path,
) -> (TrainTask, Params) {
	let (t, init) = task(train, trial, 40, k, q);
	let segments = (40 / k) as usize;
	match s {
		0 => {
			proof::train(&t, train, copy(&init), dir, 1).unwrap();
		}
		1 => {
			proof::train(&t, train, copy(&init), dir, 1).unwrap();
			for i in 1..5 {
				edit(&t, dir, i, |c| {
					for p in c.params.values_mut() {
						*p = (tch::Tensor::randn(p.size(), (tch::Kind::Float, tch::Device::Cpu))
							* 0.1)
							.set_requires_grad(true);
					}
				});
			}
			reseal(&t, dir);
		}
		2 => {
			let out = proof::train(&t, train, copy(&init), dir, 1).unwrap();
			for i in 1..4 {
				edit(&t, dir, i, |c| c.params = mix(&init, &out.final_params, i as f64 / 4.0));
			}
			reseal(&t, dir);
		}
		3 => {
			proof::train(&t, train, copy(&init), dir, 1).unwrap();
			let before = load(&t, dir, 3);
			edit(&t, dir, 4, |c| {
				c.params = mix(&before.params, &c.params, 3.0);
			});
			reseal(&t, dir);
		}
		4 => {
			let mut wrong = t.clone();
			wrong.optimizer.learning_rate *= 2;
			proof::train(&wrong, train, copy(&init), dir, 1).unwrap();
		}
		5 => {
			let mut half = t.clone();
			half.local_steps = 20;
			half.checkpoint_interval = 5;
			proof::train(&half, train, copy(&init), dir, 1).unwrap();
			for i in 0..5 {
				edit(&t, dir, i, |c| c.step *= 2);
			}
			let mut m = Manifest::read(dir).unwrap();
			m.steps = 40;
			m.checkpoint_interval = 10;
			m.checkpoints.iter_mut().for_each(|e| e.step *= 2);
			let mut session = Session::new(&t, train, tch::Device::Cpu).unwrap();
			m.batches = (0..40).map(|s| session.batch(s).unwrap()).collect();
			m.losses = m.losses.iter().flat_map(|&l| [l, l]).collect();
			m.write(dir).unwrap();
			reseal(&t, dir);
		}
		6 => {
			let mut other = t.clone();
			other.round.seed = HexHash([trial.wrapping_add(100); 32]);
			proof::train(&other, train, copy(&init), dir, 1).unwrap();
			let mut m = Manifest::read(dir).unwrap();
			let mut session = Session::new(&t, train, tch::Device::Cpu).unwrap();
			m.batches = (0..40).map(|s| session.batch(s).unwrap()).collect();
			m.write(dir).unwrap();
		}
		FORGED_MIDDLE => {
			// Replace checkpoint i (1..S-1) by the midpoint of its neighbours: a small, plausible
			// update that skips the real work of two segments.
			proof::train(&t, train, copy(&init), dir, 1).unwrap();
			let i = 1 + usize::from(trial) % (segments - 1);
			let (a, b) = (load(&t, dir, i - 1), load(&t, dir, i + 1));
			edit(&t, dir, i, |c| c.params = mix(&a.params, &b.params, 0.5));
			reseal(&t, dir);
		}
		_ => {
			// The last segment not trained: its checkpoint moved halfway back towards the one
			// before (one forged segment with a small update).
			proof::train(&t, train, copy(&init), dir, 1).unwrap();
			let a = load(&t, dir, segments - 1);
			edit(&t, dir, segments, |c| c.params = mix(&a.params, &c.params, 0.5));
			reseal(&t, dir);
		}
	}
	(t, init)
}

#[test]
#[ignore]
fn spoof_detection_rates() {
	profile::apply_in_process(1);
	let train = digits_split().unwrap().0;
	let trials: u8 = 20;
	println!("| scenario | runs | rejected, task's Q = 2 only | rejected, default verifier |");
	println!("|---|---|---|---|");
	for (s, name) in SCENARIOS.iter().enumerate() {
		let (mut task_q, mut default) = (0, 0);
		for trial in 0..trials {
			let dir = tempfile::tempdir().unwrap();
			let (t, init) = prepare(s, &train, trial, 2, 10, dir.path());
			let seed = pot_pol_core::blake2_256(&[s as u8, trial]);
			let r = verify_with(&t, &train, copy(&init), dir.path(), &seed, None, 1_000_000);
			task_q += usize::from(!r.unwrap().accepted);
			let r = verify(&t, &train, copy(&init), dir.path(), &seed, None).unwrap();
			default += usize::from(!r.accepted);
		}
		println!("| {name} | {trials} | {task_q} | {default} |");
	}
}

/// Detection of the two small forgeries against the task's Q alone and against the default
/// verifier (Q raised by `pot_pol_core::select::min_samples`), for 4 and 8 segments.
#[test]
#[ignore]
fn small_forgeries_vs_q() {
	profile::apply_in_process(1);
	let train = digits_split().unwrap().0;
	let trials: u8 = 60;
	println!("| spoof | segments (k) | Q | runs | rejected | re-executed steps / trained |");
	println!("|---|---|---|---|---|---|");
	for (scenario, k) in
		[(FORGED_MIDDLE, 10), (FORGED_LAST, 10), (FORGED_MIDDLE, 5), (FORGED_LAST, 5)]
	{
		let segments = 40 / k;
		let mut qs: Vec<Option<u32>> = (1..=segments.min(4)).map(Some).collect();
		qs.push(None);
		for q in qs {
			let (mut rejected, mut reexecuted) = (0, 0);
			for trial in 0..trials {
				let dir = tempfile::tempdir().unwrap();
				let (t, init) = prepare(scenario, &train, trial, q.unwrap_or(2), k, dir.path());
				let seed = pot_pol_core::blake2_256(&[q.unwrap_or(0) as u8, trial, k as u8, 0xee]);
				let ppm = if q.is_some() { 1_000_000 } else { 10_000 };
				let r = verify_with(&t, &train, copy(&init), dir.path(), &seed, None, ppm).unwrap();
				rejected += usize::from(!r.accepted);
				reexecuted += r.selected.len() as u32 * k;
			}
			let q_name = match q {
				Some(q) => format!("{q}"),
				None => format!(
					"default: {}",
					pot_pol_core::select::verification_samples(segments, 2, true).unwrap()
				),
			};
			println!(
				"| {} | {segments} ({k}) | {q_name} | {trials} | {rejected} | {:.0}% |",
				SCENARIOS[scenario],
				f64::from(reexecuted) / f64::from(40 * u32::from(trials)) * 100.0
			);
		}
	}
}

#[test]
#[ignore]
fn pol_overhead() {
	profile::apply_in_process(1);
	let train = digits_split().unwrap().0;
	let steps = 1000;
	let (t, init) = task(&train, 0, steps, steps, 2);
	// Bare loop: the same session and steps, no checkpoints.
	let bare = || {
		let mut session = Session::new(&t, &train, tch::Device::Cpu).unwrap();
		let mut c = Checkpoint::initial(&t.optimizer, copy(&init)).unwrap();
		let start = Instant::now();
		session.run(&mut c, u64::from(steps)).unwrap();
		start.elapsed().as_secs_f64()
	};
	let with_pol = |k: u32| {
		let mut tk = t.clone();
		tk.checkpoint_interval = k;
		let dir = tempfile::tempdir().unwrap();
		let start = Instant::now();
		proof::train(&tk, &train, copy(&init), dir.path(), 1).unwrap();
		start.elapsed().as_secs_f64()
	};
	let _warm = bare();
	let base = (0..3).map(|_| bare()).fold(f64::MAX, f64::min);
	println!("bare loop, {steps} steps: {base:.3} s");
	for k in [1000, 100, 10, 1] {
		let secs = (0..3).map(|_| with_pol(k)).fold(f64::MAX, f64::min);
		println!("with PoL, k = {k}: {secs:.3} s ({:+.1}%)", (secs / base - 1.0) * 100.0);
	}
}
