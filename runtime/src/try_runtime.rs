//! try-runtime entry points. The try-runtime API has no error channel: a failed migration or
//! `try_state` check must abort the dry run loudly, which is what the tool reports.
#![allow(clippy::expect_used)]

use crate::{configs::RuntimeBlockWeights, Block, Executive};
use polkadot_sdk::{
	frame_support::weights::Weight,
	frame_try_runtime::{TryStateSelect, UpgradeCheckSelect},
	sp_runtime::traits::Block as BlockT,
};

/// Runs the runtime's migrations with the selected checks; returns (used, max block) weight.
pub fn on_runtime_upgrade(checks: UpgradeCheckSelect) -> (Weight, Weight) {
	let weight = Executive::try_runtime_upgrade(checks).expect("runtime upgrade checks failed");
	(weight, RuntimeBlockWeights::get().max_block)
}

/// Executes `block` with optional state-root, signature and `try_state` checks.
pub fn execute_block(
	block: <Block as BlockT>::LazyBlock,
	state_root_check: bool,
	signature_check: bool,
	select: TryStateSelect,
) -> Weight {
	Executive::try_execute_block(block, state_root_check, signature_check, select)
		.expect("try_execute_block failed")
}
