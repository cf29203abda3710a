//! Hashing: BLAKE2b with a 32-byte digest, the same function as `sp_core::blake2_256` (the
//! chain's `BlakeTwo256`), so hashes computed here match hashes computed in the runtime.

use blake2::{digest::consts::U32, Blake2b, Digest};

/// A 32-byte BLAKE2b-256 digest.
pub type Hash = [u8; 32];

/// BLAKE2b-256 of `data`.
pub fn blake2_256(data: &[u8]) -> Hash {
	Blake2b::<U32>::digest(data).into()
}

/// Incremental BLAKE2b-256, for inputs too large to concatenate first (checkpoint tensors).
#[derive(Clone, Default)]
pub struct Hasher(Blake2b<U32>);

impl Hasher {
	/// A hasher over nothing yet.
	pub fn new() -> Self {
		Self::default()
	}

	/// Appends `data`.
	pub fn update(&mut self, data: &[u8]) {
		self.0.update(data);
	}

	/// The digest of everything appended.
	pub fn finalize(self) -> Hash {
		self.0.finalize().into()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	// Known answers from Python's `hashlib.blake2b(data, digest_size=32)`, which is the same
	// function as `sp_core::blake2_256`.
	#[test]
	fn matches_reference_blake2b_256() {
		assert_eq!(
			blake2_256(b""),
			hex("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
		);
		assert_eq!(
			blake2_256(b"abc"),
			hex("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
		);
	}

	#[test]
	fn incremental_equals_one_shot() {
		let mut h = Hasher::new();
		h.update(b"ab");
		h.update(b"c");
		assert_eq!(h.finalize(), blake2_256(b"abc"));
	}

	#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
	fn hex(s: &str) -> Hash {
		let mut out = [0u8; 32];
		for (i, byte) in out.iter_mut().enumerate() {
			*byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or_default();
		}
		out
	}
}
