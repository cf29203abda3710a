//! Aggregation of provider updates into the next round's weights (PROTOCOL.md step 5).
//!
//! A provider's update is `Δ_i = θ_r − θ_i`: the round's starting weights minus the weights it
//! trained to, flattened in canonical parameter order ([`flatten`]). The validator combines the
//! accepted updates with the order's rule and steps `θ_{r+1} = θ_r − η·agg(Δ_1 … Δ_n)`
//! ([`apply_update`]; with η = 1 and [`Rule::Mean`] this is federated averaging).
//!
//! Rules (hyper-parameters are integers, like everything an order names):
//! - [`Rule::Mean`]: the coordinate-wise mean. Not robust: one update can move it anywhere.
//! - [`Rule::CoordinateMedian`]: per coordinate, the middle value (mean of the two middle values
//!   for an even count). Yin et al. 2018.
//! - [`Rule::TrimmedMean`]: per coordinate, the mean after dropping the `⌊n·p/100⌋` largest and
//!   as many smallest values. Yin et al. 2018.
//! - [`Rule::MultiKrum`]: with `f = min(⌊n·p/100⌋, n − 3)` Byzantine updates assumed, each update
//!   is scored by the sum of its squared l2 distances to its `n − f − 2` nearest other updates;
//!   the mean of the `m` lowest-scored updates (ties: lower index first; `m = n − f` unless the
//!   rule names it). Blanchard et al. 2017 / El Mhamdi et al. 2018. The default rule. With fewer
//!   than 3 updates there are no neighbours to score against, and it is the mean.
//! - [`Rule::CenteredClipping`]: starting from the coordinate-wise median `v`, `iterations` times
//!   `v ← v + mean_i(clip_τ(Δ_i − v))`, where `clip_τ(x) = x·min(1, τ/‖x‖)`. Karimireddy et al.
//!   2021 start from the previous round's momentum; this stateless form starts from the median.
//!   τ is the order's radius, or (radius 0) the median distance of the updates from the start.
//!
//! All arithmetic is in `f32` on libtorch tensors, in a fixed order, so the same updates give
//! bitwise the same aggregate on one compute profile.

use crate::{
	error::{Error, Result},
	model::Params,
	optim::{Fixed9, ONE},
};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// An aggregation rule and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
	/// Coordinate-wise mean.
	Mean,
	/// Coordinate-wise median.
	CoordinateMedian,
	/// Coordinate-wise mean without the `trim_per_side` percent largest and smallest values.
	TrimmedMean {
		/// Percent of the updates dropped at each end (rounded down to whole updates).
		trim_per_side: u8,
	},
	/// Mean of the `selected` updates with the lowest Krum scores.
	MultiKrum {
		/// Percent of the updates assumed Byzantine: `f = ⌊n·p/100⌋`, at most `n − 3`.
		byzantine_percent: u8,
		/// Updates averaged (m); 0 means `n − f`.
		selected: u32,
	},
	/// Centered clipping around the coordinate-wise median.
	CenteredClipping {
		/// Clipping radius τ (9-decimal fixed point); 0 means the median distance of the
		/// updates from the coordinate-wise median.
		radius: Fixed9,
		/// Clipping iterations (at least 1).
		iterations: u32,
	},
}

impl Default for Rule {
	/// The robust default, Multi-Krum assuming 40% Byzantine updates: the rule that stayed
	/// within 5 accuracy points of the clean run under every attack of the Byzantine benchmark
	/// (`docs/benchmarks.md`, `tests/byzantine.rs`).
	fn default() -> Self {
		Self::MultiKrum { byzantine_percent: 40, selected: 0 }
	}
}

fn err(msg: impl Into<String>) -> Error {
	Error::Aggregate(msg.into())
}

/// The updates as one `[n, d]` tensor; every update must be a 1-D `f32` tensor of one length.
fn stack(updates: &[Tensor]) -> Result<Tensor> {
	let first = updates.first().ok_or_else(|| err("no updates"))?;
	let size = first.size();
	if size.len() != 1 {
		return Err(err(format!("updates must be 1-D, got shape {size:?}")));
	}
	for (i, u) in updates.iter().enumerate() {
		if u.size() != size || u.f_kind()? != Kind::Float {
			return Err(err(format!(
				"update {i} is {:?} {:?}, expected f32 {size:?}",
				u.f_kind()?,
				u.size()
			)));
		}
	}
	Ok(Tensor::f_stack(updates, 0)?.f_detach()?)
}

fn count(updates: &Tensor) -> i64 {
	updates.size().first().copied().unwrap_or(0)
}

/// Coordinate-wise median of the rows of `s` (`[n, d]`, n ≥ 1).
fn median_rows(s: &Tensor) -> Result<Tensor> {
	let n = count(s);
	let (sorted, _) = s.f_sort(0, false)?;
	let upper = sorted.f_select(0, n / 2)?;
	if n % 2 == 1 {
		return Ok(upper);
	}
	let lower = sorted.f_select(0, n.saturating_sub(2) / 2)?;
	Ok(lower.f_add(&upper)?.f_div_scalar(2.0)?)
}

/// Median of non-negative `values`; mean of the two middle ones for an even count.
fn median_f64(values: &[f64]) -> f64 {
	let mut v = values.to_vec();
	v.sort_by(f64::total_cmp);
	let mid = v.len() / 2;
	match (v.get(mid.wrapping_sub(1)), v.get(mid)) {
		(Some(a), Some(b)) if v.len().is_multiple_of(2) => (a + b) / 2.0,
		(_, Some(b)) => *b,
		_ => 0.0,
	}
}

/// Aggregates `updates` (1-D `f32` tensors of one length) with `rule`.
pub fn aggregate(rule: &Rule, updates: &[Tensor]) -> Result<Tensor> {
	let _guard = tch::no_grad_guard();
	let s = stack(updates)?;
	let n = count(&s);
	match *rule {
		Rule::Mean => Ok(s.f_mean_dim(0, false, Kind::Float)?),
		Rule::CoordinateMedian => median_rows(&s),
		Rule::TrimmedMean { trim_per_side } => {
			if trim_per_side >= 50 {
				return Err(err("trimmed mean must keep some updates (trim below 50%)"));
			}
			let trim = n.saturating_mul(i64::from(trim_per_side)) / 100;
			let keep = n.saturating_sub(trim.saturating_mul(2));
			let (sorted, _) = s.f_sort(0, false)?;
			Ok(sorted.f_narrow(0, trim, keep)?.f_mean_dim(0, false, Kind::Float)?)
		}
		Rule::MultiKrum { byzantine_percent, selected } => {
			if byzantine_percent >= 50 {
				return Err(err(
					"Multi-Krum needs an honest majority (byzantine_percent below 50)",
				));
			}
			multi_krum(&s, byzantine_percent, selected)
		}
		Rule::CenteredClipping { radius, iterations } => {
			if iterations == 0 {
				return Err(err("centered clipping needs at least one iteration"));
			}
			let mut v = median_rows(&s)?;
			let tau = if radius == 0 {
				let norms = row_norms(&s.f_sub(&v)?)?;
				median_f64(&norms)
			} else {
				radius as f64 / ONE as f64
			};
			for _ in 0..iterations {
				let diff = s.f_sub(&v)?;
				let scales: Vec<f32> = row_norms(&diff)?
					.into_iter()
					.map(|norm| if norm > tau { (tau / norm) as f32 } else { 1.0 })
					.collect();
				let scales = Tensor::f_from_slice(&scales)?.f_unsqueeze(1)?;
				let step = diff.f_mul(&scales)?.f_mean_dim(0, false, Kind::Float)?;
				v = v.f_add(&step)?;
			}
			Ok(v)
		}
	}
}

/// l2 norm of every row of `s`, in `f64`.
fn row_norms(s: &Tensor) -> Result<Vec<f64>> {
	let norms = s.f_to_kind(Kind::Double)?.f_square()?.f_sum_dim_intlist(1, false, Kind::Double)?;
	Ok(Vec::<f64>::try_from(&norms.f_sqrt()?)?)
}

fn multi_krum(s: &Tensor, byzantine_percent: u8, selected: u32) -> Result<Tensor> {
	let n = usize::try_from(count(s)).map_err(|_| err("negative count"))?;
	// Krum scores need n − f − 2 ≥ 1 neighbours: with fewer than 3 updates no Byzantine one can
	// be told apart, and all are averaged (a round with one or two accepted providers goes on).
	let Some(most) = n.checked_sub(3) else {
		return Ok(s.f_mean_dim(0, false, Kind::Float)?);
	};
	let f = (n.saturating_mul(usize::from(byzantine_percent)) / 100).min(most);
	let neighbours = n.saturating_sub(f).saturating_sub(2);
	let m = if selected == 0 { n.saturating_sub(f) } else { selected as usize };
	if m == 0 || m > n {
		return Err(err(format!("Multi-Krum cannot select {m} of {n} updates")));
	}
	let rows: Vec<Tensor> =
		(0..n).map(|i| s.f_select(0, i as i64)).collect::<std::result::Result<_, _>>()?;
	// Squared distances in f64, each pair computed once.
	let mut dist = vec![vec![0f64; n]; n];
	for (i, a) in rows.iter().enumerate() {
		for (j, b) in rows.iter().enumerate().skip(i.saturating_add(1)) {
			let d = a.f_sub(b)?.f_to_kind(Kind::Double)?.f_square()?.f_sum(Kind::Double)?;
			let d = d.f_double_value(&[])?;
			if let Some(x) = dist.get_mut(i).and_then(|r| r.get_mut(j)) {
				*x = d;
			}
			if let Some(x) = dist.get_mut(j).and_then(|r| r.get_mut(i)) {
				*x = d;
			}
		}
	}
	let mut scores: Vec<(f64, usize)> = dist
		.iter()
		.enumerate()
		.map(|(i, row)| {
			let mut others: Vec<f64> =
				row.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &d)| d).collect();
			others.sort_by(f64::total_cmp);
			(others.iter().take(neighbours).sum(), i)
		})
		.collect();
	scores.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
	let mut chosen: Vec<i64> = scores.iter().take(m).map(|&(_, i)| i as i64).collect();
	chosen.sort_unstable();
	let index = Tensor::f_from_slice(&chosen)?;
	Ok(s.f_index_select(0, &index)?.f_mean_dim(0, false, Kind::Float)?)
}

/// All parameters, detached and concatenated in canonical (name) order, as one 1-D tensor.
pub fn flatten(params: &Params) -> Result<Tensor> {
	let parts: Vec<Tensor> = params
		.values()
		.map(|t| t.f_detach()?.f_flatten(0, -1))
		.collect::<std::result::Result<_, _>>()?;
	Ok(Tensor::f_cat(&parts, 0)?)
}

/// How many coordinates `params` has together: the length of [`flatten`]'s result.
pub fn coordinate_count(params: &Params) -> usize {
	params.values().map(Tensor::numel).sum()
}

/// The update `θ_start − θ_end`, flattened.
pub fn update(start: &Params, end: &Params) -> Result<Tensor> {
	Ok(flatten(start)?.f_sub(&flatten(end)?)?)
}

/// `θ − η·aggregate`, reshaped into `params`' tensors (with gradients enabled, ready to train).
pub fn apply_update(params: &Params, aggregate: &Tensor, server_lr: f64) -> Result<Params> {
	let _guard = tch::no_grad_guard();
	let flat = flatten(params)?;
	if flat.size() != aggregate.size() {
		return Err(err(format!(
			"aggregate has shape {:?}, the weights have {:?}",
			aggregate.size(),
			flat.size()
		)));
	}
	let next = flat.f_sub(&aggregate.f_mul_scalar(server_lr)?)?;
	let mut out = Params::new();
	let mut offset = 0i64;
	for (name, t) in params {
		let numel = i64::try_from(t.numel()).map_err(|_| err("tensor too large"))?;
		let part = next.f_narrow(0, offset, numel)?.f_reshape(t.size())?.f_contiguous()?;
		out.insert(name.clone(), part.set_requires_grad(true));
		offset = offset.saturating_add(numel);
	}
	Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
	use super::*;

	fn t(v: &[f32]) -> Tensor {
		Tensor::from_slice(v)
	}

	fn v(x: &Tensor) -> Vec<f32> {
		Vec::<f32>::try_from(x).unwrap()
	}

	fn close(a: &[f32], b: &[f32]) -> bool {
		a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
	}

	#[test]
	fn mean_median_trimmed_mean_on_hand_made_updates() {
		let u = [t(&[1.0, 10.0]), t(&[2.0, 20.0]), t(&[3.0, 30.0]), t(&[100.0, -1000.0])];
		assert!(close(&v(&aggregate(&Rule::Mean, &u).unwrap()), &[26.5, -235.0]));
		// Even count: mean of the two middle values per coordinate.
		assert!(close(&v(&aggregate(&Rule::CoordinateMedian, &u).unwrap()), &[2.5, 15.0]));
		assert!(close(&v(&aggregate(&Rule::CoordinateMedian, &u[..3]).unwrap()), &[2.0, 20.0]));
		// 25% of 4 = 1 dropped at each end.
		let tm = aggregate(&Rule::TrimmedMean { trim_per_side: 25 }, &u).unwrap();
		assert!(close(&v(&tm), &[2.5, 15.0]));
		// 24% of 4 rounds down to nothing dropped: the mean.
		let tm = aggregate(&Rule::TrimmedMean { trim_per_side: 24 }, &u).unwrap();
		assert!(close(&v(&tm), &[26.5, -235.0]));
		assert!(aggregate(&Rule::TrimmedMean { trim_per_side: 50 }, &u).is_err());
	}

	#[test]
	fn multi_krum_drops_the_outliers() {
		// Five close updates and two far ones.
		let mut u: Vec<Tensor> =
			[0.0, 0.1, -0.1, 0.2, -0.2].iter().map(|&d| t(&[1.0 + d, 1.0 - d])).collect();
		u.push(t(&[50.0, -50.0]));
		u.push(t(&[-40.0, 60.0]));
		// 30% of 7 → f = 2, the five good ones are averaged.
		let k = aggregate(&Rule::MultiKrum { byzantine_percent: 30, selected: 0 }, &u).unwrap();
		assert!(close(&v(&k), &[1.0, 1.0]), "{:?}", v(&k));
		// One selected: the most central of the good ones.
		let k = aggregate(&Rule::MultiKrum { byzantine_percent: 30, selected: 1 }, &u).unwrap();
		assert!(close(&v(&k), &[1.0, 1.0]), "{:?}", v(&k));
		// The default (40% → f = 2 of 7) agrees.
		assert!(close(&v(&aggregate(&Rule::default(), &u).unwrap()), &[1.0, 1.0]));
		// 0%: f = 0, m = n: the mean.
		let k = aggregate(&Rule::MultiKrum { byzantine_percent: 0, selected: 0 }, &u).unwrap();
		assert!(k.allclose(&aggregate(&Rule::Mean, &u).unwrap(), 1e-6, 1e-6, false));
		// Fewer than 3 updates: nothing to score against, the mean of all.
		for few in [&u[..1], &u[5..7]] {
			let k = aggregate(&Rule::default(), few).unwrap();
			assert!(k.allclose(&aggregate(&Rule::Mean, few).unwrap(), 1e-6, 1e-6, false));
		}
		// No honest majority, impossible selections: errors.
		assert!(aggregate(&Rule::MultiKrum { byzantine_percent: 50, selected: 0 }, &u).is_err());
		assert!(aggregate(&Rule::MultiKrum { byzantine_percent: 10, selected: 8 }, &u).is_err());
	}

	#[test]
	fn centered_clipping_bounds_each_update_s_pull() {
		let mut u: Vec<Tensor> = (0..8).map(|_| t(&[1.0, 1.0])).collect();
		u.push(t(&[1000.0, 1000.0]));
		u.push(t(&[-1000.0, 1000.0]));
		// All good updates agree: the median is [1, 1], τ (median distance) is 0, nothing moves.
		let cc = aggregate(&Rule::CenteredClipping { radius: 0, iterations: 3 }, &u).unwrap();
		assert!(close(&v(&cc), &[1.0, 1.0]));
		// Radius 1: each outlier pulls by at most 1/10 per iteration.
		let cc = aggregate(&Rule::CenteredClipping { radius: ONE, iterations: 1 }, &u).unwrap();
		let out = v(&cc);
		let moved = ((out[0] - 1.0).powi(2) + (out[1] - 1.0).powi(2)).sqrt();
		assert!(moved <= 0.2 + 1e-6 && out[1] > 1.0, "{out:?}");
		// The mean is dragged far away.
		assert!(v(&aggregate(&Rule::Mean, &u).unwrap())[1] > 100.0);
		assert!(aggregate(&Rule::CenteredClipping { radius: 0, iterations: 0 }, &u).is_err());
	}

	#[test]
	fn malformed_inputs_are_errors_and_rules_are_deterministic() {
		assert!(aggregate(&Rule::Mean, &[]).is_err());
		assert!(aggregate(&Rule::Mean, &[t(&[1.0]), t(&[1.0, 2.0])]).is_err());
		assert!(aggregate(&Rule::Mean, &[Tensor::from_slice(&[1i64])]).is_err());
		assert!(aggregate(&Rule::Mean, &[Tensor::zeros([2, 2], (Kind::Float, tch::Device::Cpu))])
			.is_err());
		let u: Vec<Tensor> =
			(0..7).map(|i| Tensor::randn([100], (Kind::Float, tch::Device::Cpu)) * i).collect();
		for rule in [
			Rule::Mean,
			Rule::CoordinateMedian,
			Rule::TrimmedMean { trim_per_side: 20 },
			Rule::MultiKrum { byzantine_percent: 30, selected: 2 },
			Rule::CenteredClipping { radius: 0, iterations: 3 },
			Rule::default(),
		] {
			assert!(aggregate(&rule, &u).unwrap().equal(&aggregate(&rule, &u).unwrap()));
			let json = serde_json::to_string(&rule).unwrap();
			assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
		}
	}

	#[test]
	fn flatten_and_apply_round_trip() {
		let mut p = Params::new();
		p.insert("a".into(), t(&[1.0, 2.0, 3.0, 4.0]).reshape([2, 2]));
		p.insert("b".into(), t(&[5.0]));
		let mut q = Params::new();
		q.insert("a".into(), t(&[0.0, 2.0, 3.0, 2.0]).reshape([2, 2]));
		q.insert("b".into(), t(&[6.0]));
		let d = update(&p, &q).unwrap();
		assert_eq!(v(&d), vec![1.0, 0.0, 0.0, 2.0, -1.0]);
		assert_eq!(coordinate_count(&p), 5);
		let back = apply_update(&p, &d, 1.0).unwrap();
		assert!(back["a"].equal(&q["a"]) && back["b"].equal(&q["b"]));
		assert_eq!(back["a"].size(), vec![2, 2]);
		assert!(apply_update(&p, &t(&[1.0]), 1.0).is_err());
	}
}
