//! Data assignment (PROTOCOL.md step 3) and minibatch order (step 4).
//!
//! - **Chunk sizes**: the round's `samples` are split in proportion to the providers'
//!   capacities by the largest-remainder method: provider `p` gets
//!   `floor(samples · cap_p / Σcap)`, and the samples left over go one each to the providers with
//!   the largest remainders `samples · cap_p mod Σcap` (ties: lower position first). Capacity 0
//!   gets nothing. Exact integer arithmetic in `u128`.
//! - **Chunks**: the sample indices `0..samples` are permuted by a stream seeded with
//!   `(order, round, seed)`; provider `p` (in list order) takes the next `size_p` indices.
//! - **Minibatches**: a provider's chunk is read epoch after epoch, each epoch in its own
//!   permutation seeded with `(order, round, seed, provider, epoch)`; step `t` takes positions
//!   `t·B .. (t+1)·B` of that endless stream, so a batch may straddle two epochs.

use crate::{hash::Hash, rng::SeededRng};
use alloc::vec::Vec;

const CHUNK_DOMAIN: &[u8] = b"pot/pol/assign/chunks/v1";
const BATCH_DOMAIN: &[u8] = b"pot/pol/assign/batches/v1";

/// What fixes a round's assignment and data order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RoundKey {
	/// The order id.
	pub order: u64,
	/// The round, from 0.
	pub round: u32,
	/// The round's public seed.
	pub seed: Hash,
}

impl RoundKey {
	/// `order (u64 LE) ‖ round (u32 LE) ‖ seed`.
	pub fn encode(&self) -> [u8; 44] {
		let mut out = [0u8; 44];
		let (order, rest) = out.split_at_mut(8);
		let (round, seed) = rest.split_at_mut(4);
		order.copy_from_slice(&self.order.to_le_bytes());
		round.copy_from_slice(&self.round.to_le_bytes());
		seed.copy_from_slice(&self.seed);
		out
	}
}

/// Why an assignment cannot be computed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AssignError {
	/// No provider has any capacity.
	NoCapacity,
	/// The provider position is not in the list.
	UnknownProvider,
	/// The provider's chunk is empty, so it has nothing to train on.
	EmptyChunk,
	/// The batch size is zero.
	ZeroBatch,
	/// A count does not fit the integer types.
	Overflow,
}

/// How many samples each provider gets, in list order; the sizes sum to `samples`.
pub fn chunk_sizes(samples: u32, capacities: &[u64]) -> Result<Vec<u32>, AssignError> {
	let total: u128 = capacities.iter().map(|&c| u128::from(c)).sum();
	if total == 0 {
		return Err(AssignError::NoCapacity);
	}
	let mut sizes = Vec::with_capacity(capacities.len());
	let mut remainders = Vec::with_capacity(capacities.len());
	let mut given: u32 = 0;
	for (position, &capacity) in capacities.iter().enumerate() {
		let share =
			u128::from(samples).checked_mul(u128::from(capacity)).ok_or(AssignError::Overflow)?;
		let floor = share.checked_div(total).ok_or(AssignError::NoCapacity)?;
		let remainder = share.checked_rem(total).ok_or(AssignError::NoCapacity)?;
		let floor = u32::try_from(floor).map_err(|_| AssignError::Overflow)?;
		given = given.checked_add(floor).ok_or(AssignError::Overflow)?;
		sizes.push(floor);
		remainders.push((remainder, position));
	}
	let left = samples.checked_sub(given).ok_or(AssignError::Overflow)?;
	// Largest remainder first; equal remainders: lower position first.
	remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
	for &(_, position) in remainders.iter().take(left as usize) {
		if let Some(size) = sizes.get_mut(position) {
			*size = size.checked_add(1).ok_or(AssignError::Overflow)?;
		}
	}
	Ok(sizes)
}

/// The sample indices of every provider's chunk, in list order.
pub fn chunks(
	key: &RoundKey,
	samples: u32,
	capacities: &[u64],
) -> Result<Vec<Vec<u32>>, AssignError> {
	let sizes = chunk_sizes(samples, capacities)?;
	let permutation = SeededRng::new(CHUNK_DOMAIN, &key.encode()).permutation(samples);
	let mut rest = permutation.as_slice();
	let mut out = Vec::with_capacity(sizes.len());
	for size in sizes {
		let (chunk, tail) = rest.split_at_checked(size as usize).ok_or(AssignError::Overflow)?;
		out.push(chunk.to_vec());
		rest = tail;
	}
	Ok(out)
}

/// The sample indices of one provider's chunk.
pub fn chunk_of(
	key: &RoundKey,
	samples: u32,
	capacities: &[u64],
	provider: u32,
) -> Result<Vec<u32>, AssignError> {
	chunks(key, samples, capacities)?
		.into_iter()
		.nth(provider as usize)
		.ok_or(AssignError::UnknownProvider)
}

/// The minibatch order of one provider's chunk: `batch(t)` is the list of sample indices
/// (values from the chunk) of step `t`. Keeps the permutation of the last epoch it used.
#[derive(Clone, Debug)]
pub struct Minibatches {
	chunk: Vec<u32>,
	batch_size: u32,
	context: [u8; 48],
	cached: Option<(u64, Vec<u32>)>,
}

impl Minibatches {
	/// The minibatch order of `provider`'s `chunk` in the round `key`.
	pub fn new(
		key: &RoundKey,
		provider: u32,
		chunk: Vec<u32>,
		batch_size: u32,
	) -> Result<Self, AssignError> {
		if chunk.is_empty() {
			return Err(AssignError::EmptyChunk);
		}
		u32::try_from(chunk.len()).map_err(|_| AssignError::Overflow)?;
		if batch_size == 0 {
			return Err(AssignError::ZeroBatch);
		}
		let mut context = [0u8; 48];
		let (round, who) = context.split_at_mut(44);
		round.copy_from_slice(&key.encode());
		who.copy_from_slice(&provider.to_le_bytes());
		Ok(Self { chunk, batch_size, context, cached: None })
	}

	fn epoch_permutation(&mut self, epoch: u64) -> &[u32] {
		let fresh = !matches!(&self.cached, Some((e, _)) if *e == epoch);
		if fresh {
			let mut context = [0u8; 56];
			let (head, tail) = context.split_at_mut(48);
			head.copy_from_slice(&self.context);
			tail.copy_from_slice(&epoch.to_le_bytes());
			let mut order = self.chunk.clone();
			SeededRng::new(BATCH_DOMAIN, &context).shuffle(&mut order);
			self.cached = Some((epoch, order));
		}
		self.cached.as_ref().map(|(_, order)| order.as_slice()).unwrap_or_default()
	}

	/// The sample indices of step `step`.
	pub fn batch(&mut self, step: u64) -> Result<Vec<u32>, AssignError> {
		let len = self.chunk.len() as u64;
		let start = step.checked_mul(u64::from(self.batch_size)).ok_or(AssignError::Overflow)?;
		let mut out = Vec::with_capacity(self.batch_size as usize);
		for offset in 0..u64::from(self.batch_size) {
			let position = start.checked_add(offset).ok_or(AssignError::Overflow)?;
			let epoch = position.checked_div(len).ok_or(AssignError::EmptyChunk)?;
			let within = position.checked_rem(len).ok_or(AssignError::EmptyChunk)?;
			let sample = self.epoch_permutation(epoch).get(within as usize).copied();
			out.push(sample.ok_or(AssignError::Overflow)?);
		}
		Ok(out)
	}
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	fn key(seed: u8) -> RoundKey {
		RoundKey { order: 7, round: 2, seed: [seed; 32] }
	}

	#[test]
	fn sizes_follow_capacity_with_largest_remainder() {
		assert_eq!(chunk_sizes(10, &[1, 1, 1]), Ok(vec![4, 3, 3]));
		assert_eq!(chunk_sizes(10, &[2, 1, 0, 2]), Ok(vec![4, 2, 0, 4]));
		assert_eq!(chunk_sizes(100, &[1, 3]), Ok(vec![25, 75]));
		assert_eq!(chunk_sizes(1, &[5, 5]), Ok(vec![1, 0]));
		assert_eq!(chunk_sizes(10, &[0, 0]), Err(AssignError::NoCapacity));
		assert_eq!(chunk_sizes(10, &[]), Err(AssignError::NoCapacity));
		assert_eq!(
			chunk_sizes(u32::MAX, &[u64::MAX, u64::MAX]),
			Ok(vec![u32::MAX / 2 + 1, u32::MAX / 2])
		);
	}

	#[test]
	fn chunks_depend_on_every_part_of_the_key() {
		let base = chunks(&key(1), 50, &[1, 1]).unwrap();
		assert_eq!(base, chunks(&key(1), 50, &[1, 1]).unwrap());
		assert_ne!(base, chunks(&key(2), 50, &[1, 1]).unwrap());
		assert_ne!(base, chunks(&RoundKey { round: 3, ..key(1) }, 50, &[1, 1]).unwrap());
		assert_ne!(base, chunks(&RoundKey { order: 8, ..key(1) }, 50, &[1, 1]).unwrap());
		assert_eq!(chunk_of(&key(1), 50, &[1, 1], 1).unwrap(), base[1]);
		assert_eq!(chunk_of(&key(1), 50, &[1, 1], 2), Err(AssignError::UnknownProvider));
	}

	#[test]
	fn minibatches_cover_each_epoch_once_and_straddle() {
		let chunk: Vec<u32> = (100..110).collect();
		let mut mb = Minibatches::new(&key(1), 0, chunk.clone(), 4).unwrap();
		// Steps 0, 1 and half of 2 are epoch 0; the other half of 2, 3, 4 are epoch 1.
		let stream: Vec<u32> = (0..5).flat_map(|t| mb.batch(t).unwrap()).collect();
		let mut e0 = stream[..10].to_vec();
		let mut e1 = stream[10..].to_vec();
		assert_ne!(e0, e1);
		e0.sort_unstable();
		e1.sort_unstable();
		assert_eq!(e0, chunk);
		assert_eq!(e1, chunk);
		// Random access equals sequential access.
		let mut fresh = Minibatches::new(&key(1), 0, chunk.clone(), 4).unwrap();
		assert_eq!(fresh.batch(3).unwrap(), stream[12..16].to_vec());
		// Another provider with the same chunk gets another order.
		let mut other = Minibatches::new(&key(1), 1, chunk.clone(), 4).unwrap();
		assert_ne!(
			(0..3).flat_map(|t| other.batch(t).unwrap()).collect::<Vec<_>>(),
			stream[..12].to_vec()
		);
		assert_eq!(Minibatches::new(&key(1), 0, vec![], 4).err(), Some(AssignError::EmptyChunk));
		assert_eq!(Minibatches::new(&key(1), 0, chunk, 0).err(), Some(AssignError::ZeroBatch));
	}

	proptest! {
		#[test]
		fn chunks_partition_the_samples(
			samples in 0u32..2000,
			capacities in proptest::collection::vec(0u64..1_000_000, 1..12),
			seed in any::<u8>(),
		) {
			prop_assume!(capacities.iter().any(|&c| c > 0));
			let sizes = chunk_sizes(samples, &capacities).unwrap();
			prop_assert_eq!(sizes.iter().map(|&s| u64::from(s)).sum::<u64>(), u64::from(samples));
			let total: u64 = capacities.iter().sum();
			for (size, cap) in sizes.iter().zip(&capacities) {
				// Within one sample of the exact proportional share.
				let exact = u128::from(samples) * u128::from(*cap);
				let lower = exact / u128::from(total);
				prop_assert!(u128::from(*size) == lower || u128::from(*size) == lower + 1);
				if *cap == 0 { prop_assert_eq!(*size, 0); }
			}
			let parts = chunks(&key(seed), samples, &capacities).unwrap();
			let mut all: Vec<u32> = parts.iter().flatten().copied().collect();
			all.sort_unstable();
			prop_assert_eq!(all, (0..samples).collect::<Vec<_>>());
		}

		#[test]
		fn batches_are_drawn_from_the_chunk(len in 1u32..300, batch in 1u32..64, step in 0u64..1000) {
			let chunk: Vec<u32> = (0..len).map(|i| i * 3).collect();
			let mut mb = Minibatches::new(&key(9), 3, chunk.clone(), batch).unwrap();
			let b = mb.batch(step).unwrap();
			prop_assert_eq!(b.len(), batch as usize);
			prop_assert!(b.iter().all(|s| chunk.contains(s)));
		}
	}
}
