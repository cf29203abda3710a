//! Bring-your-own-model: a TorchScript module (`ModelSpec::TorchScript`) trains, proves and
//! verifies like a built-in model. The module under test is a real TorchScript file: the
//! built-in MLP traced by libtorch (`model::trace`), saved and loaded back from its bytes.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod common;

use common::copy_params;
use pot_trainer::{
	checkpoint::weights_hash,
	data::digits_split,
	model::{self, ModelSpec},
	optim::{OptimizerConfig, OptimizerKind},
	profile, proof,
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::evaluate,
	verify::verify,
};
use tch::{Kind, Tensor};

fn mlp() -> ModelSpec {
	ModelSpec::Mlp { inputs: 64, hidden: vec![32], classes: 10 }
}

/// The MLP as a TorchScript spec, traced on a batch of 4.
fn scripted() -> ModelSpec {
	let example = Tensor::zeros([4, 64], (Kind::Float, tch::Device::Cpu));
	model::trace(mlp().build().unwrap().as_ref(), &example).unwrap()
}

#[test]
fn a_torchscript_module_computes_what_the_model_it_was_made_from_computes() {
	profile::apply_in_process(1);
	let spec = scripted();
	let ModelSpec::TorchScript { params, module } = &spec else { panic!("{spec:?}") };
	assert_eq!(params[0], ("layer0.weight".to_owned(), vec![32, 64]));
	assert!(module.len() > 1_000, "a saved TorchScript archive");
	// The spec survives JSON (module bytes as hex) and its hash covers the module's bytes.
	let json = serde_json::to_string(&spec).unwrap();
	let back: ModelSpec = serde_json::from_str(&json).unwrap();
	assert_eq!(back, spec);
	assert_eq!(back.hash(), spec.hash());
	let mut other = module.clone();
	*other.last_mut().unwrap() ^= 1;
	let changed = ModelSpec::TorchScript { params: params.clone(), module: other };
	assert_ne!(changed.hash(), spec.hash());

	let builtin = mlp().build().unwrap();
	let script = spec.build().unwrap();
	assert_eq!(script.shapes(), builtin.shapes());
	let weights = builtin.init(5).unwrap();
	let (features, labels) = digits_split().unwrap().1.tensors(tch::Device::Cpu).unwrap();
	// Another batch size than the trace's: the module is not tied to it.
	let xs = features.narrow(0, 0, 50);
	let a = builtin.forward(&weights, &xs).unwrap();
	let b = script.forward(&weights, &xs).unwrap();
	assert_eq!(b.size(), [50, 10]);
	assert!(a.equal(&b), "TorchScript and built-in logits differ");
	// Gradients flow through the module to the parameters it is given.
	let labels = labels.narrow(0, 0, 50);
	let loss = script.loss(&weights, &xs, &labels).unwrap();
	loss.backward();
	let grad = weights["layer0.weight"].grad();
	assert!(grad.defined() && grad.abs().sum(Kind::Float).double_value(&[]) > 0.0);
}

#[test]
fn a_torchscript_model_trains_with_a_proof_that_verifies() {
	profile::apply_in_process(1);
	let (train, held_out) = digits_split().unwrap();
	let spec = scripted();
	let model = spec.build().unwrap();
	let init = model.init(0).unwrap();
	let task = TrainTask {
		model_hash: HexHash(spec.hash()),
		model: spec,
		initial_weights: HexHash(weights_hash(&init).unwrap()),
		dataset: HexHash(train.hash()),
		samples: train.len() as u32,
		optimizer: OptimizerConfig::new(OptimizerKind::Adam, 3_000_000),
		batch_size: 32,
		local_steps: 200,
		checkpoint_interval: 50,
		verification_samples: 2,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext { order: 1, round: 0, seed: HexHash([3; 32]), capacities: vec![1], provider: 0 },
	};
	let dir = tempfile::tempdir().unwrap();
	let out = proof::train(&task, &train, copy_params(&init), dir.path(), 1).unwrap();
	let (_, before) = evaluate(model.as_ref(), &init, &held_out).unwrap();
	let (_, after) = evaluate(model.as_ref(), &out.final_params, &held_out).unwrap();
	println!("TorchScript MLP: held-out accuracy {before:.4} -> {after:.4}");
	assert!(before < 0.2 && after > 0.85, "{before} -> {after}");
	let report = verify(&task, &train, copy_params(&init), dir.path(), &[7; 32], Some(&out.manifest.merkle_root.0))
		.unwrap();
	assert!(report.accepted, "{report:?}");
}

#[test]
fn broken_torchscript_specs_are_refused_with_a_reason() {
	profile::apply_in_process(1);
	let ModelSpec::TorchScript { params, module } = scripted() else { unreachable!() };
	let error = |spec: ModelSpec| match spec.build() {
		Ok(_) => panic!("built"),
		Err(e) => e.to_string(),
	};
	let garbage = ModelSpec::TorchScript { params: params.clone(), module: b"not a module".to_vec() };
	assert!(error(garbage).contains("not a TorchScript module"));
	let none = ModelSpec::TorchScript { params: vec![], module: module.clone() };
	assert!(error(none).contains("no parameters"));
	let mut twice = params.clone();
	twice[1].0 = twice[0].0.clone();
	assert!(error(ModelSpec::TorchScript { params: twice, module: module.clone() }).contains("repeats"));
	let mut empty = params.clone();
	empty[0].1 = vec![0, 64];
	assert!(error(ModelSpec::TorchScript { params: empty, module: module.clone() }).contains("shape"));
	// A parameter list that does not match the module's forward fails at the forward pass.
	let short = ModelSpec::TorchScript { params: params[..2].to_vec(), module };
	let model = short.build().unwrap();
	let weights = model.init(0).unwrap();
	let xs = Tensor::zeros([2, 64], (Kind::Float, tch::Device::Cpu));
	let e = model.forward(&weights, &xs).expect_err("a forward with missing parameters");
	assert!(e.to_string().contains("TorchScript forward"), "{e}");
}

#[test]
fn an_order_trains_a_torchscript_model_that_takes_the_orders_data() {
	use pot_trainer::chain_task::{order_task, OrderTraining};
	profile::apply_in_process(1);
	let training = |model: ModelSpec| OrderTraining {
		rounds: 2,
		steps: 20,
		checkpoint_interval: 10,
		batch_size: 16,
		lr: 0.01,
		optimizer: OptimizerKind::Adam,
		verification_samples: 1,
		init_seed: 3,
		aggregation: pot_trainer::round_verifier::AggregationRule::default(),
		update: pot_trainer::compress::UpdateEncoding::Dense,
		model: Some(model),
	};
	let spec = scripted();
	let task = order_task(&training(spec.clone()), pot_trainer::data::digits_pair().unwrap()).unwrap();
	assert_eq!(task.spec.model.0, spec.hash());
	assert_eq!(task.model, spec);
	assert_eq!(task.spec.initial_weights.0, weights_hash(&spec.build().unwrap().init(3).unwrap()).unwrap());
	// A module for other inputs is refused before anything is submitted.
	let example = Tensor::zeros([4, 16], (Kind::Float, tch::Device::Cpu));
	let narrow = ModelSpec::Mlp { inputs: 16, hidden: vec![8], classes: 10 };
	let other = model::trace(narrow.build().unwrap().as_ref(), &example).unwrap();
	let refused = order_task(&training(other), pot_trainer::data::digits_pair().unwrap()).err().unwrap();
	assert!(refused.to_string().contains("does not train on this dataset"), "{refused}");
}
