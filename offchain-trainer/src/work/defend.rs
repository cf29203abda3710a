//! The provider's defence against censorship (PROTOCOL.md step 6): when the validator's
//! recorded result rejects this provider's work, the provider re-executes the rejected segment
//! from its own proof; if it reproduces, it challenges the rejection (`ValidWorkRejected`) with
//! the segment's Merkle proof before the round's challenge window closes, and hands its proof
//! bundle and the model to every member of the drawn committee, so that the verdict does not
//! depend on the accused validator serving them.

use super::{assigned_chunk, endpoint_of, AtBlock, Worker};
use crate::{
	bundle,
	chain_task::{train_task, RoundAt},
	chunk::Chunk,
	proof::Manifest,
	store::Kind,
	verify::reexecute_segment,
};
use anyhow::Context;
use pot_client::{
	api::{
		self,
		runtime_types::{
			bounded_collections::bounded_vec::BoundedVec,
			pallet_pot_pol::types::{ClaimKind, RoundRecord, SegmentProof, Verdict},
			pot_primitives::ids::OrderId,
		},
	},
	subxt::utils::H256,
	Chain,
};
use pot_pol_core::{merkle, Hash};

/// Marker file of a round whose rejection this provider has dealt with (challenged, or found
/// right), so that a restart does not challenge twice.
fn marker(worker: &Worker, order: u64, round: u32) -> std::path::PathBuf {
	worker.state.proof_dir(order, round).with_extension("defended")
}

impl Worker {
	/// Looks at every recorded, unsettled round of `order` for a rejection of this provider's
	/// work at `position`: challenges it if the provider's own re-execution refutes it, and
	/// shares the proof with the committee of any open challenge on it.
	pub(super) async fn defend(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		order: u64,
		position: u32,
		now: u64,
	) -> anyhow::Result<()> {
		let mut records =
			at.storage().iter(api::storage().pol().round_results(), (OrderId(order),)).await?;
		let mut rejected = Vec::new();
		while let Some(entry) = records.next().await {
			let entry = entry?;
			let (_, round) = entry.key()?.decode()?;
			let record = entry.value().decode()?;
			let Some(verdict) = record.verdicts.0.iter().find(|v| v.position == position) else {
				continue;
			};
			if let Verdict::Rejected(rejection) = &verdict.verdict {
				if !verdict.overturned {
					rejected.push((round, rejection.segment, record));
				}
			}
		}
		for (round, segment, record) in rejected {
			let open: Vec<u64> = record
				.challenges
				.0
				.iter()
				.filter(|c| c.open && c.target == position && matches!(c.claim, ClaimKind::ValidWorkRejected))
				.map(|c| c.id)
				.collect();
			for id in open {
				if !self.shared.contains(&id) {
					self.share_with_committee(at, order, round, id).await?;
					self.shared.insert(id);
				}
			}
			let window_open = now <= u64::from(record.window_end);
			if window_open && !marker(self, order, round).exists() {
				self.challenge_rejection(chain, at, order, round, position, segment, &record)
					.await?;
			}
		}
		Ok(())
	}

	/// Re-executes the rejected `segment` of this provider's proof of `(order, round)` and, if
	/// it reproduces, challenges the rejection.
	#[allow(clippy::too_many_arguments)]
	async fn challenge_rejection(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		order: u64,
		round: u32,
		position: u32,
		segment: u32,
		record: &RoundRecord,
	) -> anyhow::Result<()> {
		let dir = self.state.proof_dir(order, round);
		if !dir.join(bundle::MANIFEST).exists() {
			// Nothing to prove with (the proof was lost): leave the rejection be.
			std::fs::write(marker(self, order, round), b"no proof")?;
			return Ok(());
		}
		let manifest = Manifest::read(&dir)?;
		let hashes = manifest.hashes();
		let (Some(start), Some(end)) = (
			hashes.get(segment as usize).copied(),
			hashes.get((segment as usize).saturating_add(1)).copied(),
		) else {
			std::fs::write(marker(self, order, round), b"segment outside the proof")?;
			return Ok(());
		};
		let Some(market_order) = at
			.storage()
			.try_fetch(api::storage().market().orders(), (OrderId(order),))
			.await?
			.map(|v| v.decode())
			.transpose()?
		else {
			return Ok(());
		};
		let run = at
			.storage()
			.try_fetch(api::storage().pol().runs(), (OrderId(order),))
			.await?
			.context("the run is gone")?
			.decode()?;
		let spec = market_order.task;
		let endpoint = endpoint_of(at, &run.validator).await?;
		let model = self.fetch_model(&endpoint, &spec.model.0).await?;
		let round_at = RoundAt {
			order,
			round,
			seed: record.seed.0,
			weights: record.weights.0,
			capacities: run.participants.0.iter().map(|p| p.capacity.0).collect(),
			position,
		};
		let mut task = train_task(&spec, model, &round_at).map_err(|e| anyhow::anyhow!("{e}"))?;
		task.local_steps = u32::try_from(manifest.steps)?;
		// The chunk the validator sent for the round, kept since training.
		let chunk_path = self.state.chunk_path(order, round);
		let bytes = std::fs::read(&chunk_path)
			.with_context(|| format!("the round's data chunk {}", chunk_path.display()))?;
		let train = Chunk::decode_verified(&bytes, &spec.dataset.0, &assigned_chunk(&task)?)?;
		let proof_dir = dir.clone();
		let report = tokio::task::spawn_blocking(move || {
			reexecute_segment(&task, &train, &proof_dir, segment, &start, &end)
		})
		.await??;
		let report = match report {
			Ok(report) if report.accepted => report,
			outcome => {
				self.report.warn(
					"rejection_confirmed",
					"the rejected segment does not reproduce here either; not challenged",
					serde_json::json!({ "order": order, "round": round, "segment": segment, "outcome": format!("{outcome:?}") }),
				);
				std::fs::write(marker(self, order, round), b"rejection confirmed")?;
				return Ok(());
			},
		};
		let proof = segment_proof(&hashes, segment)?;
		let call = api::tx().pol().challenge(
			OrderId(order),
			round,
			position,
			ClaimKind::ValidWorkRejected,
			segment,
			proof,
		);
		self.report.event(
			"challenging",
			"the validator rejected work that re-executes; challenging the rejection",
			serde_json::json!({ "order": order, "round": round, "segment": segment, "l2": report.l2, "hash_matches": report.hash_matches }),
		);
		chain.submit(&call, &self.signer).await.context("submitting the challenge")?;
		std::fs::write(marker(self, order, round), b"challenged")?;
		self.report.event(
			"challenged",
			"challenge finalized",
			serde_json::json!({ "order": order, "round": round, "segment": segment }),
		);
		Ok(())
	}

	/// Uploads this provider's proof of `(order, round)` and the order's model to every member
	/// of challenge `id`'s committee (each at its registered endpoint; failures are reported
	/// and skipped: the member can still fetch from the accused validator).
	async fn share_with_committee(
		&self,
		at: &AtBlock,
		order: u64,
		round: u32,
		id: u64,
	) -> anyhow::Result<()> {
		let Some(challenge) = at
			.storage()
			.try_fetch(api::storage().pol().challenges(), (id,))
			.await?
			.map(|v| v.decode())
			.transpose()?
		else {
			return Ok(());
		};
		let dir = self.state.proof_dir(order, round);
		let manifest = Manifest::read(&dir)?;
		let bundle = bundle::pack(&dir)?;
		let proof_hash = pot_pol_core::blake2_256(&bundle);
		let model_hash = manifest.model_hash.0;
		let model = std::fs::read(self.state.artifact_path("model", &model_hash)).ok();
		for (member, _) in &challenge.committee.0 {
			let shared = async {
				let endpoint = endpoint_of(at, member).await?;
				let client = self.artifacts(&endpoint)?;
				if let Some(model) = &model {
					client.put(Kind::Model, &model_hash, model.clone(), None).await?;
				}
				client.put(Kind::Proof, &proof_hash, bundle.clone(), None).await?;
				Ok::<_, anyhow::Error>(endpoint)
			}
			.await;
			match shared {
				Ok(endpoint) => self.report.event(
					"shared_proof",
					"proof handed to a committee member",
					serde_json::json!({ "challenge": id, "member": member.to_string(), "endpoint": endpoint }),
				),
				Err(e) => self.report.warn(
					"share_failed",
					"could not hand the proof to a committee member",
					serde_json::json!({ "challenge": id, "member": member.to_string(), "error": format!("{e:#}") }),
				),
			}
		}
		Ok(())
	}
}

/// The on-chain proof of segment `segment` (checkpoints `segment` and `segment + 1`) over the
/// checkpoint hashes `hashes`.
pub fn segment_proof(hashes: &[Hash], segment: u32) -> anyhow::Result<SegmentProof> {
	let path = |index: u32| -> anyhow::Result<BoundedVec<H256>> {
		let proof = merkle::prove(hashes, index).map_err(|e| anyhow::anyhow!("{e:?}"))?;
		Ok(BoundedVec(proof.siblings.into_iter().map(H256).collect()))
	};
	let hash = |index: u32| hashes.get(index as usize).copied().map(H256);
	let next = segment.checked_add(1).context("segment index overflow")?;
	Ok(SegmentProof {
		start: hash(segment).context("segment outside the proof")?,
		start_path: path(segment)?,
		end: hash(next).context("segment outside the proof")?,
		end_path: path(next)?,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn segment_proofs_verify_against_the_root() {
		let hashes: Vec<Hash> = (0u8..7).map(|i| [i; 32]).collect();
		let root = merkle::root(&hashes).unwrap_or_default();
		for segment in 0..6u32 {
			let proof = segment_proof(&hashes, segment).unwrap_or_else(|e| panic!("{e}"));
			for (hash, path, index) in [
				(proof.start, proof.start_path, segment),
				(proof.end, proof.end_path, segment + 1),
			] {
				let merkle_proof = merkle::MerkleProof {
					index,
					leaf_count: 7,
					siblings: path.0.iter().map(|h| h.0).collect(),
				};
				assert!(merkle::verify(&root, &hash.0, &merkle_proof), "segment {segment}");
			}
		}
		assert!(segment_proof(&hashes, 6).is_err(), "the last checkpoint starts no segment");
	}
}
