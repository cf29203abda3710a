//! Staking records and the traits through which the PoL pallet and the market meet validator
//! staking: offences and slashing ([`ReportOffence`]), cluster membership ([`ClusterInspect`])
//! and a provider's open work ([`OpenWorkInspect`]).

use crate::{ContentHash, HardwareClass, WorkUnits};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::Weight;
use scale_info::TypeInfo;

/// What a bonded account did wrong (PROTOCOL.md, "Staking, clusters, consensus set" and the
/// challenge window). Each kind has its own slash fraction, set by governance.
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
	Debug,
)]
pub enum OffenceKind {
	/// A provider committed work that failed re-execution (forged or wrong checkpoints).
	#[codec(index = 0)]
	InvalidWork,
	/// A validator (or a committee member) published a verdict that a challenge overturned.
	#[codec(index = 1)]
	WrongVerdict,
	/// A validator rejected or ignored valid work (proven through a challenge).
	#[codec(index = 2)]
	Censorship,
	/// A validator or provider missed a round or settlement deadline it had committed to.
	#[codec(index = 3)]
	MissedDeadline,
	/// A challenger lost its challenge (the challenged work or verdict was upheld).
	#[codec(index = 4)]
	UnfoundedChallenge,
	/// A member of a challenge committee did not vote by the vote deadline (a light offence).
	#[codec(index = 5)]
	MissedVote,
}

impl OffenceKind {
	/// Every kind, in index order.
	pub const ALL: [OffenceKind; 6] = [
		OffenceKind::InvalidWork,
		OffenceKind::WrongVerdict,
		OffenceKind::Censorship,
		OffenceKind::MissedDeadline,
		OffenceKind::UnfoundedChallenge,
		OffenceKind::MissedVote,
	];
}

/// What one slash took.
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
	Debug,
	Default,
)]
pub struct Slashed<Balance> {
	/// Taken from the offender's bonded and unbonding funds, in total.
	pub amount: Balance,
	/// The part of `amount` paid to the reporter; the rest went to the slash handler.
	pub reporter_reward: Balance,
}

/// What one compensating slash took and paid ([`ReportOffence::report_offence_compensating`]).
/// A return value only: `paid` has one entry per claim, so it is never stored.
#[derive(Encode, Decode, DecodeWithMemTracking, TypeInfo, Clone, PartialEq, Eq, Debug, Default)]
pub struct Compensated<Balance> {
	/// Taken from the offender's bonded and unbonding funds, in total.
	pub amount: Balance,
	/// What each claim received, in the order of the claims: at most the claim, zero once the
	/// slash is used up or when the claimant could not receive its part.
	pub paid: Vec<Balance>,
}

impl<Balance: Copy + polkadot_sdk::sp_runtime::Saturating + Default> Compensated<Balance> {
	/// The part of `amount` paid to the claimants, in total (the sum of `paid`); the rest went
	/// to the slash handler.
	pub fn compensation(&self) -> Balance {
		self.paid.iter().fold(Balance::default(), |total, paid| total.saturating_add(*paid))
	}
}

/// Why an offence report was refused. Nothing changed when one is returned.
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
	Debug,
)]
pub enum OffenceError {
	/// The offender has no bond at all (never bonded, or everything withdrawn).
	NotBonded,
}

/// Slashing of bonded accounts, in the spirit of `sp_staking::offence::ReportOffence`: the
/// pallet that proves an offence (PoL verification, challenge committees) reports it; validator
/// staking slashes the kind's fraction of the offender's bonded and unbonding funds, never more
/// than it holds, pays the reporter its share (or, in a compensating report, the claims of the
/// parties the offence harmed) and hands the rest to the runtime's handler (treasury or burn).
pub trait ReportOffence<AccountId, Balance> {
	/// Slashes `offender` for an offence of `kind`. `evidence` is the hash of the evidence the
	/// caller checked (it appears in the event); `reporter`, if any and not the offender, gets
	/// the configured reporter share of the slash.
	fn report_offence(
		offender: &AccountId,
		kind: OffenceKind,
		reporter: Option<&AccountId>,
		evidence: ContentHash,
	) -> Result<Slashed<Balance>, OffenceError>;

	/// What a report against `who` could take at most: its bonded plus unbonding funds (zero
	/// if not bonded). Lets the caller require a bond before it accepts, say, a challenge.
	fn slashable(who: &AccountId) -> Balance;

	/// Upper bound of the weight of [`report_offence`](Self::report_offence).
	fn report_weight() -> Weight;

	/// Slashes `offender` for an offence of `kind` like [`report_offence`](Self::report_offence)
	/// with no reporter, then compensates the parties the offence harmed out of the slashed
	/// amount: the `claims` `(claimant, amount)` are paid in list order, each
	/// `min(claim, what is left of the slash)`. A claimant that cannot receive its part (for
	/// example a new account below the existential deposit) and a claim of the offender itself
	/// get nothing; their part stays in the slash. The rest goes to the slash handler.
	fn report_offence_compensating(
		offender: &AccountId,
		kind: OffenceKind,
		evidence: ContentHash,
		claims: &[(AccountId, Balance)],
	) -> Result<Compensated<Balance>, OffenceError>;

	/// Upper bound of the weight of
	/// [`report_offence_compensating`](Self::report_offence_compensating) with `claims` claims.
	fn report_compensating_weight(claims: u32) -> Weight;
}

/// Nobody is bonded: every report is refused.
impl<AccountId, Balance: Default> ReportOffence<AccountId, Balance> for () {
	fn report_offence(
		_: &AccountId,
		_: OffenceKind,
		_: Option<&AccountId>,
		_: ContentHash,
	) -> Result<Slashed<Balance>, OffenceError> {
		Err(OffenceError::NotBonded)
	}
	fn slashable(_: &AccountId) -> Balance {
		Balance::default()
	}
	fn report_weight() -> Weight {
		Weight::zero()
	}
	fn report_offence_compensating(
		_: &AccountId,
		_: OffenceKind,
		_: ContentHash,
		_: &[(AccountId, Balance)],
	) -> Result<Compensated<Balance>, OffenceError> {
		Err(OffenceError::NotBonded)
	}
	fn report_compensating_weight(_: u32) -> Weight {
		Weight::zero()
	}
}

/// A provider in a validator's cluster.
#[derive(Encode, Decode, TypeInfo, Clone, PartialEq, Eq, Debug)]
pub struct ClusterMember<AccountId> {
	/// The provider's account.
	pub provider: AccountId,
	/// The hardware class (compute profile) it declared.
	pub hardware_class: HardwareClass,
	/// The throughput its trainer measured: work units per hour.
	pub capacity: WorkUnits,
}

/// Cluster membership, for the pallet that assigns and verifies work.
pub trait ClusterInspect<AccountId> {
	/// The validator whose cluster `provider` is in, if any.
	fn cluster_of(provider: &AccountId) -> Option<AccountId>;

	/// The members of `validator`'s cluster that may receive work (bonded at least the minimum
	/// provider bond), in joining order. At most [`max_members`](Self::max_members).
	fn members(validator: &AccountId) -> Vec<ClusterMember<AccountId>>;

	/// The most members one cluster can have.
	fn max_members() -> u32;

	/// The endpoint URL (`http://` or `https://`, as registered) of `validator`, if it is a
	/// registered validator. For offchain workers: the PoL worker reaches the validator's
	/// verifier service there unless the operator configured another URL. The default knows
	/// no endpoints.
	fn endpoint_of(validator: &AccountId) -> Option<Vec<u8>> {
		let _ = validator;
		None
	}

	/// The active validators (registered, not chilled, bonded at least the minimum validator
	/// bond), in registration order: the pool challenge committees are drawn from. At most
	/// [`max_validators`](Self::max_validators). The default knows none.
	fn active_validators() -> Vec<AccountId> {
		Vec::new()
	}

	/// The most validators [`active_validators`](Self::active_validators) can return (the
	/// bound a caller's weight is charged for). The default is 0.
	fn max_validators() -> u32 {
		0
	}
}

/// No clusters.
impl<AccountId> ClusterInspect<AccountId> for () {
	fn cluster_of(_: &AccountId) -> Option<AccountId> {
		None
	}
	fn members(_: &AccountId) -> Vec<ClusterMember<AccountId>> {
		Vec::new()
	}
	fn max_members() -> u32 {
		0
	}
}

/// Whether a provider still has work it must finish or that may still be challenged. Implemented
/// by the PoL pallet; validator staking refuses `leave_cluster` while it is true.
pub trait OpenWorkInspect<AccountId> {
	/// Whether `provider` has open (unsettled) work.
	fn has_open_work(provider: &AccountId) -> bool;
}

/// No open work anywhere.
impl<AccountId> OpenWorkInspect<AccountId> for () {
	fn has_open_work(_: &AccountId) -> bool {
		false
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_compensation_is_what_the_claims_received() {
		let compensated = Compensated { amount: 100u64, paid: vec![30, 0, 50] };
		assert_eq!(compensated.compensation(), 80);
		assert_eq!(Compensated::<u64>::default().compensation(), 0);
		assert_eq!(Compensated { amount: 1u8, paid: vec![200, 100] }.compensation(), u8::MAX);
	}
}
