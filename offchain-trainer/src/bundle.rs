//! One-file form of a proof directory, as providers upload it and validators store it.
//!
//! Layout (all integers little-endian): the magic `POTPROOF1`, a `u32` file count, then per
//! file a `u16` name length, the name, a `u64` size and the bytes. Names are plain file names
//! (`[A-Za-z0-9._-]`, not starting with a dot, at most 255 bytes), each at most once, and
//! `manifest.json` must be among them. [`unpack`] checks every length against the input and the
//! caller's limits before allocating, so a malformed or oversized bundle is an error, never a
//! crash or a huge allocation.

use crate::error::{Error, Result};
use std::{collections::BTreeSet, path::Path};

/// First bytes of every bundle.
pub const MAGIC: &[u8; 9] = b"POTPROOF1";
/// Most files in one bundle (a manifest and its checkpoints).
pub const MAX_FILES: u32 = 4096;
/// The file every proof directory has.
pub const MANIFEST: &str = "manifest.json";

fn bad(why: impl Into<String>) -> Error {
	Error::Bundle(why.into())
}

fn check_name(name: &str) -> Result<()> {
	let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
	if name.is_empty() || name.len() > 255 || name.starts_with('.') || !name.chars().all(allowed) {
		return Err(bad(format!("file name {name:?} is not a plain file name")));
	}
	Ok(())
}

/// Packs the regular files directly inside `dir` (sorted by name, so equal directories give
/// equal bundles).
pub fn pack(dir: &Path) -> Result<Vec<u8>> {
	let mut names = Vec::new();
	for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
		let entry = entry.map_err(|e| Error::io(dir, e))?;
		let path = entry.path();
		if path.is_file() {
			let name = entry
				.file_name()
				.into_string()
				.map_err(|n| bad(format!("file name {n:?} is not UTF-8")))?;
			check_name(&name)?;
			names.push(name);
		}
	}
	names.sort();
	if !names.iter().any(|n| n == MANIFEST) {
		return Err(bad(format!("{} has no {MANIFEST}", dir.display())));
	}
	let count = u32::try_from(names.len()).ok().filter(|n| *n <= MAX_FILES);
	let count = count.ok_or_else(|| bad(format!("more than {MAX_FILES} files")))?;
	let mut out = MAGIC.to_vec();
	out.extend_from_slice(&count.to_le_bytes());
	for name in names {
		let path = dir.join(&name);
		let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
		let name_len = u16::try_from(name.len()).map_err(|_| bad("file name too long"))?;
		out.extend_from_slice(&name_len.to_le_bytes());
		out.extend_from_slice(name.as_bytes());
		out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
		out.extend_from_slice(&bytes);
	}
	Ok(out)
}

/// Reads `n` bytes from the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
	if input.len() < n {
		return Err(bad(format!("truncated {what}")));
	}
	let (head, tail) = input.split_at(n);
	*input = tail;
	Ok(head)
}

fn take_array<const N: usize>(input: &mut &[u8], what: &str) -> Result<[u8; N]> {
	let mut out = [0u8; N];
	out.copy_from_slice(take(input, N, what)?);
	Ok(out)
}

/// The files of a bundle, in bundle order: `(name, bytes)`. Fails on a wrong magic, truncation,
/// trailing bytes, a bad or repeated name, more than [`MAX_FILES`] files, a missing manifest,
/// or a total size above `max_bytes`.
pub fn unpack(bundle: &[u8], max_bytes: u64) -> Result<Vec<(String, Vec<u8>)>> {
	if bundle.len() as u64 > max_bytes {
		return Err(bad(format!("bundle of {} bytes is above the limit {max_bytes}", bundle.len())));
	}
	let mut input = bundle;
	if take(&mut input, MAGIC.len(), "magic")? != MAGIC {
		return Err(bad("not a proof bundle (wrong magic)"));
	}
	let count = u32::from_le_bytes(take_array(&mut input, "file count")?);
	if count > MAX_FILES {
		return Err(bad(format!("{count} files, more than {MAX_FILES}")));
	}
	let mut seen = BTreeSet::new();
	let mut files = Vec::new();
	for _ in 0..count {
		let name_len = u16::from_le_bytes(take_array(&mut input, "name length")?);
		let name = std::str::from_utf8(take(&mut input, usize::from(name_len), "name")?)
			.map_err(|_| bad("file name is not UTF-8"))?
			.to_owned();
		check_name(&name)?;
		if !seen.insert(name.clone()) {
			return Err(bad(format!("file {name:?} appears twice")));
		}
		let size = u64::from_le_bytes(take_array(&mut input, "file size")?);
		let size = usize::try_from(size).map_err(|_| bad("file size too large"))?;
		files.push((name, take(&mut input, size, "file")?.to_vec()));
	}
	if !input.is_empty() {
		return Err(bad(format!("{} trailing bytes", input.len())));
	}
	if !seen.contains(MANIFEST) {
		return Err(bad(format!("no {MANIFEST}")));
	}
	Ok(files)
}

/// Unpacks `bundle` into the (existing, empty) directory `dir`.
pub fn unpack_into(bundle: &[u8], max_bytes: u64, dir: &Path) -> Result<()> {
	for (name, bytes) in unpack(bundle, max_bytes)? {
		let path = dir.join(name);
		std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
		let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
		for (name, bytes) in files {
			std::fs::write(dir.path().join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
		}
		dir
	}

	#[test]
	fn pack_then_unpack_gives_the_same_files() -> Result<()> {
		let dir = dir_with(&[("manifest.json", b"{}"), ("ckpt-000000.safetensors", b"abc")]);
		let bundle = pack(dir.path())?;
		let files = unpack(&bundle, 1 << 20)?;
		assert_eq!(
			files,
			vec![
				("ckpt-000000.safetensors".to_owned(), b"abc".to_vec()),
				("manifest.json".to_owned(), b"{}".to_vec())
			]
		);
		let out = tempfile::tempdir().map_err(|e| Error::io(Path::new("tmp"), e))?;
		unpack_into(&bundle, 1 << 20, out.path())?;
		assert_eq!(pack(out.path())?, bundle);
		Ok(())
	}

	#[test]
	fn malformed_bundles_are_errors() -> Result<()> {
		let dir = dir_with(&[("manifest.json", b"{}"), ("a", b"0123456789")]);
		let bundle = pack(dir.path())?;
		// Every strict prefix is truncated; trailing bytes are refused.
		for cut in 0..bundle.len() {
			assert!(unpack(bundle.get(..cut).unwrap_or_default(), 1 << 20).is_err(), "cut {cut}");
		}
		let mut longer = bundle.clone();
		longer.push(0);
		assert!(unpack(&longer, 1 << 20).is_err());
		assert!(unpack(&bundle, 10).is_err(), "size limit");
		let mut wrong_magic = bundle.clone();
		if let Some(b) = wrong_magic.first_mut() {
			*b = b'X';
		}
		assert!(unpack(&wrong_magic, 1 << 20).is_err());
		// A huge declared size fails on truncation without allocating it.
		let mut huge = MAGIC.to_vec();
		huge.extend_from_slice(&1u32.to_le_bytes());
		huge.extend_from_slice(&13u16.to_le_bytes());
		huge.extend_from_slice(b"manifest.json");
		huge.extend_from_slice(&u64::MAX.to_le_bytes());
		assert!(unpack(&huge, 1 << 20).is_err());
		Ok(())
	}

	#[test]
	fn names_that_leave_the_directory_or_repeat_are_refused() -> Result<()> {
		for name in ["../x", "a/b", ".hidden", ""] {
			let mut b = MAGIC.to_vec();
			b.extend_from_slice(&1u32.to_le_bytes());
			b.extend_from_slice(&u16::try_from(name.len()).unwrap_or(0).to_le_bytes());
			b.extend_from_slice(name.as_bytes());
			b.extend_from_slice(&0u64.to_le_bytes());
			assert!(unpack(&b, 1 << 20).is_err(), "{name:?}");
		}
		let mut twice = MAGIC.to_vec();
		twice.extend_from_slice(&2u32.to_le_bytes());
		for _ in 0..2 {
			twice.extend_from_slice(&13u16.to_le_bytes());
			twice.extend_from_slice(b"manifest.json");
			twice.extend_from_slice(&0u64.to_le_bytes());
		}
		assert!(unpack(&twice, 1 << 20).is_err());
		let no_manifest = dir_with(&[("a", b"1")]);
		assert!(pack(no_manifest.path()).is_err());
		Ok(())
	}
}
