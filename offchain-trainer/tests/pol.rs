//! Proof of Learning end to end on the digits set: determinism, honest proofs verify, spoofed
//! proofs are rejected, and training actually learns. Small models and few steps (CPU, 1 thread).

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod common;

use common::{copy_params, edit_checkpoint, reseal};
use pot_trainer::{
	checkpoint::{weights_hash, Checkpoint},
	data::{digits_split, Dataset},
	model::{ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind},
	profile,
	proof::{self, Manifest},
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::evaluate,
	verify::{verify, verify_with, Report},
};
use std::path::Path;
use tch::Tensor;

const SEED: [u8; 32] = [7; 32];

fn setup() -> Dataset {
	profile::apply_in_process(1);
	digits_split().unwrap().0
}

fn task_for(
	train: &Dataset,
	kind: OptimizerKind,
	lr: u64,
	steps: u32,
	k: u32,
) -> (TrainTask, Params) {
	let spec = ModelSpec::Mlp { inputs: 64, hidden: vec![32], classes: 10 };
	let params = spec.build().unwrap().init(1).unwrap();
	let task = TrainTask {
		model_hash: HexHash(spec.hash()),
		model: spec,
		initial_weights: HexHash(weights_hash(&params).unwrap()),
		dataset: HexHash(train.hash()),
		samples: train.len() as u32,
		optimizer: OptimizerConfig::new(kind, lr),
		batch_size: 16,
		local_steps: steps,
		checkpoint_interval: k,
		verification_samples: 2,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext {
			order: 3,
			round: 1,
			seed: HexHash([9; 32]),
			capacities: vec![2, 1],
			provider: 0,
		},
	};
	(task, params)
}

fn small(train: &Dataset) -> (TrainTask, Params) {
	task_for(train, OptimizerKind::Adam, 2_000_000, 40, 10)
}

fn check(task: &TrainTask, train: &Dataset, initial: &Params, dir: &Path) -> Report {
	verify(task, train, copy_params(initial), dir, &SEED, None).unwrap()
}

fn assert_rejected(report: &Report, why: &str) {
	assert!(!report.accepted, "{why}: accepted: {report:?}");
	assert!(!report.failures.is_empty());
}

#[test]
fn same_inputs_give_bitwise_identical_checkpoints() {
	let train = setup();
	let (task, init) = small(&train);
	let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
	let ma = proof::train(&task, &train, copy_params(&init), a.path(), 1).unwrap().manifest;
	let mb = proof::train(&task, &train, copy_params(&init), b.path(), 1).unwrap().manifest;
	assert_eq!(ma, mb);
	assert_eq!(ma.checkpoints.len(), 5);
	for e in &ma.checkpoints {
		assert_eq!(
			std::fs::read(a.path().join(&e.file)).unwrap(),
			std::fs::read(b.path().join(&e.file)).unwrap()
		);
	}
	// Another seed, another run.
	let mut other = task.clone();
	other.round.seed = HexHash([10; 32]);
	let c = tempfile::tempdir().unwrap();
	let mc = proof::train(&other, &train, copy_params(&init), c.path(), 1).unwrap().manifest;
	assert_ne!(mc.merkle_root, ma.merkle_root);
}

#[test]
fn honest_proofs_verify_for_every_optimizer() {
	let train = setup();
	for (kind, lr) in [
		(OptimizerKind::Sgd, 100_000_000),
		(OptimizerKind::SgdMomentum, 50_000_000),
		(OptimizerKind::Adam, 2_000_000),
		(OptimizerKind::AdamW, 2_000_000),
	] {
		// A ragged schedule too: 35 steps, checkpoints every 10 (last segment 5 steps).
		let (mut task, init) = task_for(&train, kind, lr, 35, 10);
		task.optimizer.weight_decay = 10_000_000;
		task.verification_samples = 4;
		let dir = tempfile::tempdir().unwrap();
		let m = proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap().manifest;
		let report =
			verify(&task, &train, copy_params(&init), dir.path(), &SEED, Some(&m.merkle_root.0))
				.unwrap();
		assert!(report.accepted, "{kind:?}: {report:?}");
		assert_eq!(report.selected, vec![0, 1, 2, 3]);
		assert!(report.segments.iter().all(|s| s.l2 == 0.0
			&& s.linf == 0.0
			&& (s.cosine - 1.0).abs() < 1e-9
			&& s.hash_matches
			&& s.losses_match));
		// The same proof against another committed root is not the committed work.
		let report =
			verify(&task, &train, copy_params(&init), dir.path(), &SEED, Some(&[0; 32])).unwrap();
		assert_rejected(&report, "wrong committed root");
	}
}

#[test]
fn spoof_random_checkpoints() {
	let train = setup();
	let (task, init) = small(&train);
	let dir = tempfile::tempdir().unwrap();
	proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap();
	for i in 1..5 {
		edit_checkpoint(&task, dir.path(), i, |c| {
			for p in c.params.values_mut() {
				let noise = Tensor::randn(p.size(), (tch::Kind::Float, tch::Device::Cpu)) * 0.1;
				*p = noise.set_requires_grad(true);
			}
		});
	}
	reseal(&task, dir.path());
	let report = check(&task, &train, &init, dir.path());
	assert_rejected(&report, "random checkpoints");
	assert!(report.segments.iter().all(|s| !s.accepted));
}

#[test]
fn spoof_interpolated_checkpoints() {
	// Train honestly only to get the end point, then fill the path in by interpolation.
	let train = setup();
	let (task, init) = small(&train);
	let dir = tempfile::tempdir().unwrap();
	let out = proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap();
	for i in 1..4 {
		let t = i as f64 / 4.0;
		edit_checkpoint(&task, dir.path(), i, |c| {
			for (name, p) in c.params.iter_mut() {
				let mixed = init[name].detach() * (1.0 - t) + out.final_params[name].detach() * t;
				*p = mixed.set_requires_grad(true);
			}
		});
	}
	reseal(&task, dir.path());
	assert_rejected(&check(&task, &train, &init, dir.path()), "interpolated checkpoints");
}

#[test]
fn spoof_tampered_final_update() {
	let train = setup();
	let (task, init) = small(&train);
	let dir = tempfile::tempdir().unwrap();
	let honest = proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap().manifest;
	// Exaggerate the last update (a provider inflating its contribution).
	let model = task.model.build().unwrap();
	let before = Checkpoint::load(
		&dir.path().join(&honest.checkpoints[3].file),
		model.as_ref(),
		&task.optimizer,
	)
	.unwrap();
	edit_checkpoint(&task, dir.path(), 4, |c| {
		for (name, p) in c.params.iter_mut() {
			let pushed = p.detach() * 3.0 - before.params[name].detach() * 2.0;
			*p = pushed.set_requires_grad(true);
		}
	});
	// Without resealing, the file no longer matches its hash.
	assert_rejected(&check(&task, &train, &init, dir.path()), "tampered file");
	reseal(&task, dir.path());
	let report = check(&task, &train, &init, dir.path());
	assert_rejected(&report, "tampered final update");
	// The inflated segment has the largest update, so it is always selected.
	assert!(report.selected.contains(&3), "{report:?}");
	assert!(report.segments.iter().any(|s| s.index == 3 && !s.accepted));
}

#[test]
fn spoof_wrong_learning_rate() {
	let train = setup();
	let (task, init) = small(&train);
	let mut cheaper = task.clone();
	cheaper.optimizer.learning_rate *= 2;
	let dir = tempfile::tempdir().unwrap();
	proof::train(&cheaper, &train, copy_params(&init), dir.path(), 1).unwrap();
	let report = check(&task, &train, &init, dir.path());
	assert_rejected(&report, "wrong learning rate");
	assert!(report.segments.iter().all(|s| !s.accepted && s.cosine < 1.0));
}

#[test]
fn spoof_skipped_steps() {
	// Half the work: 20 steps with checkpoints every 5, relabelled as 40 steps every 10.
	let train = setup();
	let (task, init) = small(&train);
	let mut half = task.clone();
	half.local_steps = 20;
	half.checkpoint_interval = 5;
	let dir = tempfile::tempdir().unwrap();
	proof::train(&half, &train, copy_params(&init), dir.path(), 1).unwrap();
	for i in 0..5 {
		edit_checkpoint(&task, dir.path(), i, |c| c.step *= 2);
	}
	let mut m = Manifest::read(dir.path()).unwrap();
	m.steps = 40;
	m.checkpoint_interval = 10;
	for e in &mut m.checkpoints {
		e.step *= 2;
	}
	// The forger also writes the minibatches the task prescribes and plausible losses.
	let mut session = pot_trainer::train::Session::new(&task, &train, tch::Device::Cpu).unwrap();
	m.batches = (0..40).map(|t| session.batch(t).unwrap()).collect();
	m.losses = m.losses.iter().flat_map(|&l| [l, l]).collect();
	m.write(dir.path()).unwrap();
	reseal(&task, dir.path());
	assert_rejected(&check(&task, &train, &init, dir.path()), "skipped steps");
}

#[test]
fn spoof_wrong_data_order_and_other_data() {
	let train = setup();
	let (task, init) = small(&train);
	// Trained with another round seed (other minibatches), claiming the task's.
	let mut other_order = task.clone();
	other_order.round.seed = HexHash([1; 32]);
	let dir = tempfile::tempdir().unwrap();
	proof::train(&other_order, &train, copy_params(&init), dir.path(), 1).unwrap();
	assert_rejected(&check(&task, &train, &init, dir.path()), "wrong data order");
	// Even with the prescribed minibatches written into the manifest, re-execution differs.
	let mut m = Manifest::read(dir.path()).unwrap();
	let mut session = pot_trainer::train::Session::new(&task, &train, tch::Device::Cpu).unwrap();
	m.batches = (0..40).map(|t| session.batch(t).unwrap()).collect();
	m.write(dir.path()).unwrap();
	let report = check(&task, &train, &init, dir.path());
	assert_rejected(&report, "wrong data order, lying manifest");
	assert!(report.segments.iter().all(|s| !s.accepted));
}

#[test]
fn spoof_replayed_proof_of_another_provider() {
	let train = setup();
	let (task, init) = small(&train);
	let dir = tempfile::tempdir().unwrap();
	proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap();
	let mut thief = task.clone();
	thief.round.provider = 1;
	// As is, the manifest names provider 0.
	assert_rejected(&check(&thief, &train, &init, dir.path()), "replay");
	// Relabelled, its minibatches are not provider 1's.
	let mut m = Manifest::read(dir.path()).unwrap();
	m.provider = 1;
	m.write(dir.path()).unwrap();
	assert_rejected(&check(&thief, &train, &init, dir.path()), "relabelled replay");
}

#[test]
fn training_beats_the_initial_model_on_held_out_digits() {
	let train = setup();
	let (_, held_out) = digits_split().unwrap();
	let spec = ModelSpec::Mlp { inputs: 64, hidden: vec![64], classes: 10 };
	let model = spec.build().unwrap();
	let init = model.init(0).unwrap();
	let mut task = task_for(&train, OptimizerKind::Adam, 3_000_000, 300, 50).0;
	task.model_hash = HexHash(spec.hash());
	task.model = spec;
	task.initial_weights = HexHash(weights_hash(&init).unwrap());
	task.batch_size = 32;
	task.round.capacities = vec![1];
	let (_, before) = evaluate(model.as_ref(), &init, &held_out).unwrap();
	let dir = tempfile::tempdir().unwrap();
	let out = proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap();
	let (_, after) = evaluate(model.as_ref(), &out.final_params, &held_out).unwrap();
	println!("held-out accuracy {before:.4} -> {after:.4}");
	assert!(before < 0.2, "{before}");
	assert!(after > 0.9, "{after}");
}

#[test]
fn bitwise_verifier_rejects_proofs_from_another_profile() {
	let train = setup();
	let (task, init) = small(&train);
	let dir = tempfile::tempdir().unwrap();
	let inherited = profile::ComputeProfile::inherited(1);
	proof::train_under(&task, &train, copy_params(&init), dir.path(), inherited).unwrap();
	let report = check(&task, &train, &init, dir.path());
	assert_rejected(&report, "other profile");
	assert!(report.failures[0].contains("profile"), "{report:?}");
}

#[test]
fn single_forged_small_segment_is_caught_by_the_default_q() {
	let train = setup();
	let (task, init) = small(&train);
	let dir = tempfile::tempdir().unwrap();
	let honest = proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap().manifest;
	// The last segment not trained: its checkpoint halfway between its honest value and the one
	// before, so its update is the smallest and only random selection can find it.
	let model = task.model.build().unwrap();
	let before = Checkpoint::load(
		&dir.path().join(&honest.checkpoints[3].file),
		model.as_ref(),
		&task.optimizer,
	)
	.unwrap();
	edit_checkpoint(&task, dir.path(), 4, |c| {
		for (name, p) in c.params.iter_mut() {
			let halfway = (p.detach() + before.params[name].detach()) * 0.5;
			*p = halfway.set_requires_grad(true);
		}
	});
	reseal(&task, dir.path());
	// The task asks for Q = 2 of 4; the default verifier raises Q to 4 for the 99% goal.
	for seed in 0..8u8 {
		let report =
			verify(&task, &train, copy_params(&init), dir.path(), &[seed; 32], None).unwrap();
		assert_eq!(report.selected, vec![0, 1, 2, 3]);
		assert_rejected(&report, "forged last segment");
	}
	// With the task's Q alone, some seeds miss it.
	let missed = (0..8u8)
		.filter(|&seed| {
			verify_with(&task, &train, copy_params(&init), dir.path(), &[seed; 32], None, 1_000_000)
				.unwrap()
				.accepted
		})
		.count();
	assert!(missed > 0);
}

#[test]
fn pot_malus_forgeries_are_rejected() {
	let train = setup();
	let (task, init) = small(&train);
	for forgery in [pot_trainer::forge::Forgery::TamperFinal, pot_trainer::forge::Forgery::SkipTraining] {
		let dir = tempfile::tempdir().unwrap();
		let honest = proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap().manifest;
		let forged = pot_trainer::forge::apply(forgery, &task, dir.path()).unwrap();
		assert_ne!(forged.merkle_root, honest.merkle_root, "{forgery:?} changed nothing");
		let report = check(&task, &train, &init, dir.path());
		assert_rejected(&report, &format!("{forgery:?}"));
	}
}
