//! The one training loop, shared by the provider (training) and the verifier (re-execution).
//!
//! Step `t` (from 0) trains on minibatch `t` of the provider's chunk ([`Minibatches`]) and is
//! optimizer step `t + 1`. The loop is a pure function of (checkpoint, task, dataset): nothing
//! is drawn from torch's random generator and there is no dropout.

use crate::{
	checkpoint::Checkpoint,
	data::{Dataset, Samples},
	error::{Error, Result},
	model::Model,
	optim::{apply, zero_grad, OptimizerConfig},
	task::TrainTask,
};
use pot_pol_core::assign::{chunk_of, Minibatches};
use std::collections::HashMap;
use tch::{Device, Tensor};

/// What running some steps produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepLog {
	/// Training loss of each step, before its update.
	pub losses: Vec<f32>,
	/// Sample indices of each step.
	pub batches: Vec<Vec<u32>>,
}

/// A provider's round: model, optimizer, its data chunk and minibatch order.
pub struct Session {
	/// The model.
	pub model: Box<dyn Model>,
	/// The optimizer.
	pub optimizer: OptimizerConfig,
	/// The chunk's samples, in chunk order.
	xs: Tensor,
	ys: Tensor,
	/// Row of `xs` of each sample index of the chunk.
	rows: HashMap<u32, i64>,
	batches: Minibatches,
}

impl Session {
	/// Prepares `task` on `train` (the whole training split or the provider's chunk), checked
	/// against the task's dataset hash and sample count; every sample of the provider's chunk
	/// must be there.
	pub fn new(task: &TrainTask, train: &dyn Samples, device: Device) -> Result<Self> {
		task.validate()?;
		if train.dataset_hash() != task.dataset.0 || train.total() != u64::from(task.samples) {
			return Err(Error::Task(
				"the dataset does not match the task's dataset hash and sample count".into(),
			));
		}
		let chunk =
			chunk_of(&task.round.key(), task.samples, &task.round.capacities, task.round.provider)?;
		let held = chunk
			.iter()
			.map(|&i| {
				train.row_of(i).ok_or_else(|| {
					Error::Task(format!("sample {i} of the provider's chunk is not here"))
				})
			})
			.collect::<Result<Vec<usize>>>()?;
		let rows = chunk.iter().zip(0i64..).map(|(&i, row)| (i, row)).collect();
		let (xs, ys) = train.held().subset(&held)?.tensors(device)?;
		let batches =
			Minibatches::new(&task.round.key(), task.round.provider, chunk, task.batch_size)?;
		Ok(Self { model: task.model.build_on(device)?, optimizer: task.optimizer, xs, ys, rows, batches })
	}

	/// The sample indices of step `step`.
	pub fn batch(&mut self, step: u64) -> Result<Vec<u32>> {
		Ok(self.batches.batch(step)?)
	}

	/// The device the session computes on.
	pub fn device(&self) -> Device {
		self.xs.device()
	}

	/// Runs steps `checkpoint.step .. end` on `checkpoint` (on [`Self::device`]) in place.
	pub fn run(&mut self, checkpoint: &mut Checkpoint, end: u64) -> Result<StepLog> {
		let mut log = StepLog::default();
		while checkpoint.step < end {
			let batch = self.batch(checkpoint.step)?;
			let index = batch
				.iter()
				.map(|i| {
					self.rows.get(i).copied().ok_or_else(|| {
						Error::Task(format!("minibatch sample {i} is not in the chunk"))
					})
				})
				.collect::<Result<Vec<i64>>>()?;
			let index = Tensor::f_from_slice(&index)?.f_to_device(self.xs.device())?;
			let x = self.xs.f_index_select(0, &index)?;
			let y = self.ys.f_index_select(0, &index)?;
			zero_grad(&mut checkpoint.params)?;
			let loss = self.model.loss(&checkpoint.params, &x, &y)?;
			loss.f_backward()?;
			let next = checkpoint
				.step
				.checked_add(1)
				.ok_or_else(|| Error::Task("step overflow".into()))?;
			apply(&self.optimizer, &mut checkpoint.params, &mut checkpoint.state, next)?;
			checkpoint.step = next;
			log.losses.push(loss.f_double_value(&[])? as f32);
			log.batches.push(batch);
		}
		Ok(log)
	}
}

/// Loss ([`Model::loss`]) and accuracy (of [`Model::forward`]) of `params` on `data`,
/// computed on the device the parameters are on.
pub fn evaluate(
	model: &dyn Model,
	params: &crate::model::Params,
	data: &Dataset,
) -> Result<(f64, f64)> {
	let _guard = tch::no_grad_guard();
	let device = params.values().next().map_or(Device::Cpu, Tensor::device);
	let (xs, ys) = data.tensors(device)?;
	let logits = model.forward(params, &xs)?;
	Ok((model.loss(params, &xs, &ys)?.f_double_value(&[])?, crate::model::accuracy(&logits, &ys)?))
}
