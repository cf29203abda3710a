//! Every interaction of the market with the currency: budgets are fungible holds on the
//! consumer's own account under [`HoldReason::OrderEscrow`]. No reserves, no pot accounts.
//! A public run holds nothing: what it pays is minted ([`pay_out`]).

use crate::{BalanceOf, Config, HoldReason, Order};
use polkadot_sdk::{
	frame_support::traits::{
		fungible::{Mutate, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
	sp_runtime::{traits::Zero, DispatchError, DispatchResult},
};
use pot_primitives::{EmissionLedger, Funding};

fn reason<T: Config>() -> T::RuntimeHoldReason {
	HoldReason::OrderEscrow.into()
}

/// Puts `amount` of `who`'s balance on hold as order escrow.
pub fn hold<T: Config>(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
	T::Currency::hold(&reason::<T>(), who, amount)
}

/// Releases exactly `amount` of `who`'s order escrow to its free balance.
pub fn release<T: Config>(
	who: &T::AccountId,
	amount: BalanceOf<T>,
) -> Result<BalanceOf<T>, DispatchError> {
	if amount.is_zero() {
		return Ok(amount);
	}
	T::Currency::release(&reason::<T>(), who, amount, Precision::Exact)
}

/// Pays exactly `amount` of `from`'s order escrow into `to`'s free balance.
///
/// Held escrow is already promised to the order, so freezes on `from` do not block it
/// (`Fortitude::Force`): a consumer cannot stall payment by freezing its own account.
pub fn pay<T: Config>(
	from: &T::AccountId,
	to: &T::AccountId,
	amount: BalanceOf<T>,
) -> Result<BalanceOf<T>, DispatchError> {
	if amount.is_zero() {
		return Ok(amount);
	}
	T::Currency::transfer_on_hold(
		&reason::<T>(),
		from,
		to,
		amount,
		Precision::Exact,
		Restriction::Free,
		Fortitude::Force,
	)
}

/// Pays exactly `amount` for `order` into `to`'s free balance: out of the consumer's escrow, or
/// minted for a public run (and reported to [`Config::Emission`]).
pub fn pay_out<T: Config>(
	order: &Order<T>,
	to: &T::AccountId,
	amount: BalanceOf<T>,
) -> Result<BalanceOf<T>, DispatchError> {
	match order.funding {
		Funding::Escrow => pay::<T>(&order.consumer, to, amount),
		Funding::Emission if amount.is_zero() => Ok(amount),
		Funding::Emission => {
			let minted = T::Currency::mint_into(to, amount)?;
			T::Emission::note_emission(minted);
			Ok(minted)
		},
	}
}

/// Releases exactly `amount` of `order`'s unspent budget to its consumer; a public run holds
/// nothing, so nothing is released. Returns what was released.
pub fn release_unspent<T: Config>(
	order: &Order<T>,
	amount: BalanceOf<T>,
) -> Result<BalanceOf<T>, DispatchError> {
	match order.funding {
		Funding::Escrow => release::<T>(&order.consumer, amount),
		Funding::Emission => Ok(Zero::zero()),
	}
}

/// `who`'s balance held as order escrow.
#[cfg(any(feature = "try-runtime", test))]
pub fn held<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	use polkadot_sdk::frame_support::traits::fungible::InspectHold;
	T::Currency::balance_on_hold(&reason::<T>(), who)
}

/// The smallest balance an account may hold.
#[cfg(feature = "runtime-benchmarks")]
pub fn minimum_balance<T: Config>() -> BalanceOf<T> {
	<T::Currency as polkadot_sdk::frame_support::traits::fungible::Inspect<T::AccountId>>::minimum_balance()
}
