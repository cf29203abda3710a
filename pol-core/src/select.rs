//! Which checkpoint segments a verifier re-executes (PROTOCOL.md step 5, after Jia et al. 2021,
//! "Proof-of-Learning: Definitions and Practice").
//!
//! Of `q` segments, `ceil(q / 2)` are the segments with the largest updates and the rest are
//! drawn uniformly without replacement from the others, with a stream seeded by the round's
//! verification seed and the submission (its commitment hash), so neither is known while the
//! provider trains. If no update norms are given, all `q` are random. If `q ≥ segments`, every
//! segment is selected.
//!
//! How many segments to select: [`min_samples`] gives the smallest `q` for which this selection
//! re-executes at least one of `forged` forged segments with probability ≥ `1 − max_miss_ppm/10⁶`
//! in the worst case (no forged segment among the largest updates, so only the random part can
//! hit one); [`verification_samples`] raises an order's Q to it. Against one forged segment at a
//! 1% miss rate this means re-executing (almost) every segment: a uniform sample of `r` of `N`
//! segments misses one given segment with probability `(N − r)/N`.
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
	/// A detection target with no forged segment or a miss rate above 100%.
	BadTarget,
	/// The miss probability does not fit the integer arithmetic (too many forged segments).
	Overflow,
}

/// The detection goal of issue 6: a miss rate of at most 1% (10 000 ppm).
pub const DEFAULT_MAX_MISS_PPM: u32 = 10_000;

/// Number of forged segments the default target is set against: one, the hardest case.
pub const DEFAULT_FORGED: u32 = 1;

const PPM: u128 = 1_000_000;

/// Whether a uniform sample of `r` of `n` segments misses all of `forged` given ones with
/// probability at most `max_miss_ppm / 10⁶`. That probability is
/// `C(n − forged, r) / C(n, r) = Π_{j < forged} (n − r − j) / (n − j)`, compared exactly in `u128`.
fn miss_within(n: u32, r: u32, forged: u32, max_miss_ppm: u32) -> Result<bool, SelectError> {
	if forged > n {
		// More forged segments than candidates: some forged segment is among the largest updates.
		return Ok(true);
	}
	let (mut misses, mut all) = (1u128, 1u128);
	for j in 0..forged {
		let left = n.saturating_sub(r).checked_sub(j);
		let Some(left) = left.filter(|&l| l > 0) else {
			return Ok(true);
		};
		misses = misses.checked_mul(u128::from(left)).ok_or(SelectError::Overflow)?;
		all = all.checked_mul(u128::from(n.saturating_sub(j))).ok_or(SelectError::Overflow)?;
	}
	let lhs = misses.checked_mul(PPM).ok_or(SelectError::Overflow)?;
	let rhs = all.checked_mul(u128::from(max_miss_ppm)).ok_or(SelectError::Overflow)?;
	Ok(lhs <= rhs)
}

/// The smallest `q` such that [`select_segments`] (with update norms when `with_norms`) picks at
/// least one of any `forged` segments that are not among the largest updates with probability
/// at least `1 − max_miss_ppm / 10⁶`. `segments` when no smaller `q` does (then every segment
/// is re-executed). `forged` up to 3 is exact for every `u32` segment count.
pub fn min_samples(
	segments: u32,
	forged: u32,
	max_miss_ppm: u32,
	with_norms: bool,
) -> Result<u32, SelectError> {
	if segments == 0 {
		return Err(SelectError::NoSegments);
	}
	if forged == 0 || u128::from(max_miss_ppm) > PPM {
		return Err(SelectError::BadTarget);
	}
	let enough = |q: u32| {
		let largest = if with_norms { q.div_ceil(2) } else { 0 };
		let n = segments.saturating_sub(largest);
		let r = q.saturating_sub(largest);
		miss_within(n, r, forged, max_miss_ppm)
	};
	// The miss probability does not grow with q, so binary search for the first q that is
	// enough; `segments` always is (every segment re-executed).
	let (mut lo, mut hi) = (1u32, segments);
	while lo < hi {
		let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
		if enough(mid)? {
			hi = mid;
		} else {
			lo = mid.saturating_add(1);
		}
	}
	Ok(lo)
}

/// The number of segments to re-execute: the order's `q`, raised to [`min_samples`] for the
/// default target ([`DEFAULT_FORGED`] segment, [`DEFAULT_MAX_MISS_PPM`]), capped at `segments`.
pub fn verification_samples(segments: u32, q: u32, with_norms: bool) -> Result<u32, SelectError> {
	let floor = min_samples(segments, DEFAULT_FORGED, DEFAULT_MAX_MISS_PPM, with_norms)?;
	Ok(q.max(floor).min(segments))
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

	#[test]
	fn min_samples_meets_the_target_exactly() {
		// One forged segment at 1%: every segment (the random part must cover ≥ 99% of them).
		for s in [1u32, 2, 4, 10, 50, 99] {
			assert_eq!(min_samples(s, 1, 10_000, true), Ok(s), "{s}");
			assert_eq!(min_samples(s, 1, 10_000, false), Ok(s), "{s}");
		}
		// 99 random of 100 miss one given segment with p = 1/100 exactly.
		assert_eq!(min_samples(100, 1, 10_000, false), Ok(99));
		assert_eq!(min_samples(100, 1, 10_000, true), Ok(100));
		// 1000 segments, no norms: 990 random ones miss one given segment with p = 10/1000.
		assert_eq!(min_samples(1000, 1, 10_000, false), Ok(990));
		// With norms, q = 995 takes the 498 largest and 497 of the other 502 (miss 5/502 < 1%).
		assert_eq!(min_samples(1000, 1, 10_000, true), Ok(995));
		// A forged middle checkpoint spoils two segments: of 4 segments, q = 3 (two largest, one
		// of the remaining two at random, both forged) always hits.
		assert_eq!(min_samples(4, 2, 10_000, true), Ok(3));
		// The table of docs/benchmarks.md.
		for (s, with, without) in [(8, 7, 7), (10, 9, 9), (100, 95, 90), (1000, 947, 900)] {
			assert_eq!(min_samples(s, 2, 10_000, true), Ok(with), "{s}");
			assert_eq!(min_samples(s, 2, 10_000, false), Ok(without), "{s}");
		}
		// A 50% miss rate against one forged segment of 10, no norms: 5 samples.
		assert_eq!(min_samples(10, 1, 500_000, false), Ok(5));
		// 100% allowed: one sample.
		assert_eq!(min_samples(10, 1, 1_000_000, true), Ok(1));
		assert_eq!(min_samples(0, 1, 10_000, true), Err(SelectError::NoSegments));
		assert_eq!(min_samples(4, 0, 10_000, true), Err(SelectError::BadTarget));
		assert_eq!(min_samples(4, 1, 1_000_001, true), Err(SelectError::BadTarget));
		assert_eq!(min_samples(u32::MAX, 3, 1, false).map(|q| q > 0), Ok(true));
		assert_eq!(verification_samples(4, 2, true), Ok(4));
		assert_eq!(verification_samples(4, 9, true), Ok(4));
	}

	/// Miss probability of the selection against the forged set `forged`, by enumeration over
	/// many seeds (the selection's randomness), in ppm.
	fn measured_miss_ppm(segments: u32, q: u32, forged: &[u32]) -> u64 {
		let norms: Vec<u64> = (0..segments)
			.map(|i| if forged.contains(&i) { 0 } else { 100 + u64::from(i) })
			.collect();
		let trials = 4000u64;
		let misses = (0..trials)
			.filter(|t| {
				let seed = crate::blake2_256(&t.to_le_bytes());
				let s = select_segments(segments, q, &norms, &seed, &[9; 32]).unwrap();
				!s.iter().any(|i| forged.contains(i))
			})
			.count() as u64;
		misses * 1_000_000 / trials
	}

	#[test]
	fn min_samples_matches_the_selection_s_behaviour() {
		// Forged segments with the smallest updates (the forger's best case).
		for (segments, forged, target) in
			[(10u32, vec![3u32], 300_000u32), (12, vec![0, 7], 100_000), (20, vec![5], 500_000)]
		{
			let q = min_samples(segments, forged.len() as u32, target, true).unwrap();
			let at_q = measured_miss_ppm(segments, q, &forged);
			assert!(at_q <= u64::from(target) + 25_000, "{segments} {forged:?}: {at_q} at q {q}");
			if q > 1 {
				let below = measured_miss_ppm(segments, q - 1, &forged);
				assert!(
					below + 25_000 > u64::from(target),
					"{segments} {forged:?}: {below} at q-1"
				);
			}
		}
	}

	proptest! {
		#[test]
		fn min_samples_is_minimal_and_sufficient(
			segments in 1u32..300, forged in 1u32..4, ppm in 0u32..=1_000_000, with_norms in any::<bool>(),
		) {
			let q = min_samples(segments, forged, ppm, with_norms).unwrap();
			prop_assert!((1..=segments).contains(&q));
			let ok = |q: u32| {
				if q >= segments { return true; }
				let largest = if with_norms { q.div_ceil(2) } else { 0 };
				miss_within(segments - largest, q - largest, forged, ppm).unwrap()
			};
			// The binary search finds what a linear scan finds.
			prop_assert_eq!(q, (1..=segments).find(|&q| ok(q)).unwrap());
		}
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
