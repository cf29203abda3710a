//! A lazy validator caught by another validator's watcher, end to end on the 4-validator
//! `local` chain with Eve registered as a fifth validator (her `potv` key on Dave's node, whose
//! offchain worker votes for her through her own verifier service):
//! - Alice's verifier service accepts every submission (`pot-malus serve --accept-all`);
//! - her cluster: Ferdie, honest (`pot-trainer work`), and //Dave//stash, forging every proof
//!   (`pot-malus work --forgery tamper-final`);
//! - Bob's service watches the other clusters' acceptances (`pot-trainer serve --watch`);
//! - a consumer orders one round of the digits MLP from Alice.
//!
//! Checked:
//! - Alice's result accepts both submissions;
//! - Bob's watcher re-executes them, challenges the forged one (`InvalidWorkAccepted`) and
//!   never the honest one;
//! - the committee (Charlie, Dave, Eve: every validator but the parties) upholds the claim;
//! - Alice is slashed for the wrong verdict (her bond lower by exactly that) and the forger for
//!   invalid work; the forger is not paid, Ferdie is paid for all his steps, and the order
//!   completes with escrow = payouts + fee + refund (the consumer's own check);
//! - the slashes, less the reporters' shares, are burned through the issuance book, which
//!   accounts for the total issuance.
//!
//! Needs the workspace built (`cargo build --workspace`). The local preset registers the
//! validators' endpoints as http://127.0.0.1:8800..8803 and the test registers Eve's at 8804,
//! so those ports must be free.

use anyhow::{ensure, Context, Result};
use pot_client::{account_of, api, keypair_from_suri, Chain};
use pot_tests::{
	processes::{json_events, run_trainer, s, Processes},
	Network,
};
use serde_json::Value;
use std::time::Duration;

const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];
const STARTUP_TIMEOUT: Duration = Duration::from_secs(420);
/// Setup, one round, the watcher's re-execution, the challenge window and the votes.
const ORDER_TIMEOUT: Duration = Duration::from_secs(900);
const STEPS: u64 = 40;
/// Eve's validator bond (POT, 12 decimals): above the minimum of 1 000.
const EVE_BOND: u128 = 2_000 * 1_000_000_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_lazy_validator_is_challenged_by_a_watcher_and_slashed() -> Result<()> {
	let net = Network::local_validators(&VALIDATORS)?;
	net.wait_rpc_ready(&VALIDATORS, STARTUP_TIMEOUT).await?;
	// The dev seed of a validator: alice → //Alice.
	let suri = |name: &str| format!("//{}{}", name[..1].to_uppercase(), &name[1..]);
	for name in VALIDATORS {
		net.node(name)?.insert_potv_key(&suri(name)).await?;
	}
	net.wait_finalized_at_least(&VALIDATORS, 1, STARTUP_TIMEOUT).await?;
	let ws = net.node("alice")?.ws_url();
	let chain = Chain::connect(&ws).await?;

	// Eve becomes the fifth validator: bonded, registered with her service's endpoint; Dave's
	// node signs her votes.
	let eve = keypair_from_suri("//Eve")?;
	chain.submit(&api::tx().staking().bond(EVE_BOND), &eve).await.context("bonding Eve")?;
	chain
		.submit(&api::tx().staking().register_validator(b"http://127.0.0.1:8804".to_vec()), &eve)
		.await
		.context("registering Eve as a validator")?;
	net.node("dave")?.insert_potv_key("//Eve").await?;

	let dir = net.base_dir().to_path_buf();
	let mut procs = Processes::new(dir.clone());
	for (index, name) in VALIDATORS.iter().chain(["eve"].iter()).enumerate() {
		let node = if *name == "eve" { "dave" } else { name };
		let mut args = vec![
			s("serve"), s("--listen"), format!("127.0.0.1:{}", 8800 + index), s("--node"),
			net.node(node)?.ws_url(), s("--store"), s(dir.join(format!("{name}-artifacts")).display()),
			s("--suri"), suri(name), s("--allow-chain"),
		];
		match *name {
			"alice" => {
				args.splice(1..1, [s("--accept-all")]);
				procs.spawn("alice-serve", "pot-malus", &args)?;
			},
			"bob" => {
				args.push(s("--watch"));
				procs.spawn("bob-serve", "pot-trainer", &args)?;
			},
			_ => procs.spawn(&format!("{name}-serve"), "pot-trainer", &args)?,
		}
	}
	eprintln!("{}", run_trainer(&[s("ask"), s("--node"), ws.clone(), s("--suri"), s("//Alice"), s("--price"), s("0.01"), s("--capacity"), s("1000000")])?);
	let alice = account_of(&keypair_from_suri("//Alice")?);
	let bob = account_of(&keypair_from_suri("//Bob")?);
	let ferdie = account_of(&keypair_from_suri("//Ferdie")?);
	let forger = account_of(&keypair_from_suri("//Dave//stash")?);
	let provider = |suri: &str, state: &str| -> Vec<String> {
		vec![
			s("work"), s("--node"), ws.clone(), s("--suri"), s(suri), s("--state-dir"), s(dir.join(state).display()),
			s("--join"), s(alice.to_string()), s("--bond"), s("200"),
		]
	};
	procs.spawn("ferdie", "pot-trainer", &provider("//Ferdie", "ferdie"))?;
	let mut forging = provider("//Dave//stash", "forger");
	forging.splice(1..1, [s("--forgery"), s("tamper-final")]);
	procs.spawn("forger", "pot-malus", &forging)?;
	pot_tests::wait_for_cluster(&chain, &alice, 2, STARTUP_TIMEOUT).await?;
	let alice_stake_before = {
		let at = chain.client().at_current_block().await?;
		at.storage().fetch(api::storage().staking().ledger(), (alice,)).await?.decode()?.active
	};

	procs.spawn(
		"consumer",
		"pot-trainer",
		&[
			s("order"), s("run"), s("--json"), s("--node"), ws.clone(), s("--suri"), s("//Charlie//stash"),
			s("--state-dir"), s(dir.join("consumer").display()), s("--budget"), s("10"),
			s("--rounds"), s("1"), s("--steps"), s(STEPS), s("--min-providers"), s("2"),
			s("--max-providers"), s("2"),
		],
	)?;
	procs.wait("consumer", ORDER_TIMEOUT).await.with_context(|| net.log_tails(20))?;
	let events = json_events(&procs.log("consumer"), "consumer")?;
	let of_kind = |kind: &'static str| events.iter().filter(move |e| e["event"] == kind);
	let (alice_ss58, bob_ss58, ferdie_ss58, forger_ss58) =
		(alice.to_string(), bob.to_string(), ferdie.to_string(), forger.to_string());

	let started = of_kind("run_started").next().context("the run did not start")?;
	let providers: Vec<String> = started["providers"]
		.as_array()
		.context("providers")?
		.iter()
		.filter_map(|p| p[0].as_str().map(str::to_owned))
		.collect();
	let forger_position = providers.iter().position(|p| *p == forger_ss58).context("the forger is not in the run")?;
	let verified = of_kind("round_verified").next().context("no round result")?;
	ensure!(verified["accepted"] == 2 && verified["rejected"] == 0, "Alice did not accept everything: {verified}");

	let opened: Vec<&Value> = of_kind("challenge_opened").collect();
	ensure!(opened.len() == 1, "challenges {opened:?}");
	let opened = opened[0];
	ensure!(opened["challenger"] == *bob_ss58, "challenged by {}", opened["challenger"]);
	ensure!(opened["claim"] == "InvalidWorkAccepted" && opened["target"] == forger_position, "{opened}");
	let resolved = of_kind("challenge_resolved").next().context("the challenge was not resolved")?;
	ensure!(resolved["upheld"] == true, "{resolved}");
	let offence = |offender: &str, kind: &str| {
		of_kind("challenge_offence").find(|e| e["offender"] == offender && e["kind"] == kind).cloned()
	};
	let wrong_verdict = offence(&alice_ss58, "WrongVerdict").context("Alice was not reported")?;
	let slashed = u128::from(wrong_verdict["slashed"].as_u64().context("Alice was not slashed")?);
	ensure!(slashed > 0, "nothing slashed");
	ensure!(offence(&forger_ss58, "InvalidWork").is_some(), "the forger was not reported");

	let paid: Vec<&Value> = of_kind("provider_paid").collect();
	ensure!(paid.len() == 1 && paid[0]["provider"] == *ferdie_ss58, "payments {paid:?}");
	ensure!(paid[0]["work_units"] == STEPS, "{}", paid[0]);
	ensure!(of_kind("run_completed").next().is_some(), "the run did not complete");

	let at = chain.client().at_current_block().await?;
	let alice_stake = at.storage().fetch(api::storage().staking().ledger(), (alice,)).await?.decode()?.active;
	ensure!(
		alice_stake == alice_stake_before.saturating_sub(slashed),
		"Alice's bond is {alice_stake}, was {alice_stake_before}, slashed {slashed}"
	);
	// The watcher looked at Ferdie's acceptance too and left it alone.
	let watched = dir.join("bob-artifacts").join("watched");
	let ferdie_position = providers.iter().position(|p| *p == ferdie_ss58).context("Ferdie is not in the run")?;
	let outcome = std::fs::read_to_string(watched.join(format!("0-0-{ferdie_position}")))
		.context("the watcher did not look at Ferdie's work")?;
	ensure!(outcome == "valid", "Ferdie's work: {outcome}");
	// What the slashes did not pay the reporters is burned through the issuance book.
	let supply = pot_tests::booked_supply(&chain).await?;
	ensure!(supply.burned > 0 && supply.emitted == 0, "{supply:?}");
	Ok(())
}
