//! Validator staking drives the consensus set of a live network. On the `local` chain spec with
//! 10-block sessions (set through the spec's `:SessionLength:` storage), four genesis validators
//! and a fifth node for Eve: Eve rotates session keys through her node's RPC, bonds, sets the
//! keys with their ownership proof and registers; after the next session change she is an
//! authority, authors blocks, and GRANDPA finalizes with five voters. Then Dave unbonds below the
//! minimum bond: he leaves the set at the next session change and finality continues with four.
//!
//! Needs a built node: `cargo build -p pot-node` (or `POT_NODE_BIN`). Progress goes to stderr.

use anyhow::{anyhow, ensure, Context, Result};
use pot_tests::{Check, Network, NodeSpec};
use serde_json::Value;
use std::time::Duration;
use subxt::config::substrate::DigestItem;
use subxt::utils::AccountId32;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::{dev, Keypair};

const GENESIS: [&str; 4] = ["alice", "bob", "charlie", "dave"];
const ALL: [&str; 5] = ["alice", "bob", "charlie", "dave", "eve"];
/// Blocks per session on the test network.
const SESSION_BLOCKS: u32 = 10;
/// `twox_128(":SessionLength:")`, the runtime's storage-backed session length (the runtime test
/// `session_length_is_read_from_its_storage_key_and_never_zero` pins this key).
const SESSION_LENGTH_KEY: &str = "0x783270be59b0ce1db793a4e469870e12";
const UNIT: u128 = 1_000_000_000_000;
/// More than any genesis validator (10,000 POT), so Eve ranks first.
const EVE_BOND: u128 = 20_000 * UNIT;
/// Leaves Dave 500 POT bonded, below the 1,000 POT minimum.
const DAVE_UNBOND: u128 = 9_500 * UNIT;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(420);
const BLOCKS_TIMEOUT: Duration = Duration::from_secs(300);
/// Two session changes (elected, then active) plus the GRANDPA set change, on a slow machine.
const ROTATION_TIMEOUT: Duration = Duration::from_secs(420);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staking_elects_a_new_validator_and_drops_one_below_the_minimum() -> Result<()> {
	let spec_dir = tempfile::TempDir::with_prefix("pot-staking-spec-")?;
	let spec = short_session_spec(spec_dir.path())?;
	let mut specs: Vec<NodeSpec> = GENESIS.iter().map(|key| NodeSpec::validator(key)).collect();
	// Eve's node runs as a validator with an empty keystore: her keys come from `rotateKeys`.
	specs.push(NodeSpec { dev_key: None, ..NodeSpec::validator("eve") });
	let spec_path = spec.to_str().ok_or_else(|| anyhow!("non UTF-8 spec path"))?;
	let net = Network::start(spec_path, specs)?;

	net.wait_rpc_ready(&ALL, STARTUP_TIMEOUT).await.context("nodes start")?;
	net.wait_peers_at_least(&ALL, 4, BLOCKS_TIMEOUT).await.context("nodes connect")?;
	net.wait_finalized_at_least(&ALL, 1, BLOCKS_TIMEOUT).await.context("GRANDPA finalizes")?;

	let alice = net.node("alice")?;
	let config = PolkadotConfig::builder().use_historic_types(false).build();
	let api = OnlineClient::<PolkadotConfig>::from_insecure_url_with_config(config, alice.ws_url())
		.await
		.with_context(|| format!("connecting subxt to {}", alice.ws_url()))?;
	ensure!(grandpa_set_size(&api).await? == 4, "the genesis GRANDPA set has four authorities");

	// Eve: keys generated in her node's keystore, with a proof that she owns them.
	let eve = dev::eve();
	let eve_id = eve.public_key().to_account_id();
	let generated = net
		.node("eve")?
		.rpc("author_rotateKeysWithOwner", vec![Value::String(hex(eve_id.0.as_slice()))])
		.await?;
	let keys = bytes_field(&generated, "keys")?;
	let proof = bytes_field(&generated, "proof")?;
	let (aura, grandpa) = split_keys(&keys)?;
	submit(&api, &eve, "Staking", "bond", (EVE_BOND,)).await?;
	submit(&api, &eve, "Session", "set_keys", ((aura, grandpa), proof)).await?;
	submit(&api, &eve, "Staking", "register_validator", (b"http://127.0.0.1:8804".to_vec(),)).await?;
	eprintln!("eve bonded, set keys and registered");

	let validators = wait_validators(&net, &api, "eve joins", |set| set.contains(&eve_id)).await?;
	ensure!(validators.len() == 5, "expected five validators, got {validators:?}");
	ensure!(validators.first() == Some(&eve_id), "Eve has the largest bond and ranks first");
	wait_grandpa_set_size(&net, &api, 5).await?;
	let authored = wait_authored_by(&net, &api, aura).await.context("Eve authors a block")?;
	eprintln!("eve authored block #{authored}");
	let base = net.node("alice")?.finalized_number().await?;
	net.wait_finalized_at_least(&ALL, base + 3, BLOCKS_TIMEOUT)
		.await
		.context("finality continues with five authorities")?;

	// Dave unbonds below the minimum and leaves at the next session change.
	let dave_id = dev::dave().public_key().to_account_id();
	submit(&api, &dev::dave(), "Staking", "unbond", (DAVE_UNBOND,)).await?;
	eprintln!("dave unbonded below the minimum");
	let validators = wait_validators(&net, &api, "dave leaves", |set| !set.contains(&dave_id)).await?;
	ensure!(validators.len() == 4 && validators.contains(&eve_id), "unexpected set {validators:?}");
	wait_grandpa_set_size(&net, &api, 4).await?;
	let staying = ["alice", "bob", "charlie", "eve"];
	let base = net.node("alice")?.finalized_number().await?;
	let finalized = net
		.wait_finalized_at_least(&staying, base + 3, BLOCKS_TIMEOUT)
		.await
		.context("finality continues after Dave left the set")?;
	eprintln!("finalized after dave left: {finalized:?}");
	Ok(())
}

/// The checked-in `local` raw spec with sessions of [`SESSION_BLOCKS`] blocks.
fn short_session_spec(dir: &std::path::Path) -> Result<std::path::PathBuf> {
	let source = pot_tests::workspace_root().join("chain-spec/local-raw.json");
	let text = std::fs::read_to_string(&source).with_context(|| format!("reading {source:?}"))?;
	let mut spec: Value = serde_json::from_str(&text).context("parsing the local raw spec")?;
	let top = spec
		.pointer_mut("/genesis/raw/top")
		.and_then(Value::as_object_mut)
		.ok_or_else(|| anyhow!("raw spec without genesis.raw.top"))?;
	top.insert(SESSION_LENGTH_KEY.into(), Value::String(hex(&SESSION_BLOCKS.to_le_bytes())));
	let path = dir.join("local-short-sessions.json");
	std::fs::write(&path, serde_json::to_vec(&spec)?).with_context(|| format!("writing {path:?}"))?;
	Ok(path)
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", pot_tests::to_hex(bytes))
}

fn bytes_field(value: &Value, field: &str) -> Result<Vec<u8>> {
	let text = value
		.get(field)
		.and_then(Value::as_str)
		.ok_or_else(|| anyhow!("rotateKeysWithOwner returned no {field}: {value}"))?;
	pot_tests::decode_hex(text).with_context(|| format!("decoding {field}"))
}

/// The runtime's session keys are Aura (sr25519) then GRANDPA (ed25519), 32 bytes each.
fn split_keys(keys: &[u8]) -> Result<([u8; 32], [u8; 32])> {
	ensure!(keys.len() == 64, "expected 64 bytes of session keys, got {}", keys.len());
	let (aura, grandpa) = keys.split_at(32);
	Ok((aura.try_into()?, grandpa.try_into()?))
}

/// Signs `pallet.call(args)` as `signer`, waits until it is finalized and succeeded.
async fn submit<Args>(
	api: &OnlineClient<PolkadotConfig>,
	signer: &Keypair,
	pallet: &str,
	call: &str,
	args: Args,
) -> Result<()>
where
	Args: subxt::ext::scale_encode::EncodeAsFields,
{
	let tx = subxt::dynamic::tx(pallet, call, args);
	let mut transactions = api.tx().await.context("creating a transaction client")?;
	transactions
		.sign_and_submit_then_watch_default(&tx, signer)
		.await
		.with_context(|| format!("submitting {pallet}.{call}"))?
		.wait_for_finalized()
		.await
		.with_context(|| format!("waiting for {pallet}.{call} to be finalized"))?
		.wait_for_success()
		.await
		.with_context(|| format!("{pallet}.{call} failed"))?;
	Ok(())
}

async fn session_validators(api: &OnlineClient<PolkadotConfig>) -> Result<Vec<AccountId32>> {
	let at = api.at_current_block().await.context("opening the finalized block")?;
	let address = subxt::dynamic::storage::<(), Vec<AccountId32>>("Session", "Validators");
	let value = at.storage().fetch(address, ()).await.context("reading Session.Validators")?;
	value.decode().context("decoding Session.Validators")
}

async fn wait_validators(
	net: &Network,
	api: &OnlineClient<PolkadotConfig>,
	what: &str,
	done: impl Fn(&[AccountId32]) -> bool,
) -> Result<Vec<AccountId32>> {
	let done = &done;
	net.wait_until(what, ROTATION_TIMEOUT, || async move {
		let set = session_validators(api).await?;
		Ok(if done(&set) { Check::Ready(set) } else { Check::Pending(format!("{} validators", set.len())) })
	})
	.await
}

/// Size of the GRANDPA authority set enacted at the finalized block (`Grandpa.Authorities`).
async fn grandpa_set_size(api: &OnlineClient<PolkadotConfig>) -> Result<usize> {
	let at = api.at_current_block().await.context("opening the finalized block")?;
	let address = subxt::dynamic::storage::<(), Vec<([u8; 32], u64)>>("Grandpa", "Authorities");
	let value = at.storage().fetch(address, ()).await.context("reading Grandpa.Authorities")?;
	Ok(value.decode().context("decoding Grandpa.Authorities")?.len())
}

async fn wait_grandpa_set_size(net: &Network, api: &OnlineClient<PolkadotConfig>, size: usize) -> Result<()> {
	net.wait_until(&format!("a GRANDPA set of {size}"), ROTATION_TIMEOUT, || async move {
		let current = grandpa_set_size(api).await?;
		Ok(if current == size { Check::Ready(()) } else { Check::Pending(format!("{current} authorities")) })
	})
	.await
}

/// Waits for a finalized block whose Aura slot belongs to `aura` and returns its number.
async fn wait_authored_by(net: &Network, api: &OnlineClient<PolkadotConfig>, aura: [u8; 32]) -> Result<u32> {
	let start = net.node("alice")?.finalized_number().await?;
	let next = std::sync::atomic::AtomicU32::new(start.saturating_add(1));
	let next = &next;
	net.wait_until("a block authored with Eve's Aura key", BLOCKS_TIMEOUT, || async move {
		let finalized = net.node("alice")?.finalized_number().await?;
		loop {
			let number = next.load(std::sync::atomic::Ordering::SeqCst);
			if number > finalized {
				return Ok(Check::Pending(format!("checked up to #{finalized}")));
			}
			if block_author(api, number).await? == aura {
				return Ok(Check::Ready(number));
			}
			next.store(number.saturating_add(1), std::sync::atomic::Ordering::SeqCst);
		}
	})
	.await
}

/// The Aura key that authored block `number`: the slot in its pre-runtime digest modulo the
/// authorities of its parent state.
async fn block_author(api: &OnlineClient<PolkadotConfig>, number: u32) -> Result<[u8; 32]> {
	let block = api.at_block(number).await.with_context(|| format!("opening block #{number}"))?;
	let header = block.block_header().await.context("reading the header")?;
	let slot = header
		.digest
		.logs
		.iter()
		.find_map(|item| match item {
			DigestItem::PreRuntime([b'a', b'u', b'r', b'a'], data) => {
				data.get(..8).and_then(|bytes| bytes.try_into().ok()).map(u64::from_le_bytes)
			},
			_ => None,
		})
		.ok_or_else(|| anyhow!("block #{number} has no Aura pre-runtime digest"))?;
	let parent = api.at_block(header.parent_hash).await.context("opening the parent block")?;
	let address = subxt::dynamic::storage::<(), Vec<[u8; 32]>>("Aura", "Authorities");
	let authorities: Vec<[u8; 32]> =
		parent.storage().fetch(address, ()).await.context("reading Aura.Authorities")?.decode()?;
	let count = u64::try_from(authorities.len())?;
	ensure!(count > 0, "no Aura authorities at block #{number}'s parent");
	let index = usize::try_from(slot % count)?;
	authorities.get(index).copied().ok_or_else(|| anyhow!("author index out of range"))
}
