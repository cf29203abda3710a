//! Sample values for tests and benchmarks (feature `fixtures`, also on with
//! `runtime-benchmarks`). Never used by the runtime's logic.

use crate::{
	AggregationRule, ContentHash, HyperParams, OptimizerKind, PolParams, TaskSpec, ToleranceClass,
	UpdateEncoding,
};
use polkadot_sdk::sp_runtime::FixedU64;

/// A valid task of `rounds` rounds of `local_steps` SGD steps each, one checkpoint per step, one
/// verification sample, bitwise-exact tolerance, mean aggregation. With one provider it is
/// `rounds × local_steps` work units.
pub fn sample_task(rounds: u32, local_steps: u32) -> TaskSpec {
	TaskSpec {
		model: ContentHash::repeat_byte(1),
		initial_weights: ContentHash::repeat_byte(2),
		dataset: ContentHash::repeat_byte(3),
		samples: 1_000,
		hyper: HyperParams {
			optimizer: OptimizerKind::Sgd,
			learning_rate: FixedU64::from_rational(1, 100),
			batch_size: 32,
			local_steps,
			rounds,
		},
		pol: PolParams {
			checkpoint_interval: 1,
			verification_samples: 1,
			tolerance: ToleranceClass::BitwiseExact,
		},
		aggregation: AggregationRule::Mean,
		update: UpdateEncoding::Dense,
	}
}
