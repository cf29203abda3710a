//! A seeded random sequence of thousands of calls, settlements, validator changes and blocks;
//! every invariant is checked after each step.

use super::*;
use pot_primitives::OrderSettlement;

/// SplitMix64: a tiny deterministic generator, enough to drive the sequence.
struct Rng(u64);

impl Rng {
	fn next(&mut self) -> u64 {
		self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
		let mut z = self.0;
		z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
		z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
		z ^ (z >> 31)
	}
	/// Uniform in `lo..=hi`.
	fn range(&mut self, lo: u64, hi: u64) -> u64 {
		lo + self.next() % (hi - lo + 1)
	}
	fn pick<T: Copy>(&mut self, items: &[T]) -> T {
		items[self.range(0, items.len() as u64 - 1) as usize]
	}
	fn chance(&mut self, percent: u64) -> bool {
		self.range(1, 100) <= percent
	}
	fn subset<T: Copy>(&mut self, items: &[T]) -> Vec<T> {
		items.iter().copied().filter(|_| self.chance(50)).collect()
	}
}

const CONSUMERS: [AccountId; 5] = [ALICE, BOB, CHARLIE, 4, 5];
const VALIDATORS: [AccountId; 5] = [V1, V2, V3, 13, 14];
const PROVIDERS: [AccountId; 3] = [PROVIDER, 21, NOBODY];
const CLASSES: [HardwareClass; 3] = [GPU, CPU, HardwareClass(3)];
const REGIONS: [RegionTag; 3] = [EU, US, RegionTag(3)];

#[derive(Default, Debug)]
struct Tally {
	created: u32,
	cancelled: u32,
	asks: u32,
	paid: u32,
	completed: u32,
	failed: u32,
	failures: u32,
}

fn random_order(rng: &mut Rng, tally: &mut Tally) {
	let now = System::block_number();
	let mut t = task(rng.range(1, 3) as u32, rng.range(1, 10) as u32);
	if rng.chance(3) {
		t.hyper.rounds = 0;
	}
	let min_providers = rng.range(0, 3) as u32;
	let c = OrderConditionsInput {
		max_price_per_unit: rng.range(0, 20),
		deadline: if rng.chance(5) { now } else { now + rng.range(1, 40) },
		min_providers,
		max_providers: min_providers.max(1) + rng.range(0, 2) as u32,
		hardware_class: rng.pick(&CLASSES),
		regions: rng.subset(&REGIONS),
	};
	let metadata = vec![7u8; rng.range(0, 40) as usize];
	let budget = rng.range(0, 2_000);
	let who = rng.pick(&CONSUMERS);
	match Market::create_order(RuntimeOrigin::signed(who), t, c, budget, metadata) {
		Ok(_) => tally.created += 1,
		Err(_) => tally.failures += 1,
	}
}

fn random_ask(rng: &mut Rng, tally: &mut Tally, update: bool) {
	let who = rng.pick(&VALIDATORS);
	let price = rng.range(0, 20);
	let capacity = WorkUnits(rng.range(0, 120));
	let classes = rng.subset(&CLASSES);
	let regions = rng.subset(&REGIONS);
	let origin = RuntimeOrigin::signed(who);
	let result = if update {
		Market::update_ask(origin, price, capacity, classes, regions)
	} else {
		Market::place_ask(origin, price, capacity, classes, regions)
	};
	match result {
		Ok(_) => tally.asks += 1,
		Err(_) => tally.failures += 1,
	}
}

fn random_settlement(rng: &mut Rng, tally: &mut Tally) {
	let id = OrderId(rng.range(0, NextOrderId::<Test>::get().0.max(1)));
	match rng.range(0, 5) {
		0..=2 => {
			let provider = rng.pick(&PROVIDERS);
			match Market::pay_for_work(id, &provider, WorkUnits(rng.range(0, 6)), Perbill::one()) {
				Ok(_) => tally.paid += 1,
				Err(_) => tally.failures += 1,
			}
		}
		3 | 4 => match Market::complete(id) {
			Ok(_) => tally.completed += 1,
			Err(_) => tally.failures += 1,
		},
		_ => match Market::fail(id) {
			Ok(_) => tally.failed += 1,
			Err(_) => tally.failures += 1,
		},
	}
}

fn run(seed: u64, steps: u32) -> Tally {
	let mut rng = Rng(seed);
	let mut tally = Tally::default();
	let issuance = Balances::total_issuance();
	for step in 0..steps {
		match rng.range(0, 99) {
			0..=29 => random_order(&mut rng, &mut tally),
			30..=37 => {
				let who = rng.pick(&CONSUMERS);
				let id = OrderId(rng.range(0, NextOrderId::<Test>::get().0.max(1)));
				match Market::cancel_order(RuntimeOrigin::signed(who), id) {
					Ok(_) => tally.cancelled += 1,
					Err(_) => tally.failures += 1,
				}
			}
			38..=47 => random_ask(&mut rng, &mut tally, false),
			48..=57 => random_ask(&mut rng, &mut tally, true),
			58..=61 => {
				let who = rng.pick(&VALIDATORS);
				if Market::withdraw_ask(RuntimeOrigin::signed(who)).is_err() {
					tally.failures += 1;
				}
			}
			62..=81 => random_settlement(&mut rng, &mut tally),
			82..=87 => {
				// Staking changes the validator set and bonds without telling the market.
				let who = rng.pick(&VALIDATORS);
				if rng.chance(20) {
					MockValidators::remove(who);
				} else {
					MockValidators::set(who, rng.range(1, 5) * 1_000, rng.range(0, 150));
				}
			}
			_ => run_to_block(System::block_number() + rng.range(1, 3)),
		}
		if let Err(e) = Market::do_try_state() {
			panic!("seed {seed}, step {step}: invariant broken: {e:?}");
		}
		assert_eq!(Balances::total_issuance(), issuance, "seed {seed}, step {step}: issuance");
	}
	tally
}

#[test]
fn random_sequences_keep_every_invariant() {
	for seed in [1u64, 0xDEC0DE, 0x5EED_2024] {
		ExtBuilder::default().build_and_execute(|| {
			let tally = run(seed, 2_500);
			let expired =
				market_events().iter().filter(|e| matches!(e, Event::OrderExpired { .. })).count();
			let matched =
				market_events().iter().filter(|e| matches!(e, Event::OrderMatched { .. })).count();
			// The sequence reaches every path.
			assert!(tally.created > 100, "seed {seed}: {tally:?}");
			assert!(tally.cancelled > 0 && tally.asks > 0, "seed {seed}: {tally:?}");
			assert!(
				tally.paid > 0 && tally.completed > 0 && tally.failed > 0,
				"seed {seed}: {tally:?}"
			);
			assert!(tally.failures > 0, "seed {seed}: {tally:?}");
			assert!(
				expired > 0 && matched > 0,
				"seed {seed}: expired {expired}, matched {matched}"
			);
		});
	}
}
