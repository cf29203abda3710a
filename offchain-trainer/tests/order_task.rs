//! The consumer's on-chain task names exactly what `pot-trainer new-task` writes: the same model
//! spec hash, the same seeded initial weights and the same digits training split, so a task
//! created by `order create` trains and verifies like one made by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use pot_trainer::{
	chain_task::{order_task, OrderTraining},
	optim::OptimizerKind,
	task::TrainTask,
};
use std::{path::Path, process::Command};

fn pot_trainer(dir: &Path, args: &[&str]) -> std::process::Output {
	Command::new(env!("CARGO_BIN_EXE_pot-trainer"))
		.args(args)
		.current_dir(dir)
		.env_clear()
		.output()
		.unwrap()
}

#[test]
fn order_task_hashes_match_new_task() {
	let dir = tempfile::tempdir().unwrap();
	for seed in [0u64, 7] {
		let seed_arg = seed.to_string();
		let out = pot_trainer(
			dir.path(),
			&[
				"new-task",
				"--task",
				"task.json",
				"--initial-weights",
				"init.safetensors",
				"--lr",
				"0.01",
				"--steps",
				"50",
				"--checkpoint-interval",
				"10",
				"--init-seed",
				&seed_arg,
			],
		);
		assert!(out.status.success(), "{out:?}");
		let by_hand = TrainTask::read(&dir.path().join("task.json")).unwrap();
		let order = order_task(&OrderTraining {
			rounds: 3,
			steps: 50,
			checkpoint_interval: 10,
			batch_size: 32,
			lr: 0.01,
			optimizer: OptimizerKind::Adam,
			verification_samples: 2,
			init_seed: seed,
			aggregation: pot_trainer::round_verifier::AggregationRule::default(),
			update: pot_trainer::compress::UpdateEncoding::Dense,
			model: None,
		}, pot_trainer::data::digits_pair().unwrap())
		.unwrap();
		assert_eq!(order.spec.model.0, by_hand.model_hash.0, "seed {seed}");
		assert_eq!(order.model, by_hand.model);
		assert_eq!(order.spec.initial_weights.0, by_hand.initial_weights.0, "seed {seed}");
		// On chain the order names the pair (training and held-out splits); `new-task` the
		// training split it trains on.
		assert_eq!(order.spec.dataset.0, order.data.hash());
		assert_eq!(order.data.train.hash(), by_hand.dataset.0);
		assert_eq!(order.spec.samples, u64::from(by_hand.samples));
		assert_eq!(order.spec.hyper.learning_rate.0, by_hand.optimizer.learning_rate);
		assert_eq!(
			(order.spec.hyper.batch_size, order.spec.hyper.local_steps),
			(by_hand.batch_size, by_hand.local_steps)
		);
		assert_eq!(order.spec.pol.checkpoint_interval, by_hand.checkpoint_interval);
	}
}

#[test]
fn chain_subcommands_are_wired() {
	let dir = tempfile::tempdir().unwrap();
	for args in [
		&["work", "--help"][..],
		&["order", "create", "--help"],
		&["order", "watch", "--help"],
		&["order", "fetch", "--help"],
		&["order", "run", "--help"],
		&["order", "upload", "--help"],
		&["asks", "--help"],
	] {
		let out = pot_trainer(dir.path(), args);
		assert!(out.status.success(), "{args:?}: {out:?}");
	}
	// Without a node, `asks` fails with a clear error instead of hanging.
	let out = pot_trainer(dir.path(), &["asks", "--node", "ws://127.0.0.1:1"]);
	assert!(!out.status.success());
	assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:1"), "{out:?}");
}
