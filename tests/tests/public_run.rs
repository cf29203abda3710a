//! A public run end to end on a one-validator `dev` chain: governance (Alice, the dev sudo key)
//! opens it with `pot-trainer order run --public` (`Sudo.sudo(Market.open_public_run)`), Alice's
//! node and verifier service run it, two providers (`pot-trainer work` as //Eve and //Ferdie)
//! train two rounds of the digits MLP. Checked:
//! - the run completes with held-out accuracy up by at least 20 points, having minted no more
//!   than its cap and held nothing (governance's own checks, exit 0);
//! - every verified update is rewarded by its measured loss improvement: in each round the
//!   best update earns the full reward for its work units, the other at most that;
//! - the total issuance grows by exactly what the run minted, and so does the issuance book's
//!   emission (the book accounts for the issuance before and after): the providers' rewards and the
//!   validator's fee.
//!
//! Needs the workspace built (`cargo build --workspace`). Alice's registered endpoint in the dev
//! preset is http://127.0.0.1:8800, so that port must be free.

use anyhow::{ensure, Context, Result};
use pot_client::{account_of, keypair_from_suri, Chain};
use pot_tests::{
	processes::{json_events, run_trainer, s, Processes},
	Network, NodeSpec,
};
use std::{collections::BTreeMap, time::Duration};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(420);
/// Setup, two rounds and the final evaluation.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);
const ROUNDS: u64 = 2;
const STEPS: u64 = 40;
/// The reward per verified work unit (POT) and in planck (12 decimals).
const REWARD: &str = "0.02";
const REWARD_PLANCK: u128 = 20_000_000_000;
/// The validator's fee share of each reward (the runtime's `ValidatorFeeShare`), in percent.
const FEE_PERCENT: u128 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_run_mints_rewards_weighted_by_measured_improvement() -> Result<()> {
	let net = Network::start("dev", vec![NodeSpec::validator("alice")])?;
	net.wait_rpc_ready(&["alice"], STARTUP_TIMEOUT).await?;
	net.node("alice")?.insert_potv_key("//Alice").await?;
	let alice = keypair_from_suri("//Alice")?;
	net.wait_finalized_at_least(&["alice"], 1, STARTUP_TIMEOUT).await?;
	let ws = net.node("alice")?.ws_url();
	let dir = net.base_dir().to_path_buf();
	let mut procs = Processes::new(dir.clone());
	procs.spawn(
		"serve",
		"pot-trainer",
		&[
			s("serve"), s("--listen"), s("127.0.0.1:8800"), s("--node"), ws.clone(),
			s("--store"), s(dir.join("artifacts").display()), s("--suri"), s("//Alice"), s("--allow-chain"),
		],
	)?;
	eprintln!("{}", run_trainer(&[s("ask"), s("--node"), ws.clone(), s("--suri"), s("//Alice"), s("--price"), s("0.01"), s("--capacity"), s("1000000")])?);
	let alice_account = account_of(&alice);
	for (name, suri) in [("eve", "//Eve"), ("ferdie", "//Ferdie")] {
		procs.spawn(
			name,
			"pot-trainer",
			&[
				s("work"), s("--node"), ws.clone(), s("--suri"), s(suri), s("--state-dir"), s(dir.join(name).display()),
				s("--join"), s(alice_account.to_string()), s("--bond"), s("200"),
			],
		)?;
	}
	let chain = Chain::connect(&ws).await?;
	// Both providers in Alice's cluster before the run starts (it takes the cluster as it is).
	pot_tests::wait_for_cluster(&chain, &alice_account, 2, STARTUP_TIMEOUT).await?;
	let before = pot_tests::booked_supply(&chain).await?;

	procs.spawn(
		"governance",
		"pot-trainer",
		&[
			s("order"), s("run"), s("--public"), s("--json"), s("--node"), ws.clone(), s("--suri"), s("//Alice"),
			s("--state-dir"), s(dir.join("governance").display()), s("--budget"), s("50"), s("--max-price"), s(REWARD),
			s("--rounds"), s(ROUNDS), s("--steps"), s(STEPS), s("--min-providers"), s("2"), s("--max-providers"), s("2"),
			s("--min-accuracy-gain"), s("0.2"), s("--metadata"), s("an open digits model"),
		],
	)?;
	procs.wait("governance", RUN_TIMEOUT).await.with_context(|| net.log_tails(20))?;
	let events = json_events(&procs.log("governance"), "governance")?;
	let of_kind = |kind: &'static str| events.iter().filter(move |e| e["event"] == kind);
	let opened = of_kind("public_run_opened").next().context("no PublicRunOpened")?;
	ensure!(opened["reward_per_unit"].as_u64().map(u128::from) == Some(REWARD_PLANCK), "{opened}");
	ensure!(of_kind("run_completed").next().is_some(), "the run did not complete");

	// Each round: both providers paid for their steps; the best update the full reward (less
	// the validator's share), the other at most that.
	let full = |units: u128| {
		let gross = units * REWARD_PLANCK;
		gross - gross * FEE_PERCENT / 100
	};
	let mut per_round: BTreeMap<u64, Vec<(u64, u128)>> = BTreeMap::new();
	for paid in of_kind("provider_paid") {
		let round = paid["round"].as_u64().context("round")?;
		let units = paid["work_units"].as_u64().context("work units")?;
		let amount = u128::from(paid["amount"].as_u64().context("amount")?);
		per_round.entry(round).or_default().push((units, amount));
	}
	ensure!(per_round.len() as u64 == ROUNDS, "payments {per_round:?}");
	let mut minted = 0u128;
	for (round, payments) in &per_round {
		ensure!(payments.len() == 2, "round {round}: {payments:?}");
		ensure!(payments.iter().all(|(units, _)| *units == STEPS), "round {round}: {payments:?}");
		ensure!(payments.iter().all(|(units, amount)| *amount <= full(u128::from(*units))), "round {round}: {payments:?}");
		ensure!(
			payments.iter().any(|(units, amount)| *amount == full(u128::from(*units))),
			"round {round}: nobody earned the full reward: {payments:?}"
		);
		minted += payments.iter().map(|(_, amount)| amount).sum::<u128>();
	}
	let summary = of_kind("summary").next().context("no summary")?;
	ensure!(summary["public"] == true && summary["refunded"] == 0, "{summary}");
	let fee = u128::from(summary["validator_fee"].as_u64().context("fee")?);
	ensure!(fee > 0, "{summary}");
	minted += fee;
	let after = pot_tests::booked_supply(&chain).await?;
	ensure!(
		after.total == before.total + minted && after.emitted == before.emitted + minted,
		"supply {before:?} -> {after:?}, but the run minted {minted}"
	);
	ensure!(minted <= 50 * 1_000_000_000_000, "minted {minted} above the cap");
	Ok(())
}
