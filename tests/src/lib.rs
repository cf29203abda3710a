//! Harness for end-to-end tests that run real `pot-node` networks on loopback.
//!
//! A [`Network`] starts N `pot-node` processes, each with its own base path inside one
//! temporary directory, fixed node keys (so every peer id is known before start) and free
//! loopback ports. Every node lists every other node as a bootnode. Node output goes to
//! `<tmp>/<name>/node.log`; when a wait times out, the error carries the tail of every log.
//! Dropping the [`Network`] (also while unwinding from a panic) kills every process.
//!
//! The binary is taken from `POT_NODE_BIN`, else `$CARGO_TARGET_DIR/debug/pot-node`, else
//! `<workspace>/target/debug/pot-node`. Set `POT_TESTS_KEEP_DIR=1` to keep the directory
//! (databases and logs) after the test.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use pot_tests::Network;
//! use std::time::Duration;
//!
//! let nodes = ["alice", "bob"];
//! let net = Network::local_validators(&nodes)?;
//! net.wait_rpc_ready(&nodes, Duration::from_secs(300)).await?;
//! net.wait_finalized_at_least(&nodes, 1, Duration::from_secs(300)).await?;
//! # Ok(())
//! # }
//! ```

pub mod wasm_fingerprint;
pub mod processes;

use anyhow::{anyhow, bail, ensure, Context, Result};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::Value;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How often the `wait_*` helpers poll.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Lines of each node log appended to the error when a wait fails.
pub const LOG_TAIL_LINES: usize = 40;
/// Dev keys a node can be started with (`--alice`, `--bob`, ...).
pub const DEV_KEYS: [&str; 8] = ["alice", "bob", "charlie", "dave", "eve", "ferdie", "one", "two"];

/// Upper bound for one JSON-RPC request; a debug node on a busy machine can be slow.
const RPC_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Root of the cargo workspace (the parent of this package). Read at run time (`cargo test` sets
/// `CARGO_MANIFEST_DIR`): checkouts that share one target dir share test binaries, so a path
/// compiled in would point at whichever checkout built them.
pub fn workspace_root() -> PathBuf {
	let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
	manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| manifest.join(".."))
}

/// Locates the `pot-node` binary: `POT_NODE_BIN`, then `$CARGO_TARGET_DIR/debug/pot-node`,
/// then `<workspace>/target/debug/pot-node`.
pub fn node_binary() -> Result<PathBuf> {
	if let Some(path) = std::env::var_os("POT_NODE_BIN") {
		let path = PathBuf::from(path);
		ensure!(
			path.is_file(),
			"POT_NODE_BIN is set to {}, which is not a file; build the node with `cargo build -p pot-node`",
			path.display()
		);
		return Ok(path);
	}
	let workspace = workspace_root();
	let mut candidates = Vec::new();
	if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
		let target = PathBuf::from(target);
		let target = if target.is_absolute() { target } else { workspace.join(target) };
		candidates.push(target.join("debug").join("pot-node"));
	}
	candidates.push(workspace.join("target").join("debug").join("pot-node"));
	if let Some(found) = candidates.iter().find(|path| path.is_file()) {
		return Ok(found.clone());
	}
	let looked_at: Vec<String> = candidates.iter().map(|path| path.display().to_string()).collect();
	bail!(
		"pot-node binary not found (looked at {}); build it first with `cargo build -p pot-node`, \
		 or point POT_NODE_BIN at it",
		looked_at.join(", ")
	)
}

/// Computes the libp2p peer id (base58) of an Ed25519 node key given as its 32-byte secret,
/// the same value `pot-node key inspect-node-key` prints.
pub fn peer_id_from_node_key(secret: &[u8; 32]) -> String {
	let public = ed25519_dalek::SigningKey::from_bytes(secret).verifying_key().to_bytes();
	// Identity multihash (code 0x00, length 36) of the protobuf-encoded public key:
	// field 1 (key type) = 1 (Ed25519), field 2 (data) = 32 bytes.
	let mut bytes = Vec::with_capacity(38);
	bytes.extend_from_slice(&[0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);
	bytes.extend_from_slice(&public);
	bs58::encode(bytes).into_string()
}

/// Deterministic node key of the `index`-th node of a network.
fn node_key(index: usize) -> [u8; 32] {
	let mut key = [0u8; 32];
	let prefix = b"pot-tests/node-key/";
	for (slot, byte) in key.iter_mut().zip(prefix.iter()) {
		*slot = *byte;
	}
	let index_bytes = (index as u64).to_be_bytes();
	for (slot, byte) in key.iter_mut().skip(24).zip(index_bytes.iter()) {
		*slot = *byte;
	}
	key
}

/// Lower-case hex of `bytes`, without a `0x` prefix.
pub fn to_hex(bytes: &[u8]) -> String {
	bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The bytes of `0x`-prefixed hex, as JSON-RPC and chain specs write them.
pub fn decode_hex(hex: &str) -> Result<Vec<u8>> {
	let digits = hex.strip_prefix("0x").context("hex without 0x")?;
	ensure!(digits.len() % 2 == 0, "odd-length hex");
	(0..digits.len())
		.step_by(2)
		.map(|i| {
			let pair = digits.get(i..i + 2).context("hex index")?;
			u8::from_str_radix(pair, 16).context("invalid hex digit")
		})
		.collect()
}

/// Reserves `count` distinct free TCP ports on 127.0.0.1. The probe sockets are all held
/// until every port is known, so the ports differ from each other.
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
	let listeners = (0..count)
		.map(|_| TcpListener::bind(("127.0.0.1", 0)).context("binding a probe socket on 127.0.0.1"))
		.collect::<Result<Vec<_>>>()?;
	listeners
		.iter()
		.map(|listener| -> Result<u16> {
			Ok(listener.local_addr().context("reading a probe socket address")?.port())
		})
		.collect()
}

fn parse_hex_u32(raw: &str) -> Result<u32> {
	let digits = raw.strip_prefix("0x").unwrap_or(raw);
	u32::from_str_radix(digits, 16).with_context(|| format!("invalid hex number {raw:?}"))
}

fn header_number(header: &Value) -> Result<u32> {
	let raw = header
		.get("number")
		.and_then(Value::as_str)
		.ok_or_else(|| anyhow!("block header without a `number` field: {header}"))?;
	parse_hex_u32(raw)
}

fn rpc_client(port: u16) -> Result<HttpClient> {
	HttpClientBuilder::default()
		.request_timeout(RPC_REQUEST_TIMEOUT)
		.build(format!("http://127.0.0.1:{port}"))
		.with_context(|| format!("building an RPC client for port {port}"))
}

/// Result of one poll of a `wait_*` condition.
#[derive(Debug)]
pub enum Check<T> {
	/// The condition holds; the wait returns this value.
	Ready(T),
	/// Not yet; the text describes the observed state and ends up in the timeout error.
	Pending(String),
}

/// Polls `check` every [`POLL_INTERVAL`] until it returns [`Check::Ready`] or `timeout` passes.
/// Errors from `check` count as "not yet" (a node may still be starting); the last state or
/// error is part of the timeout error.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, check: F) -> Result<T>
where
	F: FnMut() -> Fut,
	Fut: Future<Output = Result<Check<T>>>,
{
	poll_loop(what, timeout, check, || None).await
}

async fn poll_loop<T, F, Fut, G>(what: &str, timeout: Duration, mut check: F, mut fatal: G) -> Result<T>
where
	F: FnMut() -> Fut,
	Fut: Future<Output = Result<Check<T>>>,
	G: FnMut() -> Option<String>,
{
	let start = Instant::now();
	let mut last = String::from("no check completed yet");
	loop {
		if let Some(reason) = fatal() {
			bail!("while waiting for {what}: {reason} (last state: {last})");
		}
		let remaining = timeout.saturating_sub(start.elapsed()).max(POLL_INTERVAL);
		match tokio::time::timeout(remaining, check()).await {
			Ok(Ok(Check::Ready(value))) => return Ok(value),
			Ok(Ok(Check::Pending(state))) => last = state,
			Ok(Err(error)) => last = format!("error: {error:#}"),
			Err(_) => last = format!("check did not finish within {}s", remaining.as_secs()),
		}
		let elapsed = start.elapsed();
		if elapsed >= timeout {
			bail!("timed out after {}s waiting for {what}; last state: {last}", elapsed.as_secs());
		}
		tokio::time::sleep(POLL_INTERVAL.min(timeout.saturating_sub(elapsed))).await;
	}
}

/// Waits until `validator`'s cluster on the chain behind `chain` has `providers` members (a
/// run takes the cluster as it is when it starts).
pub async fn wait_for_cluster(
	chain: &pot_client::Chain,
	validator: &pot_client::subxt::utils::AccountId32,
	providers: usize,
	timeout: Duration,
) -> Result<()> {
	wait_until(&format!("{providers} providers in {validator}'s cluster"), timeout, || async {
		let at = chain.client().at_current_block().await?;
		let cluster = at
			.storage()
			.fetch(pot_client::api::storage().staking().clusters(), (validator.clone(),))
			.await?
			.decode()?;
		Ok(if cluster.0.len() == providers {
			Check::Ready(())
		} else {
			Check::Pending(format!("{} providers", cluster.0.len()))
		})
	})
	.await
}

/// The chain's supply as its issuance book sees it, at the current block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Supply {
	/// `Balances.TotalIssuance`.
	pub total: u128,
	/// What the protocol minted since genesis (`Issuance.Emitted`).
	pub emitted: u128,
	/// What was burned since genesis (`Issuance.Burned`).
	pub burned: u128,
}

/// Reads the supply and fails unless the issuance book accounts for the total issuance
/// (genesis issuance + emitted − burned): on a live node, the invariant the Issuance pallet's
/// `try_state` checks.
pub async fn booked_supply(chain: &pot_client::Chain) -> Result<Supply> {
	let at = chain.client().at_current_block().await?;
	let storage = at.storage();
	let book = pot_client::api::storage().issuance();
	let total: u128 = storage
		.fetch(pot_client::api::storage().balances().total_issuance(), ())
		.await?
		.decode()?;
	let baseline: u128 = storage.fetch(book.baseline(), ()).await?.decode()?;
	let emitted: u128 = storage.fetch(book.emitted(), ()).await?.decode()?;
	let burned: u128 = storage.fetch(book.burned(), ()).await?.decode()?;
	ensure!(
		baseline.checked_add(emitted).and_then(|s| s.checked_sub(burned)) == Some(total),
		"the issuance book ({baseline} + {emitted} − {burned}) does not account for the total \
		 issuance {total}"
	);
	Ok(Supply { total, emitted, burned })
}

/// Best and finalized block numbers of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heights {
	/// Number of the best block.
	pub best: u32,
	/// Number of the last finalized block.
	pub finalized: u32,
}

impl Heights {
	/// Blocks between best and finalized.
	pub fn lag(&self) -> u32 {
		self.best.saturating_sub(self.finalized)
	}
}

/// How a node of a [`Network`] is started.
#[derive(Clone, Debug)]
pub struct NodeSpec {
	/// Unique name; also the node's `--name` and the name of its directory.
	pub name: String,
	/// Dev key put into the keystore (`alice` gives `--alice`), if any.
	pub dev_key: Option<String>,
	/// Whether the node runs with `--validator`.
	pub validator: bool,
	/// Further command-line arguments, appended last.
	pub extra_args: Vec<String>,
}

impl NodeSpec {
	/// A validator named after its dev key (`alice`, `bob`, ...): `--<key> --validator`.
	pub fn validator(dev_key: &str) -> Self {
		Self {
			name: dev_key.to_string(),
			dev_key: Some(dev_key.to_string()),
			validator: true,
			extra_args: Vec::new(),
		}
	}

	/// A full node without keys that does not author blocks.
	pub fn full(name: &str) -> Self {
		Self { name: name.to_string(), dev_key: None, validator: false, extra_args: Vec::new() }
	}

	/// Appends a command-line argument.
	pub fn with_arg(mut self, arg: impl Into<String>) -> Self {
		self.extra_args.push(arg.into());
		self
	}
}

/// One `pot-node` process of a [`Network`]; it keeps base path, keys and ports across restarts.
pub struct Node {
	name: String,
	bin: PathBuf,
	args: Vec<String>,
	base_path: PathBuf,
	log_path: PathBuf,
	p2p_port: u16,
	rpc_port: u16,
	peer_id: String,
	starts: u32,
	child: Mutex<Option<Child>>,
	rpc: HttpClient,
}

impl Node {
	/// The node's name.
	pub fn name(&self) -> &str {
		&self.name
	}

	/// Its libp2p peer id.
	pub fn peer_id(&self) -> &str {
		&self.peer_id
	}

	/// Its p2p address including the peer id, as used for `--bootnodes`.
	pub fn multiaddr(&self) -> String {
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", self.p2p_port, self.peer_id)
	}

	/// Its p2p TCP port.
	pub fn p2p_port(&self) -> u16 {
		self.p2p_port
	}

	/// Its JSON-RPC port (HTTP and WebSocket).
	pub fn rpc_port(&self) -> u16 {
		self.rpc_port
	}

	/// WebSocket RPC URL, e.g. for a subxt client.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// HTTP RPC URL.
	pub fn http_url(&self) -> String {
		format!("http://127.0.0.1:{}", self.rpc_port)
	}

	/// Its `--base-path`.
	pub fn base_path(&self) -> &Path {
		&self.base_path
	}

	/// File receiving the node's stdout and stderr (appended across restarts).
	pub fn log_path(&self) -> &Path {
		&self.log_path
	}

	/// Command-line arguments the node is started with.
	pub fn args(&self) -> &[String] {
		&self.args
	}

	/// Exit status, if the process was started and has exited on its own.
	pub fn exit_status(&self) -> Option<ExitStatus> {
		let mut slot = self.child.lock().unwrap_or_else(PoisonError::into_inner);
		slot.as_mut().and_then(|child| child.try_wait().ok().flatten())
	}

	/// Whether the process is started and still alive.
	pub fn is_running(&self) -> bool {
		let mut slot = self.child.lock().unwrap_or_else(PoisonError::into_inner);
		match slot.as_mut() {
			Some(child) => matches!(child.try_wait(), Ok(None)),
			None => false,
		}
	}

	fn append_log_line(&self, line: &str) -> Result<File> {
		let mut log = OpenOptions::new()
			.create(true)
			.append(true)
			.open(&self.log_path)
			.with_context(|| format!("opening {}", self.log_path.display()))?;
		writeln!(log, "==== pot-tests: {line} ====")
			.with_context(|| format!("writing {}", self.log_path.display()))?;
		Ok(log)
	}

	/// Starts the process; fails if it is already running.
	pub fn start(&mut self) -> Result<()> {
		if self.child.get_mut().unwrap_or_else(PoisonError::into_inner).is_some() {
			bail!("{} is already running", self.name);
		}
		self.starts = self.starts.saturating_add(1);
		let stdout = self.append_log_line(&format!(
			"start #{} of {}: {} {}",
			self.starts,
			self.name,
			self.bin.display(),
			self.args.join(" ")
		))?;
		let stderr = stdout.try_clone().context("duplicating the log file handle")?;
		let child = Command::new(&self.bin)
			.args(&self.args)
			.stdin(Stdio::null())
			.stdout(Stdio::from(stdout))
			.stderr(Stdio::from(stderr))
			.spawn()
			.with_context(|| format!("spawning {} for {}", self.bin.display(), self.name))?;
		*self.child.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(child);
		// A fresh client, so no pooled connection to the previous process is reused.
		self.rpc = rpc_client(self.rpc_port)?;
		Ok(())
	}

	/// Kills the process with SIGKILL and reaps it; fails if it is not running.
	pub fn kill(&mut self) -> Result<()> {
		let taken = self.child.get_mut().unwrap_or_else(PoisonError::into_inner).take();
		let Some(mut child) = taken else {
			bail!("{} is not running", self.name);
		};
		child.kill().with_context(|| format!("killing {}", self.name))?;
		let status = child.wait().with_context(|| format!("reaping {}", self.name))?;
		self.append_log_line(&format!("killed {} (SIGKILL), exit status {status}", self.name))?;
		Ok(())
	}

	/// Kills the process if it runs and starts it again with the same base path, keys and ports.
	pub fn restart(&mut self) -> Result<()> {
		if self.child.get_mut().unwrap_or_else(PoisonError::into_inner).is_some() {
			self.kill()?;
		}
		self.start()
	}

	/// The last `lines` lines of the node log.
	pub fn log_tail(&self, lines: usize) -> String {
		match fs::read(&self.log_path) {
			Ok(bytes) => {
				let text = String::from_utf8_lossy(&bytes);
				let all: Vec<&str> = text.lines().collect();
				let first = all.len().saturating_sub(lines);
				all.get(first..).map(|tail| tail.join("\n")).unwrap_or_default()
			},
			Err(error) => format!("(cannot read {}: {error})", self.log_path.display()),
		}
	}

	/// Raw JSON-RPC call with positional parameters.
	pub async fn rpc(&self, method: &str, params: Vec<Value>) -> Result<Value> {
		let mut array = ArrayParams::new();
		for param in params {
			array.insert(param).context("encoding an RPC parameter")?;
		}
		self.rpc
			.request::<Value, _>(method, array)
			.await
			.with_context(|| format!("{}: RPC {method} on port {}", self.name, self.rpc_port))
	}

	/// Puts the sr25519 key of `suri` (`//Alice`, …) into the node's keystore as a `potv` key
	/// (`author_insertKey`): the PoL offchain worker then acts for that account.
	pub async fn insert_potv_key(&self, suri: &str) -> Result<()> {
		let key = pot_client::keypair_from_suri(suri)?;
		let public = to_hex(&key.public_key().0);
		self.rpc("author_insertKey", vec![Value::from("potv"), Value::from(suri), Value::from(public)])
			.await
			.with_context(|| format!("inserting {suri}'s potv key into {}'s node", self.name))?;
		Ok(())
	}

	/// Header of the best block (`chain_getHeader`).
	pub async fn best_header(&self) -> Result<Value> {
		let header = self.rpc("chain_getHeader", Vec::new()).await?;
		ensure!(!header.is_null(), "{}: chain_getHeader returned null", self.name);
		Ok(header)
	}

	/// Number of the best block.
	pub async fn best_number(&self) -> Result<u32> {
		header_number(&self.best_header().await?).with_context(|| format!("{}: best header", self.name))
	}

	/// Hash (0x-hex) of the last finalized block (`chain_getFinalizedHead`).
	pub async fn finalized_hash(&self) -> Result<String> {
		let hash = self.rpc("chain_getFinalizedHead", Vec::new()).await?;
		hash.as_str()
			.map(str::to_lowercase)
			.ok_or_else(|| anyhow!("{}: chain_getFinalizedHead returned {hash}", self.name))
	}

	/// Number of the block with the given hash, `None` if the node does not know it.
	pub async fn block_number(&self, hash: &str) -> Result<Option<u32>> {
		let header = self.rpc("chain_getHeader", vec![Value::from(hash)]).await?;
		if header.is_null() {
			return Ok(None);
		}
		header_number(&header).map(Some).with_context(|| format!("{}: header of {hash}", self.name))
	}

	/// Number of the last finalized block.
	pub async fn finalized_number(&self) -> Result<u32> {
		let hash = self.finalized_hash().await?;
		self.block_number(&hash)
			.await?
			.ok_or_else(|| anyhow!("{}: no header for its own finalized head {hash}", self.name))
	}

	/// Best and finalized numbers. The best block is read first, so the reported lag is never
	/// larger than a lag the node really had.
	pub async fn heights(&self) -> Result<Heights> {
		let best = self.best_number().await?;
		let finalized = self.finalized_number().await?;
		Ok(Heights { best, finalized })
	}

	/// Hash (0x-hex) of block `number` on the node's best chain (`chain_getBlockHash`).
	pub async fn block_hash(&self, number: u32) -> Result<Option<String>> {
		let hash = self.rpc("chain_getBlockHash", vec![Value::from(number)]).await?;
		if hash.is_null() {
			return Ok(None);
		}
		hash.as_str()
			.map(|hash| Some(hash.to_lowercase()))
			.ok_or_else(|| anyhow!("{}: chain_getBlockHash({number}) returned {hash}", self.name))
	}

	/// Number of connected peers (`system_health`).
	pub async fn peer_count(&self) -> Result<u64> {
		let health = self.rpc("system_health", Vec::new()).await?;
		health
			.get("peers")
			.and_then(Value::as_u64)
			.ok_or_else(|| anyhow!("{}: unexpected system_health answer {health}", self.name))
	}

	/// Peer id the running node reports (`system_localPeerId`).
	pub async fn local_peer_id(&self) -> Result<String> {
		let id = self.rpc("system_localPeerId", Vec::new()).await?;
		id.as_str()
			.map(str::to_string)
			.ok_or_else(|| anyhow!("{}: system_localPeerId returned {id}", self.name))
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if let Some(mut child) = self.child.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
			// Nothing useful can be done about errors while dropping.
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}

#[derive(Clone, Copy, Debug)]
enum HeightKind {
	Best,
	Finalized,
}

fn describe<T: std::fmt::Display>(nodes: &[&Node], values: &[T]) -> String {
	nodes
		.iter()
		.zip(values)
		.map(|(node, value)| format!("{}={value}", node.name))
		.collect::<Vec<_>>()
		.join(", ")
}

async fn rpc_ready_check(nodes: &[&Node]) -> Result<Check<()>> {
	let mut waiting = Vec::new();
	for node in nodes {
		if let Err(error) = node.rpc("system_health", Vec::new()).await {
			waiting.push(format!("{error:#}"));
		}
	}
	Ok(if waiting.is_empty() { Check::Ready(()) } else { Check::Pending(waiting.join("; ")) })
}

async fn height_check(nodes: &[&Node], kind: HeightKind, target: u32) -> Result<Check<Vec<u32>>> {
	let mut seen = Vec::with_capacity(nodes.len());
	for node in nodes {
		let height = match kind {
			HeightKind::Best => node.best_number().await?,
			HeightKind::Finalized => node.finalized_number().await?,
		};
		seen.push(height);
	}
	Ok(if seen.iter().all(|height| *height >= target) {
		Check::Ready(seen)
	} else {
		Check::Pending(format!("{kind:?} heights {}", describe(nodes, &seen)))
	})
}

async fn peers_check(nodes: &[&Node], target: u64) -> Result<Check<Vec<u64>>> {
	let mut seen = Vec::with_capacity(nodes.len());
	for node in nodes {
		seen.push(node.peer_count().await?);
	}
	Ok(if seen.iter().all(|peers| *peers >= target) {
		Check::Ready(seen)
	} else {
		Check::Pending(format!("peers {}", describe(nodes, &seen)))
	})
}

/// A set of `pot-node` processes on loopback, killed when dropped.
pub struct Network {
	// Declared before `dir`: processes die before their directory is removed.
	nodes: Vec<Node>,
	dir: TempDir,
}

impl Network {
	/// Validators named after dev keys on the built-in `local` chain spec.
	pub fn local_validators(dev_keys: &[&str]) -> Result<Network> {
		Network::start("local", dev_keys.iter().map(|key| NodeSpec::validator(key)).collect())
	}

	/// Starts one node per spec on chain spec `chain` (a built-in id or a path). Returns once
	/// every process is spawned; use [`Network::wait_rpc_ready`] to wait for them.
	pub fn start(chain: &str, specs: Vec<NodeSpec>) -> Result<Network> {
		ensure!(!specs.is_empty(), "a network needs at least one node");
		let mut names = HashSet::new();
		for spec in &specs {
			ensure!(
				!spec.name.is_empty()
					&& spec.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
				"invalid node name {:?}",
				spec.name
			);
			ensure!(names.insert(spec.name.clone()), "duplicate node name {:?}", spec.name);
			if let Some(key) = &spec.dev_key {
				ensure!(DEV_KEYS.contains(&key.as_str()), "unknown dev key {key:?}; known: {DEV_KEYS:?}");
			}
		}
		let bin = node_binary()?;
		let mut dir = TempDir::with_prefix("pot-network-").context("creating the network directory")?;
		if std::env::var_os("POT_TESTS_KEEP_DIR").is_some() {
			dir.disable_cleanup(true);
		}
		let ports = free_ports(specs.len().saturating_mul(2))?;

		// Identities first: every node needs every other node's address as a bootnode.
		let identities: Vec<(u16, u16, [u8; 32], String)> = ports
			.chunks(2)
			.enumerate()
			.map(|(index, pair)| match pair {
				[p2p, rpc] => {
					let key = node_key(index);
					Ok((*p2p, *rpc, key, peer_id_from_node_key(&key)))
				},
				_ => Err(anyhow!("port allocation returned an odd number of ports")),
			})
			.collect::<Result<_>>()?;
		let addresses: Vec<String> = identities
			.iter()
			.map(|(p2p, _, _, peer_id)| format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer_id}"))
			.collect();

		let mut nodes = Vec::with_capacity(specs.len());
		for (index, (spec, (p2p_port, rpc_port, key, peer_id))) in
			specs.into_iter().zip(identities).enumerate()
		{
			let node_dir = dir.path().join(&spec.name);
			let base_path = node_dir.join("data");
			fs::create_dir_all(&base_path)
				.with_context(|| format!("creating {}", base_path.display()))?;
			let base_path_arg = base_path
				.to_str()
				.ok_or_else(|| anyhow!("non UTF-8 path {}", base_path.display()))?
				.to_string();
			let mut args: Vec<String> = vec![
				"--chain".into(),
				chain.into(),
				"--base-path".into(),
				base_path_arg,
				"--name".into(),
				spec.name.clone(),
				"--node-key".into(),
				to_hex(&key),
				"--listen-addr".into(),
				format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
				"--rpc-port".into(),
				rpc_port.to_string(),
				"--rpc-cors".into(),
				"all".into(),
				"--no-prometheus".into(),
				"--no-telemetry".into(),
				"--no-mdns".into(),
				"--allow-private-ip".into(),
				"--disable-log-color".into(),
			];
			if let Some(dev_key) = &spec.dev_key {
				args.push(format!("--{dev_key}"));
			}
			if spec.validator {
				args.push("--validator".into());
			}
			for (other, address) in addresses.iter().enumerate() {
				if other != index {
					args.push("--bootnodes".into());
					args.push(address.clone());
				}
			}
			args.extend(spec.extra_args);
			nodes.push(Node {
				rpc: rpc_client(rpc_port)?,
				name: spec.name,
				bin: bin.clone(),
				args,
				base_path,
				log_path: node_dir.join("node.log"),
				p2p_port,
				rpc_port,
				peer_id,
				starts: 0,
				child: Mutex::new(None),
			});
		}

		let mut network = Network { nodes, dir };
		eprintln!("pot-tests: network in {} using {}", network.dir.path().display(), bin.display());
		for node in &mut network.nodes {
			node.start()?;
			eprintln!(
				"pot-tests: started {} (p2p {}, rpc {}, peer {}), log {}",
				node.name,
				node.p2p_port,
				node.rpc_port,
				node.peer_id,
				node.log_path.display()
			);
		}
		Ok(network)
	}

	/// Directory holding every node's base path and log.
	pub fn base_dir(&self) -> &Path {
		self.dir.path()
	}

	/// All nodes, in start order.
	pub fn nodes(&self) -> &[Node] {
		&self.nodes
	}

	/// The node called `name`.
	pub fn node(&self, name: &str) -> Result<&Node> {
		self.nodes
			.iter()
			.find(|node| node.name == name)
			.ok_or_else(|| anyhow!("no node named {name:?} in this network"))
	}

	/// The node called `name`, mutably.
	pub fn node_mut(&mut self, name: &str) -> Result<&mut Node> {
		self.nodes
			.iter_mut()
			.find(|node| node.name == name)
			.ok_or_else(|| anyhow!("no node named {name:?} in this network"))
	}

	/// The nodes called `names`, in that order.
	pub fn nodes_named(&self, names: &[&str]) -> Result<Vec<&Node>> {
		names.iter().map(|name| self.node(name)).collect()
	}

	/// Kills node `name` with SIGKILL.
	pub fn kill(&mut self, name: &str) -> Result<()> {
		eprintln!("pot-tests: killing {name}");
		self.node_mut(name)?.kill()
	}

	/// Restarts node `name` with the same base path, keys and ports.
	pub fn restart(&mut self, name: &str) -> Result<()> {
		eprintln!("pot-tests: restarting {name}");
		self.node_mut(name)?.restart()
	}

	/// The last `lines` lines of every node's log, one section per node.
	pub fn log_tails(&self, lines: usize) -> String {
		self.nodes
			.iter()
			.map(|node| {
				format!("---- {} ({}) ----\n{}", node.name, node.log_path.display(), node.log_tail(lines))
			})
			.collect::<Vec<_>>()
			.join("\n")
	}

	fn exited_nodes(&self) -> Option<String> {
		let exited: Vec<String> = self
			.nodes
			.iter()
			.filter_map(|node| node.exit_status().map(|status| format!("{} exited ({status})", node.name)))
			.collect();
		if exited.is_empty() {
			None
		} else {
			Some(exited.join(", "))
		}
	}

	/// Like [`wait_until`], but fails at once when a started node exits on its own, and
	/// appends the tail of every node log to any error.
	pub async fn wait_until<T, F, Fut>(&self, what: &str, timeout: Duration, check: F) -> Result<T>
	where
		F: FnMut() -> Fut,
		Fut: Future<Output = Result<Check<T>>>,
	{
		poll_loop(what, timeout, check, || self.exited_nodes()).await.map_err(|error| {
			anyhow!(
				"{error:#}\n==== last {LOG_TAIL_LINES} log lines of each node ====\n{}",
				self.log_tails(LOG_TAIL_LINES)
			)
		})
	}

	/// Waits until the nodes answer JSON-RPC, then checks that each reports the expected peer id.
	pub async fn wait_rpc_ready(&self, names: &[&str], timeout: Duration) -> Result<()> {
		let nodes = self.nodes_named(names)?;
		let nodes: &[&Node] = &nodes;
		self.wait_until(&format!("JSON-RPC of {names:?}"), timeout, move || rpc_ready_check(nodes))
			.await?;
		for node in nodes {
			let reported = node.local_peer_id().await?;
			ensure!(
				reported == node.peer_id,
				"{} reports peer id {reported}, but its node key gives {}; bootnode addresses are wrong",
				node.name,
				node.peer_id
			);
		}
		Ok(())
	}

	/// Waits until each node has at least `peers` peers; returns the peer counts.
	pub async fn wait_peers_at_least(&self, names: &[&str], peers: u64, timeout: Duration) -> Result<Vec<u64>> {
		let nodes = self.nodes_named(names)?;
		let nodes: &[&Node] = &nodes;
		self.wait_until(&format!(">= {peers} peers on {names:?}"), timeout, move || peers_check(nodes, peers))
			.await
	}

	/// Waits until every node's best block is at least `target`; returns the best numbers.
	pub async fn wait_best_at_least(&self, names: &[&str], target: u32, timeout: Duration) -> Result<Vec<u32>> {
		let nodes = self.nodes_named(names)?;
		let nodes: &[&Node] = &nodes;
		self.wait_until(&format!("best block >= {target} on {names:?}"), timeout, move || {
			height_check(nodes, HeightKind::Best, target)
		})
		.await
	}

	/// Waits until every node's finalized block is at least `target`; returns the finalized
	/// numbers.
	pub async fn wait_finalized_at_least(
		&self,
		names: &[&str],
		target: u32,
		timeout: Duration,
	) -> Result<Vec<u32>> {
		let nodes = self.nodes_named(names)?;
		let nodes: &[&Node] = &nodes;
		self.wait_until(&format!("finalized block >= {target} on {names:?}"), timeout, move || {
			height_check(nodes, HeightKind::Finalized, target)
		})
		.await
	}

	/// Best and finalized numbers of each node, in the order of `names`.
	pub async fn heights(&self, names: &[&str]) -> Result<Vec<Heights>> {
		let mut heights = Vec::with_capacity(names.len());
		for node in self.nodes_named(names)? {
			heights.push(node.heights().await?);
		}
		Ok(heights)
	}

	/// Checks that the nodes agree on finality: takes the lowest finalized number among them
	/// and compares every node's hash for that block. Returns that number and hash.
	pub async fn finalized_agreement(&self, names: &[&str]) -> Result<(u32, String)> {
		let nodes = self.nodes_named(names)?;
		let mut finalized = Vec::with_capacity(nodes.len());
		for node in &nodes {
			finalized.push(node.finalized_number().await?);
		}
		let common = finalized
			.iter()
			.copied()
			.min()
			.ok_or_else(|| anyhow!("finalized_agreement needs at least one node"))?;
		let mut hashes = Vec::with_capacity(nodes.len());
		for node in &nodes {
			let hash = node
				.block_hash(common)
				.await?
				.ok_or_else(|| anyhow!("{} has no block #{common} although it finalized it", node.name))?;
			hashes.push(hash);
		}
		let first = hashes.first().cloned().ok_or_else(|| anyhow!("no hashes collected"))?;
		ensure!(
			hashes.iter().all(|hash| *hash == first),
			"nodes disagree on finalized block #{common}: {} (finalized heights {})",
			describe(&nodes, &hashes),
			describe(&nodes, &finalized)
		);
		Ok((common, first))
	}
}
