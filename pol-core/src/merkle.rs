//! Binary Merkle tree over checkpoint hashes: the provider commits the root on chain, and any
//! checkpoint (both ends of a disputed segment) is later proven against it.
//!
//! - Leaf: `blake2_256(0x00 ‖ checkpoint_hash)`; inner node: `blake2_256(0x01 ‖ left ‖ right)`.
//!   The prefixes separate the domains, so an inner node can never be passed off as a leaf.
//! - Odd-node rule: when a level has an odd number of nodes, the last one is **promoted**
//!   unchanged to the next level. It is not paired with itself: duplicating it (Bitcoin's rule)
//!   would give `[a, b, c]` and `[a, b, c, c]` the same root.
//! - The leaf count is part of every proof; a verifier compares it with the number of
//!   checkpoints the commitment implies ([`crate::schedule::checkpoint_count`]).
//! - There is no root of zero leaves: a commitment always has at least the initial checkpoint.

use crate::hash::{blake2_256, Hash};
use alloc::vec::Vec;

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// Why a root or a proof cannot be computed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MerkleError {
	/// A tree needs at least one leaf.
	NoLeaves,
	/// The leaf index is not below the leaf count.
	IndexOutOfRange,
	/// More leaves than `u32::MAX`.
	TooManyLeaves,
}

/// Proof that one leaf is at `index` of a tree of `leaf_count` leaves.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MerkleProof {
	/// Position of the leaf, from 0.
	pub index: u32,
	/// Number of leaves in the tree.
	pub leaf_count: u32,
	/// Sibling hashes from the leaf's level upwards; levels where the node was promoted have none.
	pub siblings: Vec<Hash>,
}

/// The leaf node of a checkpoint hash.
pub fn leaf(checkpoint: &Hash) -> Hash {
	let mut input = [0u8; 33];
	let (prefix, rest) = input.split_at_mut(1);
	prefix.fill(LEAF_PREFIX);
	rest.copy_from_slice(checkpoint);
	blake2_256(&input)
}

/// The inner node over two children.
pub fn node(left: &Hash, right: &Hash) -> Hash {
	let mut input = [0u8; 65];
	let (prefix, rest) = input.split_at_mut(1);
	prefix.fill(NODE_PREFIX);
	let (l, r) = rest.split_at_mut(32);
	l.copy_from_slice(left);
	r.copy_from_slice(right);
	blake2_256(&input)
}

fn next_level(level: &[Hash]) -> Vec<Hash> {
	let mut pairs = level.chunks_exact(2);
	let mut out = Vec::with_capacity(level.len().div_ceil(2));
	for pair in pairs.by_ref() {
		if let [left, right] = pair {
			out.push(node(left, right));
		}
	}
	// The odd node, promoted.
	out.extend(pairs.remainder().first().copied());
	out
}

/// The root over `checkpoints` (in checkpoint order).
pub fn root(checkpoints: &[Hash]) -> Result<Hash, MerkleError> {
	if checkpoints.is_empty() {
		return Err(MerkleError::NoLeaves);
	}
	u32::try_from(checkpoints.len()).map_err(|_| MerkleError::TooManyLeaves)?;
	let mut level: Vec<Hash> = checkpoints.iter().map(leaf).collect();
	while level.len() > 1 {
		level = next_level(&level);
	}
	level.first().copied().ok_or(MerkleError::NoLeaves)
}

/// The inclusion proof of the checkpoint at `index`.
pub fn prove(checkpoints: &[Hash], index: u32) -> Result<MerkleProof, MerkleError> {
	let leaf_count = u32::try_from(checkpoints.len()).map_err(|_| MerkleError::TooManyLeaves)?;
	if leaf_count == 0 {
		return Err(MerkleError::NoLeaves);
	}
	if index >= leaf_count {
		return Err(MerkleError::IndexOutOfRange);
	}
	let mut level: Vec<Hash> = checkpoints.iter().map(leaf).collect();
	let mut position = index as usize;
	let mut siblings = Vec::new();
	while level.len() > 1 {
		if let Some(sibling) = level.get(position ^ 1) {
			siblings.push(*sibling);
		}
		level = next_level(&level);
		position /= 2;
	}
	Ok(MerkleProof { index, leaf_count, siblings })
}

/// Whether `proof` shows `checkpoint` at `proof.index` under `root`.
pub fn verify(root: &Hash, checkpoint: &Hash, proof: &MerkleProof) -> bool {
	if proof.index >= proof.leaf_count {
		return false;
	}
	let mut hash = leaf(checkpoint);
	let mut position = proof.index;
	let mut width = proof.leaf_count;
	let mut siblings = proof.siblings.iter();
	while width > 1 {
		let is_right = position % 2 == 1;
		let has_sibling = is_right || position.saturating_add(1) < width;
		if has_sibling {
			let Some(sibling) = siblings.next() else { return false };
			hash = if is_right { node(sibling, &hash) } else { node(&hash, sibling) };
		}
		position /= 2;
		width = width.div_ceil(2);
	}
	siblings.next().is_none() && hash == *root
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	fn leaves(n: u32) -> Vec<Hash> {
		(0..n).map(|i| blake2_256(&i.to_le_bytes())).collect()
	}

	#[test]
	fn small_trees_have_the_documented_shape() {
		let l = leaves(3);
		assert_eq!(root(&l[..1]), Ok(leaf(&l[0])));
		assert_eq!(root(&l[..2]), Ok(node(&leaf(&l[0]), &leaf(&l[1]))));
		// Odd node promoted, not duplicated.
		let expected = node(&node(&leaf(&l[0]), &leaf(&l[1])), &leaf(&l[2]));
		assert_eq!(root(&l), Ok(expected));
		assert_eq!(root(&[]), Err(MerkleError::NoLeaves));
	}

	#[test]
	fn duplicating_the_last_leaf_changes_the_root() {
		let mut l = leaves(3);
		let r3 = root(&l).unwrap();
		l.push(l[2]);
		assert_ne!(root(&l).unwrap(), r3);
	}

	#[test]
	fn a_node_is_not_a_leaf() {
		// A one-leaf tree whose "checkpoint" is an inner node of a two-leaf tree has another root.
		let l = leaves(2);
		let inner = node(&leaf(&l[0]), &leaf(&l[1]));
		assert_ne!(root(&[inner]).unwrap(), root(&l).unwrap());
	}

	#[test]
	fn proof_errors() {
		let l = leaves(4);
		assert_eq!(prove(&l, 4), Err(MerkleError::IndexOutOfRange));
		assert_eq!(prove(&[], 0), Err(MerkleError::NoLeaves));
	}

	proptest! {
		#[test]
		fn every_leaf_proves_and_nothing_else_does(n in 1u32..70, pick in any::<u32>(), flip in any::<u8>()) {
			let l = leaves(n);
			let r = root(&l).unwrap();
			for i in 0..n {
				let p = prove(&l, i).unwrap();
				prop_assert!(verify(&r, &l[i as usize], &p));
			}
			let i = pick % n;
			let p = prove(&l, i).unwrap();
			// Another checkpoint at that index fails.
			let mut other = l[i as usize];
			other[usize::from(flip) % 32] ^= 1 << (flip % 8);
			prop_assert!(!verify(&r, &other, &p));
			// The same proof at another index fails.
			if n > 1 {
				let mut moved = p.clone();
				moved.index = (i + 1) % n;
				prop_assert!(!verify(&r, &l[i as usize], &moved));
			}
			let mut longer = p.clone();
			longer.siblings.push([0; 32]);
			prop_assert!(!verify(&r, &l[i as usize], &longer));
			if !p.siblings.is_empty() {
				let mut shorter = p.clone();
				shorter.siblings.pop();
				prop_assert!(!verify(&r, &l[i as usize], &shorter));
			}
		}

		#[test]
		fn root_depends_on_every_leaf_and_on_order(n in 2u32..40, a in any::<u32>(), b in any::<u32>()) {
			let l = leaves(n);
			let r = root(&l).unwrap();
			let (a, b) = ((a % n) as usize, (b % n) as usize);
			prop_assume!(a != b);
			let mut swapped = l.clone();
			swapped.swap(a, b);
			prop_assert_ne!(root(&swapped).unwrap(), r);
			let mut changed = l.clone();
			changed[a][0] ^= 0xff;
			prop_assert_ne!(root(&changed).unwrap(), r);
		}
	}
}
