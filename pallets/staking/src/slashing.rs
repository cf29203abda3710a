//! Slashing: the kind's fraction of active bond plus unbonding chunks, taken from the hold, then
//! shared between the reporter (or the claimants of a compensating report) and the slash
//! handler.

use crate::{
	ledger::reason, BalanceOf, Config, CreditOf, Event, Ledger, Pallet, SlashFractions,
	StakingLedger,
};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::traits::{
		fungible::{Balanced, BalancedHold},
		Get, Imbalance, OnUnbalanced,
	},
	sp_runtime::traits::{Saturating, Zero},
};
use pot_primitives::{Compensated, ContentHash, OffenceError, OffenceKind, Slashed};

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
		let mut rest = Self::take_slash(offender, kind)?;
		let amount = rest.peek();
		let reporter = reporter.filter(|r| *r != offender);
		let reporter_reward = match reporter {
			Some(r) => Self::pay_out_of(&mut rest, r, T::ReporterShare::get().mul_floor(amount)),
			None => Zero::zero(),
		};
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

	/// Slashes `offender` for an offence of `kind` with no reporter and pays `claims` out of
	/// the slash, in list order; see
	/// [`pot_primitives::ReportOffence::report_offence_compensating`]. Emits `Slashed`, then
	/// `Compensated` for each claim paid.
	pub(crate) fn do_slash_compensating(
		offender: &T::AccountId,
		kind: OffenceKind,
		evidence: ContentHash,
		claims: &[(T::AccountId, BalanceOf<T>)],
	) -> Result<Compensated<BalanceOf<T>>, OffenceError> {
		let mut rest = Self::take_slash(offender, kind)?;
		let amount = rest.peek();
		Self::deposit_event(Event::Slashed {
			offender: offender.clone(),
			kind,
			amount,
			reporter: None,
			reporter_reward: Zero::zero(),
			evidence,
		});
		let mut paid = Vec::with_capacity(claims.len());
		for (beneficiary, claim) in claims {
			let got = if beneficiary == offender {
				Zero::zero()
			} else {
				Self::pay_out_of(&mut rest, beneficiary, *claim)
			};
			if !got.is_zero() {
				Self::deposit_event(Event::Compensated {
					offender: offender.clone(),
					beneficiary: beneficiary.clone(),
					amount: got,
				});
			}
			paid.push(got);
		}
		T::Slash::on_unbalanced(rest);
		Ok(Compensated { amount, paid })
	}

	/// Takes the slash of `kind` from `offender`: the kind's fraction of its active bond plus
	/// unbonding chunks, from the hold (never more than is held) and from the ledger. Returns
	/// the funds taken, not yet given to anyone.
	fn take_slash(
		offender: &T::AccountId,
		kind: OffenceKind,
	) -> Result<CreditOf<T>, OffenceError> {
		let mut ledger = Ledger::<T>::get(offender).ok_or(OffenceError::NotBonded)?;
		// A ledger's total fits the balance type: it is held on one account.
		let total = ledger.total().unwrap_or(ledger.active);
		let wanted = SlashFractions::<T>::get(kind).mul_floor(total);
		let (credit, _short) = T::Currency::slash(&reason::<T>(), offender, wanted);
		deduct::<T>(&mut ledger, credit.peek());
		Self::put_ledger(offender, ledger);
		Ok(credit)
	}

	/// Pays `who` up to `value` out of `funds`. What `who` cannot receive (for example a part
	/// that would not reach the existential deposit of a new account) stays in `funds`, for the
	/// handler. Returns what `who` received.
	fn pay_out_of(
		funds: &mut CreditOf<T>,
		who: &T::AccountId,
		value: BalanceOf<T>,
	) -> BalanceOf<T> {
		let part = funds.extract(value);
		let amount = part.peek();
		if amount.is_zero() {
			funds.subsume(part);
			return Zero::zero();
		}
		match T::Currency::resolve(who, part) {
			Ok(()) => amount,
			Err(unpaid) => {
				funds.subsume(unpaid);
				Zero::zero()
			},
		}
	}
}
