//! Checkpoints: weights + optimizer state after a given step, their canonical hash and their
//! safetensors file.
//!
//! Canonical encoding (hashed with BLAKE2b-256):
//! `"pot/checkpoint/v1" ‖ step u64 ‖ count u32 ‖ tensor…`, the tensors being the parameters in
//! name order, then each optimizer slot (in [`OptimizerConfig::slots`] order) in parameter-name
//! order; one tensor is `len u32 ‖ name ‖ ndim u32 ‖ dims u64… ‖ f32 values LE`, named
//! `param/<name>` or `<slot>/<name>`. All integers are little-endian. The weights alone hash as
//! `"pot/weights/v1" ‖ count u32 ‖ parameter tensors` (an order's `initial_weights`, a
//! submission's final weights). Only `f32` tensors are accepted.
//!
//! The file holds the same named tensors plus `meta/step` (an `i64` scalar).

use crate::{
	error::{Error, Result},
	model::{Model, Params},
	optim::{zero_state, OptimizerConfig, OptimizerState},
};
use pot_pol_core::{Hash, Hasher};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// The state after `step` optimizer steps.
#[derive(Debug)]
pub struct Checkpoint {
	/// Optimizer steps done so far in this round.
	pub step: u64,
	/// Model parameters.
	pub params: Params,
	/// Optimizer state.
	pub state: OptimizerState,
}

/// A tensor's values as `f32` on the host, in row-major order.
pub fn values(t: &Tensor) -> Result<Vec<f32>> {
	if t.f_kind()? != Kind::Float {
		return Err(Error::Checkpoint(format!("tensor of kind {:?}, expected f32", t.f_kind()?)));
	}
	Ok(Vec::<f32>::try_from(
		&t.f_detach()?.f_to_device(Device::Cpu)?.f_contiguous()?.f_flatten(0, -1)?,
	)?)
}

fn put_tensor(h: &mut Hasher, name: &str, t: &Tensor) -> Result<()> {
	h.update(&u32::try_from(name.len()).unwrap_or(u32::MAX).to_le_bytes());
	h.update(name.as_bytes());
	let dims = t.size();
	h.update(&u32::try_from(dims.len()).unwrap_or(u32::MAX).to_le_bytes());
	for d in dims {
		h.update(&(d as u64).to_le_bytes());
	}
	let mut bytes = Vec::new();
	for v in values(t)? {
		bytes.extend_from_slice(&v.to_le_bytes());
	}
	h.update(&bytes);
	Ok(())
}

/// Hash of the weights alone.
pub fn weights_hash(params: &Params) -> Result<Hash> {
	let mut h = Hasher::new();
	h.update(b"pot/weights/v1");
	h.update(&u32::try_from(params.len()).unwrap_or(u32::MAX).to_le_bytes());
	for (name, t) in params {
		put_tensor(&mut h, &format!("param/{name}"), t)?;
	}
	Ok(h.finalize())
}

/// All parameters, concatenated in canonical order, as host `f32`s.
pub fn flat_params(params: &Params) -> Result<Vec<f32>> {
	let mut out = Vec::new();
	for t in params.values() {
		out.extend(values(t)?);
	}
	Ok(out)
}

/// `t`'s values on the host, detached (files are written from host memory).
fn on_host(t: &Tensor) -> Result<Tensor> {
	Ok(t.f_detach()?.f_to_device(Device::Cpu)?)
}

/// `tensors` detached and on `device` (a no-op copy on the device they are already on).
fn detached_on(tensors: Params, device: Device) -> Result<Params> {
	tensors.into_iter().map(|(name, t)| Ok((name, t.f_detach()?.f_to_device(device)?))).collect()
}

/// `params` on `device`, as fresh leaves that record gradients (a no-op copy on the device
/// they are already on).
pub fn params_to(params: Params, device: Device) -> Result<Params> {
	Ok(detached_on(params, device)?
		.into_iter()
		.map(|(name, t)| (name, t.set_requires_grad(true)))
		.collect())
}

impl Checkpoint {
	/// The checkpoint on `device`: its parameters as leaves recording gradients, its
	/// optimizer state as plain tensors.
	pub fn to_device(self, device: Device) -> Result<Self> {
		let state = self
			.state
			.into_iter()
			.map(|(slot, per_param)| Ok((slot, detached_on(per_param, device)?)))
			.collect::<Result<_>>()?;
		Ok(Self { step: self.step, params: params_to(self.params, device)?, state })
	}

	/// The checkpoint before the first step: `params` and zero optimizer state.
	pub fn initial(config: &OptimizerConfig, params: Params) -> Result<Self> {
		let state = zero_state(config, &params)?;
		Ok(Self { step: 0, params, state })
	}

	/// The named tensors in canonical order.
	fn named(&self) -> Vec<(String, &Tensor)> {
		let mut out: Vec<(String, &Tensor)> =
			self.params.iter().map(|(n, t)| (format!("param/{n}"), t)).collect();
		for (slot, per_param) in &self.state {
			out.extend(per_param.iter().map(|(n, t)| (format!("{slot}/{n}"), t)));
		}
		out
	}

	/// The canonical hash. The state map is ordered by slot name; [`OptimizerConfig::slots`]
	/// lists the slots of each optimizer in that same (alphabetical) order.
	pub fn hash(&self) -> Result<Hash> {
		let named = self.named();
		let mut h = Hasher::new();
		h.update(b"pot/checkpoint/v1");
		h.update(&self.step.to_le_bytes());
		h.update(&u32::try_from(named.len()).unwrap_or(u32::MAX).to_le_bytes());
		for (name, t) in named {
			put_tensor(&mut h, &name, t)?;
		}
		Ok(h.finalize())
	}

	/// Writes the checkpoint as safetensors.
	pub fn save(&self, path: &Path) -> Result<()> {
		let step = Tensor::f_from_slice(&[
			i64::try_from(self.step).map_err(|_| Error::Checkpoint("step too large".into()))?
		])?;
		let mut tensors = self
			.named()
			.into_iter()
			.map(|(n, t)| Ok((n, on_host(t)?)))
			.collect::<Result<Vec<(String, Tensor)>>>()?;
		tensors.push(("meta/step".into(), step));
		Tensor::write_safetensors(&tensors, path)?;
		Ok(())
	}

	/// Reads a checkpoint of `model` trained with `config`; every expected tensor must be there
	/// with its shape, and nothing else.
	pub fn load(path: &Path, model: &dyn Model, config: &OptimizerConfig) -> Result<Self> {
		let mut tensors: std::collections::BTreeMap<String, Tensor> =
			Tensor::read_safetensors(path)?.into_iter().collect();
		let step = tensors
			.remove("meta/step")
			.ok_or_else(|| Error::Checkpoint(format!("{}: no meta/step", path.display())))?;
		let step = u64::try_from(step.f_int64_value(&[0])?)
			.map_err(|_| Error::Checkpoint("negative step".into()))?;
		let mut take = |name: String, shape: &[i64]| -> Result<Tensor> {
			let t = tensors.remove(&name).ok_or_else(|| {
				Error::Checkpoint(format!("{}: no tensor {name}", path.display()))
			})?;
			if t.size() != shape || t.f_kind()? != Kind::Float {
				return Err(Error::Checkpoint(format!(
					"{}: {name} is {:?} {:?}, expected f32 {shape:?}",
					path.display(),
					t.f_kind()?,
					t.size()
				)));
			}
			Ok(t)
		};
		let shapes = model.shapes();
		let mut params = Params::new();
		for (name, shape) in &shapes {
			params.insert(
				name.clone(),
				take(format!("param/{name}"), shape)?.set_requires_grad(true),
			);
		}
		let mut state = OptimizerState::new();
		for slot in config.slots() {
			let mut per_param = std::collections::BTreeMap::new();
			for (name, shape) in &shapes {
				per_param.insert(name.clone(), take(format!("{slot}/{name}"), shape)?);
			}
			state.insert((*slot).to_owned(), per_param);
		}
		if let Some(extra) = tensors.keys().next() {
			return Err(Error::Checkpoint(format!(
				"{}: unexpected tensor {extra}",
				path.display()
			)));
		}
		Ok(Self { step, params, state })
	}
}

/// Writes weights alone (initial or final weights) as safetensors.
pub fn save_weights(params: &Params, path: &Path) -> Result<()> {
	let tensors = params
		.iter()
		.map(|(n, t)| Ok((n.clone(), on_host(t)?)))
		.collect::<Result<Vec<(String, Tensor)>>>()?;
	Tensor::write_safetensors(&tensors, path)?;
	Ok(())
}

/// Reads weights of `model` written by [`save_weights`].
pub fn load_weights(path: &Path, model: &dyn Model) -> Result<Params> {
	let mut tensors: std::collections::BTreeMap<String, Tensor> =
		Tensor::read_safetensors(path)?.into_iter().collect();
	let mut params = Params::new();
	for (name, shape) in model.shapes() {
		let t = tensors
			.remove(&name)
			.ok_or_else(|| Error::Checkpoint(format!("{}: no tensor {name}", path.display())))?;
		if t.size() != shape || t.f_kind()? != Kind::Float {
			return Err(Error::Checkpoint(format!(
				"{}: {name} has the wrong shape or kind",
				path.display()
			)));
		}
		params.insert(name, t.set_requires_grad(true));
	}
	if let Some(extra) = tensors.keys().next() {
		return Err(Error::Checkpoint(format!("{}: unexpected tensor {extra}", path.display())));
	}
	Ok(params)
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used)]
	use super::*;
	use crate::{
		model::ModelSpec,
		optim::{OptimizerKind, ONE},
	};

	#[test]
	fn a_checkpoint_moved_between_devices_keeps_its_hash_and_its_file() {
		let model = ModelSpec::Mlp { inputs: 4, hidden: vec![3], classes: 2 }.build().unwrap();
		let config = OptimizerConfig::new(OptimizerKind::Adam, ONE / 100);
		let mut checkpoint = Checkpoint::initial(&config, model.init(7).unwrap()).unwrap();
		for t in checkpoint.state.values_mut().flat_map(|s| s.values_mut()) {
			let _ = t.f_fill_(0.25).unwrap();
		}
		let hash = checkpoint.hash().unwrap();
		let moved = checkpoint.to_device(Device::Cpu).unwrap();
		assert_eq!(moved.hash().unwrap(), hash);
		assert!(moved.params.values().all(|p| p.requires_grad() && p.is_leaf()));
		assert!(moved.state.values().flat_map(|s| s.values()).all(|t| !t.requires_grad()));
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("c.safetensors");
		moved.save(&path).unwrap();
		assert_eq!(Checkpoint::load(&path, model.as_ref(), &config).unwrap().hash().unwrap(), hash);
	}
}
