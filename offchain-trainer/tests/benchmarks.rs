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

use pot_pol_core::merkle;
use pot_trainer::{
	checkpoint::{weights_hash, Checkpoint},
	data::{digits_split, Dataset},
	model::{ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind},
	profile,
	proof::{self, Manifest},
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::Session,
	verify::verify,
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

fn copy(p: &Params) -> Params {
	p.iter().map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true))).collect()
}

fn reseal(task: &TrainTask, dir: &Path) {
	let model = task.model.build().unwrap();
	let mut m = Manifest::read(dir).unwrap();
	let mut last = None;
	for e in &mut m.checkpoints {
		let c = Checkpoint::load(&dir.join(&e.file), model.as_ref(), &task.optimizer).unwrap();
		e.hash = HexHash(c.hash().unwrap());
		last = Some(weights_hash(&c.params).unwrap());
	}
	m.merkle_root = HexHash(merkle::root(&m.hashes()).unwrap());
	m.final_weights = HexHash(last.unwrap());
	m.write(dir).unwrap();
}

fn edit(task: &TrainTask, dir: &Path, index: usize, f: impl FnOnce(&mut Checkpoint)) {
	let model = task.model.build().unwrap();
	let m = Manifest::read(dir).unwrap();
	let path = dir.join(&m.checkpoints[index].file);
	let mut c = Checkpoint::load(&path, model.as_ref(), &task.optimizer).unwrap();
	f(&mut c);
	c.save(&path).unwrap();
}

fn load(task: &TrainTask, dir: &Path, index: usize) -> Checkpoint {
	let model = task.model.build().unwrap();
	let m = Manifest::read(dir).unwrap();
	Checkpoint::load(&dir.join(&m.checkpoints[index].file), model.as_ref(), &task.optimizer)
		.unwrap()
}

fn mix(a: &Params, b: &Params, t: f64) -> Params {
	a.iter()
		.map(|(n, x)| {
			(n.clone(), (x.detach() * (1.0 - t) + b[n].detach() * t).set_requires_grad(true))
		})
		.collect()
}

const SCENARIOS: [&str; 8] = [
	"honest",
	"random checkpoints",
	"interpolated checkpoints",
	"tampered final update (x3)",
	"wrong learning rate (x2)",
	"skipped steps (half)",
	"wrong data order",
	"one forged middle checkpoint",
];

/// Prepares scenario `s` in `dir` (trial `trial`) and returns the task to verify against.
fn prepare(s: usize, train: &Dataset, trial: u8, q: u32, dir: &Path) -> (TrainTask, Params) {
	let (t, init) = task(train, trial, 40, 10, q);
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
		_ => {
			// Replace checkpoint i (1..3) by the midpoint of its neighbours: a small, plausible
			// update that skips the real work of two segments.
			proof::train(&t, train, copy(&init), dir, 1).unwrap();
			let i = 1 + usize::from(trial) % 3;
			let (a, b) = (load(&t, dir, i - 1), load(&t, dir, i + 1));
			edit(&t, dir, i, |c| c.params = mix(&a.params, &b.params, 0.5));
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
	println!("| scenario | runs | rejected |");
	println!("|---|---|---|");
	for (s, name) in SCENARIOS.iter().enumerate() {
		let mut rejected = 0;
		for trial in 0..trials {
			let dir = tempfile::tempdir().unwrap();
			let (t, init) = prepare(s, &train, trial, 2, dir.path());
			let seed = pot_pol_core::blake2_256(&[s as u8, trial]);
			let report = verify(&t, &train, copy(&init), dir.path(), &seed, None).unwrap();
			if !report.accepted {
				rejected += 1;
			}
		}
		println!("| {name} | {trials} | {rejected} |");
	}
}

#[test]
#[ignore]
fn forged_middle_checkpoint_vs_q() {
	profile::apply_in_process(1);
	let train = digits_split().unwrap().0;
	let trials: u8 = 60;
	println!("| Q of 4 segments | runs | rejected |");
	println!("|---|---|---|");
	for q in 1..=4 {
		let mut rejected = 0;
		for trial in 0..trials {
			let dir = tempfile::tempdir().unwrap();
			let (t, init) = prepare(SCENARIOS.len() - 1, &train, trial, q, dir.path());
			let seed = pot_pol_core::blake2_256(&[q as u8, trial, 0xee]);
			if !verify(&t, &train, copy(&init), dir.path(), &seed, None).unwrap().accepted {
				rejected += 1;
			}
		}
		println!("| {q} | {trials} | {rejected} |");
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
