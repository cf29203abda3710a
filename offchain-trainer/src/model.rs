//! Built-in model architectures and bring-your-own TorchScript modules behind one trait.
//!
//! A model is described by a [`ModelSpec`]; its content hash (what an order's `TaskSpec.model`
//! names) is BLAKE2b-256 over the canonical encoding [`ModelSpec::encode`]. The parameters live
//! outside the model in a [`Params`] map ordered by name; that order is the canonical order of
//! every checkpoint encoding. Initial weights are drawn from a seeded `pot-pol-core` stream on
//! the host, not from torch's generator, so they are identical on every machine and profile.

use crate::error::{Error, Result};
use pot_pol_core::{blake2_256, rng::SeededRng, Hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::{Kind, Tensor};

/// Named parameter tensors, in canonical (name) order.
pub type Params = BTreeMap<String, Tensor>;

/// A built-in architecture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelSpec {
	/// Fully connected layers with ReLU between them.
	Mlp {
		/// Input features.
		inputs: u32,
		/// Hidden layer widths.
		hidden: Vec<u32>,
		/// Output classes.
		classes: u32,
	},
	/// Two 3×3 convolutions (padding 1, ReLU, 2×2 max-pool each) and a linear classifier, for
	/// square one-channel images.
	Cnn {
		/// Image side.
		side: u32,
		/// Channels of the two convolutions.
		channels: [u32; 2],
		/// Output classes.
		classes: u32,
	},
	/// Decoder-only byte-level (character-level for ASCII) transformer: token and learned
	/// position embeddings, pre-norm blocks of causal multi-head self-attention and a GELU MLP
	/// (4× width), a final layer norm and a linear head over the 256 byte values. A sample is
	/// `context + 1` bytes ([`crate::data::from_text`]); training predicts every next byte.
	Transformer {
		/// Bytes of context (T).
		context: u32,
		/// Model width (d).
		dim: u32,
		/// Attention heads (divide `dim`).
		heads: u32,
		/// Blocks.
		layers: u32,
	},
	/// A TorchScript module brought by the consumer, run by libtorch's TorchScript
	/// interpreter. Like the built-ins it is functional: its `forward(p_0, …, p_{n−1}, x)` takes
	/// the parameters positionally, in the order of `params`, then the features `x`, and returns
	/// the logits `[batch, classes]`; it holds no trained state, so checkpoints, proofs and
	/// aggregates work on [`Params`] as for the built-ins. Any TorchScript with that signature
	/// works: `torch.jit.script` or `torch.jit.trace` in Python, or
	/// [`tch::CModule::create_by_tracing`] in Rust (the trainer's README shows both).
	TorchScript {
		/// Parameter names and shapes, in the order `forward` takes them.
		params: Vec<(String, Vec<u32>)>,
		/// The serialized module (the `.pt` file's bytes; hex in JSON).
		#[serde(with = "hex_bytes")]
		module: Vec<u8>,
	},
}

/// Serde of bytes as a hex string.
mod hex_bytes {
	use serde::{Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
		serializer.serialize_str(&hex::encode(bytes))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
		let text = String::deserialize(deserializer)?;
		hex::decode(text).map_err(serde::de::Error::custom)
	}
}

impl ModelSpec {
	/// `"pot/model/v1" ‖ tag u8 ‖ fields as u32 LE (lists length-prefixed)`.
	pub fn encode(&self) -> Vec<u8> {
		let mut out = b"pot/model/v1".to_vec();
		let mut put = |v: u32| out.extend_from_slice(&v.to_le_bytes());
		match self {
			Self::Mlp { inputs, hidden, classes } => {
				put(1);
				put(*inputs);
				put(u32::try_from(hidden.len()).unwrap_or(u32::MAX));
				hidden.iter().for_each(|&h| put(h));
				put(*classes);
			}
			Self::Cnn { side, channels: [c1, c2], classes } => {
				put(2);
				put(*side);
				put(*c1);
				put(*c2);
				put(*classes);
			}
			Self::Transformer { context, dim, heads, layers } => {
				put(3);
				put(*context);
				put(*dim);
				put(*heads);
				put(*layers);
			}
			Self::TorchScript { params, module } => {
				let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
				out.extend_from_slice(&4u32.to_le_bytes());
				out.extend_from_slice(&len(params.len()));
				for (name, shape) in params {
					out.extend_from_slice(&len(name.len()));
					out.extend_from_slice(name.as_bytes());
					out.extend_from_slice(&len(shape.len()));
					for &d in shape {
						out.extend_from_slice(&d.to_le_bytes());
					}
				}
				out.extend_from_slice(&len(module.len()));
				out.extend_from_slice(module);
			}
		}
		out
	}

	/// The content hash of the spec.
	pub fn hash(&self) -> Hash {
		blake2_256(&self.encode())
	}

	/// The model, computing on the host.
	pub fn build(&self) -> Result<Box<dyn Model>> {
		self.build_on(tch::Device::Cpu)
	}

	/// The model, computing on `device`: built-in architectures compute wherever their
	/// parameters are; a TorchScript module's own tensors are loaded onto `device`.
	pub fn build_on(&self, device: tch::Device) -> Result<Box<dyn Model>> {
		let positive = |v: u32, what: &str| {
			if v == 0 {
				Err(Error::Model(format!("{what} is 0")))
			} else {
				Ok(i64::from(v))
			}
		};
		match self {
			Self::Mlp { inputs, hidden, classes } => {
				let mut widths = vec![positive(*inputs, "inputs")?];
				for h in hidden {
					widths.push(positive(*h, "a hidden width")?);
				}
				widths.push(positive(*classes, "classes")?);
				Ok(Box::new(Mlp { widths }))
			}
			Self::Cnn { side, channels: [c1, c2], classes } => {
				let side = positive(*side, "side")?;
				if side < 4 {
					return Err(Error::Model("CNN images must be at least 4×4".into()));
				}
				Ok(Box::new(Cnn {
					side,
					c1: positive(*c1, "channels")?,
					c2: positive(*c2, "channels")?,
					classes: positive(*classes, "classes")?,
				}))
			}
			Self::Transformer { context, dim, heads, layers } => {
				let (dim, heads) = (positive(*dim, "dim")?, positive(*heads, "heads")?);
				if dim.checked_rem(heads) != Some(0) {
					return Err(Error::Model("heads must divide dim".into()));
				}
				Ok(Box::new(Transformer {
					context: positive(*context, "context")?,
					dim,
					heads,
					layers: positive(*layers, "layers")?,
				}))
			}
			Self::TorchScript { params, module } => {
				Ok(Box::new(TorchScriptModel::load(params, module, device)?))
			}
		}
	}
}

/// A functional TorchScript module ([`ModelSpec::TorchScript`]).
struct TorchScriptModel {
	module: tch::CModule,
	/// Parameter names and shapes, in the order `forward` takes them.
	params: Vec<(String, Vec<i64>)>,
}

impl TorchScriptModel {
	/// Loads `module` onto `device`; refuses bytes that are not a TorchScript module and
	/// parameter lists that are empty, repeat a name or give a shape without elements.
	fn load(params: &[(String, Vec<u32>)], module: &[u8], device: tch::Device) -> Result<Self> {
		let bad = |why: String| Error::Model(format!("TorchScript model: {why}"));
		if params.is_empty() {
			return Err(bad("no parameters".into()));
		}
		let names: std::collections::BTreeSet<&String> = params.iter().map(|(n, _)| n).collect();
		if names.len() != params.len() {
			return Err(bad("a parameter name repeats".into()));
		}
		if let Some((name, shape)) =
			params.iter().find(|(_, shape)| shape.is_empty() || shape.contains(&0))
		{
			return Err(bad(format!("parameter {name} has shape {shape:?}")));
		}
		let mut bytes = std::io::Cursor::new(module);
		let module = match device {
			tch::Device::Cpu => tch::CModule::load_data(&mut bytes),
			_ => tch::CModule::load_data_on_device(&mut bytes, device),
		}
			.map_err(|e| bad(format!("not a TorchScript module: {e}")))?;
		let params = params
			.iter()
			.map(|(name, shape)| (name.clone(), shape.iter().map(|&d| i64::from(d)).collect()))
			.collect();
		Ok(Self { module, params })
	}
}

impl Model for TorchScriptModel {
	fn shapes(&self) -> Vec<(String, Vec<i64>)> {
		self.params.clone()
	}

	fn forward(&self, params: &Params, xs: &Tensor) -> Result<Tensor> {
		let mut inputs = self
			.params
			.iter()
			.map(|(name, _)| param(params, name).map(Tensor::shallow_clone))
			.collect::<Result<Vec<_>>>()?;
		inputs.push(xs.shallow_clone());
		self.module
			.forward_ts(&inputs)
			.map_err(|e| Error::Model(format!("TorchScript forward: {e}")))
	}
}

/// `model` as a [`ModelSpec::TorchScript`]: its forward pass traced
/// ([`tch::CModule::create_by_tracing`]) on features `example` (`[batch, inputs]`) into a
/// TorchScript module taking the parameters positionally in `model.shapes()` order. The module
/// computes what `model` computes; a way to bring a model written with tch in Rust.
pub fn trace(model: &dyn Model, example: &Tensor) -> Result<ModelSpec> {
	let shapes = model.shapes();
	let params = model.init(0)?;
	let mut inputs = shapes
		.iter()
		.map(|(name, _)| param(&params, name).map(|t| t.detach()))
		.collect::<Result<Vec<_>>>()?;
	inputs.push(example.shallow_clone());
	let mut forward_error = None;
	let mut closure = |ts: &[Tensor]| -> Vec<Tensor> {
		let named: Params =
			shapes.iter().zip(ts).map(|((name, _), t)| (name.clone(), t.shallow_clone())).collect();
		match ts.last().map(|xs| model.forward(&named, xs)) {
			Some(Ok(logits)) => vec![logits],
			Some(Err(e)) => {
				forward_error = Some(e);
				Vec::new()
			}
			None => Vec::new(),
		}
	};
	let traced = tch::CModule::create_by_tracing("PotModel", "forward", &inputs, &mut closure);
	if let Some(e) = forward_error {
		return Err(e);
	}
	let traced = traced.map_err(|e| Error::Model(format!("tracing the model: {e}")))?;
	let dir = tempfile::tempdir().map_err(|e| Error::Model(format!("a temporary directory: {e}")))?;
	let path = dir.path().join("model.pt");
	traced.save(&path).map_err(|e| Error::Model(format!("saving the traced model: {e}")))?;
	let module = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
	let params = shapes
		.into_iter()
		.map(|(name, shape)| {
			let dims = shape.iter().map(|&d| u32::try_from(d).unwrap_or(0)).collect();
			(name, dims)
		})
		.collect();
	Ok(ModelSpec::TorchScript { params, module })
}

/// A model: parameter shapes, initialisation and the forward pass.
pub trait Model {
	/// Parameter names and shapes.
	fn shapes(&self) -> Vec<(String, Vec<i64>)>;

	/// Logits `[batch, classes]` for features `[batch, inputs]`.
	fn forward(&self, params: &Params, xs: &Tensor) -> Result<Tensor>;

	/// The training loss of a minibatch: mean cross-entropy of [`Model::forward`] against
	/// `labels`, unless the model trains on more targets per sample (the transformer).
	fn loss(&self, params: &Params, xs: &Tensor, labels: &Tensor) -> Result<Tensor> {
		cross_entropy(&self.forward(params, xs)?, labels)
	}

	/// Initial parameters: every tensor uniform in `±1/sqrt(fan_in)` (PyTorch's default bound
	/// for linear and convolution layers), drawn from a stream seeded with `seed`.
	fn init(&self, seed: u64) -> Result<Params> {
		uniform_init(self, seed)
	}

	/// Fan-in of the weight that bias `name` belongs to.
	fn bias_fan_in(&self, name: &str) -> i64 {
		let weight = name.replace(".bias", ".weight");
		self.shapes()
			.into_iter()
			.find(|(n, _)| *n == weight)
			.map(|(_, shape)| shape.iter().skip(1).product())
			.unwrap_or(1)
	}
}

/// Every tensor of `model` uniform in `±1/sqrt(fan_in)`, drawn from a stream seeded with `seed`
/// (the default [`Model::init`]).
pub fn uniform_init<M: Model + ?Sized>(model: &M, seed: u64) -> Result<Params> {
	let mut rng = SeededRng::new(b"pot/model/init/v1", &seed.to_le_bytes());
	let mut params = Params::new();
	for (name, shape) in model.shapes() {
		let numel =
			shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?));
		let numel =
			numel.ok_or_else(|| Error::Model(format!("{name}: shape {shape:?} too large")))?;
		let fan_in = if shape.len() > 1 { shape.iter().skip(1).product::<i64>() } else { 0 };
		// A bias takes the fan-in of its weight, the tensor before it in `shapes`.
		let fan_in = if fan_in > 0 { fan_in } else { model.bias_fan_in(&name) };
		let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
		// 24 random bits → an exact f32 in [0, 1) → [-bound, bound).
		let values: Vec<f32> = (0..numel)
			.map(|_| ((rng.next_u64() >> 40) as f32 / 16_777_216.0 * 2.0 - 1.0) * bound)
			.collect();
		let tensor = Tensor::f_from_slice(&values)?.f_reshape(&shape)?.set_requires_grad(true);
		params.insert(name, tensor);
	}
	Ok(params)
}

fn param<'a>(params: &'a Params, name: &str) -> Result<&'a Tensor> {
	params.get(name).ok_or_else(|| Error::Checkpoint(format!("missing parameter {name}")))
}

/// Multi-layer perceptron: `layer{i}.weight [out, in]`, `layer{i}.bias [out]`.
struct Mlp {
	widths: Vec<i64>,
}

impl Model for Mlp {
	fn shapes(&self) -> Vec<(String, Vec<i64>)> {
		self.widths
			.windows(2)
			.enumerate()
			.flat_map(|(i, w)| match w {
				[fan_in, fan_out] => vec![
					(format!("layer{i}.weight"), vec![*fan_out, *fan_in]),
					(format!("layer{i}.bias"), vec![*fan_out]),
				],
				_ => vec![],
			})
			.collect()
	}

	fn forward(&self, params: &Params, xs: &Tensor) -> Result<Tensor> {
		let layers = self.widths.len().saturating_sub(1);
		let mut h = xs.shallow_clone();
		for i in 0..layers {
			let w = param(params, &format!("layer{i}.weight"))?;
			let b = param(params, &format!("layer{i}.bias"))?;
			h = h.f_linear(w, Some(b))?;
			if i.saturating_add(1) < layers {
				h = h.f_relu()?;
			}
		}
		Ok(h)
	}
}

/// Small CNN: `conv1`, `conv2` (`[out, in, 3, 3]`), `fc` (`[classes, c2·(side/4)²]`).
struct Cnn {
	side: i64,
	c1: i64,
	c2: i64,
	classes: i64,
}

impl Cnn {
	fn flat(&self) -> i64 {
		let pooled = self.side / 4;
		self.c2.saturating_mul(pooled.saturating_mul(pooled))
	}
}

impl Model for Cnn {
	fn shapes(&self) -> Vec<(String, Vec<i64>)> {
		vec![
			("conv1.weight".into(), vec![self.c1, 1, 3, 3]),
			("conv1.bias".into(), vec![self.c1]),
			("conv2.weight".into(), vec![self.c2, self.c1, 3, 3]),
			("conv2.bias".into(), vec![self.c2]),
			("fc.weight".into(), vec![self.classes, self.flat()]),
			("fc.bias".into(), vec![self.classes]),
		]
	}

	fn forward(&self, params: &Params, xs: &Tensor) -> Result<Tensor> {
		let batch = xs.size().first().copied().unwrap_or(0);
		let mut h = xs.f_reshape([batch, 1, self.side, self.side])?;
		for conv in ["conv1", "conv2"] {
			let w = param(params, &format!("{conv}.weight"))?;
			let b = param(params, &format!("{conv}.bias"))?;
			h = h.f_conv2d(w, Some(b), [1, 1], [1, 1], [1, 1], 1)?.f_relu()?.f_max_pool2d(
				[2, 2],
				[2, 2],
				[0, 0],
				[1, 1],
				false,
			)?;
		}
		let h = h.f_reshape([batch, self.flat()])?;
		Ok(h.f_linear(param(params, "fc.weight")?, Some(param(params, "fc.bias")?))?)
	}
}

/// Decoder-only byte-level transformer (see [`ModelSpec::Transformer`]). Parameters:
/// `tok_emb [256, d]`, `pos_emb [T, d]`, per block `b{i}.ln1`, `b{i}.qkv [3d, d]`,
/// `b{i}.proj [d, d]`, `b{i}.ln2`, `b{i}.fc1 [4d, d]`, `b{i}.fc2 [d, 4d]` (weights and biases),
/// then `ln_f` and `head [256, d]`.
struct Transformer {
	context: i64,
	dim: i64,
	heads: i64,
	layers: i64,
}

/// Byte values (the transformer's vocabulary).
const VOCAB: i64 = 256;

impl Transformer {
	/// Byte ids `[batch, T + 1]` from features scaled to `[0, 1]` by 255.
	fn ids(&self, xs: &Tensor) -> Result<Tensor> {
		let width = xs.size().get(1).copied().unwrap_or(0);
		if width != self.context.saturating_add(1) {
			return Err(Error::Model(format!(
				"transformer samples are {} bytes, got {width}",
				self.context.saturating_add(1)
			)));
		}
		Ok(xs.f_mul_scalar(255.0)?.f_round()?.f_to_kind(Kind::Int64)?)
	}

	/// Logits `[batch, T, 256]` for the next byte after every position of `ids[:, ..T]`.
	fn logits(&self, params: &Params, ids: &Tensor) -> Result<Tensor> {
		let (t, d, heads) = (self.context, self.dim, self.heads);
		let hd = d.checked_div(heads).unwrap_or(1);
		let batch = ids.size().first().copied().unwrap_or(0);
		let input = ids.f_narrow(1, 0, t)?;
		let mut h = Tensor::f_embedding(param(params, "tok_emb")?, &input, -1, false, false)?
			.f_add(param(params, "pos_emb")?)?;
		let mask = Tensor::f_ones([t, t], (Kind::Bool, ids.device()))?.f_triu(1)?;
		let norm = |x: &Tensor, name: &str| -> Result<Tensor> {
			Ok(x.f_layer_norm(
				[d],
				Some(param(params, &format!("{name}.weight"))?),
				Some(param(params, &format!("{name}.bias"))?),
				1e-5,
				false,
			)?)
		};
		let linear = |x: &Tensor, name: &str| -> Result<Tensor> {
			Ok(x.f_linear(
				param(params, &format!("{name}.weight"))?,
				Some(param(params, &format!("{name}.bias"))?),
			)?)
		};
		let split = |x: &Tensor| -> Result<Tensor> {
			Ok(x.f_reshape([batch, t, heads, hd])?.f_transpose(1, 2)?)
		};
		for i in 0..self.layers {
			let qkv = linear(&norm(&h, &format!("b{i}.ln1"))?, &format!("b{i}.qkv"))?;
			let q = split(&qkv.f_narrow(2, 0, d)?)?;
			let k = split(&qkv.f_narrow(2, d, d)?)?;
			let v = split(&qkv.f_narrow(2, d.saturating_mul(2), d)?)?;
			let att = q
				.f_matmul(&k.f_transpose(-2, -1)?)?
				.f_div_scalar((hd as f64).sqrt())?
				.f_masked_fill(&mask, f64::NEG_INFINITY)?
				.f_softmax(-1, Kind::Float)?;
			let y =
				att.f_matmul(&v)?.f_transpose(1, 2)?.f_contiguous()?.f_reshape([batch, t, d])?;
			h = h.f_add(&linear(&y, &format!("b{i}.proj"))?)?;
			let m =
				linear(&norm(&h, &format!("b{i}.ln2"))?, &format!("b{i}.fc1"))?.f_gelu("none")?;
			h = h.f_add(&linear(&m, &format!("b{i}.fc2"))?)?;
		}
		linear(&norm(&h, "ln_f")?, "head")
	}
}

impl Model for Transformer {
	fn shapes(&self) -> Vec<(String, Vec<i64>)> {
		let (t, d) = (self.context, self.dim);
		let wide = d.saturating_mul(4);
		let mut out = vec![("tok_emb".to_owned(), vec![VOCAB, d]), ("pos_emb".into(), vec![t, d])];
		let mut linear = |name: String, o: i64, i: i64| {
			out.push((format!("{name}.weight"), vec![o, i]));
			out.push((format!("{name}.bias"), vec![o]));
		};
		for b in 0..self.layers {
			linear(format!("b{b}.ln1"), d, 0);
			linear(format!("b{b}.qkv"), d.saturating_mul(3), d);
			linear(format!("b{b}.proj"), d, d);
			linear(format!("b{b}.ln2"), d, 0);
			linear(format!("b{b}.fc1"), wide, d);
			linear(format!("b{b}.fc2"), d, wide);
		}
		linear("ln_f".into(), d, 0);
		linear("head".into(), VOCAB, d);
		// Layer norms have 1-D weights.
		out.into_iter()
			.map(|(n, s)| match s.as_slice() {
				[o, 0] => (n, vec![*o]),
				_ => (n, s),
			})
			.collect()
	}

	/// Uniform init like the other models, then layer norms at weight 1, bias 0.
	fn init(&self, seed: u64) -> Result<Params> {
		let mut params = uniform_init(self, seed)?;
		let _guard = tch::no_grad_guard();
		for (name, t) in params.iter_mut() {
			if name.contains(".ln") || name.starts_with("ln_f") {
				let fill = if name.ends_with(".weight") { 1.0 } else { 0.0 };
				let _ = t.f_fill_(fill)?;
			}
		}
		Ok(params)
	}

	/// Logits for the byte after the context (the sample's label).
	fn forward(&self, params: &Params, xs: &Tensor) -> Result<Tensor> {
		let ids = self.ids(xs)?;
		Ok(self.logits(params, &ids)?.f_select(1, self.context.saturating_sub(1))?)
	}

	/// Mean cross-entropy of every next-byte prediction in the sample.
	fn loss(&self, params: &Params, xs: &Tensor, _labels: &Tensor) -> Result<Tensor> {
		let ids = self.ids(xs)?;
		let logits = self.logits(params, &ids)?.f_reshape([-1, VOCAB])?;
		let targets = ids.f_narrow(1, 1, self.context)?.f_reshape([-1])?;
		cross_entropy(&logits, &targets)
	}
}

/// Mean cross-entropy of `logits` against integer `labels`.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
	Ok(logits.f_log_softmax(-1, Kind::Float)?.f_nll_loss::<Tensor>(
		labels,
		None,
		tch::Reduction::Mean,
		-100,
	)?)
}

/// Share of samples whose largest logit is the label.
pub fn accuracy(logits: &Tensor, labels: &Tensor) -> Result<f64> {
	Ok(logits
		.f_argmax(-1, false)?
		.f_eq_tensor(labels)?
		.f_to_kind(Kind::Float)?
		.f_mean(Kind::Float)?
		.f_double_value(&[])?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
	use super::*;

	#[test]
	fn spec_hash_is_canonical_and_distinguishes_specs() {
		let a = ModelSpec::Mlp { inputs: 64, hidden: vec![32], classes: 10 };
		let b = ModelSpec::Mlp { inputs: 64, hidden: vec![32, 0], classes: 10 };
		let c = ModelSpec::Cnn { side: 8, channels: [8, 16], classes: 10 };
		assert_eq!(a.hash(), a.clone().hash());
		assert_ne!(a.hash(), b.hash());
		assert_ne!(a.hash(), c.hash());
		// JSON round trip keeps the hash.
		let json = serde_json::to_string(&c).unwrap();
		assert_eq!(serde_json::from_str::<ModelSpec>(&json).unwrap().hash(), c.hash());
		assert!(b.build().is_err());
	}

	#[test]
	fn models_produce_logits_and_deterministic_init() {
		for spec in [
			ModelSpec::Mlp { inputs: 64, hidden: vec![16], classes: 10 },
			ModelSpec::Cnn { side: 8, channels: [4, 8], classes: 10 },
		] {
			let model = spec.build().unwrap();
			let p1 = model.init(7).unwrap();
			let p2 = model.init(7).unwrap();
			let p3 = model.init(8).unwrap();
			for (name, t) in &p1 {
				assert!(t.equal(&p2[name]), "{name}");
				assert!(!t.equal(&p3[name]), "{name}");
			}
			let logits = model
				.forward(&p1, &Tensor::zeros([5, 64], (Kind::Float, tch::Device::Cpu)))
				.unwrap();
			assert_eq!(logits.size(), vec![5, 10]);
		}
	}

	#[test]
	fn transformer_shapes_init_and_causality() {
		let spec = ModelSpec::Transformer { context: 6, dim: 8, heads: 2, layers: 2 };
		assert_ne!(
			spec.hash(),
			ModelSpec::Transformer { context: 6, dim: 8, heads: 2, layers: 1 }.hash()
		);
		assert!(ModelSpec::Transformer { context: 6, dim: 8, heads: 3, layers: 1 }
			.build()
			.is_err());
		let model = spec.build().unwrap();
		let p = model.init(1).unwrap();
		assert_eq!(p["tok_emb"].size(), vec![256, 8]);
		assert_eq!(p["b1.fc1.weight"].size(), vec![32, 8]);
		assert!(p["b0.ln1.weight"].equal(&Tensor::ones([8], (Kind::Float, tch::Device::Cpu))));
		assert!(p["ln_f.bias"].equal(&Tensor::zeros([8], (Kind::Float, tch::Device::Cpu))));
		let bytes: Vec<f32> = b"abcdefgabcdxyz".iter().map(|&b| f32::from(b) / 255.0).collect();
		let xs = Tensor::from_slice(&bytes).reshape([2, 7]);
		let labels = Tensor::from_slice(&[103i64, 122]);
		assert_eq!(model.forward(&p, &xs).unwrap().size(), vec![2, 256]);
		assert!(model.loss(&p, &xs, &labels).unwrap().double_value(&[]) > 4.0);
		// Causal: the logits at position 3 do not depend on later bytes.
		let t = Transformer { context: 6, dim: 8, heads: 2, layers: 2 };
		let ids = t.ids(&xs).unwrap();
		let logits = t.logits(&p, &ids).unwrap();
		assert!(logits.get(0).get(3).allclose(&logits.get(1).get(3), 1e-6, 1e-6, false));
		assert!(!logits.get(0).get(5).allclose(&logits.get(1).get(5), 1e-6, 1e-6, false));
		assert!(model
			.forward(&p, &Tensor::zeros([2, 6], (Kind::Float, tch::Device::Cpu)))
			.is_err());
	}
}
