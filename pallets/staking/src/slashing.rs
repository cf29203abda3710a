//! Slashing: the kind's fraction of active bond plus unbonding chunks, taken from the hold.

use crate::{
	ledger::reason, BalanceOf, Config, Event, Ledger, Pallet, SlashFractions, StakingLedger,
};
use polkadot_sdk::{
	frame_support::traits::{
		fungible::{Balanced, BalancedHold},
		Get, Imbalance, OnUnbalanced,
	},
	sp_runtime::traits::{Saturating, Zero},
};
use pot_primitives::{ContentHash, OffenceError, OffenceKind, Slashed};

/// Takes `amount` out of `ledger`: active bond first, then unbonding chunks, newest first.
/// Empty chunks are dropped.
fn deduct<T: Config>(ledger: &mut StakingLedger<T>, amount: BalanceOf<T>) {
	let from_active = amount.min(ledger.active);
	ledger.active = ledger.active.saturating_sub(from_active);
	let mut left = amount.saturating_sub(from_active);
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
}

impl<T: Config> Pallet<T> {
	/// Slashes `offender` for an offence of `kind`; see [`pot_primitives::ReportOffence`].
	pub(crate) fn do_slash(
		offender: &T::AccountId,
		kind: OffenceKind,
		reporter: Option<&T::AccountId>,
		evidence: ContentHash,
	) -> Result<Slashed<BalanceOf<T>>, OffenceError> {
		let mut ledger = Ledger::<T>::get(offender).ok_or(OffenceError::NotBonded)?;
		// A ledger's total fits the balance type: it is held on one account.
		let total = ledger.total().unwrap_or(ledger.active);
		let wanted = SlashFractions::<T>::get(kind).mul_floor(total);
		let (credit, _short) = T::Currency::slash(&reason::<T>(), offender, wanted);
		let amount = credit.peek();
		deduct::<T>(&mut ledger, amount);
		Self::put_ledger(offender, ledger);

		let reporter = reporter.filter(|r| *r != offender);
		let mut reporter_reward = BalanceOf::<T>::zero();
		let mut rest = credit;
		if let Some(r) = reporter {
			let (reward, remainder) = rest.split(T::ReporterShare::get().mul_floor(amount));
			rest = remainder;
			let value = reward.peek();
			match T::Currency::resolve(r, reward) {
				Ok(()) => reporter_reward = value,
				// The reporter cannot receive it (e.g. it would not reach the existential
				// deposit): the handler gets it.
				Err(unpaid) => rest = rest.merge(unpaid),
			}
		}
		T::Slash::on_unbalanced(rest);
		Self::deposit_event(Event::Slashed {
			offender: offender.clone(),
			kind,
			amount,
			reporter: reporter.cloned(),
			reporter_reward,
			evidence,
		});
		Ok(Slashed { amount, reporter_reward })
	}
}
