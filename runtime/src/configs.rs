//! Configuration of every pallet in the runtime.

use crate::{
	AccountId, Address, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo,
	Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin,
	RuntimeTask, SessionKeys, Signature, SignedPayload, System, TxExtension, UncheckedExtrinsic,
	DAYS, EXISTENTIAL_DEPOSIT, HOURS, MILLI_UNIT, UNIT, Issuance, Market, Pol, Staking, MINUTES, SLOT_DURATION, VERSION,
};
use polkadot_sdk::{
	frame_support::{
		derive_impl,
		dispatch::DispatchClass,
		parameter_types,
		traits::{
			fungible::{Balanced, Credit},
			ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, Contains, Get, OnUnbalanced,
			VariantCountOf,
		},
		weights::{
			constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
			IdentityFee, Weight,
		},
		PalletId,
	},
	frame_system::{
		self,
		EnsureRoot,
		limits::{BlockLength, BlockWeights},
		offchain::{
			AppCrypto, CreateBare, CreateSignedTransaction, CreateTransaction,
			CreateTransactionBase, SigningTypes,
		},
	},
	pallet_aura, pallet_authorship, pallet_balances, pallet_grandpa, pallet_session, pallet_sudo,
	pallet_timestamp,
	pallet_transaction_payment::{self, ConstFeeMultiplier, FungibleAdapter, Multiplier},
	sp_core::Void,
	sp_runtime::{
		generic::Era,
		traits::{ConvertInto, OpaqueKeys, One, Verify},
		Perbill, SaturatedConversion,
	},
	sp_version::RuntimeVersion,
};
use codec::Encode;

use crate::{AuraId, Authorship};

/// Normal (user) extrinsics may fill 75% of a block; the rest is kept for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// Largest block in bytes.
const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

/// Upper bound of the consensus authority set (Aura and GRANDPA).
pub const MAX_AUTHORITIES: u32 = 100;

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute per six-second block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// 5 MiB blocks, of which normal extrinsics may fill 75%.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(MAX_BLOCK_LENGTH)
		.modify_max_length_for_class(DispatchClass::Normal, |max| {
			*max = NORMAL_DISPATCH_RATIO * MAX_BLOCK_LENGTH
		})
		.build();
	/// Generic Substrate address format, so Polkadot.js shows the dev accounts as everyone knows them.
	pub const SS58Prefix: u16 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	/// The node stores state in ParityDB.
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
	type BaseCallFilter = NoBurnOutsideTheProtocol;
}

/// Refuses `Balances::burn`: the supply changes only by public-run emission and by the burns
/// the protocol makes, all booked by [`Issuance`]. (Root is never filtered.)
pub struct NoBurnOutsideTheProtocol;

impl Contains<RuntimeCall> for NoBurnOutsideTheProtocol {
	fn contains(call: &RuntimeCall) -> bool {
		!matches!(call, RuntimeCall::Balances(pallet_balances::Call::burn { .. }))
	}
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_authorship::Config for Runtime {
	type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Self, Aura>;
	type EventHandler = ();
}

parameter_types! {
	/// Blocks per session as stored under the raw key `twox_128(":SessionLength:")`, 10 minutes
	/// unless set: root (`System::set_storage`) or a chain spec's genesis storage can change it
	/// without a runtime upgrade; test networks use short sessions this way.
	pub storage SessionLength: BlockNumber = 10 * MINUTES;
	pub const SessionOffset: BlockNumber = 0;
}

/// Length of a session (the authority set can change at every session boundary):
/// [`SessionLength`], at least one block, since pallet-session divides by it.
pub struct SessionPeriod;

impl Get<BlockNumber> for SessionPeriod {
	fn get() -> BlockNumber {
		SessionLength::get().max(1)
	}
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	type NextSessionRotation = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	/// The top validators by bond with session keys form the next session's authorities.
	type SessionManager = Staking;
	type SessionHandler = <SessionKeys as OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	type DisablingStrategy = ();
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	type KeyDeposit = ConstU128<0>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type DisabledValidators = ();
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	/// Equivocation reports are not accepted yet; offences come with validator staking.
	type KeyOwnerProof = Void;
	type EquivocationReportSystem = ();
}

impl pallet_balances::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type Balance = Balance;
	/// The dust of reaped accounts is burned through the issuance book.
	type DustRemoval = Issuance;
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type ReserveIdentifier = [u8; 8];
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ConstU32<0>;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type DoneSlashHandler = ();
}

/// Pays transaction fees and tips to the author of the block, so fees never leave circulation.
pub struct FeesToBlockAuthor;

impl OnUnbalanced<Credit<AccountId, Balances>> for FeesToBlockAuthor {
	fn on_nonzero_unbalanced(fees: Credit<AccountId, Balances>) {
		let Some(author) = Authorship::author() else {
			// Without a known author (e.g. in an offchain dry run) the fee is burned.
			Issuance::on_unbalanced(fees);
			return;
		};
		if let Err(unpaid) = <Balances as Balanced<AccountId>>::resolve(&author, fees) {
			// Only possible if the author's account cannot exist; the credit is then burned.
			Issuance::on_unbalanced(unpaid);
		}
	}
}

parameter_types! {
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, FeesToBlockAuthor>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

// ---- Offchain workers: how pallets build transactions to submit from the node's keystore ----

impl SigningTypes for Runtime {
	type Public = <Signature as Verify>::Signer;
	type Signature = Signature;
}

impl<LocalCall> CreateTransactionBase<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extrinsic = UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<LocalCall> CreateTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = TxExtension;

	fn create_transaction(call: RuntimeCall, extension: TxExtension) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_transaction(call, extension)
	}
}

impl<LocalCall> CreateBare<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_bare(call: RuntimeCall) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_bare(call)
	}
}

/// Transaction extensions for a transaction signed by the node itself at the current block.
pub fn tx_extension_for(nonce: Nonce, current_block: BlockNumber) -> TxExtension {
	// Mortal for a power-of-two period below `BlockHashCount`, as the era encoding requires.
	let period = u64::from(BlockHashCount::get())
		.checked_next_power_of_two()
		.map_or(2, |p| p / 2);
	(
		frame_system::AuthorizeCall::<Runtime>::new(),
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckEra::<Runtime>::from(Era::mortal(period, u64::from(current_block))),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
		frame_system::WeightReclaim::<Runtime>::new(),
	)
}

impl<LocalCall> CreateSignedTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_signed_transaction<C: AppCrypto<Self::Public, Self::Signature>>(
		call: RuntimeCall,
		public: Self::Public,
		account: AccountId,
		nonce: Nonce,
	) -> Option<UncheckedExtrinsic> {
		// The parent block's hash is what `CheckEra` will compare against.
		let current_block = System::block_number().saturated_into::<BlockNumber>().saturating_sub(1);
		let extension = tx_extension_for(nonce, current_block);
		let payload = SignedPayload::new(call, extension).ok()?;
		let signature = payload.using_encoded(|bytes| C::sign(bytes, public))?;
		let (call, extension, _implicit) = payload.deconstruct();
		Some(UncheckedExtrinsic::new_signed(call, Address::Id(account), signature, extension))
	}
}

parameter_types! {
	/// The validator's share of every payment for work on its orders.
	pub const ValidatorFeeShare: Perbill = Perbill::from_percent(10);
	/// Longest time an order may wait for a match.
	pub const MaxOrderLifetime: BlockNumber = 30 * DAYS;
}

parameter_types! {
	/// The market's id: its keyless account owns the public runs.
	pub const MarketPalletId: PalletId = PalletId(*b"pot/mrkt");
}

impl pallet_pot_market::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Validators = Staking;
	type PublicRunOrigin = EnsureRoot<AccountId>;
	type Emission = Issuance;
	type PalletId = MarketPalletId;
	type ValidatorFeeShare = ValidatorFeeShare;
	type MaxAsks = ConstU32<MAX_AUTHORITIES>;
	type MaxHardwareClasses = ConstU32<8>;
	type MaxRegions = ConstU32<8>;
	type MaxMetadataLen = ConstU32<256>;
	type MaxOrdersPerAccount = ConstU32<32>;
	type MaxOrdersPerValidator = ConstU32<64>;
	type MaxWaitingOrders = ConstU32<256>;
	type MaxOrdersPerDeadline = ConstU32<16>;
	type MaxOrderLifetime = MaxOrderLifetime;
	type MaxProvidersPerOrder = ConstU32<64>;
	type MaxMatchAttemptsPerAsk = ConstU32<8>;
	type WeightInfo = crate::weights::pallet_pot_market::WeightInfo<Runtime>;
}

parameter_types! {
	/// Unbonding funds stay held and slashable this long: longer than two sessions and any PoL
	/// challenge window, so an offence found late still reaches the bond.
	pub const UnbondingPeriod: BlockNumber = DAYS;
	/// Share of a slash paid to whoever reported the offence.
	pub const ReporterShare: Perbill = Perbill::from_percent(10);
	/// Bond a validator needs per work unit it offers at once in the market.
	pub const BondPerWorkUnit: Balance = MILLI_UNIT;
}

impl pallet_pot_staking::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type AdminOrigin = EnsureRoot<AccountId>;
	type SessionKeys = pallet_pot_staking::NextSessionKeys<Runtime>;
	/// A provider in a run cannot leave its cluster.
	type OpenWork = Pol;
	/// Slashed funds are burned through the issuance book (there is no treasury yet).
	type Slash = Issuance;
	type ReporterShare = ReporterShare;
	type UnbondingPeriod = UnbondingPeriod;
	type MaxUnbondingChunks = ConstU32<32>;
	/// Room for every ask the market's book can hold plus the genesis validators.
	type MaxValidators = ConstU32<256>;
	type MaxAuthorities = ConstU32<MAX_AUTHORITIES>;
	type MaxClusterSize = ConstU32<64>;
	type MaxEndpointLen = ConstU32<256>;
	type BondPerWorkUnit = BondPerWorkUnit;
	type WeightInfo = crate::weights::pallet_pot_staking::WeightInfo<Runtime>;
}

parameter_types! {
	/// Providers commit a round's work within an hour of its start.
	pub const CommitWindow: BlockNumber = HOURS;
	/// The validator verifies and submits the round result within 30 minutes after that.
	pub const VerifyWindow: BlockNumber = 30 * MINUTES;
	/// A matched order must be started within an hour, or anyone may fail it.
	pub const StartWindow: BlockNumber = HOURS;
	/// A round result can be challenged for a minute (10 blocks) after it lands; training goes
	/// on meanwhile, only the round's payouts and slashes wait for the window to close.
	pub const ChallengeWindow: BlockNumber = MINUTES;
	/// A challenger must have this much slashable stake: the least a provider can bond.
	pub const ChallengeBond: Balance = 100 * UNIT;
	/// A challenge committee has three validators (a majority of two decides).
	pub const CommitteeSize: u32 = 3;
	/// Committee members vote within two minutes of the challenge.
	pub const VoteWindow: BlockNumber = 2 * MINUTES;
}

impl pallet_pot_pol::Config for Runtime {
	/// The offchain worker signs with the validator account's `potv` (sr25519) key.
	type AuthorityId = pallet_pot_pol::crypto::AuthorityId;
	type Balance = Balance;
	type Settlement = Market;
	type Clusters = Staking;
	type Offences = Staking;
	/// A run can hold a whole cluster.
	type MaxProviders = ConstU32<64>;
	type CommitWindow = CommitWindow;
	type VerifyWindow = VerifyWindow;
	type StartWindow = StartWindow;
	/// Twelve rounds settling in one block (≈ 45 ms each for 64 paid providers at the generated
	/// weights) plus as many vote resolutions and failed runs stay within a 2 s block (checked
	/// by `the_pol_hooks_worst_case_fits_in_a_block`); more wait for the next block
	/// (`DeadlineBlockFull`).
	type MaxRunsPerDeadline = ConstU32<12>;
	type ChallengeWindow = ChallengeWindow;
	type ChallengeBond = ChallengeBond;
	type MaxChallengesPerRound = ConstU32<8>;
	type CommitteeSize = CommitteeSize;
	type VoteWindow = VoteWindow;
	type WeightInfo = crate::weights::pallet_pot_pol::WeightInfo<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = crate::benchmarks::PolBenchmarkHelper;
}

impl pallet_pot_issuance::Config for Runtime {
	type Currency = Balances;
}
