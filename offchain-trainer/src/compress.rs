//! Update compression: top-k sparsification with error feedback and 8-bit quantization, in one
//! canonical byte encoding whose BLAKE2b-256 hash is the update hash a provider commits.
//!
//! Encoding (all integers little-endian):
//! `"potΔ" (4 bytes: 0x70 0x6f 0x74 0xce) ‖ version u8 = 1 ‖ dim u32 ‖ count u32 ‖ scale f32 ‖
//! count index deltas ‖ count values i8`.
//! - Indices are strictly ascending; each is written as the LEB128 varint of its distance to the
//!   previous index plus one (the first: the index itself), minimal length.
//! - A value `q` stands for `q·scale`; `q` is in `−127..=127` and never 0, and some `|q|` is 127
//!   (so `scale` is the largest magnitude over 127); with no entries, `scale` is 0.
//!
//! The decoder accepts exactly the encodings the encoder can produce and rejects everything
//! else with an error (wrong magic or version, dimension above the caller's limit, more entries
//! than coordinates, truncation, trailing bytes, non-minimal varints, indices out of range or not
//! ascending, out-of-range or zero values, a scale that is not finite and positive, or no value
//! at ±127), so one sparse update has one encoding and one hash.
//!
//! Error feedback (Stich et al. 2018; Karimireddy et al. 2019): the provider adds what previous
//! compressions dropped ([`Residual`]) to its update before compressing, and keeps what this one
//! drops: `c = C(Δ + e)`, `e ← Δ + e − decode(c)` ([`compress_with_feedback`]). On chain the
//! residual's hash is part of the commitment, so a verifier recomputes both from the proof and
//! the stored residual ([`payload`]).

use crate::error::{Error, Result};
use pot_pol_core::{blake2_256, Hash};
use tch::{Kind, Tensor};

const MAGIC: [u8; 4] = [0x70, 0x6f, 0x74, 0xce];
const VERSION: u8 = 1;
const HEADER: usize = 4 + 1 + 4 + 4 + 4;

fn err(msg: impl Into<String>) -> Error {
	Error::Compress(msg.into())
}

/// A sparse, quantized update.
#[derive(Clone, Debug, PartialEq)]
pub struct Sparse {
	/// Length of the dense update.
	pub dim: u32,
	/// Indices of the kept coordinates, strictly ascending.
	pub indices: Vec<u32>,
	/// Their quantized values, in `−127..=127 \ {0}`.
	pub values: Vec<i8>,
	/// The value of one quantization step.
	pub scale: f32,
}

impl Sparse {
	/// The canonical encoding.
	pub fn encode(&self) -> Vec<u8> {
		let mut out =
			Vec::with_capacity(HEADER.saturating_add(self.indices.len().saturating_mul(3)));
		out.extend_from_slice(&MAGIC);
		out.push(VERSION);
		out.extend_from_slice(&self.dim.to_le_bytes());
		out.extend_from_slice(&u32::try_from(self.indices.len()).unwrap_or(u32::MAX).to_le_bytes());
		out.extend_from_slice(&self.scale.to_le_bytes());
		let mut next = 0u32;
		for &i in &self.indices {
			let mut delta = i.wrapping_sub(next);
			loop {
				let byte = (delta & 0x7f) as u8;
				delta >>= 7;
				if delta == 0 {
					out.push(byte);
					break;
				}
				out.push(byte | 0x80);
			}
			next = i.wrapping_add(1);
		}
		out.extend(self.values.iter().map(|&v| v.to_le_bytes()[0]));
		out
	}

	/// The update hash: BLAKE2b-256 of [`Self::encode`].
	pub fn hash(&self) -> Hash {
		blake2_256(&self.encode())
	}

	/// Decodes a payload of at most `max_dim` coordinates, rejecting anything non-canonical.
	pub fn decode(bytes: &[u8], max_dim: u32) -> Result<Self> {
		let (header, mut rest) = bytes
			.split_first_chunk::<HEADER>()
			.ok_or_else(|| err("payload shorter than its header"))?;
		let field = |at: usize| -> [u8; 4] {
			let mut b = [0u8; 4];
			if let Some(src) = header.get(at..at.saturating_add(4)) {
				b.copy_from_slice(src);
			}
			b
		};
		if field(0) != MAGIC {
			return Err(err("not a compressed update (magic)"));
		}
		if header.get(4) != Some(&VERSION) {
			return Err(err("unknown compressed-update version"));
		}
		let dim = u32::from_le_bytes(field(5));
		let count = u32::from_le_bytes(field(9));
		let scale = f32::from_le_bytes(field(13));
		if dim > max_dim {
			return Err(err(format!("dimension {dim} above the limit {max_dim}")));
		}
		if count > dim {
			return Err(err(format!("{count} entries for {dim} coordinates")));
		}
		// Each entry takes at least two bytes: refuse before allocating for a lying count.
		if (count as usize).saturating_mul(2) > rest.len() {
			return Err(err("payload shorter than its entry count"));
		}
		let mut indices = Vec::with_capacity(count as usize);
		let mut next = 0u64;
		for _ in 0..count {
			let mut delta = 0u64;
			let mut shift = 0u32;
			loop {
				let (&byte, tail) =
					rest.split_first().ok_or_else(|| err("truncated index list"))?;
				rest = tail;
				if shift >= 35 {
					return Err(err("index varint too long"));
				}
				delta |= u64::from(byte & 0x7f) << shift;
				shift = shift.saturating_add(7);
				if byte & 0x80 == 0 {
					if byte == 0 && shift > 7 {
						return Err(err("non-minimal index varint"));
					}
					break;
				}
			}
			let index = next.saturating_add(delta);
			if index >= u64::from(dim) {
				return Err(err(format!("index {index} outside {dim} coordinates")));
			}
			indices.push(u32::try_from(index).map_err(|_| err("index overflow"))?);
			next = index.saturating_add(1);
		}
		if rest.len() != count as usize {
			return Err(err(format!("{} value bytes for {count} entries", rest.len())));
		}
		let values: Vec<i8> = rest.iter().map(|&b| i8::from_le_bytes([b])).collect();
		if values.iter().any(|&v| v == 0 || v == i8::MIN) {
			return Err(err("quantized values must be in -127..=127 and not 0"));
		}
		if count == 0 {
			if scale.to_bits() != 0 {
				return Err(err("an empty update has scale 0"));
			}
		} else {
			if !(scale.is_finite() && scale > 0.0) {
				return Err(err("scale must be finite and positive"));
			}
			if !values.iter().any(|&v| v.unsigned_abs() == 127) {
				return Err(err("no value at ±127: the scale is not canonical"));
			}
		}
		Ok(Self { dim, indices, values, scale })
	}

	/// The dense update (`f32`, length `dim`).
	pub fn to_dense(&self) -> Result<Tensor> {
		let mut dense = vec![0f32; self.dim as usize];
		for (&i, &q) in self.indices.iter().zip(&self.values) {
			if let Some(x) = dense.get_mut(i as usize) {
				*x = f32::from(q) * self.scale;
			}
		}
		Ok(Tensor::f_from_slice(&dense)?)
	}
}

/// Keeps the `k` largest-magnitude coordinates of `update` (ties: lower index first) and
/// quantizes them to 8 bits; coordinates that quantize to 0 are dropped.
pub fn compress(update: &Tensor, k: usize) -> Result<Sparse> {
	if update.size().len() != 1 || update.f_kind()? != Kind::Float {
		return Err(err("updates are 1-D f32 tensors"));
	}
	let dense = Vec::<f32>::try_from(&update.f_detach()?.f_contiguous()?)?;
	if dense.iter().any(|v| !v.is_finite()) {
		return Err(err("the update has non-finite values"));
	}
	let dim = u32::try_from(dense.len()).map_err(|_| err("update too long"))?;
	let mut order: Vec<u32> = (0..dim).collect();
	order.sort_by(|&a, &b| {
		let (x, y) = (dense.get(a as usize), dense.get(b as usize));
		let (x, y) = (x.map_or(0.0, |v| v.abs()), y.map_or(0.0, |v| v.abs()));
		y.total_cmp(&x).then(a.cmp(&b))
	});
	let mut kept: Vec<u32> = order.into_iter().take(k).collect();
	kept.sort_unstable();
	let max = kept.iter().filter_map(|&i| dense.get(i as usize)).fold(0f32, |m, v| m.max(v.abs()));
	if max == 0.0 {
		return Ok(Sparse { dim, indices: vec![], values: vec![], scale: 0.0 });
	}
	let scale = max / 127.0;
	let (mut indices, mut values) = (Vec::new(), Vec::new());
	for i in kept {
		let v = dense.get(i as usize).copied().unwrap_or(0.0);
		let q = (v / scale).round().clamp(-127.0, 127.0) as i8;
		if q != 0 {
			indices.push(i);
			values.push(q);
		}
	}
	// `max / scale` may round to 126.99…: make sure the largest entry sits at ±127.
	if !values.iter().any(|&q| q.unsigned_abs() == 127) {
		if let Some(q) = values.iter_mut().max_by_key(|q| q.unsigned_abs()) {
			*q = if *q > 0 { 127 } else { -127 };
		}
	}
	Ok(Sparse { dim, indices, values, scale })
}

/// What an order's commitments name as their update (the chain's `UpdateEncoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpdateEncoding {
	/// The final weights: `update_hash` is their hash; the validator combines dense updates.
	#[default]
	Dense,
	/// [`payload`]: the update θ_r − θ_H, top-k and 8 bits; `update_hash` is the payload's hash.
	TopK {
		/// Share of the coordinates kept, in parts per billion (`Perbill`), not zero.
		kept_ppb: u32,
	},
}

impl UpdateEncoding {
	/// Coordinates a top-k payload keeps of a `dim`-coordinate update: ⌊dim · kept⌋, at
	/// least one and at most `dim`; `None` for dense updates.
	pub fn kept_of(self, dim: usize) -> Option<usize> {
		match self {
			UpdateEncoding::Dense => None,
			UpdateEncoding::TopK { kept_ppb } => {
				let kept = (dim as u128).saturating_mul(u128::from(kept_ppb.min(1_000_000_000)))
					/ 1_000_000_000;
				Some(usize::try_from(kept).unwrap_or(usize::MAX).clamp(1, dim.max(1)))
			},
		}
	}
}

impl std::str::FromStr for UpdateEncoding {
	type Err = String;

	/// `dense`, or `top-k:P%` with P a percentage above 0 and at most 100 (up to 7 decimals:
	/// parts per billion), e.g. `top-k:1%`, `top-k:0.5%`.
	fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
		if s == "dense" {
			return Ok(Self::Dense);
		}
		let percent = s
			.strip_prefix("top-k:")
			.and_then(|p| p.strip_suffix('%'))
			.ok_or_else(|| format!("unknown update encoding {s:?}: dense or top-k:P%"))?;
		let (whole, fraction) = percent.split_once('.').unwrap_or((percent, ""));
		let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
		if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || fraction.len() > 7 {
			return Err(format!("top-k: {percent:?} is not a percentage with up to 7 decimals"));
		}
		let whole: u64 = whole.parse().map_err(|_| format!("top-k: {percent:?} is too large"))?;
		let fraction: u64 = format!("{fraction:0<7}").parse().unwrap_or(0);
		let ppb = whole.saturating_mul(10_000_000).saturating_add(fraction);
		match u32::try_from(ppb) {
			Ok(kept_ppb) if (1..=1_000_000_000).contains(&kept_ppb) => Ok(Self::TopK { kept_ppb }),
			_ => Err(format!("top-k: {percent}% is not above 0% and at most 100%")),
		}
	}
}

impl std::fmt::Display for UpdateEncoding {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match *self {
			UpdateEncoding::Dense => write!(f, "dense"),
			UpdateEncoding::TopK { kept_ppb } => {
				let fraction = format!("{:07}", kept_ppb % 10_000_000);
				let fraction = fraction.trim_end_matches('0');
				let dot = if fraction.is_empty() { "" } else { "." };
				write!(f, "top-k:{}{dot}{fraction}%", kept_ppb / 10_000_000)
			},
		}
	}
}

/// What compression dropped from a provider's updates so far, dense (f32, one value per
/// coordinate): the error-feedback residual `e`, added to its next update before compressing.
///
/// Encoding (integers little-endian): `"potε" (4 bytes: 0x70 0x6f 0x74 0xb5) ‖ version u8 = 1
/// ‖ dim u32 ‖ dim values f32`, every value finite. Its BLAKE2b-256 is the residual hash a
/// commitment names; [`NO_RESIDUAL`] names none (all zeros).
#[derive(Debug)]
pub struct Residual(Tensor);

const RESIDUAL_MAGIC: [u8; 4] = [0x70, 0x6f, 0x74, 0xb5];
const RESIDUAL_HEADER: usize = 4 + 1 + 4;

/// The residual hash of a participant that has none (the chain's zero hash).
pub const NO_RESIDUAL: Hash = [0; 32];

impl Residual {
	/// The canonical encoding.
	pub fn encode(&self) -> Result<Vec<u8>> {
		let values = Vec::<f32>::try_from(&self.0.f_contiguous()?)?;
		let dim = u32::try_from(values.len()).map_err(|_| err("residual too long"))?;
		let mut out = Vec::with_capacity(
			RESIDUAL_HEADER.saturating_add(values.len().saturating_mul(4)),
		);
		out.extend_from_slice(&RESIDUAL_MAGIC);
		out.push(VERSION);
		out.extend_from_slice(&dim.to_le_bytes());
		for v in values {
			out.extend_from_slice(&v.to_le_bytes());
		}
		Ok(out)
	}

	/// Decodes a residual of at most `max_dim` coordinates, rejecting anything else.
	pub fn decode(bytes: &[u8], max_dim: u32) -> Result<Self> {
		let (header, body) = bytes
			.split_first_chunk::<RESIDUAL_HEADER>()
			.ok_or_else(|| err("residual shorter than its header"))?;
		let (magic, rest) = header.split_at(4);
		if magic != RESIDUAL_MAGIC {
			return Err(err("not an error-feedback residual (magic)"));
		}
		let (version, dim) = rest.split_at(1);
		if version != [VERSION] {
			return Err(err("unknown residual version"));
		}
		let dim = u32::from_le_bytes(dim.try_into().map_err(|_| err("residual header"))?);
		if dim > max_dim {
			return Err(err(format!("residual dimension {dim} above the limit {max_dim}")));
		}
		if body.len() != (dim as usize).saturating_mul(4) {
			return Err(err(format!("{} value bytes for a residual of {dim}", body.len())));
		}
		let values: Vec<f32> = body
			.chunks_exact(4)
			.filter_map(|b| <[u8; 4]>::try_from(b).ok().map(f32::from_le_bytes))
			.collect();
		if values.iter().any(|v| !v.is_finite()) {
			return Err(err("the residual has non-finite values"));
		}
		Ok(Self(Tensor::f_from_slice(&values)?))
	}

	/// Its coordinates.
	pub fn dim(&self) -> i64 {
		self.0.size().first().copied().unwrap_or(0)
	}

	/// The residual hash: BLAKE2b-256 of [`Self::encode`].
	pub fn hash(&self) -> Result<Hash> {
		Ok(blake2_256(&self.encode()?))
	}
}

/// One error-feedback step: `c = C(Δ + e)` with `k` coordinates kept and the residual it
/// leaves, `Δ + e − decode(c)` (`e`: none is zeros).
pub fn compress_with_feedback(
	update: &Tensor,
	residual: Option<&Residual>,
	k: usize,
) -> Result<(Sparse, Residual)> {
	let _guard = tch::no_grad_guard();
	let corrected = match residual {
		Some(r) if r.0.size() == update.size() => update.f_add(&r.0)?,
		Some(r) => {
			return Err(err(format!(
				"a residual of {} coordinates for an update of {:?}",
				r.dim(),
				update.size()
			)))
		},
		None => update.f_detach()?,
	};
	let sparse = compress(&corrected, k)?;
	let left = corrected.f_sub(&sparse.to_dense()?)?;
	Ok((sparse, Residual(left)))
}

/// The payload a provider commits under [`UpdateEncoding::TopK`] for a round it started from
/// `round` and ended at `last`, with `residual` its error-feedback residual so far: the update
/// θ_r − θ_H ([`crate::aggregate::update`]) plus the residual, with its
/// [`UpdateEncoding::kept_of`] largest coordinates, 8 bits ([`compress_with_feedback`]); and the
/// residual it leaves. Anyone holding the proof and the residual recomputes both.
pub fn payload(
	round: &crate::model::Params,
	last: &crate::model::Params,
	kept_ppb: u32,
	residual: Option<&Residual>,
) -> Result<(Sparse, Residual)> {
	let _guard = tch::no_grad_guard();
	let update = crate::aggregate::update(round, last)?;
	let dim = usize::try_from(update.size().first().copied().unwrap_or(0)).unwrap_or(0);
	let k = UpdateEncoding::TopK { kept_ppb }.kept_of(dim).unwrap_or(1);
	compress_with_feedback(&update, residual, k)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
	use super::*;

	#[test]
	fn top_k_quantized_round_trip() {
		let u = Tensor::from_slice(&[0.0f32, -4.0, 0.5, 2.2, 0.01, -1.0]);
		let s = compress(&u, 3).unwrap();
		assert_eq!(s.indices, vec![1, 3, 5]);
		assert_eq!(s.values, vec![-127, 70, -32]);
		assert_eq!(s.scale, 4.0 / 127.0);
		let bytes = s.encode();
		assert_eq!(bytes.len(), HEADER + 3 + 3);
		assert_eq!(Sparse::decode(&bytes, 6).unwrap(), s);
		let dense = Vec::<f32>::try_from(&s.to_dense().unwrap()).unwrap();
		assert_eq!(dense[1], -4.0);
		assert!((dense[3] - 2.2).abs() < 0.02 && dense[0] == 0.0 && dense[2] == 0.0);
		// Large gaps take multi-byte varints.
		let mut big = vec![0f32; 100_000];
		big[0] = 1.0;
		big[99_999] = -1.0;
		let s = compress(&Tensor::from_slice(&big), 2).unwrap();
		assert_eq!(Sparse::decode(&s.encode(), 100_000).unwrap(), s);
		// All zero: an empty update.
		let z = compress(&Tensor::zeros([4], (Kind::Float, tch::Device::Cpu)), 2).unwrap();
		assert!(z.indices.is_empty() && z.scale == 0.0);
		assert_eq!(Sparse::decode(&z.encode(), 4).unwrap(), z);
		assert_ne!(z.hash(), compress(&u, 3).unwrap().hash());
	}

	#[test]
	fn decoder_rejects_malformed_and_oversized_payloads() {
		let good = compress(&Tensor::from_slice(&[0.0f32, -4.0, 0.5, 2.2, 0.01, -1.0]), 3).unwrap();
		let bytes = good.encode();
		let bad = |f: &dyn Fn(&mut Vec<u8>)| {
			let mut b = bytes.clone();
			f(&mut b);
			Sparse::decode(&b, 6).is_err()
		};
		assert!(Sparse::decode(&bytes, 5).is_err(), "dimension above the limit");
		assert!(Sparse::decode(&bytes[..HEADER - 1], 6).is_err());
		assert!(bad(&|b| b[0] ^= 1), "magic");
		assert!(bad(&|b| b[4] = 2), "version");
		assert!(bad(&|b| b.push(1)), "trailing byte");
		assert!(
			bad(&|b| {
				b.pop();
			}),
			"truncated"
		);
		assert!(bad(&|b| b[9] = 7), "more entries than coordinates");
		assert!(bad(&|b| b[9] = 2), "count disagrees with the bytes");
		assert!(bad(&|b| b[17] = 9), "index out of range");
		assert!(bad(&|b| b[17] = 0x81), "varint running into the values");
		assert!(
			bad(&|b| {
				b[17] = 0x81;
				b.insert(18, 0x00);
			}),
			"non-minimal varint"
		);
		let n = bytes.len();
		assert!(bad(&|b| b[n - 1] = 0), "zero value");
		assert!(bad(&|b| b[n - 1] = 0x80), "-128");
		assert!(bad(&|b| b[n - 3] = 3), "no value at 127");
		assert!(bad(&|b| b[13..17].copy_from_slice(&f32::NAN.to_le_bytes())), "NaN scale");
		assert!(bad(&|b| b[13..17].copy_from_slice(&(-1f32).to_le_bytes())), "negative scale");
		// A huge claimed count with no bytes behind it is refused before allocating.
		let mut lying = bytes[..HEADER].to_vec();
		lying[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
		lying[9..13].copy_from_slice(&u32::MAX.to_le_bytes());
		assert!(Sparse::decode(&lying, u32::MAX).is_err());
		assert!(compress(&Tensor::from_slice(&[f32::NAN]), 1).is_err());
	}

	#[test]
	fn update_encodings_parse_print_and_count_what_they_keep() {
		for (text, encoding) in [
			("dense", UpdateEncoding::Dense),
			("top-k:1%", UpdateEncoding::TopK { kept_ppb: 10_000_000 }),
			("top-k:0.5%", UpdateEncoding::TopK { kept_ppb: 5_000_000 }),
			("top-k:100%", UpdateEncoding::TopK { kept_ppb: 1_000_000_000 }),
			("top-k:0.0000001%", UpdateEncoding::TopK { kept_ppb: 1 }),
		] {
			assert_eq!(text.parse::<UpdateEncoding>(), Ok(encoding), "{text}");
			assert_eq!(encoding.to_string(), text);
		}
		for bad in ["", "top-k", "top-k:", "top-k:1", "top-k:0%", "top-k:100.5%", "top-k:-1%", "top-k:.5%", "top-k:1.00000001%", "sparse"] {
			assert!(bad.parse::<UpdateEncoding>().is_err(), "{bad}");
		}
		let one_percent = UpdateEncoding::TopK { kept_ppb: 10_000_000 };
		assert_eq!(one_percent.kept_of(19_210), Some(192));
		assert_eq!(one_percent.kept_of(50), Some(1), "at least one coordinate");
		assert_eq!(UpdateEncoding::TopK { kept_ppb: 1_000_000_000 }.kept_of(7), Some(7));
		assert_eq!(UpdateEncoding::Dense.kept_of(7), None);
	}

	#[test]
	fn the_payload_is_the_top_k_of_the_round_update_plus_the_residual() {
		let round: crate::model::Params =
			[("w".to_owned(), Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]))].into_iter().collect();
		let last: crate::model::Params =
			[("w".to_owned(), Tensor::from_slice(&[1.5f32, 2.0, 1.0, 4.1]))].into_iter().collect();
		// θ_r − θ_H = [−0.5, 0, 2, −0.1]; half the coordinates: −0.5 and 2.
		let (p, left) = payload(&round, &last, 500_000_000, None).unwrap();
		assert_eq!((p.dim, p.indices.clone()), (4, vec![0, 2]));
		assert_eq!(p.values, vec![-32, 127]);
		// What is left: the two dropped coordinates and the quantization error of −0.5.
		let left_values = Vec::<f32>::try_from(&left.0).unwrap();
		for (got, want) in left_values.iter().zip([-0.5 + 32.0 * 2.0 / 127.0, 0.0, 0.0, -0.1]) {
			assert!((got - want).abs() < 1e-6, "{left_values:?}");
		}
		let again = payload(&round, &last, 500_000_000, None).unwrap();
		assert_eq!((&p, left.hash().unwrap()), (&again.0, again.1.hash().unwrap()), "deterministic");
		assert_ne!(p.hash(), payload(&round, &last, 250_000_000, None).unwrap().0.hash());

		// The residual is added before compressing: [−0.5, 3, 2, −0.1] keeps 3 and 2.
		let residual = Residual(Tensor::from_slice(&[0.0f32, 3.0, 0.0, 0.0]));
		let (with, _) = payload(&round, &last, 500_000_000, Some(&residual)).unwrap();
		assert_eq!(with.indices, vec![1, 2]);
		// A residual of another model is refused.
		let other = Residual(Tensor::from_slice(&[1.0f32]));
		assert!(payload(&round, &last, 500_000_000, Some(&other)).is_err());
	}

	#[test]
	fn a_residual_has_one_encoding_and_the_decoder_refuses_the_rest() {
		let r = Residual(Tensor::from_slice(&[0.25f32, -1.5, 0.0]));
		let bytes = r.encode().unwrap();
		assert_eq!(bytes.len(), RESIDUAL_HEADER + 3 * 4);
		let back = Residual::decode(&bytes, 3).unwrap();
		assert_eq!(back.encode().unwrap(), bytes);
		assert_eq!(back.hash().unwrap(), blake2_256(&bytes));
		assert_ne!(r.hash().unwrap(), NO_RESIDUAL);
		let mutate = |at: usize, byte: u8| {
			let mut b = bytes.clone();
			b[at] = byte;
			b
		};
		let nan = {
			let mut b = bytes.clone();
			b[RESIDUAL_HEADER..RESIDUAL_HEADER + 4].copy_from_slice(&f32::NAN.to_le_bytes());
			b
		};
		for (bad, max_dim, why) in [
			(bytes[..RESIDUAL_HEADER - 1].to_vec(), 3, "header"),
			(mutate(0, b'x'), 3, "magic"),
			(mutate(4, 2), 3, "version"),
			(bytes.clone(), 2, "limit"),
			(bytes[..bytes.len() - 1].to_vec(), 3, "value bytes"),
			([bytes.clone(), vec![0; 4]].concat(), 3, "value bytes"),
			(nan, 3, "non-finite"),
		] {
			let e = Residual::decode(&bad, max_dim).unwrap_err().to_string();
			assert!(e.contains(why), "{why}: {e}");
		}
		// The payload's decoder refuses a residual, and the other way round.
		assert!(Sparse::decode(&bytes, 3).is_err());
		let payload = compress(&Tensor::from_slice(&[1.0f32, 0.0]), 1).unwrap().encode();
		assert!(Residual::decode(&payload, 3).is_err());
	}

	#[test]
	fn error_feedback_eventually_sends_everything() {
		// A constant update of which only one coordinate fits per round: the residual makes every
		// coordinate go out in turn, and the sum sent tracks the sum of the updates.
		let u = Tensor::from_slice(&[1.0f32, 0.9, 0.8, 0.7]);
		let mut residual = None;
		let mut sent = Tensor::zeros([4], (Kind::Float, tch::Device::Cpu));
		for _ in 0..200 {
			let (sparse, left) = compress_with_feedback(&u, residual.as_ref(), 1).unwrap();
			sent += sparse.to_dense().unwrap();
			residual = Some(left);
		}
		let total = Vec::<f32>::try_from(&(sent / 200.0)).unwrap();
		for (got, want) in total.iter().zip([1.0, 0.9, 0.8, 0.7]) {
			assert!((got - want).abs() < 0.02, "{total:?}");
		}
	}
}
