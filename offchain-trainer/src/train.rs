//! The one training loop, shared by the provider (training) and the verifier (re-execution).
//!
//! Step `t` (from 0) trains on minibatch `t` of the provider's chunk ([`Minibatches`]) and is
//! optimizer step `t + 1`. The loop is a pure function of (checkpoint, task, dataset): nothing
//! is drawn from torch's random generator and there is no dropout.

use crate::{
	checkpoint::Checkpoint,
	data::Dataset,
	error::{Error, Result},
	model::Model,
	optim::{apply, zero_grad, OptimizerConfig},
	task::TrainTask,
};
use pot_pol_core::assign::{chunk_of, Minibatches};
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
	xs: Tensor,
	ys: Tensor,
	batches: Minibatches,
}

impl Session {
	/// Prepares `task` on the training set `train` (checked against the task's dataset hash).
	pub fn new(task: &TrainTask, train: &Dataset, device: Device) -> Result<Self> {
		task.validate()?;
		if train.hash() != task.dataset.0 || train.len() != task.samples as usize {
			return Err(Error::Task(
				"the dataset does not match the task's dataset hash and sample count".into(),
			));
		}
		let chunk =
			chunk_of(&task.round.key(), task.samples, &task.round.capacities, task.round.provider)?;
		let batches =
			Minibatches::new(&task.round.key(), task.round.provider, chunk, task.batch_size)?;
		let (xs, ys) = train.tensors(device)?;
		Ok(Self { model: task.model.build()?, optimizer: task.optimizer, xs, ys, batches })
	}

	/// The sample indices of step `step`.
	pub fn batch(&mut self, step: u64) -> Result<Vec<u32>> {
		Ok(self.batches.batch(step)?)
	}

	/// Runs steps `checkpoint.step .. end` on `checkpoint` in place.
	pub fn run(&mut self, checkpoint: &mut Checkpoint, end: u64) -> Result<StepLog> {
		let mut log = StepLog::default();
		while checkpoint.step < end {
			let batch = self.batch(checkpoint.step)?;
			let index: Vec<i64> = batch.iter().map(|&i| i64::from(i)).collect();
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

/// Loss ([`Model::loss`]) and accuracy (of [`Model::forward`]) of `params` on `data`.
pub fn evaluate(
	model: &dyn Model,
	params: &crate::model::Params,
	data: &Dataset,
) -> Result<(f64, f64)> {
	let _guard = tch::no_grad_guard();
	let (xs, ys) = data.tensors(Device::Cpu)?;
	let logits = model.forward(params, &xs)?;
	Ok((model.loss(params, &xs, &ys)?.f_double_value(&[])?, crate::model::accuracy(&logits, &ys)?))
}
