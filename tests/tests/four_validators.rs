//! Four validators (Alice, Bob, Charlie, Dave) on the `local` chain spec, on loopback:
//! (a) every node imports blocks; (b) GRANDPA finality advances everywhere with a steady lag of
//! at most three blocks; (c) a balance transfer sent through subxt is included and finalized and
//! moves exactly the amount plus the fee; (d) with one validator killed finality continues;
//! (e) with two killed blocks continue but finality stalls; (f) after restarting both, finality
//! catches up and all four nodes agree on the finalized chain.
//!
//! Needs a built node: `cargo build -p pot-node` (or `POT_NODE_BIN`). Progress is printed to
//! stderr; run with `--nocapture` to follow it.

use anyhow::{anyhow, bail, ensure, Context, Result};
use pot_tests::{Heights, Network};
use std::str::FromStr;
use std::time::{Duration, Instant};
use subxt::events::DecodeAsEvent;
use subxt::ext::scale_decode::DecodeAsType;
use subxt::utils::AccountId32;
use subxt::{OnlineClient, OnlineClientAtBlock, PolkadotConfig};
use subxt_signer::sr25519::{dev, Keypair};
use subxt_signer::SecretUri;

const ALL: [&str; 4] = ["alice", "bob", "charlie", "dave"];
/// Starting debug nodes (wasm compilation, database creation) on a small machine is slow.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(420);
const BLOCKS_TIMEOUT: Duration = Duration::from_secs(300);
const FINALITY_TIMEOUT: Duration = Duration::from_secs(300);
/// Restarted nodes must start, sync the blocks built during the stall and catch up on GRANDPA.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest accepted distance between best and finalized block in steady state.
const MAX_FINALITY_LAG: u32 = 3;
/// Blocks over which the finality lag is sampled.
const LAG_SAMPLE_BLOCKS: u32 = 6;
/// How far finality may still move after the second validator is killed (an in-flight round
/// that already had enough votes may complete).
const STALL_SLACK: u32 = 1;
/// Blocks that must be built while finality is stalled.
const STALL_BLOCKS: u32 = 3;
/// 1_234 UNIT (12 decimals).
const TRANSFER_AMOUNT: u128 = 1_234 * 1_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_finality_transfer_and_recovery() -> Result<()> {
	let mut net = Network::local_validators(&ALL)?;

	// (a) Every node starts, connects to the other three and imports blocks.
	net.wait_rpc_ready(&ALL, STARTUP_TIMEOUT).await.context("(a) nodes start")?;
	net.wait_peers_at_least(&ALL, 3, BLOCKS_TIMEOUT).await.context("(a) nodes connect")?;
	let best = net.wait_best_at_least(&ALL, 3, BLOCKS_TIMEOUT).await.context("(a) nodes import blocks")?;
	eprintln!("(a) best blocks {best:?}");
	check_served_metadata(&net).await.context("(a) the node serves the checked-in metadata")?;

	// (b) GRANDPA finalizes on every node, and the lag stays small.
	net.wait_finalized_at_least(&ALL, 1, FINALITY_TIMEOUT)
		.await
		.context("(b) GRANDPA finalizes a first block")?;
	let base = max_finalized(&net.heights(&ALL).await?)?;
	let finalized = net
		.wait_finalized_at_least(&ALL, base + 3, FINALITY_TIMEOUT)
		.await
		.context("(b) finalized height rises on every node")?;
	eprintln!("(b) finalized {finalized:?}");
	let max_lags = sample_max_lag(&net, &ALL, LAG_SAMPLE_BLOCKS).await?;
	eprintln!("(b) max finality lag per node {max_lags:?}");
	for (name, lag) in ALL.iter().zip(&max_lags) {
		ensure!(
			*lag <= MAX_FINALITY_LAG,
			"(b) {name}: best - finalized reached {lag} blocks (limit {MAX_FINALITY_LAG}); per node {max_lags:?}"
		);
	}

	// (c) A transfer through subxt is included, finalized everywhere, and balances change exactly.
	check_transfer(&net).await.context("(c) balance transfer")?;

	// (d) Without Dave, three of four GRANDPA voters remain: finality continues.
	net.kill("dave")?;
	let three = ["alice", "bob", "charlie"];
	let base = max_finalized(&net.heights(&three).await?)?;
	let finalized = net
		.wait_finalized_at_least(&three, base + 3, FINALITY_TIMEOUT)
		.await
		.context("(d) finality continues with one validator down")?;
	eprintln!("(d) finalized without dave {finalized:?}");

	// (e) Without Charlie too, two of four remain: Aura still builds blocks, GRANDPA stalls.
	net.kill("charlie")?;
	let two = ["alice", "bob"];
	let at_kill = net.heights(&two).await?;
	let finalized_at_kill = max_finalized(&at_kill)?;
	let best_at_kill = at_kill
		.iter()
		.map(|heights| heights.best)
		.max()
		.ok_or_else(|| anyhow!("no heights"))?;
	net.wait_best_at_least(&two, best_at_kill + STALL_BLOCKS, BLOCKS_TIMEOUT)
		.await
		.context("(e) blocks continue with two validators down")?;
	let during_stall = net.heights(&two).await?;
	eprintln!("(e) at second kill {at_kill:?}, after {STALL_BLOCKS} more blocks {during_stall:?}");
	for (name, heights) in two.iter().zip(&during_stall) {
		ensure!(
			heights.finalized <= finalized_at_kill + STALL_SLACK,
			"(e) {name} finalized #{} with only two of four validators up (finalized was #{finalized_at_kill} \
			 when charlie was killed)",
			heights.finalized
		);
	}
	let stall_best = during_stall
		.iter()
		.map(|heights| heights.best)
		.max()
		.ok_or_else(|| anyhow!("no heights"))?;

	// (f) With Charlie and Dave back, finality passes the stalled blocks and everyone agrees.
	net.restart("charlie")?;
	net.restart("dave")?;
	net.wait_rpc_ready(&["charlie", "dave"], STARTUP_TIMEOUT)
		.await
		.context("(f) restarted nodes start")?;
	let finalized = net
		.wait_finalized_at_least(&ALL, stall_best + 1, RECOVERY_TIMEOUT)
		.await
		.context("(f) finality catches up after the restart")?;
	let (number, hash) = net.finalized_agreement(&ALL).await.context("(f) finalized chains agree")?;
	eprintln!("(f) finalized {finalized:?}; all four have block #{number} = {hash}");
	Ok(())
}

fn max_finalized(heights: &[Heights]) -> Result<u32> {
	heights
		.iter()
		.map(|heights| heights.finalized)
		.max()
		.ok_or_else(|| anyhow!("no heights"))
}

/// Samples best - finalized on every node until the first node's best block has advanced by
/// `blocks`; returns the largest lag seen per node.
async fn sample_max_lag(net: &Network, names: &[&str], blocks: u32) -> Result<Vec<u32>> {
	let first = names.first().ok_or_else(|| anyhow!("no nodes to sample"))?;
	let target = net.node(first)?.best_number().await? + blocks;
	// Six-second slots; allow four times that before calling block production stuck.
	let deadline = Instant::now() + Duration::from_secs(u64::from(blocks) * 24 + 60);
	let mut max_lags = vec![0u32; names.len()];
	loop {
		let heights = net.heights(names).await.context("(b) sampling heights")?;
		for (max_lag, heights) in max_lags.iter_mut().zip(&heights) {
			*max_lag = (*max_lag).max(heights.lag());
		}
		if heights.first().is_some_and(|heights| heights.best >= target) {
			return Ok(max_lags);
		}
		if Instant::now() > deadline {
			bail!("(b) block production stalled while sampling the finality lag: {heights:?}");
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// `System.Account` value; only the free balance is needed.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "::subxt::ext::scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "::subxt::ext::scale_decode")]
struct AccountData {
	free: u128,
}

/// `TransactionPayment.TransactionFeePaid { who, actual_fee, tip }`.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "::subxt::ext::scale_decode")]
struct TransactionFeePaid {
	actual_fee: u128,
	tip: u128,
}

impl DecodeAsEvent for TransactionFeePaid {
	fn is_event(pallet: &str, event: &str) -> bool {
		pallet == "TransactionPayment" && event == "TransactionFeePaid"
	}
}

/// `Balances.Transfer { from, to, amount }`.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "::subxt::ext::scale_decode")]
struct Transfer {
	amount: u128,
}

impl DecodeAsEvent for Transfer {
	fn is_event(pallet: &str, event: &str) -> bool {
		pallet == "Balances" && event == "Transfer"
	}
}

async fn free_balance(at: &OnlineClientAtBlock<PolkadotConfig>, who: &AccountId32) -> Result<u128> {
	let address = subxt::dynamic::storage::<(AccountId32,), AccountInfo>("System", "Account");
	let value = at
		.storage()
		.fetch(address, (*who,))
		.await
		.with_context(|| format!("reading System.Account of {who} at block #{}", at.block_number()))?;
	let info = value.decode().context("decoding System.Account")?;
	Ok(info.data.free)
}

/// Ferdie (an endowed account that is not an authority) sends `TRANSFER_AMOUNT` to a fresh
/// account. Fees go to the block author in this runtime, so a sender that could author the block
/// would get its own fee back; Ferdie never authors. Balances are compared between the parent of
/// the inclusion block and the inclusion block, so nothing else can have touched them.
async fn check_transfer(net: &Network) -> Result<()> {
	let alice = net.node("alice")?;
	let config = PolkadotConfig::builder().use_historic_types(false).build();
	let api = OnlineClient::<PolkadotConfig>::from_insecure_url_with_config(config, alice.ws_url())
		.await
		.with_context(|| format!("connecting subxt to {}", alice.ws_url()))?;

	let sender = dev::ferdie();
	let receiver_uri =
		SecretUri::from_str("//PotNetworkTestReceiver").map_err(|error| anyhow!("receiver URI: {error:?}"))?;
	let receiver = Keypair::from_uri(&receiver_uri).map_err(|error| anyhow!("receiver key: {error:?}"))?;
	let sender_id = sender.public_key().to_account_id();
	let receiver_id = receiver.public_key().to_account_id();

	let call = subxt::dynamic::tx(
		"Balances",
		"transfer_keep_alive",
		(receiver.public_key().to_address::<()>(), TRANSFER_AMOUNT),
	);
	let mut transactions = api.tx().await.context("creating a transaction client")?;
	let progress = transactions
		.sign_and_submit_then_watch_default(&call, &sender)
		.await
		.context("signing and submitting the transfer")?;
	let in_block = progress.wait_for_finalized().await.context("waiting for the transfer to be finalized")?;
	let events = in_block.wait_for_success().await.context("the transfer failed")?;

	let fee = events
		.find_first::<TransactionFeePaid>()
		.ok_or_else(|| anyhow!("no TransactionPayment.TransactionFeePaid event for the transfer"))?
		.context("decoding TransactionFeePaid")?;
	let transfer = events
		.find_first::<Transfer>()
		.ok_or_else(|| anyhow!("no Balances.Transfer event for the transfer"))?
		.context("decoding Balances.Transfer")?;
	ensure!(transfer.amount == TRANSFER_AMOUNT, "Balances.Transfer moved {} instead of {TRANSFER_AMOUNT}", transfer.amount);

	let block = in_block.at().await.context("opening the inclusion block")?;
	let header = block.block_header().await.context("reading the inclusion block header")?;
	let parent = api.at_block(header.parent_hash).await.context("opening the parent block")?;
	let number = u32::try_from(header.number).context("block number exceeds u32")?;
	let hash = format!("{:?}", in_block.block_hash()).to_lowercase();
	eprintln!("(c) transfer in block #{number} {hash}; fee {} tip {}", fee.actual_fee, fee.tip);

	let sender_before = free_balance(&parent, &sender_id).await?;
	let sender_after = free_balance(&block, &sender_id).await?;
	let receiver_before = free_balance(&parent, &receiver_id).await?;
	let receiver_after = free_balance(&block, &receiver_id).await?;
	ensure!(fee.actual_fee > 0, "the transfer paid no fee");
	ensure!(
		receiver_after.checked_sub(receiver_before) == Some(TRANSFER_AMOUNT),
		"receiver balance went from {receiver_before} to {receiver_after}, expected +{TRANSFER_AMOUNT}"
	);
	let expected_debit = TRANSFER_AMOUNT + fee.actual_fee + fee.tip;
	ensure!(
		sender_before.checked_sub(sender_after) == Some(expected_debit),
		"sender balance went from {sender_before} to {sender_after}, expected -{expected_debit} \
		 (amount {TRANSFER_AMOUNT} + fee {} + tip {})",
		fee.actual_fee,
		fee.tip
	);

	// Every node has finalized the same inclusion block.
	net.wait_finalized_at_least(&ALL, number, FINALITY_TIMEOUT)
		.await
		.context("all nodes finalize the inclusion block")?;
	for name in ALL {
		let seen = net.node(name)?.block_hash(number).await?;
		ensure!(
			seen.as_deref() == Some(hash.as_str()),
			"{name} has {seen:?} as block #{number}, the transfer is in {hash}"
		);
	}
	Ok(())
}

/// The runtime the node executes (its wasm, from the chain spec) reports exactly the metadata
/// checked in as `metadata/pot.scale`, which clients generate their types from.
async fn check_served_metadata(net: &Network) -> Result<()> {
	// `Metadata_metadata_at_version(16)` returns `Option<OpaqueMetadata>`: 0x01, a compact
	// length, then the `RuntimeMetadataPrefixed` bytes.
	let reply = net
		.node("alice")?
		.rpc("state_call", vec!["Metadata_metadata_at_version".into(), "0x10000000".into()])
		.await?;
	let hex = reply.as_str().ok_or_else(|| anyhow!("state_call returned {reply}"))?;
	let bytes = pot_tests::decode_hex(hex).context("decoding the state_call reply")?;
	let path = pot_tests::workspace_root().join("metadata/pot.scale");
	let checked_in = std::fs::read(&path).with_context(|| format!("reading {path:?}"))?;
	ensure!(bytes.first() == Some(&1), "the runtime does not serve metadata v16");
	ensure!(
		bytes.ends_with(&checked_in),
		"the node's runtime serves {} bytes of metadata that do not end with metadata/pot.scale ({} bytes)",
		bytes.len(),
		checked_in.len()
	);
	let prefix = bytes.len() - checked_in.len();
	ensure!((2..=5).contains(&prefix), "unexpected {prefix}-byte prefix before the metadata");
	eprintln!("(a) served metadata equals metadata/pot.scale ({} bytes)", checked_in.len());
	Ok(())
}
