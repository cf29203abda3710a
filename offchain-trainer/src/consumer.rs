//! `pot-trainer order …` and `pot-trainer asks`: the consumer (PROTOCOL.md steps 1–2 and 7).
//!
//! `order create` builds the digits-MLP task exactly like `new-task`, submits
//! `Market.create_order`, waits for the match and uploads the model spec and θ₀ to the matched
//! validator's artifact endpoint. `order watch` prints the order's events block by block until
//! it completes or fails. `order fetch` downloads the final weights, checks their hash and
//! evaluates them on the held-out digits. `order run` does all three and sums up what the order
//! cost. With `--public`, governance (the sudo key) opens a public run the same way: the chain
//! mints its rewards instead of holding a budget. The consumer keeps what it needs after the order leaves the chain (model, θ₀, the
//! validator's endpoint, the last verified weights) in `--state-dir/{order}/`.

use crate::{
	chain_task::{format_pot, format_pot_delta, order_task, parse_pot, OrderTraining},
	compress::UpdateEncoding,
	checkpoint::{load_weights, save_weights, weights_hash},
	data::{self, Dataset, DatasetPair},
	model::ModelSpec,
	optim::OptimizerKind,
	order_events::{describe, OrderEvent, Outcome, Seen, Summary},
	provider_state::write_atomic,
	remote::{self, ArtifactClient},
	round_verifier::AggregationRule,
	store::Kind,
	train::evaluate,
	work::{endpoint_of, AtBlock, MAX_WEIGHTS_BYTES},
};
use anyhow::{bail, Context};
use pot_client::{
	account_of,
	api::{
		self,
		runtime_types::pot_primitives::{
			ids::{HardwareClass, OrderId},
			market::{OrderConditions1 as OrderConditions, OrderState},
		},
	},
	keypair_from_suri,
	subxt::utils::AccountId32,
	subxt_signer::sr25519::Keypair,
	Chain,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where the consumer keeps its orders by default.
pub const DEFAULT_STATE_DIR: &str = "pot-orders";

/// The node to talk to.
#[derive(clap::Args, Clone, Debug)]
pub struct NodeArg {
	/// The node's WebSocket RPC URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// Directory of the consumer's order records (model, initial weights, endpoint, results).
	#[arg(long, default_value = DEFAULT_STATE_DIR)]
	pub state_dir: PathBuf,
	/// Print one JSON object per line instead of human lines.
	#[arg(long)]
	pub json: bool,
}

/// The optimizer of an order.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Optimizer {
	/// Plain SGD.
	Sgd,
	/// SGD with momentum.
	SgdMomentum,
	/// Adam.
	Adam,
	/// AdamW.
	AdamW,
}

impl From<Optimizer> for OptimizerKind {
	fn from(o: Optimizer) -> Self {
		match o {
			Optimizer::Sgd => OptimizerKind::Sgd,
			Optimizer::SgdMomentum => OptimizerKind::SgdMomentum,
			Optimizer::Adam => OptimizerKind::Adam,
			Optimizer::AdamW => OptimizerKind::AdamW,
		}
	}
}

/// `order create` flags (also those of `order run`).
#[derive(clap::Args, Clone, Debug)]
pub struct CreateArgs {
	#[command(flatten)]
	pub node: NodeArg,
	/// The consumer account's secret URI (`//Bob`, a mnemonic, …).
	#[arg(long)]
	pub suri: String,
	/// Budget put on hold (POT).
	#[arg(long)]
	pub budget: String,
	/// Rounds R.
	#[arg(long, default_value_t = 3)]
	pub rounds: u32,
	/// Local steps H per provider and round.
	#[arg(long, default_value_t = 50)]
	pub steps: u32,
	/// Checkpoint interval k.
	#[arg(long, default_value_t = 10)]
	pub checkpoint_interval: u32,
	/// Samples per step.
	#[arg(long, default_value_t = 32)]
	pub batch_size: u32,
	/// Learning rate (stored with 9 decimals).
	#[arg(long, default_value_t = 0.01)]
	pub lr: f64,
	#[arg(long, value_enum, default_value = "adam")]
	pub optimizer: Optimizer,
	/// Segments re-executed per submission Q.
	#[arg(long, default_value_t = 2)]
	pub verification_samples: u32,
	/// How the validator combines each round's accepted updates: `mean`, `median`,
	/// `trimmed-mean:P`, `multi-krum:P` (P percent assumed Byzantine, below 50) or
	/// `centered-clipping:I` (I iterations, 1 to 16). The default is the rule that held within
	/// 5 accuracy points under every attack of the Byzantine benchmark.
	#[arg(long, default_value = "multi-krum:40")]
	pub aggregation: AggregationRule,
	/// What providers commit and upload as their update: `dense` (the final weights) or
	/// `top-k:P%` (the P% largest coordinates of the round's update, 8 bits each; the validator
	/// checks the payload against the proof and combines the payloads).
	#[arg(long, default_value = "dense")]
	pub update: UpdateEncoding,
	/// Fewest providers.
	#[arg(long, default_value_t = 1)]
	pub min_providers: u32,
	/// Most providers.
	#[arg(long, default_value_t = 3)]
	pub max_providers: u32,
	/// Hardware class (compute profile number) every provider and verifier runs.
	#[arg(long, default_value_t = 0)]
	pub hardware_class: u16,
	/// Highest price per work unit accepted (POT); default: the best current ask's price.
	#[arg(long)]
	pub max_price: Option<String>,
	/// Blocks until an unmatched order expires.
	#[arg(long, default_value_t = 14_400)]
	pub deadline_blocks: u32,
	/// Seed of the initial weights (as `new-task --init-seed`).
	#[arg(long, default_value_t = 0)]
	pub init_seed: u64,
	/// The order's data: an MNIST-layout directory (`train-images-idx3-ubyte`,
	/// `train-labels-idx1-ubyte` to train on, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`
	/// held out; each may be gzipped). Default: the embedded UCI digits. It goes to the matched
	/// validator only; each provider receives its own chunk of the training split.
	#[arg(long)]
	pub dataset: Option<PathBuf>,
	/// Free-form description stored with the order.
	#[arg(long, default_value = "pot-trainer order: MLP")]
	pub metadata: String,
	/// The model to train: a model spec as JSON (`pot-trainer model-spec` writes one for a
	/// TorchScript module). Default: an MLP with one hidden layer of 64 for the data's images.
	#[arg(long)]
	pub model: Option<PathBuf>,
	/// Open a public run instead of paying for an order (governance: `--suri` is the chain's
	/// sudo key, and the call goes through `Sudo.sudo`). `--budget` is then the cap on what the
	/// run mints and `--max-price` its reward per work unit. Nothing is held: each verified
	/// update mints its reward, weighted by the loss improvement the validator measured.
	#[arg(long)]
	pub public: bool,
}

/// `order watch` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct WatchArgs {
	/// The order id.
	pub id: u64,
	#[command(flatten)]
	pub node: NodeArg,
	/// Replay events from this block on (default: from the current finalized block).
	#[arg(long)]
	pub from_block: Option<u64>,
	/// When the order ends, draw each round's held-out accuracy and loss as an SVG chart here.
	#[arg(long)]
	pub curve: Option<PathBuf>,
}

/// `order fetch` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct FetchArgs {
	/// The order id.
	pub id: u64,
	#[command(flatten)]
	pub node: NodeArg,
	/// Hash of the weights (64 hex); default: the last verified weights `order watch` saw.
	#[arg(long)]
	pub weights: Option<String>,
	/// Where to write the weights (safetensors).
	#[arg(long)]
	pub out: PathBuf,
	/// Sign the download with this account's key (a service started with `--allow` wants it).
	#[arg(long)]
	pub suri: Option<String>,
}

/// `order upload` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct UploadArgs {
	/// The order id.
	pub id: u64,
	#[command(flatten)]
	pub node: NodeArg,
	/// Sign the uploads with this account's key (a service started with `--allow` wants it).
	#[arg(long)]
	pub suri: Option<String>,
}

/// `order run` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
	#[command(flatten)]
	pub create: CreateArgs,
	/// Where to write the final weights (default: `{state dir}/{order}/final.safetensors`).
	#[arg(long)]
	pub out: Option<PathBuf>,
	/// Where to draw each round's held-out accuracy and loss as an SVG chart (default:
	/// `{state dir}/{order}/curve.svg`).
	#[arg(long)]
	pub curve: Option<PathBuf>,
	/// Fail (exit 1) unless the trained weights' held-out accuracy beats the initial weights'
	/// by at least this much (a fraction: 0.3 = 30 points).
	#[arg(long, default_value_t = 0.0)]
	pub min_accuracy_gain: f64,
}

/// `pot-trainer order` subcommands.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum OrderCommand {
	/// Create an order for the digits MLP and upload its model and initial weights.
	Create(CreateArgs),
	/// Follow an order's events until it completes (exit 0) or fails (exit 1).
	Watch(WatchArgs),
	/// Download and evaluate an order's trained weights.
	Fetch(FetchArgs),
	/// Create, watch and fetch, then sum up accuracy and payments.
	Run(RunArgs),
	/// Upload a created order's model and initial weights to its validator again.
	Upload(UploadArgs),
}

/// `pot-trainer asks` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct AsksArgs {
	/// The node's WebSocket RPC URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// Only the asks an order of this hardware class could match now (`MarketApi::best_asks`).
	#[arg(long)]
	pub hardware_class: Option<u16>,
	/// One JSON object per ask.
	#[arg(long)]
	pub json: bool,
}

/// What the consumer keeps about an order (`{state dir}/{order}/order.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
	/// Order id.
	pub order: u64,
	/// The consumer (SS58).
	pub consumer: String,
	/// The matched validator (SS58).
	pub validator: String,
	/// Its artifact endpoint.
	pub endpoint: String,
	/// The model spec.
	pub model: ModelSpec,
	/// Hash of the model spec.
	pub model_hash: String,
	/// Hash of θ₀ (`initial.safetensors` beside this file).
	pub initial_weights: String,
	/// The last verified weights seen by `watch`.
	pub last_weights: Option<String>,
	/// Hash of the order's dataset pair (`dataset.bin` beside this file); absent in records of
	/// orders on the embedded digits made before datasets were uploaded.
	#[serde(default)]
	pub dataset: Option<String>,
}

/// The order's data: `dataset.bin` in its directory, or (older records) the embedded digits.
fn order_data(state: &Path, record: &OrderRecord) -> anyhow::Result<DatasetPair> {
	let path = order_dir(state, record.order).join("dataset.bin");
	match std::fs::read(&path) {
		Ok(bytes) => Ok(DatasetPair::decode(&bytes)
			.with_context(|| format!("reading {}", path.display()))?),
		Err(_) if record.dataset.is_none() => Ok(data::digits_pair()?),
		Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
	}
}

fn order_dir(state: &Path, order: u64) -> PathBuf {
	state.join(order.to_string())
}

fn read_record(state: &Path, order: u64) -> anyhow::Result<OrderRecord> {
	let path = order_dir(state, order).join("order.json");
	let text = std::fs::read_to_string(&path).with_context(|| {
		format!("no record of order {order} in {} (create it with this state dir)", path.display())
	})?;
	serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
}

fn write_record(state: &Path, record: &OrderRecord) -> anyhow::Result<()> {
	let path = order_dir(state, record.order).join("order.json");
	write_atomic(&path, &serde_json::to_vec_pretty(record)?)?;
	Ok(())
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
	tokio::runtime::Builder::new_multi_thread()
		.worker_threads(2)
		.enable_all()
		.build()
		.context("starting the async runtime")
}

/// Runs `pot-trainer order …`; returns the process exit code.
pub fn run_order(command: OrderCommand) -> anyhow::Result<i32> {
	let rt = runtime()?;
	rt.block_on(async move {
		match command {
			OrderCommand::Create(args) => {
				let chain = Chain::connect(&args.node.node).await?;
				let created = create(&chain, &args).await?;
				if args.node.json {
					println!("{}", serde_json::json!({ "event": "order", "order": created.record.order, "validator": created.record.validator }));
				} else {
					println!("order {}", created.record.order);
				}
				Ok(0)
			}
			OrderCommand::Watch(args) => {
				let chain = Chain::connect(&args.node.node).await?;
				let summary = watch(&chain, args.id, args.from_block, &args.node).await?;
				if let Some(path) = &args.curve {
					write_curve(&summary, args.id, path, args.node.json)?;
				}
				Ok(if summary.outcome == Some(Outcome::Completed) { 0 } else { 1 })
			}
			OrderCommand::Fetch(args) => {
				let record = read_record(&args.node.state_dir, args.id)?;
				let hash = match &args.weights {
					Some(h) => h.trim_start_matches("0x").to_owned(),
					None => record.last_weights.clone().context(
						"no verified weights recorded for this order: give --weights HASH",
					)?,
				};
				let key = args.suri.as_deref().map(keypair_from_suri).transpose()?;
				let (loss, accuracy) =
					fetch(&record, &args.node.state_dir, &hash, &args.out, key.as_ref()).await?;
				print_eval(&args.node, "final", &hash, loss, accuracy);
				Ok(0)
			}
			OrderCommand::Run(args) => run_all(&args).await,
			OrderCommand::Upload(args) => {
				let record = read_record(&args.node.state_dir, args.id)?;
				let key = args.suri.as_deref().map(keypair_from_suri).transpose()?;
				upload(&record, &args.node.state_dir, key.as_ref()).await?;
				Ok(0)
			}
		}
	})
}

/// One ask as `asks` prints it.
struct AskRow {
	validator: AccountId32,
	id: u64,
	price: u128,
	capacity: u64,
	booked: u64,
	bond: u128,
	classes: Vec<u16>,
	regions: Vec<u16>,
}

/// Runs `pot-trainer asks`.
pub fn run_asks(args: AsksArgs) -> anyhow::Result<()> {
	runtime()?.block_on(async move {
		let chain = Chain::connect(&args.node).await?;
		let at = chain.client().at_current_block().await?;
		let mut rows: Vec<AskRow> = Vec::new();
		match args.hardware_class {
			Some(class) => {
				let conditions = OrderConditions {
					max_price_per_unit: u128::MAX,
					deadline: u32::MAX,
					min_providers: 1,
					max_providers: 1,
					hardware_class: HardwareClass(class),
					regions: Vec::new(),
				};
				let call = api::runtime_apis().market_api().best_asks(conditions, 100);
				for a in at.runtime_apis().call(call).await? {
					rows.push(AskRow {
						validator: a.validator,
						id: a.id.0,
						price: a.price_per_unit,
						capacity: a.capacity.0,
						booked: a.booked.0,
						bond: a.bond,
						classes: a.hardware_classes.iter().map(|c| c.0).collect(),
						regions: a.regions.iter().map(|r| r.0).collect(),
					});
				}
			}
			None => {
				let mut asks = at.storage().iter(api::storage().market().asks(), ()).await?;
				while let Some(entry) = asks.next().await {
					let entry = entry?;
					let validator = entry.key()?.decode()?.0;
					let a = entry.value().decode()?;
					rows.push(AskRow {
						validator,
						id: a.id.0,
						price: a.price_per_unit,
						capacity: a.capacity.0,
						booked: a.booked.0,
						bond: a.bond,
						classes: a.hardware_classes.0.iter().map(|c| c.0).collect(),
						regions: a.regions.0.iter().map(|r| r.0).collect(),
					});
				}
				// The book's order: price ascending, bond descending, older first.
				rows.sort_by_key(|a| (a.price, std::cmp::Reverse(a.bond), a.id));
			}
		}
		if rows.is_empty() && !args.json {
			println!("no asks");
		}
		for AskRow { validator, id, price, capacity, booked, bond, classes, regions } in rows {
			if args.json {
				println!(
					"{}",
					serde_json::json!({
						"validator": validator.to_string(), "ask": id, "price_per_unit": price,
						"capacity": capacity, "booked": booked, "bond": bond,
						"hardware_classes": classes, "regions": regions,
					})
				);
			} else {
				println!(
					"ask {id}: {} per unit, capacity {capacity} units ({} free), validator {validator}, bond {}, hardware classes {classes:?}, regions {regions:?}",
					format_pot(price),
					capacity.saturating_sub(booked),
					format_pot(bond)
				);
			}
		}
		Ok(())
	})
}

/// Free plus reserved (held) balance of `who`.
async fn total_balance(at: &AtBlock, who: &AccountId32) -> anyhow::Result<u128> {
	let account = at.storage().fetch(api::storage().system().account(), (*who,)).await?.decode()?;
	Ok(account.data.free.saturating_add(account.data.reserved))
}

struct Created {
	record: OrderRecord,
	/// Finalized block before the order was submitted: watching from here sees all its events.
	from_block: u64,
	/// The consumer's free + held balance before.
	balance_before: u128,
}

async fn create(chain: &Chain, args: &CreateArgs) -> anyhow::Result<Created> {
	let signer = keypair_from_suri(&args.suri)?;
	let me = account_of(&signer);
	let training = OrderTraining {
		rounds: args.rounds,
		steps: args.steps,
		checkpoint_interval: args.checkpoint_interval,
		batch_size: args.batch_size,
		lr: args.lr,
		optimizer: args.optimizer.into(),
		verification_samples: args.verification_samples,
		init_seed: args.init_seed,
		aggregation: args.aggregation,
		update: args.update,
		model: match &args.model {
			Some(path) => Some(read_model_spec(path)?),
			None => None,
		},
	};
	let data = match &args.dataset {
		Some(dir) => data::from_mnist_dir(dir)
			.with_context(|| format!("reading the dataset in {}", dir.display()))?,
		None => data::digits_pair()?,
	};
	let task = order_task(&training, data)?;
	let budget = parse_pot(&args.budget)?;
	let at = chain.client().at_current_block().await?;
	let from_block = at.block_number();
	let balance_before = total_balance(&at, &me).await?;
	let max_price = match &args.max_price {
		Some(p) => parse_pot(p)?,
		None => {
			let probe = OrderConditions {
				max_price_per_unit: u128::MAX,
				deadline: u32::MAX,
				min_providers: args.min_providers,
				max_providers: args.max_providers,
				hardware_class: HardwareClass(args.hardware_class),
				regions: Vec::new(),
			};
			let call = api::runtime_apis().market_api().best_asks(probe, 1);
			let best = at.runtime_apis().call(call).await?;
			best.first().map(|a| a.price_per_unit).with_context(|| {
				format!(
					"no ask serves hardware class {}: give --max-price to wait for one",
					args.hardware_class
				)
			})?
		},
	};
	check_budget(budget, max_price, [args.rounds, args.steps, args.max_providers])?;
	let deadline = u32::try_from(from_block)
		.ok()
		.and_then(|b| b.checked_add(args.deadline_blocks))
		.context("deadline block overflows")?;
	let conditions = OrderConditions {
		max_price_per_unit: max_price,
		deadline,
		min_providers: args.min_providers,
		max_providers: args.max_providers,
		hardware_class: HardwareClass(args.hardware_class),
		regions: Vec::new(),
	};
	let metadata = args.metadata.clone().into_bytes();
	let events = if args.public {
		use api::runtime_types::{pallet_pot_market::pallet::Call, pot_runtime::RuntimeCall};
		let open = RuntimeCall::Market(Call::open_public_run {
			task: task.spec.clone(),
			conditions,
			cap: budget,
			metadata,
		});
		tracing::info!(cap = %format_pot(budget), reward_per_unit = %format_pot(max_price), "opening a public run");
		let events = chain
			.submit(&api::tx().sudo().sudo(open), &signer)
			.await
			.context("opening the public run")?;
		let sudid = events.find_first::<api::sudo::events::Sudid>().context("no Sudid event")??;
		if let Err(e) = sudid.sudo_result {
			let at = chain.client().at_current_block().await?;
			bail!("the chain refused to open the public run: {}", dispatch_error_name(&at, &e));
		}
		events
	} else {
		let call = api::tx().market().create_order(task.spec.clone(), conditions, budget, metadata);
		tracing::info!(budget = %format_pot(budget), max_price = %format_pot(max_price), "creating the order");
		chain.submit(&call, &signer).await.context("creating the order")?
	};
	let created = events
		.find_first::<api::market::events::OrderCreated>()
		.context("no OrderCreated event")??;
	let order = created.order.0;
	let matched = events.find_first::<api::market::events::OrderMatched>().transpose()?;
	let validator = match matched {
		Some(m) => m.validator,
		None => {
			tracing::info!(order, "waiting for an ask to match the order");
			wait_for_match(chain, order).await?
		},
	};
	let at = chain.client().at_current_block().await?;
	let endpoint = endpoint_of(&at, &validator).await?;
	tracing::info!(order, %validator, %endpoint, "matched; uploading the model and initial weights");

	let model_hash = hex::encode(task.spec.model.0);
	let initial_hash = hex::encode(task.spec.initial_weights.0);
	let dir = order_dir(&args.node.state_dir, order);
	std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
	let initial_path = dir.join("initial.safetensors");
	save_weights(&task.initial, &initial_path)?;
	write_atomic(&dir.join("dataset.bin"), &task.data.encode())?;
	let record = OrderRecord {
		order,
		consumer: me.to_string(),
		validator: validator.to_string(),
		endpoint: endpoint.clone(),
		model: task.model.clone(),
		model_hash: model_hash.clone(),
		initial_weights: initial_hash.clone(),
		last_weights: None,
		dataset: Some(hex::encode(task.spec.dataset.0)),
	};
	write_record(&args.node.state_dir, &record)?;
	upload(&record, &args.node.state_dir, Some(&signer)).await?;
	Ok(Created { record, from_block, balance_before })
}

/// Reads a model spec (JSON of [`ModelSpec`]); its callers build it (`order_task`, `new-task`).
pub fn read_model_spec(path: &Path) -> anyhow::Result<ModelSpec> {
	let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
	serde_json::from_slice(&text).with_context(|| format!("{} is not a model spec", path.display()))
}

/// The name of a dispatch error (`Market::ZeroBudget`, `BadOrigin`, …), read from the metadata.
fn dispatch_error_name(at: &AtBlock, error: &api::runtime_types::sp_runtime::DispatchError) -> String {
	use api::runtime_types::sp_runtime::DispatchError;
	match error {
		DispatchError::Module(m) => {
			let metadata = at.metadata();
			let named = metadata.pallet_by_error_index(m.index).and_then(|pallet| {
				let variant = pallet.error_variant_by_index(*m.error.first()?)?;
				Some(format!("{}::{}", pallet.name(), variant.name))
			});
			named.unwrap_or_else(|| format!("{m:?}"))
		}
		other => format!("{other:?}"),
	}
}

/// Uploads an order's dataset, model spec, then initial weights to its validator
/// (idempotent), signed by `signer` when given (checked by services started with `--allow`).
async fn upload(record: &OrderRecord, state: &Path, signer: Option<&Keypair>) -> anyhow::Result<()> {
	let client = ArtifactClient::new(&record.endpoint)?.signed_by(signer);
	if let Some(hash) = &record.dataset {
		let path = order_dir(state, record.order).join("dataset.bin");
		let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
		let size = bytes.len();
		client.put(Kind::Dataset, &remote::parse_address(hash)?, bytes, None).await?;
		tracing::info!(order = record.order, dataset = %hash, bytes = size, "uploaded the dataset");
	}
	let model_hash = remote::parse_address(&record.model_hash)?;
	let model_json = serde_json::to_vec(&record.model)?;
	client.put(Kind::Model, &model_hash, model_json, None).await?;
	let initial_path = order_dir(state, record.order).join("initial.safetensors");
	let weights = std::fs::read(&initial_path)
		.with_context(|| format!("reading {}", initial_path.display()))?;
	let initial = remote::parse_address(&record.initial_weights)?;
	client.put(Kind::Weights, &initial, weights, Some(&model_hash)).await?;
	tracing::info!(
		order = record.order,
		model = %record.model_hash,
		initial_weights = %record.initial_weights,
		endpoint = %record.endpoint,
		"uploaded the model and the initial weights"
	);
	Ok(())
}

/// Waits (finalized block by block) until `order` is matched; fails if it leaves the chain.
async fn wait_for_match(chain: &Chain, order: u64) -> anyhow::Result<AccountId32> {
	let mut blocks = chain.client().stream_blocks().await?;
	while let Some(block) = blocks.next().await {
		let at = block?.at().await?;
		let state = at
			.storage()
			.try_fetch(api::storage().market().orders(), (OrderId(order),))
			.await?
			.map(|v| v.decode())
			.transpose()?;
		match state.map(|o| o.state) {
			Some(OrderState::Matched(a)) => return Ok(a.validator),
			Some(OrderState::Open) => {},
			None => bail!("order {order} left the chain unmatched (expired or cancelled)"),
		}
	}
	bail!("the node's block stream ended")
}

/// The order events of one block. `challenges` holds the ids of the order's challenges seen so
/// far (votes and challenge offences name only the challenge); it gains those opened here.
fn order_events(
	events: &pot_client::subxt::events::Events<pot_client::PotConfig>,
	order: u64,
	challenges: &mut std::collections::BTreeSet<u64>,
) -> anyhow::Result<Vec<OrderEvent>> {
	use api::{market::Event as M, pol::Event as P};
	let mut out = Vec::new();
	for ev in events.iter() {
		let ev = ev?;
		if !matches!(ev.pallet_name(), "Market" | "Pol") {
			continue;
		}
		let decoded = ev.decode_as::<api::Event>()?;
		let e = match decoded {
			api::Event::Market(m) => match m {
				M::OrderCreated {
					order: o,
					budget,
					max_price_per_unit,
					hardware_class,
					deadline,
					..
				} if o.0 == order => OrderEvent::OrderCreated {
					budget,
					max_price_per_unit,
					hardware_class: hardware_class.0,
					deadline,
				},
				M::PublicRunOpened { order: o, reward_per_unit, cap } if o.0 == order => {
					OrderEvent::PublicRunOpened { reward_per_unit, cap }
				}
				M::OrderMatched { order: o, validator, price_per_unit, work_units, .. }
					if o.0 == order =>
				{
					OrderEvent::OrderMatched {
						validator: validator.to_string(),
						price_per_unit,
						work_units: work_units.0,
					}
				},
				M::OrderCancelled { order: o, refunded, .. } if o.0 == order => {
					OrderEvent::OrderCancelled { refunded }
				},
				M::OrderExpired { order: o, refunded, .. } if o.0 == order => {
					OrderEvent::OrderExpired { refunded }
				},
				M::ValidatorFeePaid { order: o, validator, amount } if o.0 == order => {
					OrderEvent::ValidatorFeePaid { validator: validator.to_string(), amount }
				},
				M::OrderCompleted { order: o, refunded, .. } if o.0 == order => {
					OrderEvent::OrderCompleted { refunded }
				},
				M::OrderFailed { order: o, refunded, .. } if o.0 == order => {
					OrderEvent::OrderFailed { refunded }
				},
				_ => continue,
			},
			api::Event::Pol(p) => match p {
				P::RunStarted { order: o, validator, participants } if o.0 == order => {
					OrderEvent::RunStarted {
						validator: validator.to_string(),
						providers: participants
							.0
							.iter()
							.map(|p| (p.provider.to_string(), p.capacity.0, p.samples))
							.collect(),
					}
				},
				P::RoundStarted {
					order: o,
					round,
					weights,
					commit_deadline,
					result_deadline,
					..
				} if o.0 == order => OrderEvent::RoundStarted {
					round,
					weights: hex::encode(weights.0),
					commit_deadline,
					result_deadline,
				},
				P::CommitmentSubmitted { order: o, round, provider, commitment }
					if o.0 == order =>
				{
					OrderEvent::CommitmentSubmitted {
						round,
						provider: provider.to_string(),
						steps_done: commitment.steps_done,
						loss_before: crate::chain_task::fixed_to_f64(&commitment.loss_before),
						loss_after: crate::chain_task::fixed_to_f64(&commitment.loss_after),
						checkpoint_root: hex::encode(commitment.checkpoint_root.0),
					}
				},
				P::RoundVerified {
					order: o, round, accepted, rejected, new_weights, eval, ..
				} if o.0 == order => OrderEvent::RoundVerified {
					round,
					accepted,
					rejected,
					new_weights: hex::encode(new_weights.0),
					eval_loss: crate::chain_task::fixed_to_f64(&eval.loss),
					eval_accuracy: f64::from(eval.accuracy.0) / 1e9,
				},
				P::ChallengeWindowOpened { order: o, round, window_end } if o.0 == order => {
					OrderEvent::ChallengeWindowOpened { round, window_end }
				},
				P::RoundSettled { order: o, round, paid, rejected } if o.0 == order => {
					OrderEvent::RoundSettled { round, paid, rejected }
				},
				P::ChallengeOpened {
					id,
					order: o,
					round,
					claim,
					target,
					segment,
					challenger,
					committee,
					vote_deadline,
					..
				} if o.0 == order => {
					challenges.insert(id);
					OrderEvent::ChallengeOpened {
						id,
						round,
						claim: format!("{claim:?}"),
						target,
						segment,
						challenger: challenger.to_string(),
						committee: committee.0.iter().map(|m| m.to_string()).collect(),
						vote_deadline,
					}
				},
				P::VoteCast { id, voter, upheld } if challenges.contains(&id) => {
					OrderEvent::VoteCast { id, voter: voter.to_string(), upheld }
				},
				P::ChallengeResolved { id, order: o, round, claim, upheld, ayes, nays, .. }
					if o.0 == order =>
				{
					OrderEvent::ChallengeResolved {
						id,
						round,
						claim: format!("{claim:?}"),
						upheld,
						ayes,
						nays,
					}
				},
				P::ChallengeOffence { id, offender, kind, slashed } if challenges.contains(&id) => {
					OrderEvent::ChallengeOffence {
						id,
						offender: offender.to_string(),
						kind: format!("{kind:?}"),
						slashed,
					}
				},
				P::CompletionRefused { order: o, error } if o.0 == order => {
					OrderEvent::CompletionRefused { error: format!("{error:?}") }
				},
				P::SubmissionRejected { order: o, round, provider, rejection, slashed }
					if o.0 == order =>
				{
					OrderEvent::SubmissionRejected {
						round,
						provider: provider.to_string(),
						segment: rejection.segment,
						slashed,
					}
				},
				P::CommitmentMissed { order: o, round, provider, slashed } if o.0 == order => {
					OrderEvent::CommitmentMissed { round, provider: provider.to_string(), slashed }
				},
				P::ProviderPaid { order: o, round, provider, work_units, amount }
					if o.0 == order =>
				{
					OrderEvent::ProviderPaid {
						round,
						provider: provider.to_string(),
						work_units: work_units.0,
						amount,
					}
				},
				P::PayoutFailed { order: o, round, provider, work_units, error }
					if o.0 == order =>
				{
					OrderEvent::PayoutFailed {
						round,
						provider: provider.to_string(),
						work_units: work_units.0,
						error: format!("{error:?}"),
					}
				},
				P::RunCompleted { order: o, validator_fee, refunded } if o.0 == order => {
					OrderEvent::RunCompleted { validator_fee, refunded }
				},
				P::RunFailed {
					order: o,
					round,
					reason,
					refunded,
					validator_slashed,
					providers_compensated,
				} if o.0 == order => OrderEvent::RunFailed {
					round,
					reason: format!("{reason:?}"),
					refunded,
					validator_slashed,
					providers_compensated,
				},
				P::UnstartedOrderFailed { order: o, validator, refunded, .. } if o.0 == order => {
					OrderEvent::UnstartedOrderFailed { validator: validator.to_string(), refunded }
				},
				_ => continue,
			},
			_ => continue,
		};
		out.push(e);
	}
	Ok(out)
}

/// Prints `order`'s events from finalized block `from` on (default: the current one) until it
/// completes or fails; records the last verified weights in the order's record, if there is one.
/// How long `watch` keeps trying to reach a node that went away before it gives up.
const RECONNECT_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

async fn watch(
	chain: &Chain,
	order: u64,
	from: Option<u64>,
	node: &NodeArg,
) -> anyhow::Result<Summary> {
	let mut next = match from {
		Some(b) => b,
		None => {
			let at = chain.client().at_current_block().await?;
			let live = at
				.storage()
				.try_fetch(api::storage().market().orders(), (OrderId(order),))
				.await?
				.is_some();
			if !live {
				bail!("order {order} is not live (unknown or already final); --from-block N replays its events");
			}
			at.block_number()
		},
	};
	let mut summary = Summary::default();
	let mut record = read_record(&node.state_dir, order).ok();
	let mut chain = chain.clone();
	loop {
		match follow_order(&chain, order, &mut next, &mut summary, &mut record, node).await {
			Ok(true) => return Ok(summary),
			Ok(false) => tracing::warn!(node = %node.node, "the block stream ended; reconnecting"),
			Err(e) => tracing::warn!(node = %node.node, error = %format!("{e:#}"), "lost the node; reconnecting"),
		}
		chain = reconnect(&node.node).await?;
	}
}

/// Connects to `url` again, retrying for up to [`RECONNECT_LIMIT`].
async fn reconnect(url: &str) -> anyhow::Result<Chain> {
	let started = std::time::Instant::now();
	loop {
		tokio::time::sleep(std::time::Duration::from_secs(2)).await;
		match Chain::connect(url).await {
			Ok(chain) => return Ok(chain),
			Err(e) if started.elapsed() < RECONNECT_LIMIT => {
				tracing::debug!(error = %e, "node still unreachable")
			},
			Err(e) => bail!("the node at {url} stayed unreachable for {RECONNECT_LIMIT:?}: {e}"),
		}
	}
}

/// Reports the order's events block by block from `next` on, until the order is over
/// (`Ok(true)`) or the block stream ends (`Ok(false)`). A block's events are fetched before any
/// is reported, so a connection lost midway never reports a block twice.
async fn follow_order(
	chain: &Chain,
	order: u64,
	next: &mut u64,
	summary: &mut Summary,
	record: &mut Option<OrderRecord>,
	node: &NodeArg,
) -> anyhow::Result<bool> {
	let mut blocks = chain.client().stream_blocks().await?;
	while let Some(block) = blocks.next().await {
		let head = block?.number();
		while *next <= head {
			let at = chain.client().at_block(*next).await?;
			let events = at.events().fetch().await?;
			for event in order_events(&events, order, &mut summary.challenge_ids)? {
				let seen = Seen { order, block: *next, event };
				if node.json {
					println!("{}", serde_json::to_string(&seen)?);
				} else {
					println!("{}", describe(&seen));
				}
				summary.apply(&seen.event);
				if let (OrderEvent::RoundVerified { new_weights, .. }, Some(r)) =
					(&seen.event, record.as_mut())
				{
					r.last_weights = Some(new_weights.clone());
					write_record(&node.state_dir, r)?;
				}
			}
			if summary.outcome.is_some() {
				return Ok(true);
			}
			*next = next.saturating_add(1);
		}
	}
	Ok(false)
}

/// Downloads weights `hash` of an order to `out`, checks the hash and evaluates them on the
/// order's held-out split: `(loss, accuracy)`. Signed by `signer` when given.
async fn fetch(
	record: &OrderRecord,
	state: &Path,
	hash: &str,
	out: &Path,
	signer: Option<&Keypair>,
) -> anyhow::Result<(f64, f64)> {
	let held_out = order_data(state, record)?.held_out;
	let bytes = ArtifactClient::new(&record.endpoint)?
		.signed_by(signer)
		.get(Kind::Weights, &remote::parse_address(hash)?, MAX_WEIGHTS_BYTES)
		.await?;
	write_atomic(out, &bytes)?;
	let model = record.model.clone();
	let path = out.to_path_buf();
	let expected = hash.to_owned();
	tokio::task::spawn_blocking(move || -> anyhow::Result<(f64, f64)> {
		let built = model.build()?;
		let params = load_weights(&path, built.as_ref())?;
		let got = hex::encode(weights_hash(&params)?);
		if got != expected {
			bail!("downloaded weights hash to {got}, not {expected}");
		}
		Ok(evaluate(built.as_ref(), &params, &held_out)?)
	})
	.await?
}

/// `(loss, accuracy)` on `held_out` of a weights file of `model`.
fn evaluate_file(model: &ModelSpec, path: &Path, held_out: &Dataset) -> anyhow::Result<(f64, f64)> {
	let built = model.build()?;
	let params = load_weights(path, built.as_ref())?;
	Ok(evaluate(built.as_ref(), &params, held_out)?)
}

fn print_eval(node: &NodeArg, which: &str, hash: &str, loss: f64, accuracy: f64) {
	if node.json {
		println!(
			"{}",
			serde_json::json!({ "event": "evaluated", "weights": which, "hash": hash, "held_out_loss": loss, "held_out_accuracy": accuracy })
		);
	} else {
		println!(
			"{which} weights {hash}: held-out accuracy {:.2}%, loss {loss:.4}",
			accuracy * 100.0
		);
	}
}

/// Draws `summary`'s per-round evaluation to `path` and says where.
fn write_curve(summary: &Summary, order: u64, path: &Path, json: bool) -> anyhow::Result<()> {
	if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
		std::fs::create_dir_all(dir)?;
	}
	std::fs::write(path, summary.curve_svg(order))
		.with_context(|| format!("writing {}", path.display()))?;
	if json {
		println!("{}", serde_json::json!({ "event": "curve", "order": order, "file": path }));
	} else {
		println!("held-out accuracy and loss per round: {}", path.display());
	}
	Ok(())
}

async fn run_all(args: &RunArgs) -> anyhow::Result<i32> {
	let node = &args.create.node;
	let chain = Chain::connect(&node.node).await?;
	let created = create(&chain, &args.create).await?;
	let order = created.record.order;
	if node.json {
		println!(
			"{}",
			serde_json::json!({ "event": "order", "order": order, "validator": created.record.validator })
		);
	} else {
		println!(
			"order {order} matched to {} ({})",
			created.record.validator, created.record.endpoint
		);
	}
	let summary = watch(&chain, order, Some(created.from_block.saturating_add(1)), node).await?;
	let curve =
		args.curve.clone().unwrap_or_else(|| order_dir(&node.state_dir, order).join("curve.svg"));
	write_curve(&summary, order, &curve, node.json)?;
	let key = keypair_from_suri(&args.create.suri)?;
	let me = account_of(&key);
	// A fresh connection: `watch` may have outlived the first one (node restarted).
	let chain = Chain::connect(&node.node).await?;
	let at = chain.client().at_current_block().await?;
	let balance_after = total_balance(&at, &me).await?;
	if summary.outcome != Some(Outcome::Completed) {
		println!(
			"order {order} did not complete; refunded {}; balance change {}",
			summary.refunded.map(format_pot).unwrap_or_else(|| "nothing".into()),
			format_pot_delta(created.balance_before, balance_after)
		);
		return Ok(1);
	}
	let initial_path = order_dir(&node.state_dir, order).join("initial.safetensors");
	let model = created.record.model.clone();
	let held_out = order_data(&node.state_dir, &created.record)?.held_out;
	let before = tokio::task::spawn_blocking(move || {
		evaluate_file(&model, &initial_path, &held_out)
	})
	.await??;
	let hash =
		summary.last_weights.clone().context("the order completed without verified weights")?;
	let out = args
		.out
		.clone()
		.unwrap_or_else(|| order_dir(&node.state_dir, order).join("final.safetensors"));
	let after = fetch(&created.record, &node.state_dir, &hash, &out, Some(&key)).await?;
	let fee = summary.validator_fee.unwrap_or(0);
	let refund = summary.refunded.unwrap_or(0);
	if node.json {
		println!(
			"{}",
			serde_json::json!({
				"event": "summary", "order": order,
				"accuracy_before": before.1, "loss_before": before.0,
				"accuracy_after": after.1, "loss_after": after.0,
				"final_weights": hash, "weights_file": out,
				"providers": summary.paid, "work_units": summary.units, "rejections": summary.rejections,
				"challenges": summary.challenges, "challenges_upheld": summary.upheld,
				"validator_fee": fee, "refunded": refund, "public": args.create.public,
				"balance_before": created.balance_before, "balance_after": balance_after,
			})
		);
	} else {
		println!("— order {order} summary —");
		println!(
			"held-out accuracy {:.2}% -> {:.2}% (loss {:.4} -> {:.4}); final weights {hash} in {}",
			before.1 * 100.0,
			after.1 * 100.0,
			before.0,
			after.0,
			out.display()
		);
		for (provider, amount) in &summary.paid {
			println!(
				"provider {provider}: paid {} for {} work units",
				format_pot(*amount),
				summary.units.get(provider).copied().unwrap_or(0)
			);
		}
		if summary.rejections > 0 {
			println!("rejected submissions: {}", summary.rejections);
		}
		if summary.challenges > 0 {
			println!("challenges: {} opened, {} upheld", summary.challenges, summary.upheld);
			for (offender, kind, amount) in &summary.challenge_slashes {
				println!("  {offender} slashed {} for {kind}", format_pot(*amount));
			}
		}
		println!("validator fee {}", format_pot(fee));
		if args.create.public {
			println!(
				"minted {} (providers {} + fee {}) of the cap {}",
				format_pot(summary.providers_total().saturating_add(fee)),
				format_pot(summary.providers_total()),
				format_pot(fee),
				args.create.budget
			);
		} else {
			println!("refund to the consumer {}", format_pot(refund));
			println!(
				"consumer balance change {} (providers {} + fee {} + transaction fees)",
				format_pot_delta(created.balance_before, balance_after),
				format_pot(summary.providers_total()),
				format_pot(fee)
			);
		}
	}
	let budget = parse_pot(&args.create.budget)?;
	let settled = summary.providers_total().saturating_add(fee).saturating_add(refund);
	if args.create.public {
		// A public run holds nothing and refunds nothing: what it minted stays within its cap.
		if refund != 0 || settled > budget {
			println!(
				"emission mismatch: cap {} but minted {} and refunded {}",
				format_pot(budget),
				format_pot(settled),
				format_pot(refund)
			);
			return Ok(1);
		}
	} else if settled != budget {
		println!(
			"escrow mismatch: budget {} but providers + fee + refund = {}",
			format_pot(budget),
			format_pot(settled)
		);
		return Ok(1);
	}
	let gain = after.1 - before.1;
	if gain < args.min_accuracy_gain {
		println!(
			"held-out accuracy gained {:.2} points, less than the required {:.2}",
			gain * 100.0,
			args.min_accuracy_gain * 100.0
		);
		return Ok(1);
	}
	Ok(0)
}

/// The chain's rule (`Market::BudgetBelowTask`), said before anything is signed: `budget`
/// must pay for the task's most work, `rounds × steps × max providers` units, at `max_price`.
fn check_budget(
	budget: u128,
	max_price: u128,
	[rounds, steps, providers]: [u32; 3],
) -> anyhow::Result<()> {
	let most_work =
		u128::from(rounds).saturating_mul(u128::from(steps)).saturating_mul(u128::from(providers));
	let most_cost = most_work.saturating_mul(max_price);
	if budget < most_cost {
		bail!(
			"--budget {} does not pay for the task's {most_work} work units (rounds × steps × \
			 max providers) at {} each: give at least {}",
			format_pot(budget),
			format_pot(max_price),
			format_pot(most_cost)
		);
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_budget_must_pay_for_the_tasks_most_work() -> anyhow::Result<()> {
		// 3 rounds × 50 steps × 3 providers at 0.01 POT: 4.5 POT.
		let cent = parse_pot("0.01")?;
		check_budget(parse_pot("4.5")?, cent, [3, 50, 3])?;
		let Err(short) = check_budget(parse_pot("4.49")?, cent, [3, 50, 3]) else {
			anyhow::bail!("a budget short of the task was accepted");
		};
		assert!(short.to_string().contains("450 work units"), "{short}");
		assert!(short.to_string().contains("give at least 4.5"), "{short}");
		check_budget(u128::MAX, u128::MAX, [u32::MAX; 3])?;
		Ok(())
	}

	#[test]
	fn order_records_round_trip() -> anyhow::Result<()> {
		let tmp = tempfile::tempdir()?;
		let record = OrderRecord {
			order: 9,
			consumer: "5F".into(),
			validator: "5G".into(),
			endpoint: "http://127.0.0.1:8800".into(),
			model: ModelSpec::Mlp { inputs: 64, hidden: vec![64], classes: 10 },
			model_hash: "00".repeat(32),
			initial_weights: "11".repeat(32),
			last_weights: None,
			dataset: Some("22".repeat(32)),
		};
		write_record(tmp.path(), &record)?;
		assert_eq!(read_record(tmp.path(), 9)?, record);
		assert!(read_record(tmp.path(), 10).is_err());
		Ok(())
	}
}
