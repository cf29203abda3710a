//! The allow list of `pot-trainer serve --allow-chain`: the accounts the chain relates to the
//! service's validator (PROTOCOL.md, Artifacts: "nothing of an order's data is served to accounts
//! outside its cluster").
//!
//! Admitted, as of the node's best block:
//! - the validator itself;
//! - every registered validator (a challenge committee fetches the accused's artifacts);
//! - the providers of the validator's cluster;
//! - the consumers of the orders it runs; they stay admitted after their order closes (the
//!   chain forgets closed orders, the consumer still fetches its result), remembered in the
//!   store's `consumers` file across restarts; for a public run, the sudo key that opened it;
//! - the challengers of open challenges whose committee includes the validator (they hand
//!   their proof to the committee).
//!
//! Whole datasets are served only to the validators among them
//! ([`ChainAllowList::admits_validator`]); a provider gets its own chunk.
//!
//! The list is read again when a request comes from an account not on it (at most once per
//! [`MIN_REREAD`]) and whenever it is older than [`MAX_AGE`]. While the node cannot be
//! read, the last list stays in force.

use crate::work::AtBlock;
use anyhow::Context;
use pot_client::{
	api::{self, runtime_types::pot_primitives::market::Funding},
	subxt::utils::AccountId32,
	Chain,
};
use std::{
	collections::BTreeSet,
	path::{Path, PathBuf},
	time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// Shortest time between two reads prompted by unknown accounts.
pub const MIN_REREAD: Duration = Duration::from_secs(2);
/// Oldest list used without reading the chain again.
pub const MAX_AGE: Duration = Duration::from_secs(30);
/// Name of the file (in the store directory) of the consumers remembered.
pub const CONSUMERS_FILE: &str = "consumers";

/// The accounts the chain relates to one validator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Related {
	/// Everyone admitted now.
	pub accounts: BTreeSet<[u8; 32]>,
	/// The consumers among them (remembered after their orders close).
	pub consumers: BTreeSet<[u8; 32]>,
	/// The validator and the registered validators among them: the only ones that may read
	/// whole datasets (providers get their chunk).
	pub validators: BTreeSet<[u8; 32]>,
}

/// Reads the accounts related to `validator` at `at`.
pub async fn related_accounts(at: &AtBlock, validator: &AccountId32) -> anyhow::Result<Related> {
	let storage = at.storage();
	let mut related = Related::default();
	related.validators.insert(validator.0);
	let registered =
		storage.fetch(api::storage().staking().registered_validators(), ()).await?.decode()?;
	related.validators.extend(registered.0.iter().map(|v| v.0));
	related.accounts.extend(related.validators.iter().copied());
	let cluster = storage.fetch(api::storage().staking().clusters(), (*validator,)).await?.decode()?;
	related.accounts.extend(cluster.0.iter().map(|p| p.0));
	let orders =
		storage.fetch(api::storage().market().assigned_orders(), (*validator,)).await?.decode()?;
	for id in orders.0 {
		if let Some(order) = storage.try_fetch(api::storage().market().orders(), (id,)).await? {
			let order = order.decode()?;
			match order.funding {
				Funding::Escrow => {
					related.consumers.insert(order.consumer.0);
				}
				// A public run's consumer is the market's keyless account; governance (the
				// sudo key) opened it and uploads its model and fetches its result.
				Funding::Emission => {
					if let Some(key) = storage.try_fetch(api::storage().sudo().key(), ()).await? {
						related.consumers.insert(key.decode()?.0);
					}
				}
			}
		}
	}
	related.accounts.extend(related.consumers.iter().copied());
	let mut challenges = storage.iter(api::storage().pol().challenges(), ()).await?;
	while let Some(entry) = challenges.next().await {
		let challenge = entry?.value().decode()?;
		if challenge.committee.0.iter().any(|(member, _)| member == validator) {
			related.accounts.insert(challenge.challenger.0);
		}
	}
	Ok(related)
}

struct Cache {
	chain: Option<Chain>,
	accounts: BTreeSet<[u8; 32]>,
	validators: BTreeSet<[u8; 32]>,
	/// Every consumer seen, also those of closed orders (persisted).
	consumers: BTreeSet<[u8; 32]>,
	read_at: Option<Instant>,
}

/// The chain-derived allow list of one validator's service.
pub struct ChainAllowList {
	validator: AccountId32,
	node: String,
	consumers_file: PathBuf,
	cache: Mutex<Cache>,
}

impl ChainAllowList {
	/// The list of `validator`, read through the node at `node`; remembered consumers live in
	/// `store_dir`.
	pub fn new(validator: AccountId32, node: &str, store_dir: &Path) -> anyhow::Result<Self> {
		let consumers_file = store_dir.join(CONSUMERS_FILE);
		let consumers = read_consumers(&consumers_file)?;
		Ok(Self {
			validator,
			node: node.into(),
			consumers_file,
			cache: Mutex::new(Cache {
				chain: None,
				accounts: BTreeSet::new(),
				validators: BTreeSet::new(),
				consumers,
				read_at: None,
			}),
		})
	}

	/// The validator whose relations are admitted.
	pub fn validator(&self) -> &AccountId32 {
		&self.validator
	}

	/// Whether `account` may use the artifact API now.
	pub async fn admits(&self, account: &[u8; 32]) -> bool {
		let mut cache = self.cache.lock().await;
		let age = cache.read_at.map(|at| at.elapsed());
		let known = cache.accounts.contains(account) || cache.consumers.contains(account);
		let reread = match age {
			None => true,
			Some(age) if age >= MAX_AGE => true,
			Some(age) => !known && age >= MIN_REREAD,
		};
		if !reread {
			return known;
		}
		if let Err(e) = self.reread(&mut cache).await {
			tracing::warn!(error = %format!("{e:#}"), node = %self.node, "could not read the allow list from the chain; keeping the last one");
			cache.chain = None;
		}
		cache.read_at = Some(Instant::now());
		cache.accounts.contains(account) || cache.consumers.contains(account)
	}

	/// Whether `account` is this validator or a registered one now (the list as [`Self::admits`]
	/// keeps it).
	pub async fn admits_validator(&self, account: &[u8; 32]) -> bool {
		self.admits(account).await && self.cache.lock().await.validators.contains(account)
	}

	async fn reread(&self, cache: &mut Cache) -> anyhow::Result<()> {
		let chain = match &cache.chain {
			Some(chain) => chain.clone(),
			None => {
				let chain = Chain::connect(&self.node).await?;
				cache.chain = Some(chain.clone());
				chain
			},
		};
		let at = chain.client().at_current_block().await?;
		let related = related_accounts(&at, &self.validator).await?;
		let new_consumers: Vec<_> =
			related.consumers.difference(&cache.consumers).copied().collect();
		if !new_consumers.is_empty() {
			cache.consumers.extend(new_consumers);
			write_consumers(&self.consumers_file, &cache.consumers)?;
		}
		tracing::debug!(accounts = related.accounts.len(), "allow list read from the chain");
		cache.accounts = related.accounts;
		cache.validators = related.validators;
		Ok(())
	}
}

/// The remembered consumers: one 64-hex-digit account id per line (absent file: none).
pub fn read_consumers(path: &Path) -> anyhow::Result<BTreeSet<[u8; 32]>> {
	let text = match std::fs::read_to_string(path) {
		Ok(text) => text,
		Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
		Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
	};
	text.lines()
		.map(str::trim)
		.filter(|line| !line.is_empty())
		.map(|line| {
			let mut account = [0u8; 32];
			hex::decode_to_slice(line, &mut account)
				.with_context(|| format!("{}: {line:?} is not an account id", path.display()))?;
			Ok(account)
		})
		.collect()
}

/// Writes the remembered consumers (atomically: a temporary file renamed over the old one).
pub fn write_consumers(path: &Path, consumers: &BTreeSet<[u8; 32]>) -> anyhow::Result<()> {
	let text: String = consumers.iter().map(|c| format!("{}\n", hex::encode(c))).collect();
	let tmp = path.with_extension("tmp");
	std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
	std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn remembered_consumers_survive_a_restart_and_a_corrupt_file_is_an_error() {
		let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
		let path = dir.path().join(CONSUMERS_FILE);
		assert_eq!(read_consumers(&path).ok(), Some(BTreeSet::new()));
		let consumers: BTreeSet<_> = [[1u8; 32], [0xab; 32]].into();
		write_consumers(&path, &consumers).unwrap_or_else(|e| panic!("{e}"));
		assert_eq!(read_consumers(&path).ok(), Some(consumers));
		std::fs::write(&path, "abcd\n").unwrap_or_else(|e| panic!("{e}"));
		let error = read_consumers(&path).err().map(|e| format!("{e:#}"));
		assert!(error.is_some_and(|e| e.contains("not an account id")));
	}
}
