//! One provider's data chunk (PROTOCOL.md step 3: a provider only ever receives its own chunk).
//!
//! The validator's service sends a provider the samples of its chunk and just enough to check
//! them against the order's dataset hash: the training split's shape, every training sample's
//! leaf and the held-out split's hash ([`crate::data`]). The provider recomputes the pair hash
//! from these, checks each sample against its leaf, and checks the indices are exactly the
//! chunk [`pot_pol_core::assign::chunk_of`] gives it; anything else is an error, so a validator
//! cannot make a provider train on data other than the order's.
//!
//! File: `"POTCHNK1" ‖ shape(train) ‖ held_out_hash [32] ‖ n leaves [32 each] ‖ m u32 ‖
//! m × (index u32 ‖ pixels ‖ label)`, integers little-endian. The other samples' leaves are
//! hashes only; their pixels and labels never leave the validator.

use crate::{
	data::{hash_of_leaves, pair_hash, put_shape, sample_leaf, Dataset, DatasetPair, Reader, Samples},
	error::{Error, Result},
};
use pot_pol_core::Hash;
use std::collections::HashMap;

const MAGIC: &[u8; 8] = b"POTCHNK1";

/// The chunk file of `indices` of `pair`'s training split.
pub fn encode(pair: &DatasetPair, indices: &[u32]) -> Result<Vec<u8>> {
	encode_with_leaves(pair, &pair.train.leaves(), indices)
}

/// [`encode`] with the training split's leaves already computed (`Dataset::leaves`), for a
/// caller that hashed the split with them.
pub fn encode_with_leaves(pair: &DatasetPair, leaves: &[Hash], indices: &[u32]) -> Result<Vec<u8>> {
	let train = &pair.train;
	if leaves.len() != train.len() {
		return Err(Error::Dataset(format!(
			"{} leaves for a split of {} samples",
			leaves.len(),
			train.len()
		)));
	}
	let features = train.features();
	let count = u32::try_from(indices.len())
		.map_err(|_| Error::Dataset("chunk too large".into()))?;
	let mut out = Vec::with_capacity(
		train
			.len()
			.saturating_mul(32)
			.saturating_add(indices.len().saturating_mul(features.saturating_add(5)))
			.saturating_add(80),
	);
	out.extend_from_slice(MAGIC);
	put_shape(&mut out, &train.shape());
	out.extend_from_slice(&pair.held_out.hash());
	for leaf in leaves {
		out.extend_from_slice(leaf);
	}
	out.extend_from_slice(&count.to_le_bytes());
	for &index in indices {
		let i = index as usize;
		let image = i
			.checked_mul(features)
			.and_then(|start| train.pixels.get(start..start.checked_add(features)?))
			.ok_or_else(|| Error::Dataset(format!("sample {index} out of range")))?;
		let label = *train
			.labels
			.get(i)
			.ok_or_else(|| Error::Dataset(format!("sample {index} out of range")))?;
		out.extend_from_slice(&index.to_le_bytes());
		out.extend_from_slice(image);
		out.push(label);
	}
	Ok(out)
}

/// A provider's verified chunk: the samples it trains on, by their index in the training split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
	dataset: Hash,
	total: u64,
	samples: Dataset,
	rows: HashMap<u32, usize>,
}

impl Chunk {
	/// Parses a chunk file and checks it: the pair hash it implies is `dataset`, every sample
	/// matches its leaf, and the indices are exactly `expected` (in that order).
	pub fn decode_verified(bytes: &[u8], dataset: &Hash, expected: &[u32]) -> Result<Self> {
		let mut r = Reader::new(bytes);
		if r.take(8)? != MAGIC {
			return Err(Error::Dataset("not a chunk file (magic)".into()));
		}
		let shape = r.shape()?;
		let held_out: Hash = r.array()?;
		let n = usize::try_from(shape.samples)
			.map_err(|_| Error::Dataset("too many samples".into()))?;
		let leaf_bytes = r.take(
			n.checked_mul(32).ok_or_else(|| Error::Dataset("too many samples".into()))?,
		)?;
		let leaves: Vec<Hash> = leaf_bytes
			.chunks_exact(32)
			.map(|c| {
				let mut leaf = [0u8; 32];
				leaf.copy_from_slice(c);
				leaf
			})
			.collect();
		let implied = pair_hash(&hash_of_leaves(&shape, &leaves), &held_out);
		if implied != *dataset {
			return Err(Error::Dataset(format!(
				"the chunk's dataset hashes to {}, the order names {}",
				hex::encode(implied),
				hex::encode(dataset)
			)));
		}
		let count = r.u32()? as usize;
		if count != expected.len() {
			return Err(Error::Dataset(format!(
				"{count} samples sent, the assignment gives {}",
				expected.len()
			)));
		}
		let features =
			shape.features().ok_or_else(|| Error::Dataset("image too large".into()))?;
		// Each sample is its index, its pixels and its label: the shape is the sender's word
		// until the bytes are there, so nothing is reserved for samples that are not.
		let needed = count.saturating_mul(features.saturating_add(5));
		if needed > r.remaining() {
			return Err(Error::Dataset(format!(
				"truncated: {count} samples of {features} pixels need {needed} bytes, {} left",
				r.remaining()
			)));
		}
		let mut pixels = Vec::with_capacity(count.saturating_mul(features));
		let mut labels = Vec::with_capacity(count);
		let mut rows = HashMap::with_capacity(count);
		for (row, &want) in expected.iter().enumerate() {
			let index = r.u32()?;
			if index != want {
				return Err(Error::Dataset(format!(
					"sample {row} of the chunk is {index}, the assignment gives {want}"
				)));
			}
			let image = r.take(features)?;
			let label = r.u8()?;
			if leaves.get(index as usize) != Some(&sample_leaf(image, label)) {
				return Err(Error::Dataset(format!(
					"sample {index} does not match the dataset's leaf"
				)));
			}
			pixels.extend_from_slice(image);
			labels.push(label);
			rows.insert(index, row);
		}
		if !r.rest().is_empty() {
			return Err(Error::Dataset(format!("{} bytes after the chunk", r.rest().len())));
		}
		let samples = shape.dataset(pixels, labels);
		samples.validate()?;
		Ok(Self { dataset: *dataset, total: shape.samples, samples, rows })
	}
}

impl Samples for Chunk {
	fn dataset_hash(&self) -> Hash {
		self.dataset
	}
	fn total(&self) -> u64 {
		self.total
	}
	fn held(&self) -> &Dataset {
		&self.samples
	}
	fn row_of(&self, index: u32) -> Option<usize> {
		self.rows.get(&index).copied()
	}
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
	use super::*;
	use crate::data::digits_pair;

	#[test]
	fn a_chunk_round_trips_and_holds_only_its_samples() {
		let pair = digits_pair().unwrap();
		let indices = vec![17, 3, 1200];
		let file = encode(&pair, &indices).unwrap();
		let chunk = Chunk::decode_verified(&file, &pair.hash(), &indices).unwrap();
		assert_eq!(chunk.total(), 1497);
		assert_eq!(chunk.held().len(), 3);
		assert_eq!(chunk.held().labels, vec![pair.train.labels[17], pair.train.labels[3], pair.train.labels[1200]]);
		assert_eq!(chunk.row_of(1200), Some(2));
		assert_eq!(chunk.row_of(4), None);
		// The file carries the other samples as leaves only: far smaller than the split.
		assert!(file.len() < pair.train.pixels.len());
	}

	#[test]
	fn a_chunk_that_is_not_the_orders_data_or_assignment_is_refused() {
		let pair = digits_pair().unwrap();
		let indices = vec![5, 6, 7];
		let file = encode(&pair, &indices).unwrap();
		let hash = pair.hash();
		// Another order's dataset.
		assert!(Chunk::decode_verified(&file, &[1; 32], &indices).is_err());
		// Other indices than the assignment's, or in another order.
		assert!(Chunk::decode_verified(&file, &hash, &[5, 6, 8]).is_err());
		assert!(Chunk::decode_verified(&file, &hash, &[6, 5, 7]).is_err());
		assert!(Chunk::decode_verified(&file, &hash, &[5, 6]).is_err());
		// A changed pixel or label of a sample.
		let sample_at = file.len() - 3 * (64 + 5);
		let mut pixel = file.clone();
		pixel[sample_at + 4 + 10] ^= 1;
		assert!(Chunk::decode_verified(&pixel, &hash, &indices).is_err());
		let mut label = file.clone();
		label[sample_at + 4 + 64] ^= 1;
		assert!(Chunk::decode_verified(&label, &hash, &indices).is_err());
		// A changed leaf or held-out hash changes the implied dataset.
		let mut leaf = file.clone();
		leaf[8 + 21 + 32 + 40] ^= 1;
		assert!(Chunk::decode_verified(&leaf, &hash, &indices).is_err());
		// Truncated, extended, or not a chunk at all.
		assert!(Chunk::decode_verified(&file[..file.len() - 1], &hash, &indices).is_err());
		let mut longer = file.clone();
		longer.push(0);
		assert!(Chunk::decode_verified(&longer, &hash, &indices).is_err());
		assert!(Chunk::decode_verified(b"POTCHNK1", &hash, &indices).is_err());
		assert!(Chunk::decode_verified(&pair.encode(), &hash, &indices).is_err());
		// A header claiming a huge split fails on the missing bytes, allocating nothing.
		let mut huge = file[..8].to_vec();
		huge.extend_from_slice(&u64::MAX.to_le_bytes());
		huge.extend_from_slice(&file[16..]);
		assert!(Chunk::decode_verified(&huge, &hash, &indices).is_err());
		assert!(encode(&pair, &[1497]).is_err());
	}

	#[test]
	fn a_chunk_whose_shape_outgrows_its_bytes_is_refused_before_reserving_memory() {
		let pair = digits_pair().unwrap();
		let indices = vec![5, 6, 7];
		let mut file = encode(&pair, &indices).unwrap();
		let mut shape = pair.train.shape();
		(shape.rows, shape.cols) = (1 << 20, 1 << 20);
		file[16..20].copy_from_slice(&shape.rows.to_le_bytes());
		file[20..24].copy_from_slice(&shape.cols.to_le_bytes());
		let n = pair.train.len();
		let leaves: Vec<Hash> =
			file[61..61 + 32 * n].chunks_exact(32).map(|c| c.try_into().unwrap()).collect();
		// An order may name the hash this shape implies: a hash needs no data behind it.
		let dataset = pair_hash(&hash_of_leaves(&shape, &leaves), &pair.held_out.hash());
		let refused = Chunk::decode_verified(&file, &dataset, &indices).unwrap_err();
		assert!(refused.to_string().contains("truncated"), "{refused}");
	}
}
