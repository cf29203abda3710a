//! Identifiers and units shared by the PoT pallets, the runtime APIs and off-chain clients.
//!
//! Every id and unit is a newtype, so an order id can never be passed where an ask id or a count
//! of work units is expected.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Content hash of an artifact (model spec, weights, dataset, update, checkpoint): 32 bytes.
pub type ContentHash = polkadot_sdk::sp_core::H256;

macro_rules! id_newtype {
	($(#[$doc:meta])* $name:ident($inner:ty)) => {
		$(#[$doc])*
		#[derive(
			Encode,
			Decode,
			DecodeWithMemTracking,
			MaxEncodedLen,
			TypeInfo,
			Clone,
			Copy,
			PartialEq,
			Eq,
			PartialOrd,
			Ord,
			Hash,
			Default,
			Debug,
		)]
		pub struct $name(pub $inner);

		impl From<$inner> for $name {
			fn from(value: $inner) -> Self {
				Self(value)
			}
		}
	};
}

id_newtype!(
	/// Id of a training order. Assigned in creation order, starting at 0; never reused.
	OrderId(u64)
);
id_newtype!(
	/// Id of a validator's ask. Assigned in placement order, so a smaller id is an older ask;
	/// never reused.
	AskId(u64)
);
id_newtype!(
	/// A hardware class / compute profile (for example "CPU, x86-64-v3, pinned math library" or
	/// "CUDA, sm_90, deterministic kernels"). The numbering is fixed off chain; within one class
	/// re-execution is expected to be bitwise exact.
	HardwareClass(u16)
);
id_newtype!(
	/// A region tag (jurisdiction or data-residency zone). The numbering is fixed off chain.
	RegionTag(u16)
);
id_newtype!(
	/// A count of work units. One work unit is one optimizer step at the order's batch size.
	WorkUnits(u64)
);

impl OrderId {
	/// The id after this one, or `None` once ids are exhausted.
	pub fn next(self) -> Option<Self> {
		self.0.checked_add(1).map(Self)
	}
}

impl AskId {
	/// The id after this one, or `None` once ids are exhausted.
	pub fn next(self) -> Option<Self> {
		self.0.checked_add(1).map(Self)
	}
}

impl WorkUnits {
	/// No work.
	pub const ZERO: Self = Self(0);

	/// Whether this is no work at all.
	pub fn is_zero(self) -> bool {
		self.0 == 0
	}

	/// `self + other`, or `None` on overflow.
	pub fn checked_add(self, other: Self) -> Option<Self> {
		self.0.checked_add(other.0).map(Self)
	}

	/// `self - other`, or `None` if `other` is larger.
	pub fn checked_sub(self, other: Self) -> Option<Self> {
		self.0.checked_sub(other.0).map(Self)
	}

	/// `self + other`, or the largest count on overflow.
	pub fn saturating_add(self, other: Self) -> Self {
		Self(self.0.saturating_add(other.0))
	}

	/// `self - other`, or zero if `other` is larger.
	pub fn saturating_sub(self, other: Self) -> Self {
		Self(self.0.saturating_sub(other.0))
	}
}
