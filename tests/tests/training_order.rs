//! A training order end to end on a one-validator `dev` chain, with a cheater and crashes:
//! Alice's node (its `potv` key inserted over RPC) and her verifier service `pot-trainer serve`,
//! two honest providers (`pot-trainer work` as //Eve and //Ferdie) and a cheating one
//! (`pot-malus work --forgery tamper-final` as //Eve//stash), and a consumer (`pot-trainer order run`
//! as //Ferdie//stash) ordering 3 rounds of an MLP on the consumer's own data (the digits written
//! as MNIST-layout IDX files by `pot-trainer digits-idx`, uploaded with `--dataset`), the
//! providers sending top-10% compressed updates (`--update top-k:10%`). Midway,
//! Eve's provider is killed with SIGKILL and restarted, and so is Alice's node. Checked:
//! - the order completes, with escrow = payouts + fee + refund and held-out accuracy up by at
//!   least 30 points (the consumer's own checks, exit 0);
//! - every round rejects the cheater and slashes it; it is never paid, and its bond on chain is
//!   lower by exactly what the rejections slashed;
//! - each honest provider is paid exactly once per round (3 × 50 work units), the restarted one
//!   included: nothing lost, nothing paid twice;
//! - each provider received a data chunk per round and never the whole dataset: its chunks
//!   hold fewer samples than the training split (data minimisation, PROTOCOL.md step 3);
//! - each honest provider kept a compressed payload per round, a tenth of the coordinates at most,
//!   and carried the error-feedback residual of each round's accepted update into the next.
//!
//! Needs the workspace built (`cargo build --workspace`): pot-node, pot-trainer and pot-malus.
//! Alice's registered endpoint in the dev preset is http://127.0.0.1:8800, so that port must be
//! free. Progress goes to stderr; logs of every process are in the network directory
//! (`POT_TESTS_KEEP_DIR=1` keeps it).

use anyhow::{bail, ensure, Context, Result};
use pot_client::{account_of, api, keypair_from_suri, Chain};
use pot_tests::{
	processes::{run_trainer, s, tail, Processes},
	Network, NodeSpec,
};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(420);
/// Setup, 3 rounds with a provider and a node restart, and the final evaluation.
const ORDER_TIMEOUT: Duration = Duration::from_secs(900);
const VERIFIER: &str = "127.0.0.1:8800";
const ROUNDS: u64 = 3;
const STEPS: u64 = 50;
/// What each provider bonds (POT, 12 decimals).
const PROVIDER_BOND: u128 = 200 * 1_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_completes_with_a_cheater_slashed_and_crashes_recovered() -> Result<()> {
	let mut net = Network::start("dev", vec![NodeSpec::validator("alice")])?;
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
			s("serve"), s("--listen"), s(VERIFIER), s("--node"), ws.clone(), s("--store"), s(dir.join("artifacts").display()),
			s("--suri"), s("//Alice"), s("--allow-chain"),
		],
	)?;
	eprintln!("{}", run_trainer(&[s("ask"), s("--node"), ws.clone(), s("--suri"), s("//Alice"), s("--price"), s("0.01"), s("--capacity"), s("1000000")])?);

	let alice_account = account_of(&alice).to_string();
	let provider = |suri: &str, state: &str| -> Vec<String> {
		vec![
			s("work"), s("--node"), ws.clone(), s("--suri"), s(suri),
			s("--state-dir"), s(dir.join(state).display()), s("--join"), alice_account.clone(),
			s("--bond"), s("200"),
		]
	};
	procs.spawn("eve", "pot-trainer", &provider("//Eve", "eve"))?;
	procs.spawn("ferdie", "pot-trainer", &provider("//Ferdie", "ferdie"))?;
	let mut malus = provider("//Eve//stash", "malus");
	malus.splice(1..1, [s("--forgery"), s("tamper-final")]);
	procs.spawn("malus", "pot-malus", &malus)?;

	// The consumer's data, not the embedded set: the service and the providers only have it
	// through the upload.
	let dataset = dir.join("mnist-digits");
	run_trainer(&[s("digits-idx"), s("--out"), s(dataset.display())])?;

	// The consumer, its JSON lines read on a thread.
	let mut consumer = Command::new(Processes::bin("pot-trainer")?)
		.args([
			s("order"), s("run"), s("--json"), s("--node"), ws.clone(), s("--suri"), s("//Ferdie//stash"),
			s("--dataset"), s(dataset.display()),
			s("--state-dir"), s(dir.join("consumer").display()), s("--budget"), s("100"),
			s("--rounds"), s(ROUNDS), s("--steps"), s(STEPS), s("--min-providers"), s("3"),
			s("--max-providers"), s("3"), s("--min-accuracy-gain"), s("0.3"),
			s("--update"), s("top-k:10%"),
		])
		.stdout(Stdio::piped())
		.stderr(File::create(dir.join("consumer.log"))?)
		.spawn()?;
	let stdout = consumer.stdout.take().context("consumer stdout")?;
	let (lines_tx, lines) = mpsc::channel::<String>();
	std::thread::spawn(move || {
		for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
			if lines_tx.send(line).is_err() {
				break;
			}
		}
	});

	let started = Instant::now();
	let mut events: Vec<Value> = Vec::new();
	let (mut provider_crashed, mut node_crashed) = (false, false);
	let status = loop {
		while let Ok(line) = lines.try_recv() {
			eprintln!("consumer: {line}");
			let event: Value = serde_json::from_str(&line).with_context(|| format!("not JSON: {line}"))?;
			let kind = event["event"].as_str().unwrap_or_default().to_owned();
			let round = event["round"].as_u64();
			if kind == "round_verified" && round == Some(0) && !provider_crashed {
				eprintln!("round 0 verified: SIGKILL and restart of Eve's provider");
				procs.kill_and_restart("eve")?;
				provider_crashed = true;
			}
			if kind == "round_verified" && round == Some(1) && !node_crashed {
				eprintln!("round 1 verified: SIGKILL and restart of Alice's node");
				net.kill("alice")?;
				tokio::time::sleep(Duration::from_secs(3)).await;
				net.restart("alice")?;
				node_crashed = true;
			}
			events.push(event);
		}
		if let Some(status) = consumer.try_wait()? {
			// Drain what the consumer printed last.
			while let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) {
				eprintln!("consumer: {line}");
				events.push(serde_json::from_str(&line)?);
			}
			break status;
		}
		if started.elapsed() > ORDER_TIMEOUT {
			let _ = consumer.kill();
			bail!("the order did not finish in {ORDER_TIMEOUT:?}; logs in {}", dir.display());
		}
		procs.ensure_alive()?;
		tokio::time::sleep(Duration::from_millis(500)).await;
	};
	ensure!(
		status.success(),
		"the consumer failed ({status}); its log:\n{}\nnode:\n{}",
		tail(&dir.join("consumer.log")),
		net.log_tails(20)
	);
	ensure!(provider_crashed && node_crashed, "the order ended before both crashes happened");

	let account = |suri: &str| -> Result<String> { Ok(account_of(&keypair_from_suri(suri)?).to_string()) };
	let (eve, ferdie, cheater) = (account("//Eve")?, account("//Ferdie")?, account("//Eve//stash")?);
	fn of_kind<'a>(events: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
		events.iter().filter(move |e| e["event"] == kind)
	}

	// Honest providers: paid once per round, for all their steps.
	for who in [&eve, &ferdie] {
		let rounds: Vec<u64> =
			of_kind(&events, "provider_paid").filter(|e| e["provider"] == **who).filter_map(|e| e["round"].as_u64()).collect();
		ensure!(rounds == (0..ROUNDS).collect::<Vec<_>>(), "{who} paid in rounds {rounds:?}");
		let units: u64 = of_kind(&events, "provider_paid")
			.filter(|e| e["provider"] == **who)
			.filter_map(|e| e["work_units"].as_u64())
			.sum();
		ensure!(units == ROUNDS * STEPS, "{who} was paid for {units} units");
	}
	// The cheater: rejected and slashed in every round, never paid.
	ensure!(of_kind(&events, "provider_paid").all(|e| e["provider"] != *cheater), "the cheater was paid");
	let rejections: Vec<&Value> = of_kind(&events, "submission_rejected").collect();
	ensure!(rejections.len() as u64 == ROUNDS, "{} rejections: {rejections:?}", rejections.len());
	ensure!(rejections.iter().all(|e| e["provider"] == *cheater), "an honest provider was rejected");
	let slashed: u128 = rejections
		.iter()
		.map(|e| e["slashed"].as_u64().map(u128::from).context("a rejection slashed nothing"))
		.sum::<Result<u128>>()?;
	ensure!(slashed > 0, "nothing slashed");

	// On chain: the cheater's bond is lower by exactly what was slashed.
	let chain = Chain::connect(&ws).await?;
	let at = chain.client().at_current_block().await?;
	let cheater_id = account_of(&keypair_from_suri("//Eve//stash")?);
	let ledger = at
		.storage()
		.fetch(api::storage().staking().ledger(), (cheater_id,))
		.await?
		.decode()?;
	ensure!(
		ledger.active == PROVIDER_BOND.saturating_sub(slashed),
		"the cheater's active bond is {} after {} slashed from {}",
		ledger.active,
		slashed,
		PROVIDER_BOND
	);
	let summary = of_kind(&events, "summary").next().context("no summary")?;
	eprintln!("summary: {summary}");

	// Every provider kept one chunk per round (`pot-trainer`'s chunk file: magic, the split's
	// sample count n at bytes 8..16, a 21-byte shape, the held-out hash, n leaf hashes, then the
	// count of samples sent). The three chunks of a round split the n samples between them.
	for round in 0..ROUNDS {
		let mut sent = Vec::new();
		let mut split = None;
		for state in ["eve", "ferdie", "malus"] {
			let path = dir.join(state).join("chunks").join(format!("0-{round}.bin"));
			let file = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
			let u64_at = |at: usize| -> Option<u64> {
				Some(u64::from_le_bytes(file.get(at..at.checked_add(8)?)?.try_into().ok()?))
			};
			let n = u64_at(8).context("chunk file too short")?;
			let at = usize::try_from(n)?.checked_mul(32).and_then(|l| l.checked_add(8 + 21 + 32));
			let m = at
				.and_then(|at| file.get(at..at.checked_add(4)?))
				.and_then(|b| b.try_into().ok())
				.map(u32::from_le_bytes)
				.context("chunk file too short")?;
			ensure!(u64::from(m) < n, "{state} got {m} of {n} samples in round {round}");
			ensure!(*split.get_or_insert(n) == n, "chunks of round {round} name different splits");
			sent.push(u64::from(m));
		}
		ensure!(
			Some(sent.iter().sum::<u64>()) == split,
			"round {round}: chunks of {sent:?} samples do not split {split:?}"
		);
	}

	// The order sends top-10% updates: each honest provider committed, kept and uploaded a
	// payload per round (`compress`'s encoding: magic "potΔ", version, then the dimension and the
	// entry count as u32) of at most a tenth of the coordinates, far smaller than dense weights.
	for state in ["eve", "ferdie"] {
		for round in 0..ROUNDS {
			let path = dir.join(state).join("updates").join(format!("0-{round}.bin"));
			let file = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
			let u32_at = |at: usize| -> Option<u64> {
				Some(u64::from(u32::from_le_bytes(file.get(at..at.checked_add(4)?)?.try_into().ok()?)))
			};
			ensure!(file.get(..5) == Some(&[0x70, 0x6f, 0x74, 0xce, 1][..]), "{} is not a payload", path.display());
			let (dim, count) = (u32_at(5).context("short")?, u32_at(9).context("short")?);
			ensure!(count > 0 && count * 10 <= dim, "{state} round {round}: {count} of {dim} coordinates");
			ensure!((file.len() as u64) * 10 < dim * 4, "{state} round {round}: {} bytes for {dim}", file.len());
		}
	}

	// With error feedback: each honest provider's round-0 commitment adds no residual, and every
	// later one adds exactly the residual its previous (accepted) update left, which the chain
	// required (`ResidualMismatch` otherwise) and the validator recomputed. The provider keeps
	// each residual (`compress::Residual`'s encoding: magic "potε", version 1, dimension).
	for state in ["eve", "ferdie"] {
		let mut carried = "00".repeat(32);
		for round in 0..ROUNDS {
			let path = dir.join(state).join("commitments").join(format!("0-{round}.json"));
			let record: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
			ensure!(record["residual_in"] == carried, "{state} round {round} added {}, not {carried}", record["residual_in"]);
			let left = record["residual_out"].as_str().context("no residual_out")?.to_owned();
			ensure!(left != carried && left != "00".repeat(32), "{state} round {round} left residual {left}");
			let kept = std::fs::read(dir.join(state).join("artifacts").join("residual").join(&left))?;
			ensure!(kept.get(..5) == Some(&[0x70, 0x6f, 0x74, 0xb5, 1][..]), "{state} round {round}: not a residual");
			carried = left;
		}
	}

	// The service admits the accounts the chain relates to Alice: the consumer still fetches
	// its result after the order closed; an account with no part in it is refused, and an
	// unsigned request too.
	let fetch = |suri: Option<&str>| -> Vec<String> {
		let mut args = vec![
			s("order"), s("fetch"), s("0"), s("--node"), ws.clone(), s("--state-dir"),
			s(dir.join("consumer").display()), s("--out"), s(dir.join("fetched.safetensors").display()),
		];
		if let Some(suri) = suri {
			args.extend([s("--suri"), s(suri)]);
		}
		args
	};
	run_trainer(&fetch(Some("//Ferdie//stash")))?;
	for (suri, status) in [(Some("//Dave//stash"), "HTTP 403"), (None, "HTTP 401")] {
		let refused = run_trainer(&fetch(suri)).err().map(|e| e.to_string()).unwrap_or_default();
		ensure!(refused.contains(status), "fetch signed by {suri:?}: expected {status}, got {refused:?}");
	}
	Ok(())
}
