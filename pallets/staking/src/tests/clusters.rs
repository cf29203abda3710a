//! `join_cluster`, `leave_cluster`, `kick`.

use super::*;
use polkadot_sdk::frame_support::{assert_noop, assert_ok};

fn join(
	who: AccountId,
	validator: AccountId,
	capacity: u64,
) -> polkadot_sdk::sp_runtime::DispatchResult {
	Staking::join_cluster(RuntimeOrigin::signed(who), validator, GPU, WorkUnits(capacity))
}

#[test]
fn join_cluster_records_membership() {
	ExtBuilder::default().build_and_execute(|| {
		bond(P1, 50);
		assert_ok!(join(P1, V1, 300));
		let record = Providers::<Test>::get(P1).unwrap();
		assert_eq!(
			(record.validator, record.hardware_class, record.capacity),
			(V1, GPU, WorkUnits(300))
		);
		assert_eq!(Clusters::<Test>::get(V1).into_inner(), vec![P1]);
		assert_eq!(
			last_event(),
			Event::ProviderJoined {
				provider: P1,
				validator: V1,
				hardware_class: GPU,
				capacity: WorkUnits(300)
			}
		);
	});
}

#[test]
fn join_cluster_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(join(P1, V1, 0), Error::<Test>::ZeroCapacity);
		assert_noop!(join(P1, V1, 1), Error::<Test>::NotBonded);
		bond(P1, 49);
		assert_noop!(join(P1, V1, 1), Error::<Test>::BondBelowMinimum);
		assert_ok!(Staking::bond_extra(RuntimeOrigin::signed(P1), 1));
		assert_noop!(join(V2, V1, 1), Error::<Test>::IsValidator);
		assert_noop!(join(P1, ALICE, 1), Error::<Test>::ValidatorNotActive);
		assert_ok!(Staking::chill(RuntimeOrigin::signed(V2)));
		assert_noop!(join(P1, V2, 1), Error::<Test>::ValidatorNotActive);
		// A validator below the minimum is not active either.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(V1), 901));
		assert_noop!(join(P1, V1, 1), Error::<Test>::ValidatorNotActive);
		assert_ok!(Staking::rebond(RuntimeOrigin::signed(V1), 901));
		assert_ok!(join(P1, V1, 1));
		assert_noop!(join(P1, V1, 1), Error::<Test>::AlreadyInCluster);
	});
}

#[test]
fn a_cluster_is_bounded() {
	ExtBuilder::default().build_and_execute(|| {
		for p in [P1, P2, P3] {
			provider(p, 50, V1);
		}
		bond(P4, 50);
		assert_noop!(join(P4, V1, 1), Error::<Test>::ClusterFull);
		assert_ok!(join(P4, V2, 1));
	});
}

#[test]
fn leave_cluster_keeps_the_bond() {
	ExtBuilder::default().build_and_execute(|| {
		provider(P1, 80, V1);
		provider(P2, 80, V1);
		assert_ok!(Staking::leave_cluster(RuntimeOrigin::signed(P1)));
		assert!(Providers::<Test>::get(P1).is_none());
		assert_eq!(Clusters::<Test>::get(V1).into_inner(), vec![P2]);
		assert_eq!(ledger(P1), Some((80, vec![])));
		assert_eq!(last_event(), Event::ProviderLeft { provider: P1, validator: V1 });
		// Out of the cluster it may unbond everything.
		assert_ok!(Staking::unbond(RuntimeOrigin::signed(P1), 80));
		// The last member leaving removes the cluster entry.
		assert_ok!(Staking::leave_cluster(RuntimeOrigin::signed(P2)));
		assert!(!Clusters::<Test>::contains_key(V1));
	});
}

#[test]
fn leave_cluster_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(
			Staking::leave_cluster(RuntimeOrigin::signed(P1)),
			Error::<Test>::NotInCluster
		);
		provider(P1, 80, V1);
		MockOpenWork::set(P1, true);
		assert_noop!(Staking::leave_cluster(RuntimeOrigin::signed(P1)), Error::<Test>::HasOpenWork);
		MockOpenWork::set(P1, false);
		assert_ok!(Staking::leave_cluster(RuntimeOrigin::signed(P1)));
	});
}

#[test]
fn kick_removes_a_member_even_with_open_work() {
	ExtBuilder::default().build_and_execute(|| {
		provider(P1, 80, V1);
		MockOpenWork::set(P1, true);
		assert_ok!(Staking::kick(RuntimeOrigin::signed(V1), P1));
		assert!(Providers::<Test>::get(P1).is_none());
		assert!(!Clusters::<Test>::contains_key(V1));
		assert_eq!(ledger(P1), Some((80, vec![])));
		assert_eq!(last_event(), Event::ProviderKicked { provider: P1, validator: V1 });
		// Kicked, it may join another cluster.
		assert_ok!(join(P1, V2, 10));
	});
}

#[test]
fn kick_errors() {
	ExtBuilder::default().build_and_execute(|| {
		assert_noop!(Staking::kick(RuntimeOrigin::signed(V1), P1), Error::<Test>::NotInCluster);
		provider(P1, 80, V1);
		assert_noop!(
			Staking::kick(RuntimeOrigin::signed(V2), P1),
			Error::<Test>::NotClusterValidator
		);
		assert_noop!(
			Staking::kick(RuntimeOrigin::signed(ALICE), P1),
			Error::<Test>::NotClusterValidator
		);
	});
}

#[test]
fn a_provider_leaving_with_an_empty_ledger_drops_it() {
	ExtBuilder::default().build_and_execute(|| {
		provider(P1, 80, V1);
		// A full slash empties its ledger; it stays while it is a member.
		SlashFractions::<Test>::insert(
			pot_primitives::OffenceKind::InvalidWork,
			polkadot_sdk::sp_runtime::Perbill::one(),
		);
		assert_ok!(Staking::do_slash(
			&P1,
			pot_primitives::OffenceKind::InvalidWork,
			None,
			Default::default()
		));
		assert_eq!(ledger(P1), Some((0, vec![])));
		assert_ok!(Staking::kick(RuntimeOrigin::signed(V1), P1));
		assert_eq!(ledger(P1), None);
	});
}
