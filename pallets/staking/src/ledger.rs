//! Bonds and unbonding. Every bonded or unbonding unit is held on the bonded account under
//! [`HoldReason::Bond`]: `held = active + Σ unbonding` for each ledger.

use crate::{
	BalanceOf, Config, Error, Event, HoldReason, Ledger, MinProviderBond, Pallet, Providers,
	StakingLedger, UnbondingChunk, ValidatorInfo,
};
use polkadot_sdk::{
	frame_support::{
		ensure,
		traits::{fungible::MutateHold, tokens::Precision, Get},
	},
	frame_system,
	sp_runtime::{
		traits::{CheckedAdd, CheckedSub, Saturating, Zero},
		DispatchResult,
	},
};

/// The hold reason of bonds.
pub(crate) fn reason<T: Config>() -> T::RuntimeHoldReason {
	HoldReason::Bond.into()
}

/// `who`'s balance held as bond (active and unbonding).
#[cfg(any(feature = "try-runtime", test))]
pub(crate) fn held<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
	use polkadot_sdk::frame_support::traits::fungible::InspectHold;
	T::Currency::balance_on_hold(&reason::<T>(), who)
}

impl<T: Config> Pallet<T> {
	/// Whether `who` is a registered validator or a cluster member.
	pub(crate) fn has_role(who: &T::AccountId) -> bool {
		ValidatorInfo::<T>::contains_key(who) || Providers::<T>::contains_key(who)
	}

	/// Stores `ledger` for `who`, or removes it if it is empty and `who` has no role.
	pub(crate) fn put_ledger(who: &T::AccountId, ledger: StakingLedger<T>) {
		if ledger.is_empty() && !Self::has_role(who) {
			Ledger::<T>::remove(who);
		} else {
			Ledger::<T>::insert(who, ledger);
		}
	}

	/// Removes `who`'s ledger if it is empty (after `who` lost its role).
	pub(crate) fn drop_empty_ledger(who: &T::AccountId) {
		if let Some(ledger) = Ledger::<T>::get(who) {
			Self::put_ledger(who, ledger);
		}
	}

	/// Opens `who`'s ledger with `amount` on hold.
	pub(crate) fn do_bond(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		ensure!(!Ledger::<T>::contains_key(who), Error::<T>::AlreadyBonded);
		T::Currency::hold(&reason::<T>(), who, amount)?;
		Ledger::<T>::insert(who, StakingLedger::<T>::new(amount));
		Self::deposit_event(Event::Bonded { who: who.clone(), amount });
		Ok(())
	}

	/// Adds `amount` on hold to `who`'s active bond.
	pub(crate) fn do_bond_extra(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledger::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		ledger.active = ledger.active.checked_add(&amount).ok_or(Error::<T>::Overflow)?;
		ledger.total().ok_or(Error::<T>::Overflow)?;
		T::Currency::hold(&reason::<T>(), who, amount)?;
		Ledger::<T>::insert(who, ledger);
		Self::deposit_event(Event::Bonded { who: who.clone(), amount });
		Ok(())
	}

	/// Moves `amount` of `who`'s active bond into an unbonding chunk.
	pub(crate) fn do_unbond(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledger::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		let remaining = ledger.active.checked_sub(&amount).ok_or(Error::<T>::InsufficientBond)?;
		if Providers::<T>::contains_key(who) {
			ensure!(remaining >= MinProviderBond::<T>::get(), Error::<T>::ProviderBondBelowMinimum);
		}
		let unlock_at =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		match ledger.unbonding.last_mut() {
			// Unbonding twice in one block adds to the same chunk.
			Some(last) if last.unlock_at == unlock_at => {
				last.value = last.value.checked_add(&amount).ok_or(Error::<T>::Overflow)?;
			},
			_ => ledger
				.unbonding
				.try_push(UnbondingChunk { value: amount, unlock_at })
				.map_err(|_| Error::<T>::TooManyUnbondingChunks)?,
		}
		ledger.active = remaining;
		Ledger::<T>::insert(who, ledger);
		Self::deposit_event(Event::Unbonded { who: who.clone(), amount, unlock_at });
		Ok(())
	}

	/// Releases `who`'s unlocked unbonding chunks.
	pub(crate) fn do_withdraw_unbonded(who: &T::AccountId) -> DispatchResult {
		let mut ledger = Ledger::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		let now = frame_system::Pallet::<T>::block_number();
		let mut amount = BalanceOf::<T>::zero();
		for chunk in ledger.unbonding.iter().filter(|c| c.unlock_at <= now) {
			amount = amount.checked_add(&chunk.value).ok_or(Error::<T>::Overflow)?;
		}
		ensure!(ledger.unbonding.iter().any(|c| c.unlock_at <= now), Error::<T>::NothingToWithdraw);
		ledger.unbonding.retain(|c| c.unlock_at > now);
		if !amount.is_zero() {
			T::Currency::release(&reason::<T>(), who, amount, Precision::Exact)?;
		}
		Self::put_ledger(who, ledger);
		Self::deposit_event(Event::Withdrawn { who: who.clone(), amount });
		Ok(())
	}

	/// Moves `amount` of `who`'s unbonding funds back to its active bond, newest chunk first.
	pub(crate) fn do_rebond(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		let mut ledger = Ledger::<T>::get(who).ok_or(Error::<T>::NotBonded)?;
		let unbonding = ledger.unbonding_total().ok_or(Error::<T>::Overflow)?;
		ensure!(amount <= unbonding, Error::<T>::RebondAboveUnbonding);
		ledger.active = ledger.active.checked_add(&amount).ok_or(Error::<T>::Overflow)?;
		let mut left = amount;
		while !left.is_zero() {
			let Some(last) = ledger.unbonding.last_mut() else { break };
			if last.value > left {
				last.value = last.value.saturating_sub(left);
				left = Zero::zero();
			} else {
				left = left.saturating_sub(last.value);
				ledger.unbonding.pop();
			}
		}
		Ledger::<T>::insert(who, ledger);
		Self::deposit_event(Event::Rebonded { who: who.clone(), amount });
		Ok(())
	}
}
