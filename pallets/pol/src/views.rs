//! Read-only helpers for the trainer, the verifier and a future runtime API.

use crate::{Config, Pallet, Position, Runs};
use alloc::vec::Vec;
use pot_pol_core::assign::RoundKey;
use pot_primitives::{ContentHash, OrderId};

/// What a provider needs to train its part of the current round of an order: the trainer's
/// `RoundContext` (order, round, seed, capacities, position) plus its chunk size and the
/// round's starting weights.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProviderRound<BlockNumber> {
	/// `pot_pol_core` key of the round: chunks and minibatch order follow from it.
	pub key: RoundKey,
	/// Capacities of all participants, in position order (the input of
	/// `pot_pol_core::assign::chunks`).
	pub capacities: Vec<u64>,
	/// The provider's position.
	pub position: Position,
	/// Samples of its chunk.
	pub samples: u32,
	/// Hash of the weights the round starts from.
	pub weights: ContentHash,
	/// Last block in which its commitment is accepted.
	pub commit_deadline: BlockNumber,
}

impl<T: Config> Pallet<T> {
	/// The current round of `order` as `provider` must train it, if it takes part and a round
	/// is open.
	pub fn provider_round(
		order: OrderId,
		provider: &T::AccountId,
	) -> Option<ProviderRound<polkadot_sdk::frame_system::pallet_prelude::BlockNumberFor<T>>> {
		let run = Runs::<T>::get(order)?;
		if run.closing.is_some() {
			return None;
		}
		let (position, participant) =
			run.participants.iter().enumerate().find(|(_, p)| p.provider == *provider)?;
		Some(ProviderRound {
			key: RoundKey { order: order.0, round: run.round.index, seed: run.round.seed.0 },
			capacities: run.participants.iter().map(|p| p.capacity.0).collect(),
			position: Position::try_from(position).ok()?,
			samples: participant.samples,
			weights: run.round.weights,
			commit_deadline: run.round.commit_deadline,
		})
	}
}
