//! `pot-trainer` command line.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use pot_trainer::{
	bench,
	checkpoint::{load_weights, params_to, save_weights, weights_hash},
	curve::{svg, Series},
	progress::Bar,
	data::{self, Dataset},
	model::ModelSpec,
	optim::{OptimizerConfig, OptimizerKind, ONE},
	profile, proof,
	task::{HexHash, RoundContext, Tolerance, TrainTask},
	train::evaluate,
	verify::verify_observed,
};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
	name = "pot-trainer",
	version,
	about = "PoT trainer and Proof-of-Learning verifier (libtorch 2.13.0, CPU profile cpu-avx2-strict)"
)]
struct Cli {
	/// Intra-op threads of libtorch (part of the compute profile; recorded in proofs).
	#[arg(long, global = true, default_value_t = 1)]
	threads: u32,
	/// Run under the inherited environment instead of the cpu-avx2-strict profile (for
	/// measuring distances between profiles; such proofs never pass a bitwise-exact verifier).
	#[arg(long, global = true)]
	inherit_env: bool,
	#[command(subcommand)]
	command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Arch {
	/// MLP 64-64-10.
	Mlp,
	/// CNN with 8 and 16 channels.
	Cnn,
	/// Byte-level decoder-only transformer (d 64, 4 heads, 2 blocks) over `--text` windows.
	Transformer,
}

#[derive(Clone, Copy, ValueEnum)]
enum Opt {
	Sgd,
	SgdMomentum,
	Adam,
	AdamW,
}

/// The data set: the embedded digits (default), an MNIST-format IDX pair or a plain-text file.
#[derive(clap::Args, Clone)]
struct DataArgs {
	/// IDX images file (`…-images-idx3-ubyte`); with `--idx-labels`. For `eval`, the held-out set.
	#[arg(long, requires = "idx_labels")]
	idx_images: Option<PathBuf>,
	/// IDX labels file (`…-labels-idx1-ubyte`).
	#[arg(long, requires = "idx_images")]
	idx_labels: Option<PathBuf>,
	/// Plain-text file, read as windows of `--text-context + 1` bytes (for the transformer).
	/// For `eval`, the held-out text.
	#[arg(long, conflicts_with = "idx_images")]
	text: Option<PathBuf>,
	/// Bytes of context of a text sample (the transformer's context).
	#[arg(long, default_value_t = 32)]
	text_context: u32,
	/// Bytes between the starts of two text samples.
	#[arg(long, default_value_t = 1)]
	text_stride: u32,
}

impl DataArgs {
	fn idx(&self) -> anyhow::Result<Option<Dataset>> {
		if let Some(text) = &self.text {
			let bytes =
				std::fs::read(text).with_context(|| format!("reading {}", text.display()))?;
			return Ok(Some(data::from_text(&bytes, self.text_context, self.text_stride)?));
		}
		match (&self.idx_images, &self.idx_labels) {
			(Some(images), Some(labels)) => {
				let read = |p: &PathBuf| {
					std::fs::read(p).with_context(|| format!("reading {}", p.display()))
				};
				Ok(Some(data::from_idx(&read(images)?, &read(labels)?)?))
			}
			_ => Ok(None),
		}
	}

	/// The training set: the IDX files, or the digits' training split.
	fn train(&self) -> anyhow::Result<Dataset> {
		match self.idx()? {
			Some(set) => Ok(set),
			None => Ok(data::digits_split()?.0),
		}
	}

	/// The evaluation set: the IDX files, or the digits' held-out split.
	fn held_out(&self) -> anyhow::Result<Dataset> {
		match self.idx()? {
			Some(set) => Ok(set),
			None => Ok(data::digits_split()?.1),
		}
	}
}

#[derive(Subcommand)]
enum Command {
	/// Write a task (digits data set by default, or IDX files) and its seeded initial weights.
	NewTask {
		#[command(flatten)]
		data: DataArgs,
		/// Where to write the task JSON.
		#[arg(long)]
		task: PathBuf,
		/// Where to write the initial weights (safetensors).
		#[arg(long)]
		initial_weights: PathBuf,
		#[arg(long, value_enum, default_value = "mlp")]
		model: Arch,
		/// Train this model instead of `--model`: a model spec as JSON (`model-spec` writes one
		/// for a TorchScript module).
		#[arg(long)]
		model_spec: Option<PathBuf>,
		#[arg(long, value_enum, default_value = "adam")]
		optimizer: Opt,
		/// Learning rate (decimal; stored with 9 decimals).
		#[arg(long, default_value_t = 0.001)]
		lr: f64,
		#[arg(long, default_value_t = 32)]
		batch_size: u32,
		/// Local steps H.
		#[arg(long, default_value_t = 200)]
		steps: u32,
		/// Checkpoint interval k.
		#[arg(long, default_value_t = 20)]
		checkpoint_interval: u32,
		/// Segments re-executed per submission Q.
		#[arg(long, default_value_t = 2)]
		verification_samples: u32,
		/// Seed of the initial weights.
		#[arg(long, default_value_t = 0)]
		init_seed: u64,
		#[arg(long, default_value_t = 0)]
		order: u64,
		#[arg(long, default_value_t = 0)]
		round: u32,
		/// Round seed (64 hex digits).
		#[arg(
			long,
			default_value = "0000000000000000000000000000000000000000000000000000000000000000"
		)]
		round_seed: String,
		/// Provider capacities (comma separated) and this provider's position.
		#[arg(long, value_delimiter = ',', default_value = "1")]
		capacities: Vec<u64>,
		#[arg(long, default_value_t = 0)]
		provider: u32,
	},
	/// Write the model spec (JSON) of a TorchScript module, for `new-task --model-spec` and
	/// `order create --model`: its `forward(p_0, …, p_{n−1}, x)` takes the parameters
	/// positionally, then the features, and returns the logits.
	ModelSpec {
		/// The TorchScript module file (`torch.jit.script(m).save(path)` or a traced module).
		#[arg(long)]
		torchscript: PathBuf,
		/// The parameters in the order `forward` takes them, each `NAME:D1xD2…` (repeat).
		#[arg(long = "param", required = true)]
		params: Vec<String>,
		/// Where to write the spec.
		#[arg(long)]
		out: PathBuf,
	},
	/// Train a task and write the proof directory.
	Train {
		#[command(flatten)]
		data: DataArgs,
		#[arg(long)]
		task: PathBuf,
		#[arg(long)]
		initial_weights: PathBuf,
		/// Proof directory to write.
		#[arg(long)]
		out: PathBuf,
		/// Also draw the training loss per step as an SVG chart here.
		#[arg(long)]
		curve: Option<PathBuf>,
		/// Where to compute: cpu, cuda (the first GPU) or cuda:N. GPU work is recorded under
		/// the `cuda-strict` profile, which orders on chain do not accept yet.
		#[arg(long, default_value = "cpu", value_parser = profile::parse_device)]
		device: tch::Device,
	},
	/// Verify a proof directory: check hashes and re-execute the selected segments.
	Verify {
		#[command(flatten)]
		data: DataArgs,
		#[arg(long)]
		task: PathBuf,
		#[arg(long)]
		initial_weights: PathBuf,
		#[arg(long)]
		proof: PathBuf,
		/// Verification seed (64 hex digits).
		#[arg(long)]
		seed: String,
		/// Merkle root committed on chain (64 hex digits), if known.
		#[arg(long)]
		committed_root: Option<String>,
		/// Largest allowed chance (ppm) of missing one forged segment: Q is raised until the
		/// selection misses it at most this often. 10000 (1%) by default; 1000000 re-executes
		/// exactly the task's Q.
		#[arg(long, default_value_t = pot_pol_core::select::DEFAULT_MAX_MISS_PPM)]
		max_miss_ppm: u32,
		/// Print the report as JSON.
		#[arg(long)]
		json: bool,
		/// Where to compute: cpu, cuda (the first GPU) or cuda:N. A bitwise-exact task needs the
		/// proof's own profile; a task with bounds measures segments across profiles.
		#[arg(long, default_value = "cpu", value_parser = profile::parse_device)]
		device: tch::Device,
	},
	/// Provider: join a validator's cluster (optional), then train and commit every assigned
	/// round of every run, following the node's best blocks.
	Work(pot_trainer::work::WorkArgs),
	/// Consumer: create, watch, fetch or run (all three) a training order of the digits MLP.
	Order {
		#[command(subcommand)]
		command: pot_trainer::consumer::OrderCommand,
	},
	/// The market's standing asks (price, capacity, validator, hardware classes).
	Asks(pot_trainer::consumer::AsksArgs),
	/// Offer the validator's cluster on the order book (place or `--update` its ask).
	Ask(pot_trainer::validator_cli::AskArgs),
	/// Held-out loss and accuracy of weights on the digits set.
	Eval {
		#[command(flatten)]
		data: DataArgs,
		#[arg(long)]
		task: PathBuf,
		#[arg(long)]
		weights: PathBuf,
		/// Where to compute: cpu, cuda or cuda:N.
		#[arg(long, default_value = "cpu", value_parser = profile::parse_device)]
		device: tch::Device,
	},
	/// Write the embedded digits as an MNIST-layout directory (pixels scaled to 0..255; training
	/// and held-out splits as `train-*` and `t10k-*`), the format `order create --dataset` reads.
	DigitsIdx {
		/// The directory to write.
		#[arg(long)]
		out: PathBuf,
	},
	/// Serve the validator's artifact store and round verification over HTTP (see README).
	Serve(pot_trainer::serve::ServeArgs),
	/// Measure training, Proof-of-Learning overhead and verification cost on the digits set,
	/// and with `--python` PyTorch eager on the same work (`--threads` applies to both).
	Bench(pot_trainer::bench::BenchArgs),
}

fn hash_arg(s: &str) -> anyhow::Result<[u8; 32]> {
	let mut out = [0u8; 32];
	hex::decode_to_slice(s.trim_start_matches("0x"), &mut out)
		.with_context(|| format!("{s:?} is not 64 hex digits"))?;
	Ok(out)
}

fn main() -> anyhow::Result<()> {
	let cli = Cli::parse();
	// libtorch reads the profile's variables when it starts: get them in first.
	if !cli.inherit_env && !profile::env_is_set() {
		return Err(profile::reexec_with_profile())
			.context("re-executing with the compute profile's environment");
	}
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
		)
		.with_writer(std::io::stderr)
		.init();
	if cli.inherit_env {
		tch::set_num_threads(i32::try_from(cli.threads)?);
	} else {
		profile::apply_in_process(cli.threads);
	}
	match cli.command {
		Command::NewTask {
			data,
			task,
			initial_weights,
			model,
			model_spec,
			optimizer,
			lr,
			batch_size,
			steps,
			checkpoint_interval,
			verification_samples,
			init_seed,
			order,
			round,
			round_seed,
			capacities,
			provider,
		} => {
			let train = data.train()?;
			let spec = match (model_spec, model) {
				(Some(path), _) => pot_trainer::consumer::read_model_spec(&path)?,
				(None, model) => match model {
				Arch::Mlp => ModelSpec::Mlp {
					inputs: train.rows.checked_mul(train.cols).context("images too large")?,
					hidden: vec![64],
					classes: train.classes,
				},
				Arch::Cnn if train.rows == train.cols => {
					ModelSpec::Cnn { side: train.rows, channels: [8, 16], classes: train.classes }
				}
				Arch::Cnn => bail!("the CNN needs square images"),
				Arch::Transformer if train.rows == 1 && train.classes == 256 => {
					ModelSpec::Transformer {
						context: train.cols.checked_sub(1).context("empty text samples")?,
						dim: 64,
						heads: 4,
						layers: 2,
					}
				}
				Arch::Transformer => bail!("the transformer trains on --text"),
				},
			};
			let kind = match optimizer {
				Opt::Sgd => OptimizerKind::Sgd,
				Opt::SgdMomentum => OptimizerKind::SgdMomentum,
				Opt::Adam => OptimizerKind::Adam,
				Opt::AdamW => OptimizerKind::AdamW,
			};
			if !(lr > 0.0 && lr < 1e9) {
				bail!("learning rate must be positive");
			}
			let params = spec.build()?.init(init_seed)?;
			save_weights(&params, &initial_weights)?;
			let t = TrainTask {
				model_hash: HexHash(spec.hash()),
				model: spec,
				initial_weights: HexHash(weights_hash(&params)?),
				dataset: HexHash(train.hash()),
				samples: u32::try_from(train.len())?,
				optimizer: OptimizerConfig::new(kind, (lr * ONE as f64).round() as u64),
				batch_size,
				local_steps: steps,
				checkpoint_interval,
				verification_samples,
				tolerance: Tolerance::BitwiseExact,
				round: RoundContext {
					order,
					round,
					seed: HexHash(hash_arg(&round_seed)?),
					capacities,
					provider,
				},
			};
			t.validate()?;
			t.write(&task)?;
			println!(
				"model {}\ninitial_weights {}\ndataset {}",
				t.model_hash, t.initial_weights, t.dataset
			);
		}
		Command::Bench(args) => {
			let report = bench::run(&args.config(cli.threads)?, &data::digits_split()?.0, args.python())?;
			if args.json {
				println!("{}", serde_json::to_string(&report)?);
			} else {
				println!("{}", bench::table_row(&report));
			}
		}
		Command::Train { data, task, initial_weights, out, curve, device } => {
			let device = profile::prepare_device(device)?;
			let t = TrainTask::read(&task)?;
			let model = t.model.build()?;
			let initial = load_weights(&initial_weights, model.as_ref())?;
			let started = std::time::Instant::now();
			let profile = if cli.inherit_env {
				profile::ComputeProfile::inherited(cli.threads)
			} else {
				profile::ComputeProfile::on(device, cli.threads)
			};
			let bar = Bar::new("training", u64::from(t.local_steps));
			let outcome = proof::train_observed(
				&t,
				&data.train()?,
				initial,
				&out,
				profile,
				device,
				&mut |step, loss| bar.set(step, &format!("loss {loss:.4}")),
			)?;
			bar.finish();
			let m = &outcome.manifest;
			tracing::info!(steps = m.steps, seconds = started.elapsed().as_secs_f64(), "trained");
			println!(
				"merkle_root {}\nfinal_weights {}\nloss {:.4} -> {:.4}",
				m.merkle_root,
				m.final_weights,
				m.losses.first().copied().unwrap_or(f32::NAN),
				m.losses.last().copied().unwrap_or(f32::NAN)
			);
			if let Some(path) = curve {
				let loss = Series::new(
					"training loss (minibatch)",
					(1u32..).zip(&m.losses).map(|(step, l)| (f64::from(step), f64::from(*l))),
				);
				let title = format!("order {} round {} provider {}", m.order, m.round, m.provider);
				std::fs::write(&path, svg(&title, "step", &[loss]))?;
				println!("curve {}", path.display());
			}
		}
		Command::Verify {
			data,
			task,
			initial_weights,
			proof,
			seed,
			committed_root,
			max_miss_ppm,
			json,
			device,
		} => {
			let device = profile::prepare_device(device)?;
			let t = TrainTask::read(&task)?;
			let model = t.model.build()?;
			let initial = load_weights(&initial_weights, model.as_ref())?;
			let committed = committed_root.as_deref().map(hash_arg).transpose()?;
			let mut bar: Option<Bar> = None;
			let report = verify_observed(
				&t,
				&data.train()?,
				initial,
				&proof,
				&hash_arg(&seed)?,
				committed.as_ref(),
				max_miss_ppm,
				device,
				&mut |done, selected| {
					let bar = bar.get_or_insert_with(|| Bar::new("re-executing", selected as u64));
					bar.set(done as u64, "segments");
				},
			)?;
			if let Some(bar) = &bar {
				bar.finish();
			}
			if json {
				println!("{}", serde_json::to_string_pretty(&report)?);
			} else {
				for s in &report.segments {
					println!(
						"segment {:>3} steps {:>5}..{:<5} l2 {:.3e} l∞ {:.3e} cosine {:.6} hash {} -> {}",
						s.index,
						s.start,
						s.end,
						s.l2,
						s.linf,
						s.cosine,
						if s.hash_matches { "same" } else { "differs" },
						if s.accepted { "ok" } else { "REJECTED" }
					);
				}
				for f in &report.failures {
					println!("failure: {f}");
				}
				println!("{}", if report.accepted { "ACCEPTED" } else { "REJECTED" });
			}
			if !report.accepted {
				std::process::exit(2);
			}
		}
		Command::Eval { data, task, weights, device } => {
			let device = profile::prepare_device(device)?;
			let t = TrainTask::read(&task)?;
			let model = t.model.build_on(device)?;
			let params = params_to(load_weights(&weights, model.as_ref())?, device)?;
			let held_out = data.held_out()?;
			let (loss, accuracy) = evaluate(model.as_ref(), &params, &held_out)?;
			println!("held-out loss {loss:.4} accuracy {:.2}%", accuracy * 100.0);
		}
		Command::DigitsIdx { out } => {
			std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
			let pair = data::digits_pair()?;
			for (split, prefix) in [(&pair.train, "train"), (&pair.held_out, "t10k")] {
				let (images, labels) = data::to_idx(&data::rescaled(split, 255)?);
				for (file, bytes) in [("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)] {
					let path = out.join(format!("{prefix}-{file}"));
					std::fs::write(&path, bytes)
						.with_context(|| format!("writing {}", path.display()))?;
				}
			}
			println!("{}", out.display());
		},
		Command::Serve(args) => pot_trainer::serve::main(args)?,
		Command::Work(args) => {
			let profile = if cli.inherit_env {
				profile::ComputeProfile::inherited(cli.threads)
			} else {
				profile::ComputeProfile::cpu(cli.threads)
			};
			pot_trainer::work::run(args, profile)?;
		}
		Command::ModelSpec { torchscript, params, out } => {
			let params = params
				.iter()
				.map(|p| parse_param(p))
				.collect::<anyhow::Result<Vec<_>>>()?;
			let module = std::fs::read(&torchscript)
				.with_context(|| format!("reading {}", torchscript.display()))?;
			let spec = ModelSpec::TorchScript { params, module };
			spec.build()?;
			std::fs::write(&out, serde_json::to_vec(&spec)?)
				.with_context(|| format!("writing {}", out.display()))?;
			println!("model {} written to {}", hex::encode(spec.hash()), out.display());
		}
		Command::Order { command } => {
			let code = pot_trainer::consumer::run_order(command)?;
			if code != 0 {
				std::process::exit(code);
			}
		}
		Command::Asks(args) => pot_trainer::consumer::run_asks(args)?,
		Command::Ask(args) => pot_trainer::validator_cli::run_ask(args)?,
	}
	Ok(())
}

/// A `--param` of `model-spec`: `NAME:D1xD2…`.
fn parse_param(text: &str) -> anyhow::Result<(String, Vec<u32>)> {
	let (name, dims) = text.rsplit_once(':').context(format!("{text}: expected NAME:D1xD2…"))?;
	let dims = dims
		.split('x')
		.map(|d| d.parse::<u32>().with_context(|| format!("{text}: {d} is not a dimension")))
		.collect::<anyhow::Result<Vec<_>>>()?;
	anyhow::ensure!(!name.is_empty(), "{text}: no parameter name");
	Ok((name.to_owned(), dims))
}
