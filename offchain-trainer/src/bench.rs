//! `pot-trainer bench`: what Proof-of-Learning costs on this machine, and how tch compares with
//! PyTorch eager on the same model, data, batch size and threads.
//!
//! One run measures, best of `repeats` after a warm-up, on the embedded digits training set:
//! - the bare training loop (`train::Session::run`, no checkpoints, hashes or files);
//! - the same steps with Proof of Learning (`proof::train`: checkpoints every k steps, hashes,
//!   Merkle root, manifest), and so the PoL overhead;
//! - verification of that proof (`verify::verify_with`) at the default detection goal (Q raised
//!   until one forged segment is missed at most `max_miss_ppm` of the time) and with the task's
//!   Q alone, each as a fraction of the PoL training time;
//! - with a Python that can `import torch`: `bench/torch_eager.py` training the same
//!   architecture with the same optimizer, batch size, steps and threads, in a child process
//!   under the same compute-profile environment.

use crate::{
	checkpoint::{params_to, weights_hash, Checkpoint},
	data::Dataset,
	model::ModelSpec,
	optim::{OptimizerConfig, OptimizerKind, ONE},
	profile::ComputeProfile,
	proof,
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::Session,
	verify::verify_observed,
};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::Device;
use std::{
	path::{Path, PathBuf},
	process::Command,
	time::{Duration, Instant},
};

/// `pot-trainer bench` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
	/// The MLP (64-H-10 with `--hidden H`) or the CNN (8 and 16 channels).
	#[arg(long, value_enum, default_value = "mlp")]
	pub model: BenchModel,
	/// Hidden widths of the MLP.
	#[arg(long, num_args = 1.., default_values_t = [32])]
	pub hidden: Vec<u32>,
	/// SGD or Adam (what both libraries implement alike).
	#[arg(long, value_enum, default_value = "adam")]
	pub optimizer: BenchOptimizer,
	/// Learning rate (decimal; 9 decimals).
	#[arg(long, default_value_t = 0.002)]
	pub lr: f64,
	/// Samples per step.
	#[arg(long, default_value_t = 16)]
	pub batch_size: u32,
	/// Steps per timed run.
	#[arg(long, default_value_t = 1000)]
	pub steps: u32,
	/// Checkpoint interval k of the PoL run.
	#[arg(long, default_value_t = 100)]
	pub checkpoint_interval: u32,
	/// The task's Q (segments re-executed per submission before the detection goal).
	#[arg(long, default_value_t = 2)]
	pub verification_samples: u32,
	/// The default verifier's detection goal (ppm of missing one forged segment).
	#[arg(long, default_value_t = pot_pol_core::select::DEFAULT_MAX_MISS_PPM)]
	pub max_miss_ppm: u32,
	/// Timed runs per figure after a warm-up (the best counts).
	#[arg(long, default_value_t = 3)]
	pub repeats: u32,
	/// A Python that can `import torch` (and numpy): adds PyTorch eager on the same work.
	#[arg(long)]
	pub python: Option<PathBuf>,
	/// The PyTorch script.
	#[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/torch_eager.py"))]
	pub script: PathBuf,
	/// Print the figures as JSON instead of a Markdown table row.
	#[arg(long)]
	pub json: bool,
	/// Where tch computes: cpu, cuda or cuda:N (the PyTorch comparison runs on the CPU only).
	#[arg(long, default_value = "cpu", value_parser = crate::profile::parse_device)]
	pub device: Device,
}

/// The models `bench` compares.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BenchModel {
	/// MLP 64-H-10.
	Mlp,
	/// CNN 8×8 with 8 and 16 channels.
	Cnn,
}

/// The optimizers `bench` compares.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BenchOptimizer {
	/// Plain SGD.
	Sgd,
	/// Adam.
	Adam,
}

impl BenchArgs {
	/// The measurement these flags ask for, at `threads` libtorch threads.
	pub fn config(&self, threads: u32) -> Result<BenchConfig> {
		let model = match self.model {
			BenchModel::Mlp => ModelSpec::Mlp { inputs: 64, hidden: self.hidden.clone(), classes: 10 },
			BenchModel::Cnn => ModelSpec::Cnn { side: 8, channels: [8, 16], classes: 10 },
		};
		let kind = match self.optimizer {
			BenchOptimizer::Sgd => OptimizerKind::Sgd,
			BenchOptimizer::Adam => OptimizerKind::Adam,
		};
		if !(self.lr > 0.0 && self.lr < 1e9) {
			bail!("the learning rate must be positive");
		}
		if self.python.is_some() && self.device != Device::Cpu {
			bail!("the PyTorch comparison runs on the CPU: leave out --python or --device");
		}
		Ok(BenchConfig {
			model,
			optimizer: OptimizerConfig::new(kind, (self.lr * ONE as f64).round() as u64),
			batch_size: self.batch_size,
			steps: self.steps,
			checkpoint_interval: self.checkpoint_interval,
			verification_samples: self.verification_samples,
			max_miss_ppm: self.max_miss_ppm,
			repeats: self.repeats,
			threads,
			device: crate::profile::prepare_device(self.device)?,
		})
	}

	/// The Python and script of the PyTorch comparison, when asked for.
	pub fn python(&self) -> Option<(&Path, &Path)> {
		self.python.as_deref().map(|p| (p, self.script.as_path()))
	}
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
	/// The model.
	pub model: ModelSpec,
	/// Optimizer and learning rate.
	pub optimizer: OptimizerConfig,
	/// Samples per step.
	pub batch_size: u32,
	/// Steps per timed run.
	pub steps: u32,
	/// Checkpoint interval k of the PoL run.
	pub checkpoint_interval: u32,
	/// The task's Q.
	pub verification_samples: u32,
	/// The default verifier's detection goal (ppm of missing one forged segment).
	pub max_miss_ppm: u32,
	/// Timed runs per figure (the best counts).
	pub repeats: u32,
	/// libtorch intra-op threads (already applied to this process).
	pub threads: u32,
	/// Where tch computes (prepared by [`crate::profile::prepare_device`]).
	pub device: Device,
}

/// PyTorch eager's figures (from `bench/torch_eager.py`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EagerReport {
	/// Best time of the steps.
	pub seconds: f64,
	/// Steps timed.
	pub steps: u32,
	/// Loss of the first step (a check that the model trains from a sensible start).
	pub first_loss: f64,
	/// PyTorch's version.
	pub torch: String,
	/// Threads PyTorch used.
	pub threads: u32,
}

/// The figures of one bench run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BenchReport {
	/// The model, as JSON of its spec.
	pub model: ModelSpec,
	/// Its parameter count.
	pub parameters: i64,
	/// Samples per step.
	pub batch_size: u32,
	/// Steps per timed run.
	pub steps: u32,
	/// libtorch threads.
	pub threads: u32,
	/// Where tch computed: `cpu` or `cuda:N`.
	pub device: String,
	/// Bare training loop (s).
	pub bare_seconds: f64,
	/// Training with Proof of Learning (s).
	pub pol_seconds: f64,
	/// `pol / bare − 1`.
	pub pol_overhead: f64,
	/// Checkpoint interval k.
	pub checkpoint_interval: u32,
	/// Segments of the proof.
	pub segments: u32,
	/// Segments the default verifier re-executed.
	pub verified_segments: u32,
	/// Default verification (s).
	pub verify_seconds: f64,
	/// `verify / pol`.
	pub verify_fraction: f64,
	/// Segments re-executed with the task's Q alone.
	pub task_q_segments: u32,
	/// Verification with the task's Q alone (s).
	pub task_q_verify_seconds: f64,
	/// `task-Q verify / pol`.
	pub task_q_verify_fraction: f64,
	/// PyTorch eager on the same work, when a Python was given.
	pub pytorch: Option<EagerReport>,
	/// `bare / pytorch` (> 1: tch is slower).
	pub tch_over_pytorch: Option<f64>,
}

fn best(repeats: u32, mut run: impl FnMut() -> Result<Duration>) -> Result<f64> {
	run()?; // warm-up
	let mut best = f64::INFINITY;
	for _ in 0..repeats.max(1) {
		best = best.min(run()?.as_secs_f64());
	}
	Ok(best)
}

/// The task the bench trains: one provider's round over the whole training set.
pub fn bench_task(config: &BenchConfig, train: &Dataset) -> Result<TrainTask> {
	let params = config.model.build()?.init(0)?;
	Ok(TrainTask {
		model_hash: HexHash(config.model.hash()),
		model: config.model.clone(),
		initial_weights: HexHash(weights_hash(&params)?),
		dataset: HexHash(train.hash()),
		samples: u32::try_from(train.len()).context("too many samples")?,
		optimizer: config.optimizer,
		batch_size: config.batch_size,
		local_steps: config.steps,
		checkpoint_interval: config.checkpoint_interval,
		verification_samples: config.verification_samples,
		tolerance: Tolerance::BitwiseExact,
		round: RoundContext {
			order: 0,
			round: 0,
			seed: HexHash([7; 32]),
			capacities: vec![1],
			provider: 0,
		},
	})
}

/// Runs the bench; `python` (a Python with torch) adds the PyTorch eager comparison, `script`
/// being `bench/torch_eager.py`.
pub fn run(
	config: &BenchConfig,
	train: &Dataset,
	python: Option<(&Path, &Path)>,
) -> Result<BenchReport> {
	let task = bench_task(config, train)?;
	task.validate()?;
	let model = config.model.build()?;
	let steps = u64::from(config.steps);
	let bare_seconds = best(config.repeats, || {
		let mut session = Session::new(&task, train, config.device)?;
		let mut checkpoint =
			Checkpoint::initial(&task.optimizer, params_to(model.init(0)?, config.device)?)?;
		let start = Instant::now();
		session.run(&mut checkpoint, steps)?;
		Ok(start.elapsed())
	})?;
	let dir = tempfile::tempdir()?;
	let proof_dir = dir.path().join("proof");
	let pol_seconds = best(config.repeats, || {
		if proof_dir.exists() {
			std::fs::remove_dir_all(&proof_dir)?;
		}
		let start = Instant::now();
		let profile = ComputeProfile::on(config.device, config.threads);
		proof::train_observed(&task, train, model.init(0)?, &proof_dir, profile, config.device, &mut |_, _| {})?;
		Ok(start.elapsed())
	})?;
	let manifest = proof::Manifest::read(&proof_dir)?;
	let root = manifest.merkle_root.0;
	let seed = [9u8; 32];
	let mut verified = (0, 0);
	let verify_at = |max_miss_ppm: u32, segments: &mut u32| {
		best(config.repeats, || {
			let start = Instant::now();
			let report = verify_observed(
				&task,
				train,
				model.init(0)?,
				&proof_dir,
				&seed,
				Some(&root),
				max_miss_ppm,
				config.device,
				&mut |_, _| {},
			)?;
			let elapsed = start.elapsed();
			if !report.accepted {
				bail!("the bench's honest proof was rejected: {:?}", report.failures);
			}
			*segments = u32::try_from(report.selected.len()).unwrap_or(u32::MAX);
			Ok(elapsed)
		})
	};
	let verify_seconds = verify_at(config.max_miss_ppm, &mut verified.0)?;
	let task_q_verify_seconds = verify_at(1_000_000, &mut verified.1)?;
	let pytorch = match python {
		Some((python, script)) => Some(pytorch_eager(config, train, python, script)?),
		None => None,
	};
	Ok(BenchReport {
		parameters: model.init(0)?.values().map(|t| t.numel() as i64).sum(),
		model: config.model.clone(),
		batch_size: config.batch_size,
		steps: config.steps,
		threads: config.threads,
		device: device_name(config.device),
		bare_seconds,
		pol_seconds,
		pol_overhead: pol_seconds / bare_seconds - 1.0,
		checkpoint_interval: config.checkpoint_interval,
		segments: config.steps.div_ceil(config.checkpoint_interval.max(1)),
		verified_segments: verified.0,
		verify_seconds,
		verify_fraction: verify_seconds / pol_seconds,
		task_q_segments: verified.1,
		task_q_verify_seconds,
		task_q_verify_fraction: task_q_verify_seconds / pol_seconds,
		tch_over_pytorch: pytorch.as_ref().map(|p| bare_seconds / p.seconds),
		pytorch,
	})
}

/// Runs `script` (`bench/torch_eager.py`) with `python` on the same work as the bare loop.
pub fn pytorch_eager(
	config: &BenchConfig,
	train: &Dataset,
	python: &Path,
	script: &Path,
) -> Result<EagerReport> {
	let dir = tempfile::tempdir()?;
	let (xs, ys) = train.tensors(tch::Device::Cpu)?;
	let features: Vec<f32> = Vec::try_from(xs.f_flatten(0, -1)?)?;
	let labels: Vec<i64> = Vec::try_from(&ys)?;
	let features_path = dir.path().join("features.f32");
	let labels_path = dir.path().join("labels.i64");
	std::fs::write(&features_path, features.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>())?;
	std::fs::write(&labels_path, labels.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>())?;
	let mut command = Command::new(python);
	command
		.arg(script)
		.arg("--features")
		.arg(&features_path)
		.arg("--labels")
		.arg(&labels_path)
		.args(["--inputs", &train.features().to_string()])
		.args(["--classes", &train.classes.to_string()]);
	match &config.model {
		ModelSpec::Mlp { hidden, .. } => {
			command.args(["--model", "mlp", "--hidden"]);
			command.args(hidden.iter().map(u32::to_string));
		},
		ModelSpec::Cnn { channels, .. } => {
			command.args(["--model", "cnn", "--channels"]);
			command.args(channels.iter().map(u32::to_string));
		},
		ModelSpec::Transformer { .. } | ModelSpec::TorchScript { .. } => {
			bail!("the PyTorch comparison covers the MLP and the CNN")
		},
	}
	let optimizer = match config.optimizer.kind {
		OptimizerKind::Adam => "adam",
		OptimizerKind::Sgd => "sgd",
		other => bail!("the PyTorch comparison covers SGD and Adam, not {other:?}"),
	};
	command
		.args(["--optimizer", optimizer])
		.args(["--lr", &(config.optimizer.learning_rate as f64 / ONE as f64).to_string()])
		.args(["--batch-size", &config.batch_size.to_string()])
		.args(["--steps", &config.steps.to_string()])
		.args(["--repeats", &config.repeats.max(1).to_string()])
		.args(["--threads", &config.threads.to_string()]);
	let output = command
		.output()
		.with_context(|| format!("running {} {}", python.display(), script.display()))?;
	if !output.status.success() {
		bail!(
			"{} {} failed ({}): {}",
			python.display(),
			script.display(),
			output.status,
			String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
		);
	}
	let stdout = String::from_utf8_lossy(&output.stdout);
	let line = stdout.lines().last().unwrap_or_default();
	serde_json::from_str(line).map_err(|e| anyhow!("{} printed {line:?}: {e}", script.display()))
}

/// `cpu` or `cuda:N`.
fn device_name(device: Device) -> String {
	match device {
		Device::Cuda(index) => format!("cuda:{index}"),
		other => format!("{other:?}").to_lowercase(),
	}
}

/// A Markdown table row of `report` (as in docs/benchmarks.md).
pub fn table_row(report: &BenchReport) -> String {
	let pytorch = match (&report.pytorch, report.tch_over_pytorch) {
		(Some(p), Some(ratio)) => format!("{:.3} s | {ratio:.2}×", p.seconds),
		_ => "— | —".into(),
	};
	format!(
		"| {} ({} parameters), batch {}, {} steps, {} thread(s){} | {:.3} s | {pytorch} | {:.3} s ({:+.1}%, k = {}) | {:.3} s = {:.0}% ({} of {} segments) | {:.3} s = {:.0}% ({} segments) |",
		model_name(&report.model),
		report.parameters,
		report.batch_size,
		report.steps,
		report.threads,
		if report.device == "cpu" { String::new() } else { format!(", {}", report.device) },
		report.bare_seconds,
		report.pol_seconds,
		report.pol_overhead * 100.0,
		report.checkpoint_interval,
		report.verify_seconds,
		report.verify_fraction * 100.0,
		report.verified_segments,
		report.segments,
		report.task_q_verify_seconds,
		report.task_q_verify_fraction * 100.0,
		report.task_q_segments,
	)
}

/// A short name of a model spec.
pub fn model_name(model: &ModelSpec) -> String {
	match model {
		ModelSpec::Mlp { inputs, hidden, classes } => {
			let hidden: Vec<String> = hidden.iter().map(u32::to_string).collect();
			format!("MLP {inputs}-{}-{classes}", hidden.join("-"))
		},
		ModelSpec::Cnn { side, channels, classes } => {
			format!("CNN {side}×{side}, {}-{} channels, {classes} classes", channels[0], channels[1])
		},
		ModelSpec::Transformer { context, dim, heads, layers } => {
			format!("transformer T={context} d={dim} h={heads} L={layers}")
		},
		ModelSpec::TorchScript { params, module } => {
			format!("TorchScript module of {} bytes, {} parameters", module.len(), params.len())
		},
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_small_bench_measures_every_figure_and_accepts_its_own_proof() {
		let train = crate::data::digits_split().unwrap_or_else(|e| panic!("{e}")).0;
		let config = BenchConfig {
			model: ModelSpec::Mlp { inputs: 64, hidden: vec![16], classes: 10 },
			optimizer: OptimizerConfig::new(OptimizerKind::Adam, 2_000_000),
			batch_size: 8,
			steps: 20,
			checkpoint_interval: 5,
			verification_samples: 2,
			max_miss_ppm: 10_000,
			repeats: 1,
			threads: 1,
			device: Device::Cpu,
		};
		let report = run(&config, &train, None).unwrap_or_else(|e| panic!("{e}"));
		assert_eq!(report.parameters, 64 * 16 + 16 + 16 * 10 + 10);
		assert_eq!((report.segments, report.task_q_segments, report.verified_segments), (4, 2, 4));
		assert!(report.bare_seconds > 0.0 && report.pol_seconds > 0.0 && report.verify_seconds > 0.0);
		assert_eq!(report.pytorch, None);
		assert_eq!(report.device, "cpu");
		let row = table_row(&report);
		assert!(row.starts_with("| MLP 64-16-10 (1210 parameters), batch 8, 20 steps"), "{row}");
		// A Python that is not there is an error, not a missing figure.
		let missing = pytorch_eager(&config, &train, Path::new("/nonexistent/python"), Path::new("x.py"));
		assert!(missing.is_err());
	}
}
