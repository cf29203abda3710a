//! `do_try_state` catches broken state.

use super::*;
use polkadot_sdk::frame_support::BoundedVec;

fn broken(corrupt: impl FnOnce()) -> bool {
	let mut result = Ok(());
	ExtBuilder::default().build().execute_with(|| {
		provider(P1, 100, V1);
		assert!(Staking::do_try_state().is_ok());
		corrupt();
		result = Staking::do_try_state();
	});
	result.is_err()
}

#[test]
fn a_ledger_that_differs_from_the_hold_is_caught() {
	assert!(broken(|| Ledger::<Test>::mutate(V1, |l| l.as_mut().unwrap().active += 1)));
}

#[test]
fn an_unbonded_provider_is_caught() {
	assert!(broken(|| Ledger::<Test>::remove(P1)));
}

#[test]
fn a_provider_missing_from_its_cluster_is_caught() {
	assert!(broken(|| Clusters::<Test>::remove(V1)));
}

#[test]
fn an_unregistered_authority_is_caught() {
	assert!(broken(|| Authorities::<Test>::put(BoundedVec::truncate_from(vec![ALICE]))));
}

#[test]
fn a_record_without_registration_is_caught() {
	assert!(broken(|| RegisteredValidators::<Test>::mutate(|l| l.retain(|v| *v != V2))));
}

#[test]
fn unordered_chunks_are_caught() {
	assert!(broken(|| {
		Ledger::<Test>::mutate(V1, |l| {
			let l = l.as_mut().unwrap();
			l.active -= 20;
			l.unbonding = BoundedVec::truncate_from(vec![
				UnbondingChunk { value: 10, unlock_at: 12 },
				UnbondingChunk { value: 10, unlock_at: 11 },
			]);
		})
	}));
}
