//! Built-in model architectures behind one trait.
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
		}
		out
	}

	/// The content hash of the spec.
	pub fn hash(&self) -> Hash {
		blake2_256(&self.encode())
	}

	/// The model.
	pub fn build(&self) -> Result<Box<dyn Model>> {
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
		}
	}
}

/// A model: parameter shapes, initialisation and the forward pass.
pub trait Model {
	/// Parameter names and shapes.
	fn shapes(&self) -> Vec<(String, Vec<i64>)>;

	/// Logits `[batch, classes]` for features `[batch, inputs]`.
	fn forward(&self, params: &Params, xs: &Tensor) -> Result<Tensor>;

	/// Initial parameters: every tensor uniform in `±1/sqrt(fan_in)` (PyTorch's default bound
	/// for linear and convolution layers), drawn from a stream seeded with `seed`.
	fn init(&self, seed: u64) -> Result<Params> {
		let mut rng = SeededRng::new(b"pot/model/init/v1", &seed.to_le_bytes());
		let mut params = Params::new();
		for (name, shape) in self.shapes() {
			let numel =
				shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?));
			let numel =
				numel.ok_or_else(|| Error::Model(format!("{name}: shape {shape:?} too large")))?;
			let fan_in = if shape.len() > 1 { shape.iter().skip(1).product::<i64>() } else { 0 };
			// A bias takes the fan-in of its weight, the tensor before it in `shapes`.
			let fan_in = if fan_in > 0 { fan_in } else { self.bias_fan_in(&name) };
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
}
