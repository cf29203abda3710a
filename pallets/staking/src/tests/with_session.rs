//! Staking as the `SessionManager` of the real pallet-session: genesis order, rotations,
//! session keys through `set_keys`/`purge_keys`, and [`NextSessionKeys`].

/// A runtime with System, Balances, staking and pallet-session, the pallets declared (and their
/// genesis built) in the given order.
macro_rules! session_runtime {
	($($pallets:tt)*) => {
		use crate::{self as pallet_pot_staking, NextSessionKeys};
		use polkadot_sdk::{
			frame_support::{
				self, assert_ok, derive_impl, parameter_types,
				traits::{ConstU32, ConstU64},
			},
			frame_system::{self, EnsureRoot},
			pallet_balances, pallet_session, sp_io,
			sp_runtime::{
				key_types::DUMMY, testing::UintAuthorityId, traits::OpaqueKeys, BuildStorage,
				KeyTypeId, Perbill,
			},
		};

		type AccountId = u64;
		type Balance = u64;
		type Block = frame_system::mocking::MockBlock<Runtime>;

		frame_support::construct_runtime!(
			pub enum Runtime { $($pallets)* }
		);

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
		impl frame_system::Config for Runtime {
			type Block = Block;
			type AccountData = pallet_balances::AccountData<Balance>;
		}

		#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
		impl pallet_balances::Config for Runtime {
			type AccountStore = System;
			type ExistentialDeposit = ConstU64<1>;
		}

		/// Keys are not used by any consensus engine here.
		pub struct NoConsensus;

		impl pallet_session::SessionHandler<AccountId> for NoConsensus {
			const KEY_TYPE_IDS: &'static [KeyTypeId] = &[DUMMY];
			fn on_genesis_session<K: OpaqueKeys>(_: &[(AccountId, K)]) {}
			fn on_new_session<K: OpaqueKeys>(_: bool, _: &[(AccountId, K)], _: &[(AccountId, K)]) {}
			fn on_disabled(_: u32) {}
		}

		/// Sessions of 5 blocks: rotations at blocks 5, 10, 15, ...
		type Period = ConstU64<5>;

		impl pallet_session::Config for Runtime {
			type RuntimeEvent = RuntimeEvent;
			type ValidatorId = AccountId;
			type ValidatorIdOf = polkadot_sdk::sp_runtime::traits::ConvertInto;
			type ShouldEndSession = pallet_session::PeriodicSessions<Period, ConstU64<0>>;
			type NextSessionRotation = pallet_session::PeriodicSessions<Period, ConstU64<0>>;
			type SessionManager = Staking;
			type SessionHandler = NoConsensus;
			type Keys = UintAuthorityId;
			type DisablingStrategy = ();
			type WeightInfo = ();
			type Currency = Balances;
			type KeyDeposit = ConstU64<0>;
		}

		parameter_types! {
			pub const ReporterShare: Perbill = Perbill::from_percent(10);
		}

		impl pallet_pot_staking::Config for Runtime {
			type Currency = Balances;
			type RuntimeHoldReason = RuntimeHoldReason;
			type AdminOrigin = EnsureRoot<AccountId>;
			type SessionKeys = NextSessionKeys<Runtime>;
			type OpenWork = ();
			type Slash = ();
			type ReporterShare = ReporterShare;
			type UnbondingPeriod = ConstU64<20>;
			type MaxUnbondingChunks = ConstU32<4>;
			type MaxValidators = ConstU32<8>;
			type MaxAuthorities = ConstU32<4>;
			type MaxClusterSize = ConstU32<4>;
			type MaxEndpointLen = ConstU32<64>;
			type BondPerWorkUnit = ConstU64<1>;
			type WeightInfo = ();
		}

		const ALICE: AccountId = 1;
		const BOB: AccountId = 2;
		const CHARLIE: AccountId = 3;
		const DAVE: AccountId = 4;
		const EVE: AccountId = 5;
		const URL: &[u8] = b"http://127.0.0.1:8000";

		/// Alice, Bob, Charlie and Dave bonded (1000, 1000, 2000, 1500), registered and with keys.
		fn new_test_ext() -> sp_io::TestExternalities {
			let genesis = [(ALICE, 1_000), (BOB, 1_000), (CHARLIE, 2_000), (DAVE, 1_500)];
			let storage = RuntimeGenesisConfig {
				system: Default::default(),
				balances: pallet_balances::GenesisConfig {
					balances: (1..=6).map(|a| (a, 100_000)).collect(),
					dev_accounts: None,
				},
				staking: pallet_pot_staking::GenesisConfig {
					min_validator_bond: 500,
					min_provider_bond: 100,
					max_authorities: 4,
					validators: genesis.iter().map(|(a, b)| (*a, *b, URL.to_vec())).collect(),
					..Default::default()
				},
				session: pallet_session::GenesisConfig {
					keys: genesis.iter().map(|(a, _)| (*a, *a, UintAuthorityId(*a))).collect(),
					non_authority_keys: vec![],
				},
			}
			.build_storage()
			.unwrap();
			let mut ext = sp_io::TestExternalities::new(storage);
			ext.execute_with(|| System::set_block_number(1));
			ext
		}

		fn execute(test: impl FnOnce()) {
			new_test_ext().execute_with(|| {
				test();
				Staking::do_try_state().expect("staking invariants hold");
			});
		}

		fn run_to_block(n: u64) {
			System::run_to_block::<AllPalletsWithSystem>(n);
		}

		fn session_validators() -> Vec<AccountId> {
			pallet_session::Validators::<Runtime>::get()
		}

		fn set_keys(who: AccountId) {
			assert_ok!(Session::set_keys(RuntimeOrigin::signed(who), UintAuthorityId(who), vec![]));
		}
	};
}

/// Staking declared before Session (recommended): its genesis bonds and registers before
/// pallet-session asks `new_session_genesis` for the first set.
mod staking_first {
	session_runtime!(
		System: frame_system,
		Balances: pallet_balances,
		Staking: pallet_pot_staking,
		Session: pallet_session,
	);

	#[test]
	fn genesis_validators_are_the_first_authorities() {
		execute(|| {
			assert_eq!(session_validators(), vec![CHARLIE, DAVE, ALICE, BOB]);
			assert_eq!(Staking::authorities_for_test(), vec![CHARLIE, DAVE, ALICE, BOB]);
		});
	}

	#[test]
	fn a_new_validator_with_keys_joins_after_the_rotations() {
		execute(|| {
			assert_ok!(Staking::set_max_authorities(RuntimeOrigin::root(), 4));
			assert_ok!(Staking::bond(RuntimeOrigin::signed(EVE), 5_000));
			set_keys(EVE);
			assert_ok!(Staking::register_validator(RuntimeOrigin::signed(EVE), URL.to_vec()));
			// Planned at the rotation of block 5, active from the one of block 10.
			run_to_block(5);
			assert_eq!(session_validators(), vec![CHARLIE, DAVE, ALICE, BOB]);
			run_to_block(10);
			// Bob (1000, registered after Alice) drops out of the four.
			assert_eq!(session_validators(), vec![EVE, CHARLIE, DAVE, ALICE]);
			assert_eq!(Staking::authorities_for_test(), vec![EVE, CHARLIE, DAVE, ALICE]);
		});
	}

	#[test]
	fn unbonding_below_the_minimum_leaves_the_set() {
		execute(|| {
			assert_ok!(Staking::unbond(RuntimeOrigin::signed(DAVE), 1_001));
			run_to_block(10);
			assert_eq!(session_validators(), vec![CHARLIE, ALICE, BOB]);
		});
	}

	#[test]
	fn purged_keys_leave_the_set() {
		execute(|| {
			assert_ok!(Session::purge_keys(RuntimeOrigin::signed(ALICE)));
			run_to_block(10);
			assert_eq!(session_validators(), vec![CHARLIE, DAVE, BOB]);
		});
	}

	#[test]
	fn nobody_qualified_keeps_the_running_set() {
		execute(|| {
			assert_ok!(Staking::set_min_validator_bond(RuntimeOrigin::root(), 1_000_000));
			run_to_block(15);
			assert_eq!(session_validators(), vec![CHARLIE, DAVE, ALICE, BOB]);
			assert_eq!(Staking::authorities_for_test(), vec![CHARLIE, DAVE, ALICE, BOB]);
		});
	}

	#[cfg(feature = "runtime-benchmarks")]
	#[test]
	fn next_session_keys_sets_keys_for_benchmarks() {
		use crate::HasSessionKeys;
		execute(|| {
			assert!(!NextSessionKeys::<Runtime>::has_keys(&EVE));
			NextSessionKeys::<Runtime>::set_keys(&EVE);
			assert!(NextSessionKeys::<Runtime>::has_keys(&EVE));
		});
	}
}

/// Session declared before staking: the first sets come from pallet-session's `keys`; staking
/// tracks the set those keys allow and elects from the first rotation on.
mod session_first {
	session_runtime!(
		System: frame_system,
		Balances: pallet_balances,
		Session: pallet_session,
		Staking: pallet_pot_staking,
	);

	#[test]
	fn genesis_keys_are_the_first_authorities_and_staking_tracks_them() {
		execute(|| {
			assert_eq!(session_validators(), vec![ALICE, BOB, CHARLIE, DAVE]);
			assert_eq!(Staking::authorities_for_test(), vec![CHARLIE, DAVE, ALICE, BOB]);
		});
	}

	#[test]
	fn elections_take_over_at_the_rotations() {
		execute(|| {
			assert_ok!(Staking::bond(RuntimeOrigin::signed(EVE), 5_000));
			set_keys(EVE);
			assert_ok!(Staking::register_validator(RuntimeOrigin::signed(EVE), URL.to_vec()));
			run_to_block(10);
			assert_eq!(session_validators(), vec![EVE, CHARLIE, DAVE, ALICE]);
			assert_eq!(Staking::authorities_for_test(), vec![EVE, CHARLIE, DAVE, ALICE]);
		});
	}
}
