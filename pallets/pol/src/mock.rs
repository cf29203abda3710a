//! Mock runtime: System, Balances (ED = 1) and the PoL pallet, with the market (escrow on a
//! pot account, real transfers), the clusters and the offence reports kept in memory.
#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use crate::{self as pallet_pot_pol, Config};
use codec::{Decode, Encode};
use core::cell::RefCell;
use polkadot_sdk::{
	frame_support::{
		self, derive_impl,
		storage::unhashed,
		traits::{
			fungible::{Inspect, Mutate},
			tokens::Preservation,
			ConstU32, ConstU64, Hooks, OnFinalize, OnInitialize,
		},
	},
	frame_system::{
		self,
		offchain::{AppCrypto, CreateSignedTransaction, CreateTransactionBase, SigningTypes},
	},
	pallet_balances,
	sp_core::{sr25519, H256},
	sp_io,
	sp_runtime::{
		generic::UncheckedExtrinsic, traits::IdentifyAccount, BuildStorage, Perbill, Weight,
	},
};
use pot_primitives::{
	AskId, Assignment, ClusterInspect, ClusterMember, Compensated, ContentHash, Funding,
	HardwareClass, MatchedOrder, OffenceError, OffenceKind, OrderId, OrderSettlement,
	ReportOffence, SettlementError, SettlementReceipt, Slashed, TaskSpec, WorkUnits,
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
		Pol: pallet_pot_pol,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
	type BlockHashCount = ConstU64<250>;
}

pub const ED: Balance = 1;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type ExistentialDeposit = ConstU64<ED>;
}

pub const COMMIT_WINDOW: BlockNumber = 5;
pub const VERIFY_WINDOW: BlockNumber = 5;
pub const MAX_PROVIDERS: u32 = 4;
pub const START_WINDOW: BlockNumber = 20;
pub const CHALLENGE_WINDOW: BlockNumber = 8;
pub const VOTE_WINDOW: BlockNumber = 4;
pub const COMMITTEE_SIZE: u32 = 3;
pub const CHALLENGE_BOND: Balance = 500;
pub const MAX_CHALLENGES_PER_ROUND: u32 = 3;
/// `ClusterInspect::max_validators` of the mock.
pub const MAX_VALIDATORS: u32 = 8;

impl Config for Test {
	type AuthorityId = crate::crypto::AuthorityId;
	type Balance = Balance;
	type Settlement = MockMarket;
	type Clusters = MockClusters;
	type Offences = MockOffences;
	type MaxProviders = ConstU32<MAX_PROVIDERS>;
	type CommitWindow = ConstU64<COMMIT_WINDOW>;
	type VerifyWindow = ConstU64<VERIFY_WINDOW>;
	type StartWindow = ConstU64<START_WINDOW>;
	type MaxRunsPerDeadline = ConstU32<2>;
	type ChallengeWindow = ConstU64<CHALLENGE_WINDOW>;
	type ChallengeBond = ConstU64<CHALLENGE_BOND>;
	type MaxChallengesPerRound = ConstU32<MAX_CHALLENGES_PER_ROUND>;
	type CommitteeSize = ConstU32<COMMITTEE_SIZE>;
	type VoteWindow = ConstU64<VOTE_WINDOW>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = MockBenchmarkHelper;
}

// ---- Signed transactions of the offchain worker ----

/// The public key type of the mock's signed transactions: an sr25519 key whose account is the
/// `u64` it was assigned with [`key_account`] (the mock's accounts are numbers).
#[derive(
	Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Encode, Decode, scale_info::TypeInfo,
)]
pub struct MockPublic(pub sr25519::Public);

impl From<sr25519::Public> for MockPublic {
	fn from(p: sr25519::Public) -> Self {
		Self(p)
	}
}

impl TryFrom<MockPublic> for sr25519::Public {
	type Error = ();
	fn try_from(p: MockPublic) -> Result<Self, ()> {
		Ok(p.0)
	}
}

impl IdentifyAccount for MockPublic {
	type AccountId = AccountId;
	/// The account assigned to the key, else one nobody uses.
	fn into_account(self) -> AccountId {
		KEY_ACCOUNTS.with(|k| k.borrow().get(&self.0).copied()).unwrap_or(u64::MAX)
	}
}

/// Makes `public` the key of `account` for the mock's signed transactions.
pub fn key_account(public: sr25519::Public, account: AccountId) {
	KEY_ACCOUNTS.with(|k| k.borrow_mut().insert(public, account));
}

impl AppCrypto<MockPublic, sr25519::Signature> for crate::crypto::AuthorityId {
	type RuntimeAppPublic = crate::crypto::Public;
	type GenericPublic = sr25519::Public;
	type GenericSignature = sr25519::Signature;
}

/// The extrinsics the offchain worker puts into the pool: signed by the account, the
/// signature over `(call, nonce)`, no extensions.
pub type Extrinsic = UncheckedExtrinsic<AccountId, RuntimeCall, sr25519::Signature, ()>;

impl SigningTypes for Test {
	type Public = MockPublic;
	type Signature = sr25519::Signature;
}

impl<LocalCall> CreateTransactionBase<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	type Extrinsic = Extrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<LocalCall> CreateSignedTransaction<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	fn create_signed_transaction<C: AppCrypto<MockPublic, sr25519::Signature>>(
		call: RuntimeCall,
		public: MockPublic,
		account: AccountId,
		nonce: u32,
	) -> Option<Extrinsic> {
		let signature = C::sign(&(&call, nonce).encode(), public)?;
		Some(Extrinsic::new_signed(call, account, signature, ()))
	}
}

/// An acceptance whose update lowered the held-out loss by 10⁻⁶.
pub const ACCEPTED: crate::Verdict =
	crate::Verdict::Accepted { improvement: polkadot_sdk::sp_runtime::FixedI64::from_inner(1_000) };

/// The account that holds the escrowed budgets of the mock market.
pub const ESCROW: AccountId = 999;
/// The consumer of the mock market's public runs (it holds nothing).
pub const PUBLIC_RUNS: AccountId = 998;
/// The validator's fee share of every payment.
pub const FEE: Perbill = Perbill::from_percent(10);

/// An order of the mock market.
#[derive(Clone, Debug, Encode, Decode)]
pub struct MockOrder {
	pub consumer: AccountId,
	/// `Emission`: a public run, which mints what it pays and holds nothing on [`ESCROW`].
	pub funding: Funding,
	pub validator: AccountId,
	pub task: TaskSpec,
	pub min_providers: u32,
	pub max_providers: u32,
	pub hardware_class: HardwareClass,
	pub price: Balance,
	pub budget: Balance,
	pub matched_at: BlockNumber,
	pub work_units: WorkUnits,
	pub units_paid: WorkUnits,
	pub spent: Balance,
	pub fee_accrued: Balance,
	/// Units paid to each provider.
	pub paid_to: BTreeMap<AccountId, u64>,
	/// Every payment's provider and reward weight, in order.
	pub weights: Vec<(AccountId, Perbill)>,
}

impl MockOrder {
	fn unspent(&self) -> Balance {
		self.budget - self.spent
	}
}

#[derive(Default, Encode, Decode)]
struct MarketState {
	next: u64,
	orders: BTreeMap<OrderId, MockOrder>,
	refuse_payments: bool,
	refuse_close: bool,
}

/// The mock market and the mock bonds and reports live in storage, so that a failed call rolls
/// them back like the real pallets' state.
const MARKET_KEY: &[u8] = b":mock:market";
const BONDS_KEY: &[u8] = b":mock:bonds";
const REPORTS_KEY: &[u8] = b":mock:reports";
const COMPENSATIONS_KEY: &[u8] = b":mock:compensations";

fn with_stored<V: Encode + Decode + Default, R>(key: &[u8], f: impl FnOnce(&mut V) -> R) -> R {
	let before = unhashed::get_raw(key);
	let mut value = before.as_deref().and_then(|b| V::decode(&mut &b[..]).ok()).unwrap_or_default();
	let out = f(&mut value);
	let after = value.encode();
	let unchanged = match before.as_deref() {
		Some(b) => b == &after[..],
		None => after == V::default().encode(),
	};
	if !unchanged {
		unhashed::put_raw(key, &after);
	}
	out
}

fn with_market<R>(f: impl FnOnce(&mut MarketState) -> R) -> R {
	with_stored(MARKET_KEY, f)
}

type Reports = Vec<(AccountId, OffenceKind, Option<AccountId>, ContentHash)>;
/// Compensations paid: (offender, beneficiary, amount).
type Compensations = Vec<(AccountId, AccountId, Balance)>;

thread_local! {
	static CLUSTERS: RefCell<BTreeMap<AccountId, Vec<ClusterMember<AccountId>>>> =
		const { RefCell::new(BTreeMap::new()) };
	static ENDPOINTS: RefCell<BTreeMap<AccountId, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
	static VALIDATORS: RefCell<Vec<AccountId>> = const { RefCell::new(Vec::new()) };
	static KEY_ACCOUNTS: RefCell<BTreeMap<sr25519::Public, AccountId>> =
		const { RefCell::new(BTreeMap::new()) };
}

/// The market of the mock: matched orders whose budget sits on [`ESCROW`].
pub struct MockMarket;

impl MockMarket {
	/// Creates an order matched to `validator` at `price`, moving `budget` from `consumer` to
	/// the escrow account. Reserves what the budget buys, at most the task's maximum.
	#[allow(clippy::too_many_arguments)]
	pub fn create(
		consumer: AccountId,
		validator: AccountId,
		task: TaskSpec,
		min_providers: u32,
		max_providers: u32,
		price: Balance,
		budget: Balance,
	) -> OrderId {
		Balances::transfer(&consumer, &ESCROW, budget, Preservation::Expendable).unwrap();
		Self::insert(
			consumer,
			Funding::Escrow,
			validator,
			task,
			min_providers,
			max_providers,
			price,
			budget,
		)
	}

	/// Creates a public run matched to `validator` at `reward` per unit, minting at most `cap`.
	pub fn create_public(
		validator: AccountId,
		task: TaskSpec,
		providers: u32,
		reward: Balance,
		cap: Balance,
	) -> OrderId {
		Self::insert(
			PUBLIC_RUNS,
			Funding::Emission,
			validator,
			task,
			providers,
			providers,
			reward,
			cap,
		)
	}

	#[allow(clippy::too_many_arguments)]
	fn insert(
		consumer: AccountId,
		funding: Funding,
		validator: AccountId,
		task: TaskSpec,
		min_providers: u32,
		max_providers: u32,
		price: Balance,
		budget: Balance,
	) -> OrderId {
		let max = task.max_work_units(max_providers).unwrap();
		let work_units = WorkUnits((budget / price).min(max.0));
		with_market(|m| {
			let id = OrderId(m.next);
			m.next += 1;
			m.orders.insert(
				id,
				MockOrder {
					consumer,
					funding,
					validator,
					task,
					min_providers,
					max_providers,
					hardware_class: GPU,
					price,
					budget,
					matched_at: System::block_number(),
					work_units,
					units_paid: WorkUnits::ZERO,
					spent: 0,
					fee_accrued: 0,
					paid_to: BTreeMap::new(),
					weights: Vec::new(),
				},
			);
			id
		})
	}

	/// The order, if live.
	pub fn order(id: OrderId) -> Option<MockOrder> {
		with_market(|m| m.orders.get(&id).cloned())
	}

	/// Closes `id` behind the pallet's back (refunding the consumer), as a market bug would.
	pub fn forget(id: OrderId) {
		let o = with_market(|m| m.orders.remove(&id)).unwrap();
		if o.funding == Funding::Escrow {
			Balances::transfer(&ESCROW, &o.consumer, o.unspent(), Preservation::Expendable)
				.unwrap();
		}
	}

	/// Makes every payment fail (`TransferRejected`).
	pub fn refuse_payments(refuse: bool) {
		with_market(|m| m.refuse_payments = refuse);
	}

	/// Makes every completion and failure fail (`TransferRejected`).
	pub fn refuse_close(refuse: bool) {
		with_market(|m| m.refuse_close = refuse);
	}

	/// Checks the mock market's invariants: no order pays beyond its budget or reservation, no
	/// provider is paid more steps than the task has for it, and the escrow account holds the
	/// unspent budgets of the live orders.
	pub fn check() {
		with_market(|m| {
			let mut unspent = 0;
			for (id, o) in &m.orders {
				assert!(o.spent + o.fee_accrued <= o.budget, "order {id:?} pays beyond budget");
				assert!(o.units_paid <= o.work_units, "order {id:?} pays beyond reservation");
				let per_provider =
					u64::from(o.task.hyper.rounds) * u64::from(o.task.hyper.local_steps);
				for (p, units) in &o.paid_to {
					assert!(*units <= per_provider, "provider {p} paid a step twice");
				}
				assert_eq!(o.paid_to.values().sum::<u64>(), o.units_paid.0);
				if o.funding == Funding::Escrow {
					unspent += o.unspent();
				}
			}
			// The escrow account keeps its existential deposit on top.
			assert_eq!(
				Balances::balance(&ESCROW),
				unspent + ED,
				"escrow is not the unspent budgets"
			);
		});
	}

	fn close(id: OrderId, completed: bool) -> Result<SettlementReceipt<Balance>, SettlementError> {
		with_market(|m| {
			if m.refuse_close {
				return Err(SettlementError::TransferRejected);
			}
			let o = m.orders.remove(&id).ok_or(SettlementError::UnknownOrder)?;
			let fee = if completed { o.fee_accrued } else { 0 };
			if o.funding == Funding::Emission {
				if fee > 0 {
					Balances::mint_into(&o.validator, fee).unwrap();
				}
				return Ok(SettlementReceipt { validator_fee: fee, refunded: 0 });
			}
			let refunded = o.unspent() - fee;
			if fee > 0 {
				Balances::transfer(&ESCROW, &o.validator, fee, Preservation::Expendable).unwrap();
			}
			if refunded > 0 {
				Balances::transfer(&ESCROW, &o.consumer, refunded, Preservation::Expendable)
					.unwrap();
			}
			Ok(SettlementReceipt { validator_fee: fee, refunded })
		})
	}
}

impl OrderSettlement<AccountId, Balance, BlockNumber> for MockMarket {
	fn matched_order(id: OrderId) -> Option<MatchedOrder<AccountId, Balance, BlockNumber>> {
		let o = Self::order(id)?;
		Some(MatchedOrder {
			consumer: o.consumer,
			funding: o.funding,
			task: o.task,
			deadline: 1_000,
			min_providers: o.min_providers,
			max_providers: o.max_providers,
			hardware_class: o.hardware_class,
			unspent: o.unspent(),
			assignment: Assignment {
				validator: o.validator,
				ask: AskId(0),
				price_per_unit: o.price,
				work_units: o.work_units,
				units_paid: o.units_paid,
				fee_accrued: o.fee_accrued,
				matched_at: o.matched_at,
			},
		})
	}

	fn pay_for_work(
		id: OrderId,
		provider: &AccountId,
		units: WorkUnits,
		reward_weight: Perbill,
	) -> Result<Balance, SettlementError> {
		with_market(|m| {
			if m.refuse_payments {
				return Err(SettlementError::TransferRejected);
			}
			let o = m.orders.get_mut(&id).ok_or(SettlementError::UnknownOrder)?;
			if units.is_zero() {
				return Err(SettlementError::ZeroWorkUnits);
			}
			let paid = o.units_paid.checked_add(units).ok_or(SettlementError::Overflow)?;
			if paid > o.work_units {
				return Err(SettlementError::WorkUnitsAboveReservation);
			}
			let amount = match o.funding {
				Funding::Escrow => o.price * units.0,
				Funding::Emission => reward_weight.mul_floor(o.price * units.0),
			};
			let fee = FEE.mul_floor(amount);
			let to_provider = amount - fee;
			if o.spent + to_provider + o.fee_accrued + fee > o.budget {
				return Err(SettlementError::BudgetExceeded);
			}
			match o.funding {
				Funding::Escrow => {
					Balances::transfer(&ESCROW, provider, to_provider, Preservation::Expendable)
						.map_err(|_| SettlementError::TransferRejected)?;
				}
				Funding::Emission if to_provider == 0 => {}
				Funding::Emission => {
					Balances::mint_into(provider, to_provider)
						.map_err(|_| SettlementError::TransferRejected)?;
				}
			}
			o.weights.push((*provider, reward_weight));
			o.units_paid = paid;
			o.spent += to_provider;
			o.fee_accrued += fee;
			*o.paid_to.entry(*provider).or_default() += units.0;
			Ok(to_provider)
		})
	}

	fn complete(id: OrderId) -> Result<SettlementReceipt<Balance>, SettlementError> {
		Self::close(id, true)
	}

	fn fail(id: OrderId) -> Result<SettlementReceipt<Balance>, SettlementError> {
		Self::close(id, false)
	}

	fn pay_for_work_weight() -> Weight {
		Weight::from_parts(1_000, 0)
	}

	fn complete_weight() -> Weight {
		Weight::from_parts(2_000, 0)
	}

	fn fail_weight() -> Weight {
		Weight::from_parts(3_000, 0)
	}

	fn orders_assigned_to(validator: &AccountId) -> Vec<OrderId> {
		with_market(|m| {
			m.orders.iter().filter(|(_, o)| o.validator == *validator).map(|(id, _)| *id).collect()
		})
	}
}

/// Clusters of the mock.
pub struct MockClusters;

impl MockClusters {
	/// Registers `validator`'s endpoint.
	pub fn set_endpoint(validator: AccountId, endpoint: &[u8]) {
		ENDPOINTS.with(|e| e.borrow_mut().insert(validator, endpoint.to_vec()));
	}
	/// Forgets `validator`'s endpoint.
	pub fn clear_endpoint(validator: AccountId) {
		ENDPOINTS.with(|e| e.borrow_mut().remove(&validator));
	}

	/// Makes `validators` the active validators (the committee pool), in this order.
	pub fn set_validators(validators: &[AccountId]) {
		VALIDATORS.with(|v| *v.borrow_mut() = validators.to_vec());
	}

	/// Adds `provider` to `validator`'s cluster.
	pub fn join(validator: AccountId, provider: AccountId, class: HardwareClass, capacity: u64) {
		CLUSTERS.with(|c| {
			c.borrow_mut().entry(validator).or_default().push(ClusterMember {
				provider,
				hardware_class: class,
				capacity: WorkUnits(capacity),
			})
		});
	}
}

impl ClusterInspect<AccountId> for MockClusters {
	fn cluster_of(provider: &AccountId) -> Option<AccountId> {
		CLUSTERS.with(|c| {
			c.borrow()
				.iter()
				.find(|(_, members)| members.iter().any(|m| m.provider == *provider))
				.map(|(v, _)| *v)
		})
	}
	fn members(validator: &AccountId) -> Vec<ClusterMember<AccountId>> {
		CLUSTERS.with(|c| c.borrow().get(validator).cloned().unwrap_or_default())
	}
	fn max_members() -> u32 {
		16
	}
	fn endpoint_of(validator: &AccountId) -> Option<Vec<u8>> {
		ENDPOINTS.with(|e| e.borrow().get(validator).cloned())
	}
	fn active_validators() -> Vec<AccountId> {
		VALIDATORS.with(|v| v.borrow().clone())
	}
	fn max_validators() -> u32 {
		MAX_VALIDATORS
	}
}

/// Offence reports of the mock: bonds in memory, each report takes 10% of the bond. A
/// compensating report pays the claims out of that 10%, in order, as transfers from the
/// offender's free balance (the mock's bonds are not on the balances), so that issuance does
/// not change and the claimants' balances show what they got.
pub struct MockOffences;

impl MockOffences {
	/// Bonds `who` with `amount`.
	pub fn bond(who: AccountId, amount: Balance) {
		with_stored(BONDS_KEY, |b: &mut BTreeMap<AccountId, Balance>| b.insert(who, amount));
	}
	/// Removes `who`'s bond: reports against it are refused.
	pub fn unbond(who: AccountId) {
		with_stored(BONDS_KEY, |b: &mut BTreeMap<AccountId, Balance>| b.remove(&who));
	}
	/// The reports so far: (offender, kind, reporter, evidence).
	pub fn reports() -> Reports {
		with_stored(REPORTS_KEY, |r: &mut Reports| r.clone())
	}
	/// The compensations paid so far: (offender, beneficiary, amount), one per claim paid.
	pub fn compensations() -> Compensations {
		with_stored(COMPENSATIONS_KEY, |c: &mut Compensations| c.clone())
	}
}

impl ReportOffence<AccountId, Balance> for MockOffences {
	fn report_offence(
		offender: &AccountId,
		kind: OffenceKind,
		reporter: Option<&AccountId>,
		evidence: ContentHash,
	) -> Result<Slashed<Balance>, OffenceError> {
		let amount = with_stored(BONDS_KEY, |b: &mut BTreeMap<AccountId, Balance>| {
			let bond = b.get_mut(offender).ok_or(OffenceError::NotBonded)?;
			let amount = *bond / 10;
			*bond -= amount;
			Ok(amount)
		})?;
		with_stored(REPORTS_KEY, |r: &mut Reports| {
			r.push((*offender, kind, reporter.copied(), evidence))
		});
		Ok(Slashed { amount, reporter_reward: 0 })
	}
	fn slashable(who: &AccountId) -> Balance {
		with_stored(BONDS_KEY, |b: &mut BTreeMap<AccountId, Balance>| {
			b.get(who).copied().unwrap_or(0)
		})
	}
	fn report_weight() -> Weight {
		Weight::from_parts(4_000, 0)
	}
	fn report_offence_compensating(
		offender: &AccountId,
		kind: OffenceKind,
		evidence: ContentHash,
		claims: &[(AccountId, Balance)],
	) -> Result<Compensated<Balance>, OffenceError> {
		let amount = Self::report_offence(offender, kind, None, evidence)?.amount;
		let mut left = amount;
		let mut paid = Vec::new();
		for (who, claim) in claims {
			let part = (*claim).min(left);
			let transferred = who != offender &&
				part > 0 &&
				Balances::transfer(offender, who, part, Preservation::Expendable).is_ok();
			let got = if transferred {
				with_stored(COMPENSATIONS_KEY, |c: &mut Compensations| {
					c.push((*offender, *who, part))
				});
				part
			} else {
				0
			};
			left -= got;
			paid.push(got);
		}
		Ok(Compensated { amount, paid })
	}
	fn report_compensating_weight(claims: u32) -> Weight {
		Weight::from_parts(4_000 + 1_000 * u64::from(claims), 0)
	}
}

/// Benchmark set-up of the mock.
#[cfg(feature = "runtime-benchmarks")]
pub struct MockBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for MockBenchmarkHelper {
	fn matched_order(validator: &AccountId, providers: &[AccountId], rounds: u32) -> OrderId {
		let consumer = 7_777;
		Balances::set_balance(&consumer, 1_000_000_000);
		if Balances::balance(&ESCROW) == 0 {
			Balances::set_balance(&ESCROW, ED);
		}
		MockOffences::bond(*validator, 1_000);
		for p in providers {
			MockClusters::join(*validator, *p, GPU, 10);
			MockOffences::bond(*p, 1_000);
		}
		let n = providers.len() as u32;
		let task = pot_primitives::fixtures::sample_task(rounds, 10);
		let budget = 10 * u64::from(rounds) * 10 * u64::from(n);
		MockMarket::create(consumer, *validator, task, n, n, 10, budget)
	}

	fn active_validators(validators: &[AccountId]) {
		for v in validators {
			MockOffences::bond(*v, 1_000);
		}
		MockClusters::set_validators(validators);
	}
}

// Accounts.
pub const CONSUMER: AccountId = 1;
pub const V: AccountId = 10;
pub const V2: AccountId = 11;
pub const P1: AccountId = 20;
pub const P2: AccountId = 21;
pub const P3: AccountId = 22;
pub const P4: AccountId = 23;
pub const P5: AccountId = 24;
/// Not in any cluster.
pub const STRANGER: AccountId = 30;
/// Other validators: the committee pool with `V` and `V2`.
pub const W1: AccountId = 40;
pub const W2: AccountId = 41;
pub const W3: AccountId = 42;
pub const W4: AccountId = 43;

pub const INITIAL: Balance = 1_000_000;
pub const GPU: HardwareClass = HardwareClass(1);
pub const CPU: HardwareClass = HardwareClass(2);

pub struct ExtBuilder;

impl ExtBuilder {
	pub fn build() -> sp_io::TestExternalities {
		CLUSTERS.with(|c| c.borrow_mut().clear());
		ENDPOINTS.with(|e| e.borrow_mut().clear());
		VALIDATORS.with(|v| v.borrow_mut().clear());
		KEY_ACCOUNTS.with(|k| k.borrow_mut().clear());
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		let funded = [CONSUMER, V, V2, P1, P2, P3, P4, P5, STRANGER, W1, W2, W3, W4, ESCROW];
		pallet_balances::GenesisConfig::<Test> {
			balances: funded
				.iter()
				.map(|a| (*a, if *a == ESCROW { ED } else { INITIAL }))
				.collect(),
			dev_accounts: None,
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| run_to_block(1));
		ext
	}

	/// Runs `test`, then checks the pallet's and the mock market's invariants.
	pub fn build_and_execute(test: impl FnOnce()) {
		Self::build().execute_with(|| {
			test();
			Pol::do_try_state().expect("PoL invariants hold after the test");
			MockMarket::check();
		});
	}
}

/// The hash of block `n` in the mock chain.
pub fn hash_of(n: BlockNumber) -> H256 {
	H256::from_low_u64_be(0xb10c_0000 + n)
}

/// Runs blocks (hooks included) up to `n`; block `b`'s hash is [`hash_of`]`(b)`.
pub fn run_to_block(n: BlockNumber) {
	while System::block_number() < n {
		let bn = System::block_number();
		if bn > 0 {
			AllPalletsWithSystem::on_finalize(bn);
		}
		System::initialize(&(bn + 1), &hash_of(bn), &Default::default());
		AllPalletsWithSystem::on_initialize(bn + 1);
	}
}

/// Runs the integrity test of the pallet.
pub fn integrity_test() {
	<Pol as Hooks<BlockNumber>>::integrity_test();
}

/// A task of `rounds` rounds of `local_steps` steps, checkpoint every 2 steps, 100 samples.
pub fn task(rounds: u32, local_steps: u32) -> TaskSpec {
	let mut t = pot_primitives::fixtures::sample_task(rounds, local_steps);
	t.samples = 100;
	t.pol.checkpoint_interval = 2.min(local_steps);
	t
}

/// Events of the pallet so far.
pub fn pol_events() -> Vec<crate::Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Pol(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// Free balance of `who`.
pub fn free(who: AccountId) -> Balance {
	Balances::free_balance(who)
}
