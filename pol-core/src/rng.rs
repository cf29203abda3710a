//! A deterministic random stream derived from a seed: BLAKE2b-256 in counter mode.
//!
//! `SeededRng::new(domain, context)` keys the stream with `blake2_256(len(domain) ‖ domain ‖
//! context)`; block `i` is `blake2_256(key ‖ i as u64 LE)` and yields four little-endian `u64`s.
//! Distinct domains give independent streams, so the same `(order, round, seed)` can drive the
//! assignment, the minibatch order and the segment selection without correlation.

use crate::hash::{blake2_256, Hash, Hasher};
use alloc::vec::Vec;

/// A seeded, reproducible stream of random numbers. Not for secrets.
#[derive(Clone, Debug)]
pub struct SeededRng {
	key: Hash,
	counter: u64,
	block: [u64; 4],
	used: usize,
}

impl SeededRng {
	/// The stream for `context` in `domain`.
	pub fn new(domain: &[u8], context: &[u8]) -> Self {
		let mut h = Hasher::new();
		h.update(&(domain.len() as u64).to_le_bytes());
		h.update(domain);
		h.update(context);
		Self { key: h.finalize(), counter: 0, block: [0; 4], used: 4 }
	}

	/// The next 64 random bits.
	pub fn next_u64(&mut self) -> u64 {
		if self.used >= self.block.len() {
			let mut input = [0u8; 40];
			let (key, counter) = input.split_at_mut(32);
			key.copy_from_slice(&self.key);
			counter.copy_from_slice(&self.counter.to_le_bytes());
			let digest = blake2_256(&input);
			for (word, bytes) in self.block.iter_mut().zip(digest.chunks_exact(8)) {
				let mut le = [0u8; 8];
				le.copy_from_slice(bytes);
				*word = u64::from_le_bytes(le);
			}
			self.counter = self.counter.wrapping_add(1);
			self.used = 0;
		}
		let value = self.block.get(self.used).copied().unwrap_or_default();
		self.used = self.used.saturating_add(1);
		value
	}

	/// A uniform number in `0..bound` without modulo bias (Lemire's multiply-and-reject);
	/// `None` when `bound` is 0.
	pub fn below(&mut self, bound: u64) -> Option<u64> {
		let threshold = bound.wrapping_neg().checked_rem(bound)?;
		loop {
			let product = u128::from(self.next_u64()).wrapping_mul(u128::from(bound));
			if (product as u64) >= threshold {
				return Some((product >> 64) as u64);
			}
		}
	}

	/// Shuffles `items` uniformly (Fisher–Yates).
	pub fn shuffle<T>(&mut self, items: &mut [T]) {
		for i in (1..items.len()).rev() {
			let bound = (i as u64).saturating_add(1);
			if let Some(j) = self.below(bound) {
				items.swap(i, j as usize);
			}
		}
	}

	/// A uniformly random permutation of `0..n`.
	pub fn permutation(&mut self, n: u32) -> Vec<u32> {
		let mut items: Vec<u32> = (0..n).collect();
		self.shuffle(&mut items);
		items
	}
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
	use super::*;

	#[test]
	fn same_seed_same_stream_other_domain_other_stream() {
		let mut a = SeededRng::new(b"a", b"ctx");
		let mut b = SeededRng::new(b"a", b"ctx");
		let mut c = SeededRng::new(b"b", b"ctx");
		let xs: Vec<u64> = (0..10).map(|_| a.next_u64()).collect();
		let ys: Vec<u64> = (0..10).map(|_| b.next_u64()).collect();
		let zs: Vec<u64> = (0..10).map(|_| c.next_u64()).collect();
		assert_eq!(xs, ys);
		assert_ne!(xs, zs);
		// The domain is length-prefixed: ("ab", "c") and ("a", "bc") differ.
		assert_ne!(SeededRng::new(b"ab", b"c").next_u64(), SeededRng::new(b"a", b"bc").next_u64());
	}

	#[test]
	fn below_is_in_range_and_covers_it() {
		let mut rng = SeededRng::new(b"t", b"");
		assert_eq!(rng.below(0), None);
		let mut seen = [0u32; 7];
		for _ in 0..7000 {
			let x = rng.below(7).unwrap_or(99) as usize;
			seen[x] += 1;
		}
		// Uniform: each bucket near 1000.
		assert!(seen.iter().all(|&n| (850..1150).contains(&n)), "{seen:?}");
	}

	#[test]
	fn permutation_is_a_permutation() {
		let mut rng = SeededRng::new(b"t", b"p");
		let mut p = rng.permutation(1000);
		assert_ne!(p, (0..1000).collect::<Vec<_>>());
		p.sort_unstable();
		assert_eq!(p, (0..1000).collect::<Vec<_>>());
	}
}
