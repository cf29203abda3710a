//! Mock runtime: System, Balances (ED = 10, dust burned through the book) and the book.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{self as pallet_pot_issuance, Config};
use polkadot_sdk::{
	frame_support::{self, derive_impl, traits::ConstU64},
	frame_system, pallet_balances, sp_io,
	sp_runtime::BuildStorage,
};

pub type AccountId = u64;
pub type Balance = u64;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Issuance: pallet_pot_issuance,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

pub const ED: Balance = 10;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type ExistentialDeposit = ConstU64<ED>;
	type DustRemoval = Issuance;
}

impl Config for Test {
	type Currency = Balances;
}

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const INITIAL: Balance = 1_000;

/// Alice and Bob endowed with [`INITIAL`] each, the book opened after them.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = RuntimeGenesisConfig {
		balances: pallet_balances::GenesisConfig {
			balances: vec![(ALICE, INITIAL), (BOB, INITIAL)],
			dev_accounts: None,
		},
		..Default::default()
	}
	.build_storage()
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test`, then checks the book against the total issuance.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Issuance::check_issuance().expect("the book accounts for the total issuance");
	});
}
