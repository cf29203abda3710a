//! Datasets: the embedded UCI handwritten digits, MNIST-format IDX files and plain text.
//!
//! A dataset is `n` images of `rows × cols` 8-bit pixels with a label each. Pixels are scaled to
//! `[0, 1]` by dividing by the format's maximum (16 for digits, 255 for IDX).
//!
//! Hashes (BLAKE2b-256, integers little-endian), built so that one provider's chunk can be
//! checked against the order's dataset hash without the other samples ([`crate::chunk`]):
//! - a sample's leaf is `H("pot/sample/v1" ‖ pixels ‖ label)`;
//! - a dataset's hash is `H("pot/dataset/v2" ‖ n u64 ‖ rows u32 ‖ cols u32 ‖ max u8 ‖
//!   classes u32 ‖ H(leaf_0 ‖ … ‖ leaf_{n−1}))`, so the same samples in the same order hash the
//!   same whichever file they came from;
//! - an order's dataset ([`DatasetPair`], what `TaskSpec.dataset` names) is
//!   `H("pot/dataset-pair/v1" ‖ hash(train) ‖ hash(held_out))`: the training split the providers
//!   train on and the held-out split the validators evaluate on.

use crate::error::{Error, Result};
use pot_pol_core::{Hash, Hasher};
use std::io::Read;
use tch::{Device, Kind, Tensor};

/// `digits.csv.gz` from scikit-learn (UCI, CC BY 4.0; see `data/DATA-LICENSE.md`).
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Every `HELD_OUT_STRIDE`-th digit image (from index 0) is held out for evaluation.
pub const HELD_OUT_STRIDE: usize = 6;

/// Images with labels, in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
	/// Image height.
	pub rows: u32,
	/// Image width.
	pub cols: u32,
	/// The largest pixel value of the format (pixels are divided by it).
	pub max_value: u8,
	/// Number of classes (labels are `0..classes`).
	pub classes: u32,
	/// `n · rows · cols` pixels, image after image, row-major.
	pub pixels: Vec<u8>,
	/// `n` labels.
	pub labels: Vec<u8>,
}

impl Dataset {
	/// Number of samples.
	pub fn len(&self) -> usize {
		self.labels.len()
	}

	/// Whether there are no samples.
	pub fn is_empty(&self) -> bool {
		self.labels.is_empty()
	}

	/// Pixels per image.
	pub fn features(&self) -> usize {
		(self.rows as usize).saturating_mul(self.cols as usize)
	}

	/// Checks the sizes agree and every label is a class.
	pub fn validate(&self) -> Result<()> {
		if self.pixels.len() != self.len().saturating_mul(self.features()) {
			return Err(Error::Dataset(format!(
				"{} pixels for {} images of {}×{}",
				self.pixels.len(),
				self.len(),
				self.rows,
				self.cols
			)));
		}
		if let Some(bad) = self.labels.iter().find(|&&l| u32::from(l) >= self.classes) {
			return Err(Error::Dataset(format!("label {bad} outside 0..{}", self.classes)));
		}
		if self.max_value == 0 {
			return Err(Error::Dataset("maximum pixel value 0".into()));
		}
		Ok(())
	}

	/// The leaf of sample `i` (`None` past the end).
	pub fn sample_leaf(&self, i: usize) -> Option<Hash> {
		let f = self.features();
		let image = self.pixels.get(i.checked_mul(f)?..i.checked_add(1)?.checked_mul(f)?)?;
		Some(sample_leaf(image, *self.labels.get(i)?))
	}

	/// Every sample's leaf, in order.
	pub fn leaves(&self) -> Vec<Hash> {
		(0..self.len()).filter_map(|i| self.sample_leaf(i)).collect()
	}

	/// The content hash.
	pub fn hash(&self) -> Hash {
		hash_of_leaves(&self.shape(), &self.leaves())
	}

	/// Everything but the samples.
	pub fn shape(&self) -> Shape {
		Shape {
			samples: self.len() as u64,
			rows: self.rows,
			cols: self.cols,
			max_value: self.max_value,
			classes: self.classes,
		}
	}

	/// The samples at `indices`, in that order.
	pub fn subset(&self, indices: &[usize]) -> Result<Self> {
		let f = self.features();
		let mut pixels = Vec::with_capacity(indices.len().saturating_mul(f));
		let mut labels = Vec::with_capacity(indices.len());
		for &i in indices {
			let start = i.saturating_mul(f);
			let image = self
				.pixels
				.get(start..start.saturating_add(f))
				.ok_or_else(|| Error::Dataset(format!("sample {i} out of range")))?;
			pixels.extend_from_slice(image);
			labels.push(
				*self
					.labels
					.get(i)
					.ok_or_else(|| Error::Dataset(format!("sample {i} out of range")))?,
			);
		}
		Ok(Self { pixels, labels, ..*self })
	}

	/// The whole dataset as tensors: features `[n, rows·cols]` (f32 in `[0, 1]`) and labels `[n]`
	/// (i64), on `device`.
	pub fn tensors(&self, device: Device) -> Result<(Tensor, Tensor)> {
		let n = i64::try_from(self.len()).map_err(|_| Error::Dataset("too many samples".into()))?;
		let f =
			i64::try_from(self.features()).map_err(|_| Error::Dataset("image too large".into()))?;
		let scale = f32::from(self.max_value);
		let values: Vec<f32> = self.pixels.iter().map(|&p| f32::from(p) / scale).collect();
		let xs = Tensor::f_from_slice(&values)?.f_reshape([n, f])?.f_to_device(device)?;
		let labels: Vec<i64> = self.labels.iter().map(|&l| i64::from(l)).collect();
		let ys = Tensor::f_from_slice(&labels)?.f_to_kind(Kind::Int64)?.f_to_device(device)?;
		Ok((xs, ys))
	}
}

/// A dataset's sizes and format, without its samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
	/// Number of samples.
	pub samples: u64,
	/// Image height.
	pub rows: u32,
	/// Image width.
	pub cols: u32,
	/// The largest pixel value of the format.
	pub max_value: u8,
	/// Number of classes.
	pub classes: u32,
}

impl Shape {
	/// The dataset of this shape's format with `pixels` and `labels` (not validated).
	pub fn dataset(&self, pixels: Vec<u8>, labels: Vec<u8>) -> Dataset {
		Dataset {
			rows: self.rows,
			cols: self.cols,
			max_value: self.max_value,
			classes: self.classes,
			pixels,
			labels,
		}
	}

	/// Pixels per image (`None` on overflow).
	pub fn features(&self) -> Option<usize> {
		(self.rows as usize).checked_mul(self.cols as usize)
	}
}

/// The leaf of one sample: `H("pot/sample/v1" ‖ pixels ‖ label)`.
pub fn sample_leaf(pixels: &[u8], label: u8) -> Hash {
	let mut h = Hasher::new();
	h.update(b"pot/sample/v1");
	h.update(pixels);
	h.update(&[label]);
	h.finalize()
}

/// A dataset's hash from its shape and its samples' leaves.
pub fn hash_of_leaves(shape: &Shape, leaves: &[Hash]) -> Hash {
	let mut all = Hasher::new();
	for leaf in leaves {
		all.update(leaf);
	}
	let mut h = Hasher::new();
	h.update(b"pot/dataset/v2");
	h.update(&shape.samples.to_le_bytes());
	h.update(&shape.rows.to_le_bytes());
	h.update(&shape.cols.to_le_bytes());
	h.update(&[shape.max_value]);
	h.update(&shape.classes.to_le_bytes());
	h.update(&all.finalize());
	h.finalize()
}

/// An order's hash of a (training, held-out) pair of dataset hashes.
pub fn pair_hash(train: &Hash, held_out: &Hash) -> Hash {
	let mut h = Hasher::new();
	h.update(b"pot/dataset-pair/v1");
	h.update(train);
	h.update(held_out);
	h.finalize()
}

/// Magic of a [`DatasetPair`] file.
const PAIR_MAGIC: &[u8; 8] = b"POTDSET1";

/// An order's data: the training split providers train on (a chunk each) and the held-out
/// split validators evaluate on. Stored as a `dataset` artifact addressed by [`Self::hash`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetPair {
	/// What the providers train on.
	pub train: Dataset,
	/// What the validators evaluate on; never sent to providers.
	pub held_out: Dataset,
}

impl DatasetPair {
	/// The pair's hash (an order's `TaskSpec.dataset`).
	pub fn hash(&self) -> Hash {
		pair_hash(&self.train.hash(), &self.held_out.hash())
	}

	/// Checks both splits, that neither is empty and that they share rows, columns, pixel
	/// maximum and classes.
	pub fn validate(&self) -> Result<()> {
		self.train.validate()?;
		self.held_out.validate()?;
		if self.train.is_empty() || self.held_out.is_empty() {
			return Err(Error::Dataset("a split is empty".into()));
		}
		let (a, b) = (self.train.shape(), self.held_out.shape());
		if (a.rows, a.cols, a.max_value, a.classes) != (b.rows, b.cols, b.max_value, b.classes) {
			return Err(Error::Dataset(format!(
				"the splits differ in format: {a:?} and {b:?}"
			)));
		}
		Ok(())
	}

	/// The file: `"POTDSET1" ‖ split(train) ‖ split(held_out)`, a split being
	/// `n u64 ‖ rows u32 ‖ cols u32 ‖ max u8 ‖ classes u32 ‖ pixels ‖ labels`.
	pub fn encode(&self) -> Vec<u8> {
		let mut out = Vec::with_capacity(
			8usize
				.saturating_add(self.train.pixels.len())
				.saturating_add(self.held_out.pixels.len())
				.saturating_add(self.train.len())
				.saturating_add(self.held_out.len())
				.saturating_add(42),
		);
		out.extend_from_slice(PAIR_MAGIC);
		for split in [&self.train, &self.held_out] {
			put_shape(&mut out, &split.shape());
			out.extend_from_slice(&split.pixels);
			out.extend_from_slice(&split.labels);
		}
		out
	}

	/// Parses a file [`Self::encode`] wrote, checking every size against the bytes there are
	/// before reading, and [`Self::validate`].
	pub fn decode(bytes: &[u8]) -> Result<Self> {
		let mut r = Reader::new(bytes);
		if r.take(8)? != PAIR_MAGIC {
			return Err(Error::Dataset("not a dataset file (magic)".into()));
		}
		let train = read_split(&mut r)?;
		let held_out = read_split(&mut r)?;
		if !r.rest().is_empty() {
			return Err(Error::Dataset(format!("{} bytes after the dataset", r.rest().len())));
		}
		let pair = Self { train, held_out };
		pair.validate()?;
		Ok(pair)
	}
}

pub(crate) fn put_shape(out: &mut Vec<u8>, shape: &Shape) {
	out.extend_from_slice(&shape.samples.to_le_bytes());
	out.extend_from_slice(&shape.rows.to_le_bytes());
	out.extend_from_slice(&shape.cols.to_le_bytes());
	out.push(shape.max_value);
	out.extend_from_slice(&shape.classes.to_le_bytes());
}

fn read_split(r: &mut Reader<'_>) -> Result<Dataset> {
	let shape = r.shape()?;
	let n = usize::try_from(shape.samples).map_err(|_| Error::Dataset("too many samples".into()))?;
	let pixels = n
		.checked_mul(shape.features().ok_or_else(|| Error::Dataset("image too large".into()))?)
		.ok_or_else(|| Error::Dataset("too many pixels".into()))?;
	let pixels = r.take(pixels)?.to_vec();
	let labels = r.take(n)?.to_vec();
	Ok(shape.dataset(pixels, labels))
}

/// Reads little-endian fields, failing (never allocating) past the end.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
	pub(crate) fn new(bytes: &'a [u8]) -> Self {
		Self(bytes)
	}

	/// Bytes not read yet.
	pub(crate) fn remaining(&self) -> usize {
		self.0.len()
	}

	pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
		let (head, tail) = self.0.split_at_checked(n).ok_or_else(|| {
			Error::Dataset(format!("truncated: {n} bytes needed, {} left", self.0.len()))
		})?;
		self.0 = tail;
		Ok(head)
	}

	pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
		let mut out = [0u8; N];
		out.copy_from_slice(self.take(N)?);
		Ok(out)
	}

	pub(crate) fn u8(&mut self) -> Result<u8> {
		let [byte] = self.array::<1>()?;
		Ok(byte)
	}

	pub(crate) fn u32(&mut self) -> Result<u32> {
		Ok(u32::from_le_bytes(self.array()?))
	}

	pub(crate) fn u64(&mut self) -> Result<u64> {
		Ok(u64::from_le_bytes(self.array()?))
	}

	pub(crate) fn shape(&mut self) -> Result<Shape> {
		Ok(Shape {
			samples: self.u64()?,
			rows: self.u32()?,
			cols: self.u32()?,
			max_value: self.u8()?,
			classes: self.u32()?,
		})
	}

	pub(crate) fn rest(&self) -> &'a [u8] {
		self.0
	}
}

/// Training samples a [`crate::train::Session`] can read: a whole training split, or the one
/// chunk of it a provider was given ([`crate::chunk::Chunk`]).
pub trait Samples: Send + Sync {
	/// The hash a task names for these samples' dataset.
	fn dataset_hash(&self) -> Hash;
	/// Samples in the whole training split.
	fn total(&self) -> u64;
	/// The samples held here.
	fn held(&self) -> &Dataset;
	/// The row of [`Self::held`] holding sample `index` of the whole split, if held.
	fn row_of(&self, index: u32) -> Option<usize>;
}

/// A bare training split: the task names its own hash.
impl Samples for Dataset {
	fn dataset_hash(&self) -> Hash {
		self.hash()
	}
	fn total(&self) -> u64 {
		self.len() as u64
	}
	fn held(&self) -> &Dataset {
		self
	}
	fn row_of(&self, index: u32) -> Option<usize> {
		Some(index as usize).filter(|&i| i < self.len())
	}
}

/// An order's pair: the training split, under the pair's hash.
impl Samples for DatasetPair {
	fn dataset_hash(&self) -> Hash {
		self.hash()
	}
	fn total(&self) -> u64 {
		self.train.len() as u64
	}
	fn held(&self) -> &Dataset {
		&self.train
	}
	fn row_of(&self, index: u32) -> Option<usize> {
		self.train.row_of(index)
	}
}

/// The full UCI digits set (1797 images of 8×8, pixels 0..16, 10 classes).
pub fn digits() -> Result<Dataset> {
	let mut csv = String::new();
	flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
		.read_to_string(&mut csv)
		.map_err(|e| Error::Dataset(format!("digits.csv.gz: {e}")))?;
	let mut pixels = Vec::with_capacity(1797 * 64);
	let mut labels = Vec::with_capacity(1797);
	for (line_no, line) in csv.lines().enumerate() {
		let values: Vec<u8> = line
			.split(',')
			.map(|v| {
				v.trim()
					.parse::<f32>()
					.ok()
					.filter(|x| (0.0..=16.0).contains(x) && x.fract() == 0.0)
			})
			.map(|v| v.map(|x| x as u8))
			.collect::<Option<_>>()
			.ok_or_else(|| {
				Error::Dataset(format!(
					"digits.csv line {}: not 65 integers in 0..16",
					line_no.saturating_add(1)
				))
			})?;
		let (label, image) =
			values.split_last().filter(|(_, image)| image.len() == 64).ok_or_else(|| {
				Error::Dataset(format!(
					"digits.csv line {}: not 65 columns",
					line_no.saturating_add(1)
				))
			})?;
		pixels.extend_from_slice(image);
		labels.push(*label);
	}
	let set = Dataset { rows: 8, cols: 8, max_value: 16, classes: 10, pixels, labels };
	set.validate()?;
	Ok(set)
}

/// The digits split: `(train, held_out)`; every [`HELD_OUT_STRIDE`]-th image from index 0 is
/// held out (300 images), the other 1497 train.
pub fn digits_split() -> Result<(Dataset, Dataset)> {
	let all = digits()?;
	let (held, train): (Vec<usize>, Vec<usize>) =
		(0..all.len()).partition(|i| i % HELD_OUT_STRIDE == 0);
	Ok((all.subset(&train)?, all.subset(&held)?))
}

/// The digits split as an order's dataset pair (what `order create` names by default).
pub fn digits_pair() -> Result<DatasetPair> {
	let (train, held_out) = digits_split()?;
	Ok(DatasetPair { train, held_out })
}

/// The embedded dataset pair `hash` names (only the digits), if any.
pub fn embedded_pair(hash: &Hash) -> Result<Option<DatasetPair>> {
	let (digits_hash, digits) = embedded_digits()?;
	Ok((hash == digits_hash).then(|| digits.clone()))
}

/// The digits pair and its hash, parsed and hashed once per process.
fn embedded_digits() -> Result<&'static (Hash, DatasetPair)> {
	static DIGITS: std::sync::OnceLock<(Hash, DatasetPair)> = std::sync::OnceLock::new();
	if let Some(digits) = DIGITS.get() {
		return Ok(digits);
	}
	let pair = digits_pair()?;
	Ok(DIGITS.get_or_init(|| (pair.hash(), pair)))
}

/// Reads an MNIST-layout directory: `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`
/// (the training split), `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (held out),
/// each possibly gzipped (`.gz`).
pub fn from_mnist_dir(dir: &std::path::Path) -> Result<DatasetPair> {
	let read = |name: &str| -> Result<Vec<u8>> {
		let plain = dir.join(name);
		if plain.exists() {
			return std::fs::read(&plain).map_err(|e| Error::io(&plain, e));
		}
		let gz = dir.join(format!("{name}.gz"));
		let file = std::fs::File::open(&gz).map_err(|e| Error::io(&gz, e))?;
		let mut out = Vec::new();
		flate2::read::GzDecoder::new(file)
			.read_to_end(&mut out)
			.map_err(|e| Error::Dataset(format!("{}: {e}", gz.display())))?;
		Ok(out)
	};
	let split = |images: &str, labels: &str| -> Result<Dataset> {
		from_idx(&read(images)?, &read(labels)?)
	};
	let pair = DatasetPair {
		train: split("train-images-idx3-ubyte", "train-labels-idx1-ubyte")?,
		held_out: split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?,
	};
	pair.validate()?;
	Ok(pair)
}

/// `set` with its pixels scaled from `0..=max_value` to `0..=max` (rounded to nearest).
pub fn rescaled(set: &Dataset, max: u8) -> Result<Dataset> {
	set.validate()?;
	let from = u32::from(set.max_value);
	let pixels = set
		.pixels
		.iter()
		.map(|&p| {
			let scaled = u32::from(p)
				.min(from)
				.saturating_mul(u32::from(max))
				.saturating_add(from / 2)
				.checked_div(from)
				.unwrap_or(0);
			u8::try_from(scaled).unwrap_or(max)
		})
		.collect();
	Ok(Dataset { pixels, max_value: max, ..set.clone() })
}

/// Writes `set` as an MNIST-format pair of IDX files (images, labels); the reader takes the
/// pixels as `0..=255`.
pub fn to_idx(set: &Dataset) -> (Vec<u8>, Vec<u8>) {
	let mut images = vec![0, 0, 8, 3];
	for d in [set.len() as u32, set.rows, set.cols] {
		images.extend_from_slice(&d.to_be_bytes());
	}
	images.extend_from_slice(&set.pixels);
	let mut labels = vec![0, 0, 8, 1];
	labels.extend_from_slice(&(set.len() as u32).to_be_bytes());
	labels.extend_from_slice(&set.labels);
	(images, labels)
}

/// Reads an MNIST-format pair of IDX files: images (`0x00000803`, `n × rows × cols` u8) and
/// labels (`0x00000801`, `n` u8). Pixels are taken as 0..255 and labels as 0..9.
pub fn from_idx(images: &[u8], labels: &[u8]) -> Result<Dataset> {
	let (image_dims, pixels) = idx_u8(images)?;
	let (label_dims, labels) = idx_u8(labels)?;
	let [n, rows, cols] = image_dims[..] else {
		return Err(Error::Dataset(format!(
			"IDX images have {} dimensions, expected 3",
			image_dims.len()
		)));
	};
	let [n_labels] = label_dims[..] else {
		return Err(Error::Dataset(format!(
			"IDX labels have {} dimensions, expected 1",
			label_dims.len()
		)));
	};
	if n != n_labels {
		return Err(Error::Dataset(format!("{n} images but {n_labels} labels")));
	}
	let set = Dataset {
		rows,
		cols,
		max_value: 255,
		classes: 10,
		pixels: pixels.to_vec(),
		labels: labels.to_vec(),
	};
	set.validate()?;
	Ok(set)
}

/// Plain text as byte-level language-model samples for [`crate::model::ModelSpec::Transformer`]:
/// sample `i` is the `context + 1` bytes starting at `i·stride` (one row of `context + 1`
/// "pixels" with maximum 255), labelled with its last byte (256 classes). Any bytes are accepted
/// (UTF-8 text is read byte by byte); the windows must fit at least once.
pub fn from_text(text: &[u8], context: u32, stride: u32) -> Result<Dataset> {
	if context == 0 || stride == 0 {
		return Err(Error::Dataset("text context and stride must be positive".into()));
	}
	let width = (context as usize).saturating_add(1);
	let mut pixels = Vec::new();
	let mut labels = Vec::new();
	let mut start = 0usize;
	while let Some(window) = text.get(start..start.saturating_add(width)) {
		pixels.extend_from_slice(window);
		labels.push(window.last().copied().unwrap_or(0));
		start = start.saturating_add(stride as usize);
	}
	if labels.is_empty() {
		return Err(Error::Dataset(format!(
			"{} bytes of text, a sample needs {width}",
			text.len()
		)));
	}
	let cols = u32::try_from(width).map_err(|_| Error::Dataset("context too long".into()))?;
	let set = Dataset { rows: 1, cols, max_value: 255, classes: 256, pixels, labels };
	set.validate()?;
	Ok(set)
}

/// Parses an IDX file of unsigned bytes: magic `0 0 0x08 ndims`, `ndims` big-endian u32 sizes,
/// then exactly the data.
fn idx_u8(file: &[u8]) -> Result<(Vec<u32>, &[u8])> {
	let (magic, rest) = file
		.split_first_chunk::<4>()
		.ok_or_else(|| Error::Dataset("IDX file shorter than its magic".into()))?;
	let [0, 0, kind, ndims] = *magic else {
		return Err(Error::Dataset("IDX magic does not start with two zero bytes".into()));
	};
	if kind != 0x08 {
		return Err(Error::Dataset(format!(
			"IDX element type {kind:#04x}, only unsigned bytes (0x08) are supported"
		)));
	}
	let header_len = usize::from(ndims).saturating_mul(4);
	let (header, data) = rest
		.split_at_checked(header_len)
		.ok_or_else(|| Error::Dataset("IDX file shorter than its header".into()))?;
	let dims: Vec<u32> = header
		.chunks_exact(4)
		.map(|c| u32::from_be_bytes(<[u8; 4]>::try_from(c).unwrap_or_default()))
		.collect();
	let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d as usize));
	if expected != Some(data.len()) {
		return Err(Error::Dataset(format!(
			"IDX sizes {dims:?} do not match {} data bytes",
			data.len()
		)));
	}
	Ok((dims, data))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
	use super::*;

	#[test]
	fn digits_load_and_split() {
		let all = digits().unwrap();
		assert_eq!(all.len(), 1797);
		assert_eq!(all.labels[..3], [0, 1, 2]);
		let (train, held) = digits_split().unwrap();
		assert_eq!((train.len(), held.len()), (1497, 300));
		assert_eq!(held.labels[0], all.labels[0]);
		assert_eq!(train.labels[0], all.labels[1]);
		// Every class is in both parts.
		for c in 0..10 {
			assert!(train.labels.contains(&c) && held.labels.contains(&c));
		}
		assert_ne!(train.hash(), held.hash());
	}

	fn idx(kind: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
		let mut out = vec![0, 0, kind, dims.len() as u8];
		for d in dims {
			out.extend_from_slice(&d.to_be_bytes());
		}
		out.extend_from_slice(data);
		out
	}

	#[test]
	fn text_windows() {
		let set = from_text(b"hello world", 4, 3).unwrap();
		// Windows of 5 bytes at 0, 3, 6: "hello", "lo wo", "world".
		assert_eq!((set.len(), set.rows, set.cols, set.classes), (3, 1, 5, 256));
		assert_eq!(&set.pixels[5..10], b"lo wo");
		assert_eq!(set.labels, b"ood".to_vec());
		assert!(from_text(b"abc", 3, 1).is_err());
		assert!(from_text(b"abcd", 0, 1).is_err());
		assert!(from_text(b"abcd", 3, 0).is_err());
		assert_ne!(set.hash(), from_text(b"hello world", 4, 2).unwrap().hash());
	}

	#[test]
	fn idx_reads_mnist_layout_and_rejects_malformed_files() {
		let images = idx(8, &[2, 2, 3], &[0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
		let labels = idx(8, &[2], &[7, 3]);
		let set = from_idx(&images, &labels).unwrap();
		assert_eq!((set.len(), set.rows, set.cols, set.max_value), (2, 2, 3, 255));
		assert_eq!(set.labels, vec![7, 3]);
		// The hash covers content and layout.
		let swapped = from_idx(&idx(8, &[2, 3, 2], &images[16..]), &labels).unwrap();
		assert_ne!(set.hash(), swapped.hash());

		assert!(from_idx(&images[..3], &labels).is_err());
		assert!(from_idx(&idx(0x0d, &[2, 2, 3], &[0; 48]), &labels).is_err());
		assert!(from_idx(&idx(8, &[2, 2, 3], &[0; 11]), &labels).is_err());
		assert!(from_idx(&images, &idx(8, &[3], &[1, 2, 3])).is_err());
		assert!(from_idx(&images, &idx(8, &[2], &[1, 10])).is_err());
		assert!(from_idx(&idx(8, &[12], &[0; 12]), &labels).is_err());
		assert!(from_idx(&[1, 0, 8, 1, 0, 0, 0, 0], &labels).is_err());
	}
}
