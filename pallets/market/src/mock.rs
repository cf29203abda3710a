//! Mock runtime: System, Balances (ED = 10), the market and the issuance book, with validators
//! kept in memory.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{self as pallet_pot_market, Config};
use core::cell::RefCell;
use polkadot_sdk::{
	frame_support::{
		self, derive_impl, parameter_types,
		traits::{ConstU32, ConstU64},
		PalletId,
	},
	frame_system::{self, EnsureRoot},
	pallet_balances, sp_io,
	sp_runtime::{BuildStorage, Perbill},
};
use pot_primitives::{
	HardwareClass, OrderConditionsInput, RegionTag, TaskSpec, ValidatorInspect, WorkUnits,
};
use std::collections::BTreeMap;

pub type AccountId = u64;
pub type Balance = u64;
pub type BlockNumber = u64;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Market: pallet_pot_market,
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

impl pallet_pot_issuance::Config for Test {
	type Currency = Balances;
}

thread_local! {
	static VALIDATORS: RefCell<BTreeMap<AccountId, (Balance, WorkUnits)>> =
		const { RefCell::new(BTreeMap::new()) };
}

/// Validator registry of the mock: active validators with their bond and allowed capacity.
pub struct MockValidators;

impl MockValidators {
	/// Makes `who` an active validator.
	pub fn set(who: AccountId, bond: Balance, capacity: u64) {
		VALIDATORS.with(|v| v.borrow_mut().insert(who, (bond, WorkUnits(capacity))));
	}
	/// Removes `who` from the active validators.
	pub fn remove(who: AccountId) {
		VALIDATORS.with(|v| v.borrow_mut().remove(&who));
	}
	fn clear() {
		VALIDATORS.with(|v| v.borrow_mut().clear());
	}
	fn get(who: &AccountId) -> Option<(Balance, WorkUnits)> {
		VALIDATORS.with(|v| v.borrow().get(who).copied())
	}
}

impl ValidatorInspect<AccountId, Balance> for MockValidators {
	fn is_active_validator(who: &AccountId) -> bool {
		Self::get(who).is_some()
	}
	fn bond_of(who: &AccountId) -> Balance {
		Self::get(who).map_or(0, |(bond, _)| bond)
	}
	fn capacity_allowed(who: &AccountId) -> WorkUnits {
		Self::get(who).map_or(WorkUnits::ZERO, |(_, capacity)| capacity)
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn set_active_validator(who: &AccountId, bond: Balance, capacity: WorkUnits) {
		Self::set(*who, bond, capacity.0)
	}
}

parameter_types! {
	pub const FeeShare: Perbill = Perbill::from_percent(10);
	pub const MarketId: PalletId = PalletId(*b"pot/mrkt");
}

impl Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Validators = MockValidators;
	type PublicRunOrigin = EnsureRoot<AccountId>;
	type Emission = Issuance;
	type PalletId = MarketId;
	type ValidatorFeeShare = FeeShare;
	type MaxAsks = ConstU32<8>;
	type MaxHardwareClasses = ConstU32<4>;
	type MaxRegions = ConstU32<4>;
	type MaxMetadataLen = ConstU32<32>;
	type MaxOrdersPerAccount = ConstU32<8>;
	type MaxOrdersPerValidator = ConstU32<16>;
	type MaxWaitingOrders = ConstU32<16>;
	type MaxOrdersPerDeadline = ConstU32<4>;
	type MaxOrderLifetime = ConstU64<100>;
	type MaxProvidersPerOrder = ConstU32<8>;
	type MaxMatchAttemptsPerAsk = ConstU32<4>;
	type WeightInfo = ();
}

// Accounts.
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const V1: AccountId = 10;
pub const V2: AccountId = 11;
pub const V3: AccountId = 12;
pub const PROVIDER: AccountId = 20;
/// Never funded: it does not exist.
pub const NOBODY: AccountId = 99;

pub const INITIAL: Balance = 1_000_000;
pub const GPU: HardwareClass = HardwareClass(1);
pub const CPU: HardwareClass = HardwareClass(2);
pub const EU: RegionTag = RegionTag(1);
pub const US: RegionTag = RegionTag(2);

pub struct ExtBuilder {
	balances: Vec<(AccountId, Balance)>,
	validators: Vec<(AccountId, Balance, u64)>,
}

impl Default for ExtBuilder {
	fn default() -> Self {
		let funded = [ALICE, BOB, CHARLIE, 4, 5, V1, V2, V3, 13, 14, PROVIDER, 21];
		Self {
			balances: funded.iter().map(|a| (*a, INITIAL)).collect(),
			validators: vec![(V1, 1_000, 10_000), (V2, 1_000, 10_000), (V3, 1_000, 10_000)],
		}
	}
}

impl ExtBuilder {
	/// Replaces the active validators: (account, bond, allowed capacity).
	pub fn validators(mut self, validators: Vec<(AccountId, Balance, u64)>) -> Self {
		self.validators = validators;
		self
	}

	pub fn build(self) -> sp_io::TestExternalities {
		MockValidators::clear();
		for (who, bond, capacity) in self.validators {
			MockValidators::set(who, bond, capacity);
		}
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> { balances: self.balances, dev_accounts: None }
			.assimilate_storage(&mut storage)
			.unwrap();
		// Opened after the endowments, as in the runtime.
		pallet_pot_issuance::GenesisConfig::<Test>::default()
			.assimilate_storage(&mut storage)
			.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Runs `test`, then checks every invariant of the market.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Market::do_try_state().expect("market invariants hold after the test");
			Issuance::check_issuance().expect("the supply changed only by booked emission");
		});
	}
}

/// Runs blocks (hooks included) up to `n`.
pub fn run_to_block(n: BlockNumber) {
	System::run_to_block::<AllPalletsWithSystem>(n);
}

/// A small valid task: `rounds × local_steps` steps per provider.
pub fn task(rounds: u32, local_steps: u32) -> TaskSpec {
	pot_primitives::fixtures::sample_task(rounds, local_steps)
}

/// Conditions for class `class`, one provider, deadline block 50, no region restriction.
pub fn conditions(
	max_price: Balance,
	class: HardwareClass,
) -> OrderConditionsInput<Balance, BlockNumber> {
	OrderConditionsInput {
		max_price_per_unit: max_price,
		deadline: 50,
		min_providers: 1,
		max_providers: 1,
		hardware_class: class,
		regions: vec![],
	}
}

/// Events of the market so far.
pub fn market_events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Market(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// Balance `who` holds as order escrow.
pub fn escrowed(who: AccountId) -> Balance {
	crate::escrow::held::<Test>(&who)
}

/// Free balance of `who`.
pub fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}
