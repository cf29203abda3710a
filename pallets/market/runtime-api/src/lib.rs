//! Runtime API of the PoT training market, so UIs and the trainer read the book and orders
//! without decoding storage by hand. The runtime implements it with the helpers
//! `pallet_pot_market::Pallet::{best_asks, order, orders_of}`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use pot_primitives::{AskView, OrderConditionsInput, OrderId, OrderView};

polkadot_sdk::sp_api::decl_runtime_apis! {
	/// Read access to the training market.
	pub trait MarketApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// Up to `n` asks, best first (lowest price, then largest bond, then oldest), that could
		/// take an order with `conditions` now.
		fn best_asks(
			conditions: OrderConditionsInput<Balance, BlockNumber>,
			n: u32,
		) -> Vec<AskView<AccountId, Balance>>;

		/// The live (open or matched) order `id`; `None` if unknown or final.
		fn order(id: OrderId) -> Option<OrderView<AccountId, Balance, BlockNumber>>;

		/// The live orders `who` pays for, then those it runs as validator, oldest first.
		fn orders_of(who: AccountId) -> Vec<OrderView<AccountId, Balance, BlockNumber>>;
	}
}
