//! A fingerprint of a runtime wasm blob that does not depend on where the source was checked out.
//!
//! The runtime's wasm embeds the absolute path of its source files (panic locations) and symbol
//! hashes derived from it, so two checkouts of the same commit build different bytes. What stays
//! identical is its interface and contents: imports (host functions), exports, the runtime
//! version and API sections, and the set of functions it contains (names without their hashes).

use anyhow::{bail, ensure, Context, Result};

/// Path-independent summary of a runtime wasm blob.
#[derive(Debug, PartialEq, Eq)]
pub struct WasmFingerprint {
	/// Raw import section: the host functions the runtime needs.
	pub imports: Vec<u8>,
	/// Raw export section: the runtime API entry points.
	pub exports: Vec<u8>,
	/// The `runtime_version` custom section (spec name and versions).
	pub runtime_version: Vec<u8>,
	/// Entries of the `runtime_apis` custom section (API id and version), sorted.
	pub runtime_apis: Vec<Vec<u8>>,
	/// Function names from the `name` section with symbol hashes removed, sorted.
	pub functions: Vec<String>,
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

/// Removes what depends on the build location from a symbol name: the `17h<16 hex digits>E`
/// hashes of Rust's legacy mangling and the `.llvm.<digits>` suffix of ThinLTO-promoted symbols.
fn without_symbol_hashes(name: &str) -> String {
	let name = match name.rfind(".llvm.") {
		Some(pos) if name.get(pos + 6..).is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) =>
			name.get(..pos).unwrap_or(name),
		_ => name,
	};
	let mut out = String::with_capacity(name.len());
	let mut rest = name;
	while let Some(pos) = rest.find("17h") {
		let (before, after) = rest.split_at(pos);
		out.push_str(before);
		let candidate = after.get(3..19);
		let is_hash = candidate.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
			&& after.get(19..20) == Some("E");
		if is_hash {
			out.push('E');
			rest = after.get(20..).unwrap_or_default();
		} else {
			out.push_str("17h");
			rest = after.get(3..).unwrap_or_default();
		}
	}
	out.push_str(rest);
	out
}

fn function_names(section: &[u8]) -> Result<Vec<String>> {
	let mut reader = Reader { bytes: section, at: 0 };
	let mut names = Vec::new();
	while !reader.done() {
		let id = *reader.take(1)?.first().context("empty subsection id")?;
		let len = reader.leb_u32()? as usize;
		let body = reader.take(len)?;
		if id != 1 {
			continue;
		}
		let mut functions = Reader { bytes: body, at: 0 };
		let count = functions.leb_u32()?;
		for _ in 0..count {
			functions.leb_u32()?;
			let name = String::from_utf8_lossy(functions.name()?);
			names.push(without_symbol_hashes(&name));
		}
	}
	names.sort();
	Ok(names)
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
			functions: Vec::new(),
		};
		while !reader.done() {
			let id = *reader.take(1)?.first().context("empty section id")?;
			let len = reader.leb_u32()? as usize;
			let body = reader.take(len)?;
			match id {
				2 => fingerprint.imports = body.to_vec(),
				7 => fingerprint.exports = body.to_vec(),
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
						b"name" => fingerprint.functions = function_names(content)?,
						_ => {},
					}
				},
				_ => {},
			}
		}
		ensure!(!fingerprint.runtime_version.is_empty(), "no runtime_version section");
		ensure!(!fingerprint.functions.is_empty(), "no function names (stripped wasm?)");
		Ok(fingerprint)
	}
}

#[cfg(test)]
mod tests {
	use super::without_symbol_hashes;

	#[test]
	fn symbol_hashes_are_removed() {
		assert_eq!(
			without_symbol_hashes("_ZN5bip398Mnemonic8parse_in17h632209d08f1ae27dE"),
			"_ZN5bip398Mnemonic8parse_inE"
		);
		assert_eq!(without_symbol_hashes("a17hb"), "a17hb");
		assert_eq!(
			without_symbol_hashes("_ZN10serde_json2de4peekE.llvm.2661026006690583175"),
			"_ZN10serde_json2de4peekE"
		);
		assert_eq!(without_symbol_hashes("x.llvm.abc"), "x.llvm.abc");
		assert_eq!(without_symbol_hashes("plain"), "plain");
	}
}
