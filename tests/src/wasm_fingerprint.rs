//! A fingerprint of a runtime wasm blob that does not depend on where the source was checked out.
//!
//! The runtime's wasm embeds the absolute path of its source files (panic locations) and symbol
//! hashes derived from it, so two checkouts of the same commit build different bytes, and even a
//! different set of functions (inlining decisions follow the symbol hashes; seen: one
//! `Encode::encode_to` kept in one checkout and inlined in another). What stays identical is its
//! interface: imports (host functions), export names, the runtime version and API sections.
//! The runtime's metadata (calls, storage, types) is pinned separately by
//! `metadata/pot.scale`; a logic change that alters none of these needs a `spec_version` bump.

use anyhow::{bail, ensure, Context, Result};

/// Path-independent summary of a runtime wasm blob.
#[derive(Debug, PartialEq, Eq)]
pub struct WasmFingerprint {
	/// Raw import section: the host functions the runtime needs.
	pub imports: Vec<u8>,
	/// Export names and kinds, sorted: the runtime API entry points.
	pub exports: Vec<(Vec<u8>, u8)>,
	/// The `runtime_version` custom section (spec name and versions).
	pub runtime_version: Vec<u8>,
	/// Entries of the `runtime_apis` custom section (API id and version), sorted.
	pub runtime_apis: Vec<Vec<u8>>,
}

struct Reader<'a> {
	bytes: &'a [u8],
	at: usize,
}

impl<'a> Reader<'a> {
	fn leb_u32(&mut self) -> Result<u32> {
		let mut value: u32 = 0;
		for shift in (0..35).step_by(7) {
			let byte = *self.bytes.get(self.at).context("truncated LEB128")?;
			self.at += 1;
			value |= u32::from(byte & 0x7f).checked_shl(shift).context("LEB128 overflow")?;
			if byte & 0x80 == 0 {
				return Ok(value);
			}
		}
		bail!("LEB128 longer than 5 bytes")
	}

	fn take(&mut self, len: usize) -> Result<&'a [u8]> {
		let end = self.at.checked_add(len).context("length overflow")?;
		let slice = self.bytes.get(self.at..end).context("truncated section")?;
		self.at = end;
		Ok(slice)
	}

	fn name(&mut self) -> Result<&'a [u8]> {
		let len = self.leb_u32()? as usize;
		self.take(len)
	}

	fn done(&self) -> bool {
		self.at >= self.bytes.len()
	}
}

/// Names and kinds of the exports, sorted. Their indices are left out: how many functions the
/// compiler keeps (inlining) depends on symbol hashes, which depend on the checkout path.
fn export_names(section: &[u8]) -> Result<Vec<(Vec<u8>, u8)>> {
	let mut reader = Reader { bytes: section, at: 0 };
	let count = reader.leb_u32()?;
	let mut exports = Vec::new();
	for _ in 0..count {
		let name = reader.name()?.to_vec();
		let kind = *reader.take(1)?.first().context("export without kind")?;
		reader.leb_u32()?;
		exports.push((name, kind));
	}
	exports.sort();
	Ok(exports)
}

impl WasmFingerprint {
	/// Fingerprints the wasm module `bytes`.
	pub fn of(bytes: &[u8]) -> Result<Self> {
		ensure!(bytes.get(..4) == Some(b"\0asm".as_slice()), "not a wasm module");
		let mut reader = Reader { bytes, at: 8 };
		let mut fingerprint = WasmFingerprint {
			imports: Vec::new(),
			exports: Vec::new(),
			runtime_version: Vec::new(),
			runtime_apis: Vec::new(),
		};
		while !reader.done() {
			let id = *reader.take(1)?.first().context("empty section id")?;
			let len = reader.leb_u32()? as usize;
			let body = reader.take(len)?;
			match id {
				2 => fingerprint.imports = body.to_vec(),
				7 => fingerprint.exports = export_names(body)?,
				0 => {
					let mut custom = Reader { bytes: body, at: 0 };
					let name = custom.name()?;
					let content = custom.take(body.len().saturating_sub(custom.at))?;
					match name {
						b"runtime_version" => fingerprint.runtime_version = content.to_vec(),
						b"runtime_apis" => {
							fingerprint.runtime_apis =
								content.chunks(12).map(<[u8]>::to_vec).collect();
							fingerprint.runtime_apis.sort();
						},
						_ => {},
					}
				},
				_ => {},
			}
		}
		ensure!(!fingerprint.runtime_version.is_empty(), "no runtime_version section");
		ensure!(!fingerprint.exports.is_empty(), "no exports");
		Ok(fingerprint)
	}
}
