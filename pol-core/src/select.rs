//! Which checkpoint segments a verifier re-executes (PROTOCOL.md step 5, after Jia et al. 2021,
//! "Proof-of-Learning: Definitions and Practice").
//!
//! Of `q` segments, `ceil(q / 2)` are the segments with the largest updates and the rest are
//! drawn uniformly without replacement from the others, with a stream seeded by the round's
//! verification seed and the submission (its commitment hash), so neither is known while the
//! provider trains. If no update norms are given, all `q` are random. If `q ≥ segments`, every
//! segment is selected.
//!
//! Update norms are integers so that the choice is exact on every machine. A verifier that
//! measures norms as non-negative IEEE-754 floats passes `f64::to_bits`: for non-negative finite
//! floats the bit patterns sort in the same order as the values. Equal norms: lower index first.

use crate::{hash::Hash, rng::SeededRng};
use alloc::vec::Vec;

const SELECT_DOMAIN: &[u8] = b"pot/pol/select/v1";

/// Why a selection cannot be made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SelectError {
	/// There are no segments.
	NoSegments,
	/// Norms were given but not one per segment.
	NormCountMismatch,
}

/// The selected segment indices, ascending and distinct.
pub fn select_segments(
	segments: u32,
	q: u32,
	update_norms: &[u64],
	seed: &Hash,
	submission: &Hash,
) -> Result<Vec<u32>, SelectError> {
	if segments == 0 {
		return Err(SelectError::NoSegments);
	}
	if !update_norms.is_empty() && update_norms.len() != segments as usize {
		return Err(SelectError::NormCountMismatch);
	}
	if q >= segments {
		return Ok((0..segments).collect());
	}
	let largest = if update_norms.is_empty() { 0 } else { q.div_ceil(2) };
	let mut by_norm: Vec<(u64, u32)> = update_norms.iter().copied().zip(0..segments).collect();
	by_norm.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
	let mut chosen: Vec<u32> = by_norm.iter().take(largest as usize).map(|&(_, i)| i).collect();
	let mut rest: Vec<u32> = (0..segments).filter(|i| !chosen.contains(i)).collect();

	let mut context = [0u8; 64];
	let (s, sub) = context.split_at_mut(32);
	s.copy_from_slice(seed);
	sub.copy_from_slice(submission);
	let mut rng = SeededRng::new(SELECT_DOMAIN, &context);
	// Partial Fisher–Yates: the first `q - largest` positions of `rest` become a uniform sample.
	let random = q.saturating_sub(largest) as usize;
	for i in 0..random.min(rest.len()) {
		let remaining = rest.len().saturating_sub(i) as u64;
		if let Some(offset) = rng.below(remaining) {
			rest.swap(i, i.saturating_add(offset as usize));
		}
	}
	chosen.extend(rest.iter().take(random));
	chosen.sort_unstable();
	Ok(chosen)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
	use super::*;
	use proptest::prelude::*;

	#[test]
	fn largest_updates_are_always_chosen() {
		let norms = [5, 1, 9, 1, 1, 7, 1, 1];
		for seed in 0..20u8 {
			let s = select_segments(8, 3, &norms, &[seed; 32], &[0; 32]).unwrap();
			assert_eq!(s.len(), 3);
			assert!(s.contains(&2) && s.contains(&5), "{s:?}");
		}
		assert_eq!(
			select_segments(8, 8, &norms, &[0; 32], &[0; 32]).unwrap(),
			(0..8).collect::<Vec<_>>()
		);
		assert_eq!(select_segments(0, 1, &[], &[0; 32], &[0; 32]), Err(SelectError::NoSegments));
		assert_eq!(
			select_segments(3, 1, &[1], &[0; 32], &[0; 32]),
			Err(SelectError::NormCountMismatch)
		);
	}

	#[test]
	fn random_part_depends_on_seed_and_submission_and_covers_all() {
		let mut hit = [0u32; 10];
		for seed in 0..200u8 {
			for s in select_segments(10, 2, &[], &[seed; 32], &[1; 32]).unwrap() {
				hit[s as usize] += 1;
			}
		}
		assert!(hit.iter().all(|&n| n > 10), "{hit:?}");
		let a = (0..10u8).map(|i| select_segments(10, 2, &[], &[i; 32], &[1; 32]).unwrap());
		let b = (0..10u8).map(|i| select_segments(10, 2, &[], &[i; 32], &[2; 32]).unwrap());
		assert_ne!(a.collect::<Vec<_>>(), b.collect::<Vec<_>>());
	}

	proptest! {
		#[test]
		fn selection_is_distinct_sorted_and_sized(
			segments in 1u32..100, q in 0u32..120, with_norms in any::<bool>(), seed in any::<[u8; 32]>(),
		) {
			let norms: Vec<u64> = if with_norms { (0..segments).map(|i| u64::from(i * 7919 % 101)).collect() } else { vec![] };
			let s = select_segments(segments, q, &norms, &seed, &[3; 32]).unwrap();
			prop_assert_eq!(s.len(), q.min(segments) as usize);
			prop_assert!(s.windows(2).all(|w| w[0] < w[1]));
			prop_assert!(s.iter().all(|&i| i < segments));
			prop_assert_eq!(&s, &select_segments(segments, q, &norms, &seed, &[3; 32]).unwrap());
		}
	}
}
