//! A censoring validator caught by a challenge, end to end on the 4-validator `local` chain:
//! every validator's node with its `potv` key, Bob's, Charlie's and Dave's honest verifier
//! services (`pot-trainer serve`), and Alice's censoring one (`pot-malus serve
//! --censor-position 0`: her round results reject the work at position 0 whatever it is).
//! Ferdie is the only provider in her cluster (`pot-trainer work`), and a consumer orders one
//! round of the digits MLP from her. Checked:
//! - Alice's result rejects Ferdie's valid work;
//! - Ferdie's trainer re-executes the rejected segment, challenges the rejection
//!   (`ValidWorkRejected`) with the segment's Merkle proof, and hands its proof to the committee;
//! - the committee (Bob, Charlie, Dave: every validator but the accused) re-executes the
//!   segment through its verifier services and the offchain workers vote; the claim is upheld;
//! - Alice is slashed for censorship (her bond on chain lower by exactly that), Ferdie is paid
//!   for all his steps and not slashed, and the order completes with escrow = payouts + fee +
//!   refund (the consumer's own check);
//! - the slash (less the reporter's share) is burned through the issuance book, which accounts
//!   for the total issuance.
//!
//! Needs the workspace built (`cargo build --workspace`). The local preset registers the
//! validators' endpoints as http://127.0.0.1:8800..8803, so those ports must be free.

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
/// Setup, one round, the challenge window, the committee's re-execution and votes.
const ORDER_TIMEOUT: Duration = Duration::from_secs(900);
const STEPS: u64 = 50;
/// What the provider bonds (POT, 12 decimals): enough to back a challenge.
const PROVIDER_BOND: u128 = 200 * 1_000_000_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_censoring_validator_is_challenged_by_the_provider_and_slashed() -> Result<()> {
	let net = Network::local_validators(&VALIDATORS)?;
	net.wait_rpc_ready(&VALIDATORS, STARTUP_TIMEOUT).await?;
	// The dev seed of a validator: alice → //Alice.
	let suri = |name: &str| format!("//{}{}", name[..1].to_uppercase(), &name[1..]);
	for name in VALIDATORS {
		net.node(name)?.insert_potv_key(&suri(name)).await?;
	}
	net.wait_finalized_at_least(&VALIDATORS, 1, STARTUP_TIMEOUT).await?;
	let dir = net.base_dir().to_path_buf();
	let mut procs = Processes::new(dir.clone());
	for (index, name) in VALIDATORS.iter().enumerate() {
		let mut args = vec![
			s("serve"), s("--listen"), format!("127.0.0.1:{}", 8800 + index), s("--node"),
			net.node(name)?.ws_url(), s("--store"), s(dir.join(format!("{name}-artifacts")).display()),
			// Artifacts only for accounts the chain relates to this validator: Ferdie uploads his
			// proof to the committee as its challenger, the committee fetches from Alice as
			// registered validators.
			s("--suri"), suri(name), s("--allow-chain"),
		];
		if *name == "alice" {
			args.splice(1..1, [s("--censor-position"), s("0")]);
			procs.spawn("alice-serve", "pot-malus", &args)?;
		} else {
			procs.spawn(&format!("{name}-serve"), "pot-trainer", &args)?;
		}
	}
	let ws = net.node("alice")?.ws_url();
	eprintln!("{}", run_trainer(&[s("ask"), s("--node"), ws.clone(), s("--suri"), s("//Alice"), s("--price"), s("0.01"), s("--capacity"), s("1000000")])?);
	let alice = account_of(&keypair_from_suri("//Alice")?);
	let ferdie = account_of(&keypair_from_suri("//Ferdie")?);
	procs.spawn(
		"ferdie",
		"pot-trainer",
		&[
			s("work"), s("--node"), ws.clone(), s("--suri"), s("//Ferdie"),
			s("--state-dir"), s(dir.join("ferdie").display()), s("--join"), s(alice.to_string()),
			s("--bond"), s("200"),
		],
	)?;
	let chain = Chain::connect(&ws).await?;
	let alice_stake_before = {
		let at = chain.client().at_current_block().await?;
		at.storage().fetch(api::storage().staking().ledger(), (alice,)).await?.decode()?.active
	};

	procs.spawn(
		"consumer",
		"pot-trainer",
		&[
			s("order"), s("run"), s("--json"), s("--node"), ws.clone(), s("--suri"), s("//Ferdie//stash"),
			s("--state-dir"), s(dir.join("consumer").display()), s("--budget"), s("10"),
			s("--rounds"), s("1"), s("--steps"), s(STEPS), s("--min-providers"), s("1"),
			s("--max-providers"), s("1"),
		],
	)?;
	procs.wait("consumer", ORDER_TIMEOUT).await.with_context(|| net.log_tails(20))?;
	let events = json_events(&procs.log("consumer"), "consumer")?;
	let of_kind = |kind: &'static str| events.iter().filter(move |e| e["event"] == kind);
	let (alice_ss58, ferdie_ss58) = (alice.to_string(), ferdie.to_string());

	let verified = of_kind("round_verified").next().context("no round result")?;
	ensure!(verified["rejected"] == 1, "Alice's result did not reject Ferdie: {verified}");
	let opened = of_kind("challenge_opened").next().context("nobody challenged")?;
	ensure!(opened["challenger"] == *ferdie_ss58, "challenged by {}", opened["challenger"]);
	ensure!(opened["claim"] == "ValidWorkRejected" && opened["target"] == 0, "{opened}");
	let mut committee: Vec<String> = opened["committee"]
		.as_array()
		.context("committee")?
		.iter()
		.filter_map(|m| m.as_str().map(str::to_owned))
		.collect();
	committee.sort();
	let mut others: Vec<String> = ["//Bob", "//Charlie", "//Dave"]
		.iter()
		.map(|k| Ok(account_of(&keypair_from_suri(k)?).to_string()))
		.collect::<Result<_>>()?;
	others.sort();
	ensure!(committee == others, "committee {committee:?}");
	let votes: Vec<&Value> = of_kind("vote_cast").collect();
	ensure!(votes.len() >= 2 && votes.iter().all(|v| v["upheld"] == true), "votes {votes:?}");
	let resolved = of_kind("challenge_resolved").next().context("the challenge was not resolved")?;
	ensure!(resolved["upheld"] == true, "{resolved}");
	let slash = of_kind("challenge_offence")
		.find(|e| e["offender"] == *alice_ss58 && e["kind"] == "Censorship")
		.context("Alice was not reported for censorship")?;
	let slashed = u128::from(slash["slashed"].as_u64().context("Alice was not slashed")?);
	ensure!(slashed > 0, "nothing slashed");

	// Ferdie: paid for every step, never rejected at settlement, bond intact.
	let paid: Vec<&Value> = of_kind("provider_paid").collect();
	ensure!(paid.len() == 1 && paid[0]["provider"] == *ferdie_ss58, "payments {paid:?}");
	ensure!(paid[0]["work_units"] == STEPS, "{}", paid[0]);
	ensure!(of_kind("submission_rejected").next().is_none(), "Ferdie was reported after all");
	ensure!(of_kind("run_completed").next().is_some(), "the run did not complete");

	let at = chain.client().at_current_block().await?;
	let alice_stake = at.storage().fetch(api::storage().staking().ledger(), (alice,)).await?.decode()?.active;
	ensure!(
		alice_stake == alice_stake_before.saturating_sub(slashed),
		"Alice's bond is {alice_stake}, was {alice_stake_before}, slashed {slashed}"
	);
	let ferdie_stake = at.storage().fetch(api::storage().staking().ledger(), (ferdie,)).await?.decode()?.active;
	ensure!(ferdie_stake == PROVIDER_BOND, "Ferdie's bond is {ferdie_stake}");
	// The slash, less the reporter's share, is burned through the issuance book.
	let supply = pot_tests::booked_supply(&chain).await?;
	ensure!(supply.burned > 0 && supply.burned <= slashed && supply.emitted == 0, "{supply:?}");
	Ok(())
}
