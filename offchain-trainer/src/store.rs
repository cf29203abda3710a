//! The validator's content-addressed artifact store (`pot-trainer serve`).
//!
//! Files live at `DIR/{kind}/{hash}` (hash = 64 lowercase hex digits, no `0x`), written
//! atomically: the bytes go to a temporary file in `DIR/tmp/` first, are flushed, and are then
//! renamed into place, so a reader never sees half a file and a crash leaves at most a stray
//! temporary file. Round results (SCALE) live at `DIR/results/{order}-{round}.scale`.
//!
//! The store checks only the shape of an address; what the bytes must be for their address
//! (the content check of each kind) is [`crate::serve`]'s job, before [`Store::put`].

use crate::error::{Error, Result};
use pot_pol_core::Hash;
use std::{
	io::Write,
	path::{Path, PathBuf},
	sync::atomic::{AtomicU64, Ordering},
};

/// What an artifact is; the first path segment of its URL and its folder in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
	/// A model spec (`model::ModelSpec` as JSON), addressed by `ModelSpec::hash`.
	Model,
	/// Weights (safetensors, as `checkpoint::save_weights` writes them), addressed by
	/// `checkpoint::weights_hash`.
	Weights,
	/// A proof bundle (`bundle::pack`), addressed by its manifest's Merkle root.
	Proof,
	/// A verifier report (JSON, or a short reason), addressed by its BLAKE2b-256; written by the
	/// verifier only.
	Report,
	/// An order's data (`data::DatasetPair` file), addressed by `DatasetPair::hash`; served
	/// whole only to validators and the consumer, providers get their chunk.
	Dataset,
	/// A compressed update (`compress::Sparse`'s canonical encoding), addressed by its
	/// BLAKE2b-256: the `update_hash` of a commitment under a top-k `UpdateEncoding`.
	Update,
	/// An error-feedback residual (`compress::Residual`'s canonical encoding), addressed by its
	/// BLAKE2b-256: the `residual_out` of a commitment under a top-k `UpdateEncoding`, and the
	/// `residual_in` of the provider's next one.
	Residual,
}

impl Kind {
	/// Every kind.
	pub const ALL: [Kind; 7] = [
		Kind::Model,
		Kind::Weights,
		Kind::Proof,
		Kind::Report,
		Kind::Dataset,
		Kind::Update,
		Kind::Residual,
	];

	/// The kind named `name` in a URL.
	pub fn parse(name: &str) -> Option<Self> {
		Self::ALL.into_iter().find(|k| k.name() == name)
	}

	/// Its name in URLs and in the store.
	pub fn name(self) -> &'static str {
		match self {
			Kind::Model => "model",
			Kind::Weights => "weights",
			Kind::Proof => "proof",
			Kind::Report => "report",
			Kind::Dataset => "dataset",
			Kind::Update => "update",
			Kind::Residual => "residual",
		}
	}
}

/// Parses an address: exactly 64 lowercase hex digits.
pub fn parse_hash(s: &str) -> Option<Hash> {
	if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
		return None;
	}
	let mut out = [0u8; 32];
	hex::decode_to_slice(s, &mut out).ok()?;
	Some(out)
}

/// How a [`Store::put`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
	/// The artifact is new.
	Created,
	/// The same bytes were already stored.
	Unchanged,
}

/// A content-addressed store in one directory.
#[derive(Debug)]
pub struct Store {
	root: PathBuf,
	counter: AtomicU64,
}

impl Store {
	/// Opens (creating if needed) the store in `root`.
	pub fn open(root: &Path) -> Result<Self> {
		for sub in Kind::ALL.iter().map(|k| k.name()).chain(["tmp", "results"]) {
			let dir = root.join(sub);
			std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
		}
		Ok(Self { root: root.to_path_buf(), counter: AtomicU64::new(0) })
	}

	/// The store's directory.
	pub fn root(&self) -> &Path {
		&self.root
	}

	/// Where the artifact `(kind, hash)` lives (whether or not it exists).
	pub fn path(&self, kind: Kind, hash: &Hash) -> PathBuf {
		self.root.join(kind.name()).join(hex::encode(hash))
	}

	/// A fresh path in the store's temporary folder (same file system as the artifacts, so a
	/// rename into place is atomic).
	pub fn temp_path(&self) -> PathBuf {
		let n = self.counter.fetch_add(1, Ordering::Relaxed);
		let nanos = std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map(|d| d.as_nanos())
			.unwrap_or(0);
		self.root.join("tmp").join(format!("{}-{nanos}-{n}.part", std::process::id()))
	}

	/// The artifact's bytes, or `None` when it is not stored.
	pub fn get(&self, kind: Kind, hash: &Hash) -> Result<Option<Vec<u8>>> {
		read_optional(&self.path(kind, hash))
	}

	/// Whether the artifact is stored.
	pub fn contains(&self, kind: Kind, hash: &Hash) -> bool {
		self.path(kind, hash).is_file()
	}

	/// Stores `bytes` (already checked against their address) atomically.
	pub fn put(&self, kind: Kind, hash: &Hash, bytes: &[u8]) -> Result<Put> {
		let path = self.path(kind, hash);
		if read_optional(&path)?.as_deref() == Some(bytes) {
			return Ok(Put::Unchanged);
		}
		write_atomic(&self.temp_path(), &path, bytes)?;
		Ok(Put::Created)
	}

	/// Moves the finished file `temp` (from [`Self::temp_path`]) into place as `(kind, hash)`.
	pub fn put_file(&self, kind: Kind, hash: &Hash, temp: &Path) -> Result<Put> {
		let path = self.path(kind, hash);
		let bytes = std::fs::read(temp).map_err(|e| Error::io(temp, e))?;
		if read_optional(&path)?.as_deref() == Some(bytes.as_slice()) {
			let _ = std::fs::remove_file(temp);
			return Ok(Put::Unchanged);
		}
		sync_and_rename(temp, &path)?;
		Ok(Put::Created)
	}

	/// Where the encoded result of `(order, round)` is kept.
	pub fn result_path(&self, order: u64, round: u32) -> PathBuf {
		self.root.join("results").join(format!("{order}-{round}.scale"))
	}

	/// The encoded result of `(order, round)`, if one was saved.
	pub fn result(&self, order: u64, round: u32) -> Result<Option<Vec<u8>>> {
		read_optional(&self.result_path(order, round))
	}

	/// Saves the encoded result of `(order, round)` atomically.
	pub fn put_result(&self, order: u64, round: u32, bytes: &[u8]) -> Result<()> {
		write_atomic(&self.temp_path(), &self.result_path(order, round), bytes)
	}
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
	match std::fs::read(path) {
		Ok(bytes) => Ok(Some(bytes)),
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
		Err(e) => Err(Error::io(path, e)),
	}
}

fn write_atomic(temp: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
	let written = std::fs::File::create(temp)
		.and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
	if let Err(e) = written {
		let _ = std::fs::remove_file(temp);
		return Err(Error::io(temp, e));
	}
	sync_and_rename(temp, path)
}

fn sync_and_rename(temp: &Path, path: &Path) -> Result<()> {
	let synced = std::fs::File::open(temp).and_then(|f| f.sync_all());
	let renamed = synced.and_then(|()| std::fs::rename(temp, path));
	if let Err(e) = renamed {
		let _ = std::fs::remove_file(temp);
		return Err(Error::io(path, e));
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn addresses_are_64_lowercase_hex() {
		let h = "ab".repeat(32);
		assert_eq!(parse_hash(&h), Some([0xab; 32]));
		for bad in ["", "ab", &"AB".repeat(32), &format!("0x{}", "ab".repeat(31)), &"g0".repeat(32)]
		{
			assert_eq!(parse_hash(bad), None, "{bad}");
		}
		assert_eq!(parse_hash(&"ab".repeat(33)), None);
		assert_eq!(parse_hash(&format!("..%2F{}", "a".repeat(59))), None);
		assert_eq!(Kind::parse("weights"), Some(Kind::Weights));
		assert_eq!(Kind::parse("../weights"), None);
	}

	#[test]
	fn put_get_survive_reopening() -> Result<()> {
		let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
		let store = Store::open(dir.path())?;
		assert_eq!(store.get(Kind::Model, &[1; 32])?, None);
		assert_eq!(store.put(Kind::Model, &[1; 32], b"abc")?, Put::Created);
		assert_eq!(store.put(Kind::Model, &[1; 32], b"abc")?, Put::Unchanged);
		store.put_result(3, 4, b"\x01\x02")?;
		drop(store);
		let store = Store::open(dir.path())?;
		assert_eq!(store.get(Kind::Model, &[1; 32])?.as_deref(), Some(&b"abc"[..]));
		assert_eq!(store.result(3, 4)?.as_deref(), Some(&b"\x01\x02"[..]));
		assert_eq!(store.result(3, 5)?, None);
		// No temporary file is left behind.
		assert_eq!(std::fs::read_dir(dir.path().join("tmp")).map(|d| d.count()).unwrap_or(9), 0);
		Ok(())
	}
}
