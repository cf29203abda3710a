//! The byte-level decoder-only transformer on plain text: it learns to predict the next byte
//! of English prose (this crate's README; the last tenth held out), and its training is proven
//! and verified like the image models' (bitwise re-execution of every segment).

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use pot_trainer::{
	checkpoint::weights_hash,
	data::{from_text, Dataset},
	model::{ModelSpec, Params},
	optim::{OptimizerConfig, OptimizerKind},
	profile, proof,
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::evaluate,
	verify::verify,
};

const TEXT: &[u8] = include_bytes!("../README.md");

fn split() -> (Dataset, Dataset) {
	let cut = TEXT.len() * 9 / 10;
	(from_text(&TEXT[..cut], 32, 4).unwrap(), from_text(&TEXT[cut..], 32, 1).unwrap())
}

fn task(train: &Dataset, steps: u32, k: u32) -> (TrainTask, Params) {
	let spec = ModelSpec::Transformer { context: 32, dim: 32, heads: 4, layers: 2 };
	let params = spec.build().unwrap().init(11).unwrap();
	let task = TrainTask {
		model_hash: HexHash(spec.hash()),
		model: spec,
		initial_weights: HexHash(weights_hash(&params).unwrap()),
		dataset: HexHash(train.hash()),
		samples: train.len() as u32,
		optimizer: OptimizerConfig::new(OptimizerKind::AdamW, 3_000_000),
		batch_size: 16,
		local_steps: steps,
		checkpoint_interval: k,
		verification_samples: 1,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext {
			order: 4,
			round: 0,
			seed: HexHash([4; 32]),
			capacities: vec![1],
			provider: 0,
		},
	};
	(task, params)
}

fn copy(p: &Params) -> Params {
	p.iter().map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true))).collect()
}

#[test]
fn transformer_learns_text_and_its_proof_verifies() {
	profile::apply_in_process(1);
	let (train, held) = split();
	let (t, init) = task(&train, 300, 100);
	let model = t.model.build().unwrap();
	let (loss0, acc0) = evaluate(model.as_ref(), &init, &held).unwrap();
	let dir = tempfile::tempdir().unwrap();
	let out = proof::train(&t, &train, copy(&init), dir.path(), 1).unwrap();
	let (loss, acc) = evaluate(model.as_ref(), &out.final_params, &held).unwrap();
	// The most frequent byte of the held-out labels: what a model without context can reach.
	let mut counts = [0usize; 256];
	held.labels.iter().for_each(|&b| counts[usize::from(b)] += 1);
	let baseline = *counts.iter().max().unwrap() as f64 / held.len() as f64;
	println!(
		"held-out next byte: loss {loss0:.3} -> {loss:.3}, accuracy {acc0:.3} -> {acc:.3} \
		 (most frequent byte {baseline:.3}, {} windows)",
		held.len()
	);
	assert!(loss0 > 5.0 && loss < 3.2, "{loss0} -> {loss}");
	assert!(acc > baseline + 0.05, "{acc} vs {baseline}");
	let report = verify(&t, &train, copy(&init), dir.path(), &[1; 32], None).unwrap();
	assert!(report.accepted, "{report:?}");
	assert_eq!(report.selected.len(), 3);
	// A wrong sample width is an error, not a panic.
	let other = from_text(TEXT, 16, 50).unwrap();
	assert!(evaluate(model.as_ref(), &init, &other).is_err());
}
