//! Tests of staking. Every test runs in `ExtBuilder::build_and_execute`, which checks all
//! invariants (`do_try_state`) after the test.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

mod bonding;
mod clusters;
mod genesis;
mod governance;
mod inspect;
mod invariants;
mod session;
mod slashing;
mod validators;
mod with_session;

use crate::{mock::*, *};
use polkadot_sdk::frame_support::assert_ok;
use pot_primitives::{HardwareClass, WorkUnits};

pub(crate) const GPU: HardwareClass = HardwareClass(1);

/// `who` bonds `amount`; must succeed.
pub(crate) fn bond(who: AccountId, amount: Balance) {
	assert_ok!(Staking::bond(RuntimeOrigin::signed(who), amount));
}

/// `who` bonds `amount`, registers with the default endpoint and gets session keys.
pub(crate) fn validator(who: AccountId, amount: Balance) {
	bond(who, amount);
	assert_ok!(Staking::register_validator(RuntimeOrigin::signed(who), ENDPOINT.to_vec()));
	MockKeys::set(who);
}

/// `who` bonds `amount` and joins `validator`'s cluster with capacity 100.
pub(crate) fn provider(who: AccountId, amount: Balance, validator: AccountId) {
	bond(who, amount);
	assert_ok!(Staking::join_cluster(RuntimeOrigin::signed(who), validator, GPU, WorkUnits(100)));
}

/// The ledger of `who`: (active, [(value, unlock_at)]).
pub(crate) fn ledger(who: AccountId) -> Option<(Balance, Vec<(Balance, BlockNumber)>)> {
	Ledger::<Test>::get(who)
		.map(|l| (l.active, l.unbonding.iter().map(|c| (c.value, c.unlock_at)).collect()))
}

/// The last event of staking.
pub(crate) fn last_event() -> Event<Test> {
	staking_events().pop().expect("an event")
}

impl<T: Config> Pallet<T> {
	/// The current authority set as this pallet tracks it.
	pub(crate) fn authorities_for_test() -> Vec<T::AccountId> {
		Authorities::<T>::get().into_inner()
	}
}
