//! Datasets: the embedded UCI handwritten digits, MNIST-format IDX files and plain text.
//!
//! A dataset is `n` images of `rows × cols` 8-bit pixels with a label each. Pixels are scaled to
//! `[0, 1]` by dividing by the format's maximum (16 for digits, 255 for IDX). The content hash
//! (what an order's `TaskSpec.dataset` names) is BLAKE2b-256 over
//! `"pot/dataset/v1" ‖ n u64 ‖ rows u32 ‖ cols u32 ‖ max u8 ‖ classes u32 ‖ pixels ‖ labels`
//! (all little-endian), so the same samples in the same order hash the same whichever file
//! they came from.

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

	/// The content hash.
	pub fn hash(&self) -> Hash {
		let mut h = Hasher::new();
		h.update(b"pot/dataset/v1");
		h.update(&(self.len() as u64).to_le_bytes());
		h.update(&self.rows.to_le_bytes());
		h.update(&self.cols.to_le_bytes());
		h.update(&[self.max_value]);
		h.update(&self.classes.to_le_bytes());
		h.update(&self.pixels);
		h.update(&self.labels);
		h.finalize()
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
