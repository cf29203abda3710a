//! Optimizers whose state the trainer owns, so a checkpoint holds everything needed to
//! re-execute the next steps exactly (tch's built-in optimizers hide their state).
//!
//! Hyper-parameters are fixed-point integers with 9 decimals, like the chain's `FixedU64`
//! (`learning_rate: 1_000_000` is 0.001), so a task is hashed and compared exactly; they become
//! `f64` only when applied. Update rules (gradients `g`, step `t` counted from 1):
//! - SGD: `p ← p − lr·g`.
//! - SGD with momentum (PyTorch's form, `buf` starts at 0): `buf ← μ·buf + g; p ← p − lr·buf`.
//! - Adam: `m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
//!   p ← p − lr·(m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + ε)`.
//! - AdamW: Adam after `p ← p − lr·wd·p`.
//!
//! `βᵗ` is computed by exponentiation by squaring in `f64` (exact IEEE multiplications), not by
//! `powf`, whose last bit may differ between math libraries.

use crate::{
	error::{Error, Result},
	model::Params,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::Tensor;

/// A fixed-point number with 9 decimals.
pub type Fixed9 = u64;

/// 1.0 as [`Fixed9`].
pub const ONE: Fixed9 = 1_000_000_000;

fn real(x: Fixed9) -> f64 {
	x as f64 / ONE as f64
}

/// The optimizer kind (the `TaskSpec`'s `OptimizerKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
	/// Plain SGD.
	Sgd,
	/// SGD with momentum.
	SgdMomentum,
	/// Adam.
	Adam,
	/// Adam with decoupled weight decay.
	AdamW,
}

/// Optimizer and its hyper-parameters, all fixed-point with 9 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptimizerConfig {
	/// Which optimizer.
	pub kind: OptimizerKind,
	/// Learning rate.
	pub learning_rate: Fixed9,
	/// Momentum μ (SGD with momentum).
	#[serde(default = "default_momentum")]
	pub momentum: Fixed9,
	/// β1 (Adam, AdamW).
	#[serde(default = "default_beta1")]
	pub beta1: Fixed9,
	/// β2 (Adam, AdamW).
	#[serde(default = "default_beta2")]
	pub beta2: Fixed9,
	/// ε (Adam, AdamW).
	#[serde(default = "default_eps")]
	pub eps: Fixed9,
	/// Decoupled weight decay (AdamW).
	#[serde(default)]
	pub weight_decay: Fixed9,
}

fn default_momentum() -> Fixed9 {
	900_000_000
}
fn default_beta1() -> Fixed9 {
	900_000_000
}
fn default_beta2() -> Fixed9 {
	999_000_000
}
fn default_eps() -> Fixed9 {
	10
}

impl OptimizerConfig {
	/// `kind` with learning rate `learning_rate` and the usual defaults (μ 0.9, β 0.9/0.999,
	/// ε 1e-8, no weight decay).
	pub fn new(kind: OptimizerKind, learning_rate: Fixed9) -> Self {
		Self {
			kind,
			learning_rate,
			momentum: default_momentum(),
			beta1: default_beta1(),
			beta2: default_beta2(),
			eps: default_eps(),
			weight_decay: 0,
		}
	}

	/// The names of the state tensors kept per parameter, in canonical order.
	pub fn slots(&self) -> &'static [&'static str] {
		match self.kind {
			OptimizerKind::Sgd => &[],
			OptimizerKind::SgdMomentum => &["momentum"],
			OptimizerKind::Adam | OptimizerKind::AdamW => &["exp_avg", "exp_avg_sq"],
		}
	}

	/// Checks the hyper-parameters are usable.
	pub fn validate(&self) -> Result<()> {
		let unit = |v: Fixed9, what: &str| {
			if v >= ONE {
				Err(Error::Task(format!("{what} must be below 1")))
			} else {
				Ok(())
			}
		};
		if self.learning_rate == 0 {
			return Err(Error::Task("learning rate is 0".into()));
		}
		unit(self.momentum, "momentum")?;
		unit(self.beta1, "beta1")?;
		unit(self.beta2, "beta2")?;
		if matches!(self.kind, OptimizerKind::Adam | OptimizerKind::AdamW) && self.eps == 0 {
			return Err(Error::Task("eps is 0".into()));
		}
		Ok(())
	}
}

/// Optimizer state: per slot, per parameter name, a tensor shaped like the parameter.
pub type OptimizerState = BTreeMap<String, BTreeMap<String, Tensor>>;

/// Fresh (zero) state for `params`.
pub fn zero_state(config: &OptimizerConfig, params: &Params) -> Result<OptimizerState> {
	let mut state = OptimizerState::new();
	for slot in config.slots() {
		let mut per_param = BTreeMap::new();
		for (name, p) in params {
			per_param.insert(name.clone(), p.f_zeros_like()?.f_detach()?);
		}
		state.insert((*slot).to_owned(), per_param);
	}
	Ok(state)
}

fn pow_u64(base: f64, mut exp: u64) -> f64 {
	let (mut acc, mut b) = (1.0f64, base);
	while exp > 0 {
		if exp & 1 == 1 {
			acc *= b;
		}
		b *= b;
		exp >>= 1;
	}
	acc
}

fn slot<'a>(state: &'a mut OptimizerState, slot: &str, name: &str) -> Result<&'a mut Tensor> {
	state
		.get_mut(slot)
		.and_then(|s| s.get_mut(name))
		.ok_or_else(|| Error::Checkpoint(format!("missing optimizer state {slot}/{name}")))
}

/// Applies one update to `params` from their gradients; `step` is the 1-based step number.
pub fn apply(
	config: &OptimizerConfig,
	params: &mut Params,
	state: &mut OptimizerState,
	step: u64,
) -> Result<()> {
	let _guard = tch::no_grad_guard();
	let lr = real(config.learning_rate);
	for (name, p) in params.iter_mut() {
		let g = p.f_grad()?;
		if !g.defined() {
			return Err(Error::Checkpoint(format!("no gradient for {name}")));
		}
		match config.kind {
			OptimizerKind::Sgd => {
				let _ = p.f_sub_(&g.f_mul_scalar(lr)?)?;
			}
			OptimizerKind::SgdMomentum => {
				let buf = slot(state, "momentum", name)?;
				let _ = buf.f_mul_scalar_(real(config.momentum))?;
				let _ = buf.f_add_(&g)?;
				let _ = p.f_sub_(&buf.f_mul_scalar(lr)?)?;
			}
			OptimizerKind::Adam | OptimizerKind::AdamW => {
				let (b1, b2) = (real(config.beta1), real(config.beta2));
				if config.kind == OptimizerKind::AdamW && config.weight_decay > 0 {
					let _ = p.f_mul_scalar_(1.0 - lr * real(config.weight_decay))?;
				}
				let m = slot(state, "exp_avg", name)?;
				let _ = m.f_mul_scalar_(b1)?;
				let _ = m.f_add_(&g.f_mul_scalar(1.0 - b1)?)?;
				let m_hat = m.f_div_scalar(1.0 - pow_u64(b1, step))?;
				let v = slot(state, "exp_avg_sq", name)?;
				let _ = v.f_mul_scalar_(b2)?;
				let _ = v.f_add_(&g.f_square()?.f_mul_scalar(1.0 - b2)?)?;
				let denom = v
					.f_div_scalar(1.0 - pow_u64(b2, step))?
					.f_sqrt()?
					.f_add_scalar(real(config.eps))?;
				let _ = p.f_sub_(&m_hat.f_div(&denom)?.f_mul_scalar(lr)?)?;
			}
		}
	}
	Ok(())
}

/// Clears the gradients of `params` before the next backward pass.
pub fn zero_grad(params: &mut Params) -> Result<()> {
	for p in params.values_mut() {
		let mut g = p.f_grad()?;
		if g.defined() {
			let _ = g.f_detach_()?;
			let _ = g.f_zero_()?;
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn pow_by_squaring_matches_repeated_multiplication() {
		for t in 0..50u64 {
			let mut slow = 1.0f64;
			for _ in 0..t {
				slow *= 0.999;
			}
			assert!((pow_u64(0.999, t) - slow).abs() < 1e-12);
		}
		assert_eq!(pow_u64(0.5, 3), 0.125);
	}

	#[test]
	fn validation() {
		assert!(OptimizerConfig::new(OptimizerKind::Adam, 1_000_000).validate().is_ok());
		assert!(OptimizerConfig::new(OptimizerKind::Adam, 0).validate().is_err());
		let mut c = OptimizerConfig::new(OptimizerKind::SgdMomentum, 1);
		c.momentum = ONE;
		assert!(c.validate().is_err());
	}
}
