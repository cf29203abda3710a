//! The trainer's error type.

use std::path::PathBuf;

/// What can go wrong while training, checkpointing or verifying.
#[derive(Debug, thiserror::Error)]
pub enum Error {
	/// libtorch reported an error.
	#[error("libtorch: {0}")]
	Torch(#[from] tch::TchError),
	/// Reading or writing a file failed.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: PathBuf,
		/// The I/O error.
		source: std::io::Error,
	},
	/// A JSON document is malformed.
	#[error("{path}: {source}")]
	Json {
		/// The file.
		path: PathBuf,
		/// The parse error.
		source: serde_json::Error,
	},
	/// A dataset file is malformed.
	#[error("dataset: {0}")]
	Dataset(String),
	/// A model spec cannot be built.
	#[error("model spec: {0}")]
	Model(String),
	/// The task is not well formed.
	#[error("task: {0}")]
	Task(String),
	/// A checkpoint does not have the tensors its model and optimizer need.
	#[error("checkpoint: {0}")]
	Checkpoint(String),
	/// Data assignment or minibatch order failed.
	#[error("assignment: {0:?}")]
	Assign(pot_pol_core::assign::AssignError),
	/// Checkpoint schedule, Merkle tree or segment selection failed.
	#[error("proof of learning: {0}")]
	Pol(String),
	/// Updates cannot be aggregated (no updates, mismatched sizes, bad rule parameters).
	#[error("aggregation: {0}")]
	Aggregate(String),
	/// A compressed update is malformed, oversized or cannot be made.
	#[error("compressed update: {0}")]
	Compress(String),
	/// The requested device cannot run work here.
	#[error("device: {0}")]
	Device(String),
	/// A proof bundle is malformed or above its size limit.
	#[error("proof bundle: {0}")]
	Bundle(String),
}

impl Error {
	/// An I/O error on `path`.
	pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
		Self::Io { path: path.into(), source }
	}
}

impl From<pot_pol_core::assign::AssignError> for Error {
	fn from(e: pot_pol_core::assign::AssignError) -> Self {
		Self::Assign(e)
	}
}

/// Result with the trainer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
