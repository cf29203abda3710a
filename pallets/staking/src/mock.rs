//! Mock runtime: System, Balances (ED = 10) and staking, with session keys and open work kept
//! in memory. Slashes go to a treasury account.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{self as pallet_pot_staking, Config, HasSessionKeys};
use core::cell::RefCell;
use polkadot_sdk::{
	frame_support::{
		self, derive_impl, parameter_types,
		traits::{tokens::imbalance::ResolveTo, ConstU32, ConstU64},
	},
	frame_system::{self, EnsureRoot},
	pallet_balances,
	pallet_session::SessionManager,
	sp_io,
	sp_runtime::{BuildStorage, Perbill},
};
use pot_primitives::OpenWorkInspect;
use std::collections::BTreeSet;

pub type AccountId = u64;
pub type Balance = u64;
pub type BlockNumber = u64;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Staking: pallet_pot_staking,
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
}

thread_local! {
	static KEYS: RefCell<BTreeSet<AccountId>> = const { RefCell::new(BTreeSet::new()) };
	static OPEN_WORK: RefCell<BTreeSet<AccountId>> = const { RefCell::new(BTreeSet::new()) };
}

/// Session keys of the mock: the accounts that have keys.
pub struct MockKeys;

impl MockKeys {
	/// Gives `who` session keys.
	pub fn set(who: AccountId) {
		KEYS.with(|k| k.borrow_mut().insert(who));
	}
	/// Removes `who`'s session keys.
	pub fn purge(who: AccountId) {
		KEYS.with(|k| k.borrow_mut().remove(&who));
	}
}

impl HasSessionKeys<AccountId> for MockKeys {
	fn has_keys(who: &AccountId) -> bool {
		KEYS.with(|k| k.borrow().contains(who))
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn set_keys(who: &AccountId) {
		Self::set(*who)
	}
}

/// Open work of the mock: the providers that have some.
pub struct MockOpenWork;

impl MockOpenWork {
	/// Gives `who` open work (or settles it).
	pub fn set(who: AccountId, open: bool) {
		OPEN_WORK.with(|w| {
			if open {
				w.borrow_mut().insert(who);
			} else {
				w.borrow_mut().remove(&who);
			}
		});
	}
}

impl OpenWorkInspect<AccountId> for MockOpenWork {
	fn has_open_work(who: &AccountId) -> bool {
		OPEN_WORK.with(|w| w.borrow().contains(who))
	}
}

pub const TREASURY: AccountId = 999;

parameter_types! {
	pub const TreasuryAccount: AccountId = TREASURY;
	pub const ReporterShare: Perbill = Perbill::from_percent(10);
}

impl Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type AdminOrigin = EnsureRoot<AccountId>;
	type SessionKeys = MockKeys;
	type OpenWork = MockOpenWork;
	type Slash = ResolveTo<TreasuryAccount, Balances>;
	type ReporterShare = ReporterShare;
	type UnbondingPeriod = ConstU64<10>;
	type MaxUnbondingChunks = ConstU32<3>;
	type MaxValidators = ConstU32<6>;
	type MaxAuthorities = ConstU32<4>;
	type MaxClusterSize = ConstU32<3>;
	type MaxEndpointLen = ConstU32<48>;
	type BondPerWorkUnit = ConstU64<10>;
	type WeightInfo = ();
}

// Accounts. V1 and V2 are genesis validators with session keys.
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const DAVE: AccountId = 4;
pub const EVE: AccountId = 5;
pub const V1: AccountId = 10;
pub const V2: AccountId = 11;
pub const P1: AccountId = 20;
pub const P2: AccountId = 21;
pub const P3: AccountId = 22;
pub const P4: AccountId = 23;
/// Never funded: it does not exist.
pub const NOBODY: AccountId = 99;

pub const INITIAL: Balance = 1_000_000;
pub const MIN_VALIDATOR_BOND: Balance = 100;
pub const MIN_PROVIDER_BOND: Balance = 50;
pub const ENDPOINT: &[u8] = b"http://127.0.0.1:8000";

pub struct ExtBuilder {
	validators: Vec<(AccountId, Balance, Vec<u8>)>,
	max_authorities: u32,
}

impl Default for ExtBuilder {
	fn default() -> Self {
		Self {
			validators: vec![(V1, 1_000, ENDPOINT.to_vec()), (V2, 2_000, ENDPOINT.to_vec())],
			max_authorities: 3,
		}
	}
}

impl ExtBuilder {
	/// Replaces the genesis validators (all of them get session keys).
	pub fn validators(mut self, validators: Vec<(AccountId, Balance, Vec<u8>)>) -> Self {
		self.validators = validators;
		self
	}

	/// Sets the genesis `max_authorities` (0: `MaxAuthorities`).
	pub fn max_authorities(mut self, count: u32) -> Self {
		self.max_authorities = count;
		self
	}

	pub fn build(self) -> sp_io::TestExternalities {
		KEYS.with(|k| k.borrow_mut().clear());
		OPEN_WORK.with(|w| w.borrow_mut().clear());
		for (who, _, _) in self.validators.iter() {
			MockKeys::set(*who);
		}
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		let funded = [ALICE, BOB, CHARLIE, DAVE, EVE, V1, V2, 12, 13, 14, 15, P1, P2, P3, P4];
		let mut balances: Vec<_> = funded.iter().map(|a| (*a, INITIAL)).collect();
		balances.push((TREASURY, 1_000));
		pallet_balances::GenesisConfig::<Test> { balances, dev_accounts: None }
			.assimilate_storage(&mut storage)
			.unwrap();
		pallet_pot_staking::GenesisConfig::<Test> {
			min_validator_bond: MIN_VALIDATOR_BOND,
			min_provider_bond: MIN_PROVIDER_BOND,
			max_authorities: self.max_authorities,
			slash_invalid_work: Perbill::from_percent(10),
			slash_wrong_verdict: Perbill::from_percent(20),
			slash_censorship: Perbill::from_percent(5),
			slash_missed_deadline: Perbill::from_percent(1),
			slash_unfounded_challenge: Perbill::from_percent(50),
			slash_missed_vote: Perbill::from_parts(1_000_000),
			validators: self.validators,
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Runs `test`, then checks every invariant of staking.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Staking::do_try_state().expect("staking invariants hold after the test");
		});
	}
}

/// Runs blocks up to `n`.
pub fn run_to_block(n: BlockNumber) {
	System::run_to_block::<AllPalletsWithSystem>(n);
}

/// What pallet-session does at a rotation into session `index`: start it, then plan the next.
/// Returns the set planned for session `index + 1`.
pub fn rotate(index: u32) -> Option<Vec<AccountId>> {
	<Staking as SessionManager<AccountId>>::end_session(index.saturating_sub(1));
	<Staking as SessionManager<AccountId>>::start_session(index);
	<Staking as SessionManager<AccountId>>::new_session(index + 1)
}

/// Events of staking so far.
pub fn staking_events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Staking(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// Balance `who` holds as bond.
pub fn held(who: AccountId) -> Balance {
	crate::ledger::held::<Test>(&who)
}

/// Free balance of `who`.
pub fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}
