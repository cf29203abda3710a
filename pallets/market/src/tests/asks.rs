//! `place_ask`, `update_ask`, `withdraw_ask`.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, assert_ok};
use pot_primitives::AskId;

fn book(class: HardwareClass) -> Vec<(AccountId, Balance)> {
	AskBook::<Test>::get(class).iter().map(|e| (e.validator, e.price_per_unit)).collect()
}

#[test]
fn place_ask_lists_the_ask_in_each_class() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(place(V1, 7, 100, vec![CPU, GPU, CPU], vec![US, EU]));
		let ask = Asks::<Test>::get(V1).unwrap();
		assert_eq!(ask.id, AskId(0));
		assert_eq!(ask.price_per_unit, 7);
		assert_eq!(ask.capacity, WorkUnits(100));
		assert_eq!(ask.booked, WorkUnits::ZERO);
		assert_eq!(ask.bond, 1_000);
		assert_eq!(ask.hardware_classes.into_inner(), vec![GPU, CPU]);
		assert_eq!(ask.regions.into_inner(), vec![EU, US]);
		assert_eq!(book(GPU), vec![(V1, 7)]);
		assert_eq!(book(CPU), vec![(V1, 7)]);
		assert_eq!(NextAskId::<Test>::get(), AskId(1));
		assert_eq!(
			market_events(),
			vec![Event::AskPlaced {
				validator: V1,
				ask: AskId(0),
				price_per_unit: 7,
				capacity: WorkUnits(100)
			}]
		);
	});
}

#[test]
fn place_ask_by_a_non_validator_fails() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(place(ALICE, 7, 100, vec![GPU], vec![]), Error::<Test>::NotActiveValidator);
	});
}

#[test]
fn place_ask_with_capacity_above_bond_fails() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(place(V1, 7, 10_001, vec![GPU], vec![]), Error::<Test>::CapacityAboveBond);
		assert_ok!(place(V1, 7, 10_000, vec![GPU], vec![]));
	});
}

#[test]
fn place_ask_rejects_bad_terms() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(place(V1, 0, 100, vec![GPU], vec![]), Error::<Test>::ZeroPrice);
		assert_noop!(place(V1, 7, 0, vec![GPU], vec![]), Error::<Test>::ZeroCapacity);
		assert_noop!(place(V1, 7, 100, vec![], vec![]), Error::<Test>::NoHardwareClass);
		assert_noop!(
			place(V1, 7, 100, (0..5).map(HardwareClass).collect(), vec![]),
			Error::<Test>::TooManyHardwareClasses
		);
		assert_noop!(
			place(V1, 7, 100, vec![GPU], (0..5).map(RegionTag).collect()),
			Error::<Test>::TooManyRegions
		);
	});
}

#[test]
fn place_ask_twice_fails() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 7, 100);
		assert_noop!(place(V1, 8, 100, vec![GPU], vec![]), Error::<Test>::AskAlreadyPlaced);
	});
}

#[test]
fn a_full_book_refuses_more_asks() {
	let validators = (100..109).map(|v| (v, 1_000, 1_000)).collect();
	ExtBuilder::default().validators(validators).build_and_execute(|| {
		for v in 100..108 {
			assert_ok!(place(v, 7, 100, vec![GPU], vec![]));
		}
		assert_noop!(place(108, 7, 100, vec![GPU], vec![]), Error::<Test>::AskBookFull);
		assert_ok!(place(108, 7, 100, vec![CPU], vec![]));
	});
}

#[test]
fn books_are_sorted_by_price_then_bond_then_age() {
	let validators =
		vec![(V1, 1_000, 1_000), (V2, 3_000, 1_000), (V3, 1_000, 1_000), (13, 2_000, 1_000)];
	ExtBuilder::default().validators(validators).build_and_execute(|| {
		gpu_ask(V1, 5, 100);
		gpu_ask(V2, 6, 100);
		gpu_ask(V3, 5, 100);
		gpu_ask(13, 5, 100);
		// Price 5: bond 2 000 first, then the two of bond 1 000 by age; then price 6.
		assert_eq!(book(GPU), vec![(13, 5), (V1, 5), (V3, 5), (V2, 6)]);
	});
}

#[test]
fn update_ask_replaces_terms_and_keeps_the_age() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 7, 100);
		gpu_ask(V2, 7, 100);
		MockValidators::set(V1, 5_000, 10_000);
		assert_ok!(Market::update_ask(
			RuntimeOrigin::signed(V1),
			6,
			WorkUnits(200),
			vec![CPU],
			vec![EU]
		));
		let ask = Asks::<Test>::get(V1).unwrap();
		assert_eq!(ask.id, AskId(0));
		assert_eq!(ask.price_per_unit, 6);
		assert_eq!(ask.capacity, WorkUnits(200));
		assert_eq!(ask.bond, 5_000);
		assert_eq!(ask.hardware_classes.into_inner(), vec![CPU]);
		assert_eq!(book(GPU), vec![(V2, 7)]);
		assert_eq!(book(CPU), vec![(V1, 6)]);
		assert_eq!(
			market_events().last(),
			Some(&Event::AskUpdated {
				validator: V1,
				ask: AskId(0),
				price_per_unit: 6,
				capacity: WorkUnits(200)
			})
		);
	});
}

#[test]
fn update_ask_error_paths() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Market::update_ask(RuntimeOrigin::signed(V1), 6, WorkUnits(10), vec![GPU], vec![]),
			Error::<Test>::NoAsk
		);
		gpu_ask(V1, 5, 100);
		// Book 50 units on the ask: 5 rounds × 10 steps.
		let id = NextOrderId::<Test>::get();
		assert_ok!(create(ALICE, task(5, 10), conditions(10, GPU), 1_000));
		assert_eq!(assignment(id).work_units, WorkUnits(50));
		assert_noop!(
			Market::update_ask(RuntimeOrigin::signed(V1), 5, WorkUnits(49), vec![GPU], vec![]),
			Error::<Test>::CapacityBelowBooked
		);
		assert_noop!(
			Market::update_ask(RuntimeOrigin::signed(V1), 5, WorkUnits(10_001), vec![GPU], vec![]),
			Error::<Test>::CapacityAboveBond
		);
		assert_ok!(Market::update_ask(
			RuntimeOrigin::signed(V1),
			5,
			WorkUnits(50),
			vec![GPU],
			vec![]
		));
		MockValidators::remove(V1);
		assert_noop!(
			Market::update_ask(RuntimeOrigin::signed(V1), 5, WorkUnits(60), vec![GPU], vec![]),
			Error::<Test>::NotActiveValidator
		);
	});
}

#[test]
fn withdraw_ask_removes_it_from_every_book() {
	ExtBuilder::default().build_and_execute(|| {
		assert_ok!(place(V1, 7, 100, vec![GPU, CPU], vec![]));
		gpu_ask(V2, 8, 100);
		assert_ok!(Market::withdraw_ask(RuntimeOrigin::signed(V1)));
		assert!(Asks::<Test>::get(V1).is_none());
		assert_eq!(book(GPU), vec![(V2, 8)]);
		assert!(book(CPU).is_empty());
		assert_eq!(
			market_events().last(),
			Some(&Event::AskWithdrawn { validator: V1, ask: AskId(0) })
		);
		// A new ask is younger than every earlier one.
		gpu_ask(V1, 7, 100);
		assert_eq!(Asks::<Test>::get(V1).unwrap().id, AskId(2));
	});
}

#[test]
fn withdraw_ask_error_paths() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(Market::withdraw_ask(RuntimeOrigin::signed(V1)), Error::<Test>::NoAsk);
		gpu_ask(V1, 5, 100);
		order(ALICE, conditions(10, GPU), 1_000);
		assert_noop!(
			Market::withdraw_ask(RuntimeOrigin::signed(V1)),
			Error::<Test>::AskStillBooked
		);
	});
}

#[test]
fn an_inactive_validator_may_still_withdraw() {
	ExtBuilder::default().build_and_execute(|| {
		gpu_ask(V1, 5, 100);
		MockValidators::remove(V1);
		assert_ok!(Market::withdraw_ask(RuntimeOrigin::signed(V1)));
	});
}

#[test]
fn place_ask_fails_once_ask_ids_are_exhausted() {
	ExtBuilder::default().build_and_execute(|| {
		NextAskId::<Test>::put(AskId(u64::MAX));
		assert_noop!(place(V1, 7, 100, vec![GPU], vec![]), Error::<Test>::IdsExhausted);
	});
}
