//! # PoT issuance
//!
//! The book of PoT's token supply (`shared/PROTOCOL.md`, "Public training runs"): the total
//! issuance changes only by public-run emission and by burns, and this pallet proves it.
//!
//! - [`Baseline`] is the total issuance at genesis (the pallet's genesis is built after the
//!   balances'), [`Emitted`] what the protocol minted since, [`Burned`] what it burned since.
//! - Minting code reports through [`pot_primitives::EmissionLedger`] (the market, for public
//!   runs).
//! - Burning goes through the pallet as an [`OnUnbalanced`] handler: the runtime gives it every
//!   credit it destroys (the slash rest, the dust of reaped accounts, a fee nobody can receive).
//!   It drops the credit, which lowers the total issuance, and books the amount.
//! - The invariant `total issuance = baseline + emitted − burned` is [`Pallet::check_issuance`],
//!   run by `try_state`. A mint or burn that bypasses the book breaks it.
//!
//! The pallet has no calls. Root can still change balances outside the protocol
//! (`pallet_balances::force_set_balance`, `force_adjust_total_issuance`); the invariant then
//! reports that as a broken book, which is the point of an audit.
#![cfg_attr(not(feature = "std"), no_std)]

pub use pallet::*;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

// The pallet macros expand into `expect`s on storage metadata that cannot fail.
#[allow(clippy::expect_used)]
#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use polkadot_sdk::{
		frame_support::{
			pallet_prelude::*,
			traits::{
				fungible::{self, Credit, Inspect},
				Imbalance, OnUnbalanced,
			},
			DefaultNoBound,
		},
		frame_system::{self, pallet_prelude::*},
		sp_runtime::traits::Saturating,
	};
	use pot_primitives::EmissionLedger;

	/// The balance type of the booked currency.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// Funds taken out of accounts and not yet given to anyone.
	pub type CreditOf<T> = Credit<<T as frame_system::Config>::AccountId, <T as Config>::Currency>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config {
		/// The currency whose supply is booked.
		type Currency: fungible::Balanced<Self::AccountId>;
	}

	/// The total issuance when the book was opened, at genesis.
	#[pallet::storage]
	pub type Baseline<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Everything the protocol minted since genesis (public-run rewards and fees).
	#[pallet::storage]
	pub type Emitted<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Everything burned since genesis (slash rests, dust of reaped accounts, unreceivable fees).
	#[pallet::storage]
	pub type Burned<T: Config> = StorageValue<_, BalanceOf<T>, ValueQuery>;

	/// Opens the book at the total issuance the pallets built before this one created.
	#[pallet::genesis_config]
	#[derive(DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		#[serde(skip)]
		pub _config: core::marker::PhantomData<T>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			Baseline::<T>::put(T::Currency::total_issuance());
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(
			_now: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::check_issuance()
		}
	}

	impl<T: Config> Pallet<T> {
		/// The supply the book accounts for: baseline + emitted − burned; `None` if that does not
		/// fit the balance type (itself a broken book).
		pub fn booked_issuance() -> Option<BalanceOf<T>> {
			Baseline::<T>::get()
				.checked_add(&Emitted::<T>::get())?
				.checked_sub(&Burned::<T>::get())
		}

		/// The invariant: the total issuance is exactly what the book accounts for.
		pub fn check_issuance() -> Result<(), DispatchError> {
			let booked = Self::booked_issuance()
				.ok_or("issuance book: baseline + emitted − burned does not fit the balance type")?;
			ensure!(
				T::Currency::total_issuance() == booked,
				"total issuance differs from baseline + emitted − burned: a mint or burn bypassed \
				 the issuance book"
			);
			Ok(())
		}
	}

	impl<T: Config> EmissionLedger<BalanceOf<T>> for Pallet<T> {
		fn note_emission(amount: BalanceOf<T>) {
			Emitted::<T>::mutate(|total| total.saturating_accrue(amount));
		}
	}

	/// Burns the credit and books it.
	impl<T: Config> OnUnbalanced<CreditOf<T>> for Pallet<T> {
		fn on_nonzero_unbalanced(credit: CreditOf<T>) {
			let amount = credit.peek();
			// Dropping a credit lowers the total issuance by its amount.
			drop(credit);
			Burned::<T>::mutate(|total| total.saturating_accrue(amount));
		}
	}
}
