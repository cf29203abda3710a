//! `pot-trainer serve --watch`: a validator that watches the other clusters' acceptances
//! (PROTOCOL.md step 6, "anyone may challenge"). A validator that accepts work without
//! re-executing it (lazy, or paid off by its provider) is caught here, not by its own cluster.
//!
//! Each pass reads, at the node's best block, every recorded round result still in its
//! challenge window whose run another validator verifies. For each submission that stands
//! accepted and was not looked at before, the watcher puts itself in a committee's place: it
//! fetches what a verdict on `InvalidWorkAccepted` needs (the model, the proof bundle, the
//! dataset; [`fetch_missing`], from the accepting validator, signed as a registered validator)
//! and judges the claim as a committee would ([`first_invalid_segment`]: the committee's own
//! checks, the proof unpacked and checked as a whole once), on the segments the accepting
//! validator had to re-execute: the selection an honest validator makes from the round's
//! verification seed (kept in the round's record) at the protocol's detection goal. At the
//! first segment that would be upheld, it challenges with that segment's Merkle proof, then
//! hands every artifact the verdict reads to each member of the drawn committee, so that the
//! verdict does not depend on the accused serving them. A submission whose obligated segments
//! all re-execute is left alone: an honest provider, and an honest validator whose sample
//! missed a forged segment, are never challenged by a watcher that is honest itself, and a
//! challenge that is not upheld costs the challenger (`UnfoundedChallenge`). The watcher
//! re-executes what the accepting validator did, no more.
//!
//! What was looked at is remembered in the store directory (`watched/{order}-{round}-{position}`,
//! naming the outcome), so a restart neither re-executes nor challenges twice. Artifacts that
//! cannot be had now are retried on the next pass.

use crate::{
	challenge_verifier::{claim_inputs, fetch_missing, first_invalid_segment, ChallengeInputs, Claim},
	remote::ArtifactClient,
	round_verifier::{JobError, VerifyConfig},
	store::{Kind, Store},
	work::{endpoint_of, segment_proof, AtBlock},
};
use anyhow::Context;
use pot_client::{
	account_of,
	api::{
		self,
		runtime_types::{
			pallet_pot_pol::types::{ClaimKind, Verdict},
			pot_primitives::ids::OrderId,
		},
	},
	subxt::utils::AccountId32,
	subxt_signer::sr25519::Keypair,
	Chain,
};
use std::{path::PathBuf, sync::Arc, time::Duration};

/// Time between two passes.
pub const PASS_INTERVAL: Duration = Duration::from_secs(6);

/// A submission another validator accepted: `(order, round, position)`.
pub type Subject = (u64, u32, u32);

/// A recorded round as the watcher reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedRound {
	/// The order.
	pub order: u64,
	/// The round.
	pub round: u32,
	/// The validator whose result it is.
	pub validator: [u8; 32],
	/// Last block of its challenge window.
	pub window_end: u64,
	/// Positions whose submission stands accepted (accepted, not overturned).
	pub accepted: Vec<u32>,
}

/// The submissions of `rounds` the watcher `me` should look at, at block `now`: those another
/// validator accepted, in a round whose challenge window is still open, not in `seen`.
pub fn subjects(
	rounds: &[WatchedRound],
	me: &[u8; 32],
	now: u64,
	seen: impl Fn(&Subject) -> bool,
) -> Vec<Subject> {
	rounds
		.iter()
		.filter(|r| &r.validator != me && now <= r.window_end)
		.flat_map(|r| r.accepted.iter().map(move |p| (r.order, r.round, *p)))
		.filter(|s| !seen(s))
		.collect()
}

/// The watcher of one validator's service.
pub struct Watcher {
	node: String,
	store: Arc<Store>,
	key: Keypair,
	config: VerifyConfig,
	dir: PathBuf,
}

impl Watcher {
	/// A watcher signing as `key`, reading through the node at `node`, keeping artifacts in
	/// the store at `store_dir` and what it looked at in `{store_dir}/watched`.
	pub fn new(
		node: &str,
		store_dir: &std::path::Path,
		key: Keypair,
		config: VerifyConfig,
	) -> crate::error::Result<Self> {
		Ok(Self {
			node: node.into(),
			store: Arc::new(Store::open(store_dir)?),
			key,
			config,
			dir: store_dir.join("watched"),
		})
	}

	fn marker(&self, (order, round, position): &Subject) -> PathBuf {
		self.dir.join(format!("{order}-{round}-{position}"))
	}

	fn remember(&self, subject: &Subject, outcome: &str) -> anyhow::Result<()> {
		std::fs::create_dir_all(&self.dir)
			.with_context(|| format!("creating {}", self.dir.display()))?;
		std::fs::write(self.marker(subject), outcome)
			.with_context(|| format!("writing {}", self.marker(subject).display()))
	}

	/// Runs passes forever; a pass that fails (node unreachable, …) is logged and retried.
	pub async fn run(self) {
		let me = account_of(&self.key);
		tracing::info!(validator = %me, "watching other clusters' acceptances");
		let mut chain: Option<Chain> = None;
		loop {
			if chain.is_none() {
				chain = Chain::connect(&self.node).await.ok();
			}
			if let Some(c) = &chain {
				if let Err(e) = self.pass(c, &me).await {
					tracing::warn!(error = %format!("{e:#}"), "watch pass failed; retrying");
					chain = None;
				}
			}
			tokio::time::sleep(PASS_INTERVAL).await;
		}
	}

	/// One pass over the recorded rounds at the best block.
	async fn pass(&self, chain: &Chain, me: &AccountId32) -> anyhow::Result<()> {
		let at = chain.client().at_current_block().await?;
		let now = at.block_number();
		let rounds = recorded_rounds(&at).await?;
		for subject in subjects(&rounds, &me.0, now, |s| self.marker(s).exists()) {
			self.look_at(chain, &at, subject).await?;
		}
		Ok(())
	}

	/// Examines one accepted submission and challenges it if a committee would find it invalid.
	async fn look_at(&self, chain: &Chain, at: &AtBlock, subject: Subject) -> anyhow::Result<()> {
		let (order, round, position) = subject;
		let inputs = match claim_inputs(at, order, round, Claim::InvalidWorkAccepted, position).await {
			Ok(inputs) => inputs,
			// Settled or gone since the listing: nothing left to challenge.
			Err(JobError::NotFound(_)) => return Ok(()),
			Err(e) => return Err(anyhow::anyhow!("{e}")),
		};
		if let Err(e) =
			fetch_missing(&self.store, &inputs, self.config.max_artifact_bytes, Some(&self.key)).await
		{
			tracing::info!(order, round, position, error = %e, "artifacts not available yet");
			return Ok(());
		}
		let (store, config, examined) = (self.store.clone(), self.config, inputs.clone());
		let finding =
			tokio::task::spawn_blocking(move || first_invalid_segment(&store, &examined, &config))
				.await?;
		let finding = match finding {
			Ok(finding) => finding,
			Err(JobError::Unavailable(why)) => {
				tracing::info!(order, round, position, %why, "cannot examine yet");
				return Ok(());
			}
			Err(e) => return Err(anyhow::anyhow!("examining order {order} round {round} position {position}: {e}")),
		};
		let Some((segment, hashes)) = finding else {
			tracing::info!(order, round, position, "accepted work re-executes");
			return self.remember(&subject, "valid");
		};
		tracing::warn!(order, round, position, segment, "accepted work does not re-execute; challenging");
		let proof = match segment_proof(&hashes, segment) {
			Ok(proof) => proof,
			Err(e) => {
				// No readable checkpoint hashes: nothing to prove the segment against the root.
				tracing::warn!(order, round, position, error = %e, "invalid, but no segment proof can be made");
				return self.remember(&subject, &format!("invalid, unprovable: {e}"));
			}
		};
		let call = api::tx().pol().challenge(
			OrderId(order),
			round,
			position,
			ClaimKind::InvalidWorkAccepted,
			segment,
			proof,
		);
		let events = match chain.submit(&call, &self.key).await {
			Ok(events) => events,
			Err(e) => {
				// Refused (the window closed, another challenge on it, no bond): not retried.
				tracing::warn!(order, round, position, error = %e, "the challenge was refused");
				return self.remember(&subject, &format!("challenge refused: {e}"));
			}
		};
		self.remember(&subject, &format!("challenged at segment {segment}"))?;
		let opened = events.find_first::<api::pol::events::ChallengeOpened>().transpose()?;
		if let Some(opened) = opened {
			tracing::info!(order, round, position, segment, challenge = opened.id, "challenge opened");
			let at = chain.client().at_current_block().await?;
			let inputs = ChallengeInputs { segment, ..inputs };
			self.share_with_committee(&at, &inputs, &opened.committee.0).await;
		}
		Ok(())
	}

	/// Uploads every artifact a verdict on `inputs` reads to each committee member's service
	/// (failures are logged: a member can still fetch from the accused validator).
	async fn share_with_committee(&self, at: &AtBlock, inputs: &ChallengeInputs, committee: &[AccountId32]) {
		for member in committee {
			let shared = async {
				let endpoint = endpoint_of(at, member).await?;
				let client = ArtifactClient::new(&endpoint)?.signed_by(Some(&self.key));
				for (kind, hash) in inputs.needed() {
					let Some(bytes) = self.store.get(kind, &hash)? else { continue };
					let model = (kind == Kind::Weights).then_some(inputs.round.task.model);
					client.put(kind, &hash, bytes, model.as_ref()).await?;
				}
				anyhow::Ok(endpoint)
			}
			.await;
			match shared {
				Ok(endpoint) => tracing::info!(member = %member, %endpoint, "artifacts handed to a committee member"),
				Err(e) => tracing::warn!(member = %member, error = %format!("{e:#}"), "could not hand the artifacts to a committee member"),
			}
		}
	}
}

/// Every recorded, unsettled round result at `at`, with its run's validator.
async fn recorded_rounds(at: &AtBlock) -> anyhow::Result<Vec<WatchedRound>> {
	let storage = at.storage();
	let mut out = Vec::new();
	let mut records = storage.iter(api::storage().pol().round_results(), ()).await?;
	while let Some(entry) = records.next().await {
		let entry = entry?;
		let (order, round) = entry.key()?.decode()?;
		let record = entry.value().decode()?;
		let Some(run) = storage.try_fetch(api::storage().pol().runs(), (order.clone(),)).await? else {
			continue;
		};
		let run = run.decode()?;
		let accepted = record
			.verdicts
			.0
			.iter()
			.filter(|v| matches!(v.verdict, Verdict::Accepted { .. }) && !v.overturned)
			.map(|v| v.position)
			.collect();
		out.push(WatchedRound {
			order: order.0,
			round,
			validator: run.validator.0,
			window_end: u64::from(record.window_end),
			accepted,
		});
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn round(order: u64, validator: u8, window_end: u64, accepted: Vec<u32>) -> WatchedRound {
		WatchedRound { order, round: 0, validator: [validator; 32], window_end, accepted }
	}

	#[test]
	fn only_other_validators_open_acceptances_not_yet_seen_are_examined() {
		let me = [1; 32];
		let rounds = vec![
			// Mine: my own verification stands for it.
			round(1, 1, 100, vec![0, 1]),
			// Another validator's, window open.
			round(2, 2, 100, vec![0, 2]),
			// Another validator's, window closed.
			round(3, 2, 99, vec![0]),
			// Nothing accepted.
			round(4, 3, 100, vec![]),
		];
		assert_eq!(subjects(&rounds, &me, 100, |_| false), vec![(2, 0, 0), (2, 0, 2)]);
		assert_eq!(subjects(&rounds, &me, 100, |s| *s == (2, 0, 0)), vec![(2, 0, 2)]);
		assert_eq!(subjects(&rounds, &me, 101, |_| false), Vec::<Subject>::new());
	}
}
