//! The verifier (PROTOCOL.md step 5): checks a proof directory against the task and
//! re-executes the selected segments.
//!
//! Checks, in order: the manifest names the task's model, dataset, initial weights, order,
//! round, provider, H and k; the initial weights given to the verifier hash to the task's
//! `initial_weights`, and checkpoint 0 is exactly those weights with zero optimizer state;
//! there is one checkpoint per scheduled step and each file hashes to its manifest entry; the
//! Merkle root over those hashes is the manifest's (and the committed one, when given); the final
//! weights hash is the last checkpoint's; the recorded minibatches are the ones `(order, round,
//! seed, provider)` fix. Then `pot-pol-core` selects Q segments (half by largest update norm,
//! the rest at random from the verification seed and the Merkle root), and each is re-executed
//! from its first checkpoint and compared with its last: l2 and l∞ distance of the weights,
//! cosine similarity of the two segment updates, equality of the checkpoint hash and of the
//! recorded losses. The submission is accepted only if every check passes.

use crate::{
	checkpoint::{flat_params, weights_hash, Checkpoint},
	data::Samples,
	error::{Error, Result},
	model::{Model, Params},
	proof::{entry_path, Manifest},
	task::{Tolerance, TrainTask},
	train::Session,
};
use pot_pol_core::{
	merkle, schedule,
	select::{min_samples, select_segments, DEFAULT_FORGED, DEFAULT_MAX_MISS_PPM},
	Hash,
};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::Device;

/// Re-execution of one segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentReport {
	/// Segment index.
	pub index: u32,
	/// First step.
	pub start: u64,
	/// End step (exclusive).
	pub end: u64,
	/// l2 distance of re-executed and committed weights.
	pub l2: f64,
	/// l∞ distance of re-executed and committed weights.
	pub linf: f64,
	/// Cosine similarity of the re-executed and the committed update over the segment.
	pub cosine: f64,
	/// Whether the re-executed checkpoint hashes to the committed one.
	pub hash_matches: bool,
	/// Whether the re-executed losses equal the recorded ones bit for bit.
	pub losses_match: bool,
	/// Within the tolerance.
	pub accepted: bool,
}

/// The verdict on a submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
	/// Every check passed.
	pub accepted: bool,
	/// What failed (empty when accepted).
	pub failures: Vec<String>,
	/// Segments selected for re-execution.
	pub selected: Vec<u32>,
	/// Their re-execution.
	pub segments: Vec<SegmentReport>,
	/// Update norm (l2) of every segment, as measured from the checkpoints.
	pub update_norms: Vec<f64>,
}

/// l2, l∞ and cosine of `(a − start)` vs `(b − start)`; `a` re-executed, `b` committed.
pub fn distances(start: &[f32], a: &[f32], b: &[f32]) -> (f64, f64, f64) {
	let (mut l2, mut linf, mut dot, mut na, mut nb) = (0f64, 0f64, 0f64, 0f64, 0f64);
	for ((&s, &x), &y) in start.iter().zip(a).zip(b) {
		let d = f64::from(x) - f64::from(y);
		l2 += d * d;
		linf = linf.max(d.abs());
		let (ua, ub) = (f64::from(x) - f64::from(s), f64::from(y) - f64::from(s));
		dot += ua * ub;
		na += ua * ua;
		nb += ub * ub;
	}
	let cosine = if na == 0.0 && nb == 0.0 {
		1.0
	} else if na == 0.0 || nb == 0.0 {
		0.0
	} else {
		dot / (na.sqrt() * nb.sqrt())
	};
	(l2.sqrt(), linf, cosine)
}

fn l2_norm_of_difference(a: &[f32], b: &[f32]) -> f64 {
	a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>().sqrt()
}

/// The l2 norm of each segment's update in the proof in `dir` (one per segment, in order), as
/// [`verify_with`] measures them to choose the largest-update segments.
pub fn segment_update_norms(task: &TrainTask, manifest: &Manifest, dir: &Path) -> Result<Vec<f64>> {
	let model = task.model.build()?;
	let mut norms = Vec::new();
	let mut previous: Option<Vec<f32>> = None;
	for entry in &manifest.checkpoints {
		let checkpoint = Checkpoint::load(&entry_path(dir, entry)?, model.as_ref(), &task.optimizer)?;
		let flat = flat_params(&checkpoint.params)?;
		if let Some(prev) = &previous {
			norms.push(l2_norm_of_difference(&flat, prev));
		}
		previous = Some(flat);
	}
	Ok(norms)
}

/// The segments a verifier re-executes for `task`: its Q, raised to [`min_samples`] for one
/// forged segment at `max_miss_ppm`, chosen by [`select_segments`] from the segments' update
/// norms, the round's verification seed and the proof's Merkle root.
pub fn selected_segments(
	task: &TrainTask,
	norms: &[f64],
	seed: &Hash,
	root: &Hash,
	max_miss_ppm: u32,
) -> Result<Vec<u32>> {
	fn pol(e: impl std::fmt::Debug) -> Error {
		Error::Pol(format!("{e:?}"))
	}
	let steps = u64::from(task.local_steps);
	let k = u64::from(task.checkpoint_interval);
	let segments = schedule::segment_count(steps, k).map_err(pol)?;
	let norm_keys: Vec<u64> = norms.iter().map(|n| n.to_bits()).collect();
	let q = task.verification_samples.max(
		min_samples(segments, DEFAULT_FORGED, max_miss_ppm, !norm_keys.is_empty()).map_err(pol)?,
	);
	select_segments(segments, q, &norm_keys, seed, root).map_err(pol)
}

/// Verifies the proof in `dir` for `task` on `train`, given the round's initial weights, the
/// verification seed and, optionally, the Merkle root committed on chain; re-executes enough
/// segments to catch one forged segment with probability ≥ 99% ([`verify_with`] at
/// [`DEFAULT_MAX_MISS_PPM`]).
pub fn verify(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	dir: &Path,
	seed: &Hash,
	committed_root: Option<&Hash>,
) -> Result<Report> {
	verify_with(task, train, initial, dir, seed, committed_root, DEFAULT_MAX_MISS_PPM)
}

/// [`verify`] re-executing `max(task Q, min_samples(segments, 1, max_miss_ppm))` segments:
/// enough that a single forged segment outside the largest updates is missed with probability
/// at most `max_miss_ppm / 10⁶`. `1_000_000` re-executes exactly the task's Q.
pub fn verify_with(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	dir: &Path,
	seed: &Hash,
	committed_root: Option<&Hash>,
	max_miss_ppm: u32,
) -> Result<Report> {
	verify_observed(
		task,
		train,
		initial,
		dir,
		seed,
		committed_root,
		max_miss_ppm,
		Device::Cpu,
		&mut |_, _| {},
	)
}

/// [`verify_with`] re-executing on `device` (prepared by [`crate::profile::prepare_device`]),
/// calling `at_segment(done, selected)` before the first and after each re-executed segment
/// (for a progress bar). A bitwise-exact task needs the proof's profile to be `device`'s; a
/// task with bounds is re-executed across profiles, each segment measured against them.
#[allow(clippy::too_many_arguments)]
pub fn verify_observed(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	dir: &Path,
	seed: &Hash,
	committed_root: Option<&Hash>,
	max_miss_ppm: u32,
	device: Device,
	at_segment: &mut dyn FnMut(usize, usize),
) -> Result<Report> {
	let (manifest, mut session, norms, root) =
		match check_whole(task, train, initial, dir, committed_root, device)? {
			WholeProof::Broken(report) => return Ok(report),
			WholeProof::Sound { manifest, session, norms, root } =>
				(manifest, session, norms, root),
		};
	let mut failures = Vec::new();
	let model_box = task.model.build()?;
	let model: &dyn Model = model_box.as_ref();

	// Re-execute under the prover's thread count: within the CPU profile, results of
	// convolutions depend on it (measured: l∞ ≈ 3e-8 after 20 CNN steps, 1 vs 2 threads).
	let threads = tch::get_num_threads();
	tch::set_num_threads(i32::try_from(manifest.profile.threads.clamp(1, 256)).unwrap_or(1));
	let outcome = reexecute(
		task,
		&manifest,
		&mut session,
		model,
		dir,
		(&norms, seed, &root, max_miss_ppm),
		at_segment,
	);
	tch::set_num_threads(threads);
	let (selected, reports) = outcome?;
	failures.extend(reports.iter().filter(|r| !r.accepted).map(|r| {
		format!(
			"segment {} (steps {}..{}) does not reproduce: l2 {:.3e}, l∞ {:.3e}, cosine {:.6}",
			r.index, r.start, r.end, r.l2, r.linf, r.cosine
		)
	}));
	Ok(Report {
		accepted: failures.is_empty(),
		failures,
		selected,
		segments: reports,
		update_norms: norms,
	})
}

/// A proof after [`check_whole`].
enum WholeProof {
	/// It fails a whole-proof check: the rejecting report.
	Broken(Report),
	/// It passes them: its manifest, the data session that re-executes it, the update norms
	/// between neighbouring checkpoints, and its Merkle root.
	Sound { manifest: Box<Manifest>, session: Box<Session>, norms: Vec<f64>, root: Hash },
}

/// The checks of a whole proof that come before any re-execution: the manifest against the
/// task (model, dataset, initial weights, order, round, provider, steps, interval, a profile a
/// bitwise task can re-execute), the checkpoint schedule, every checkpoint file against its
/// hash, checkpoint 0 against `initial` with fresh optimizer state, the Merkle root (and
/// `committed_root`), the final weights against the last checkpoint, and the minibatch of
/// every step against the one `(order, round, seed, provider)` assign.
fn check_whole(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	dir: &Path,
	committed_root: Option<&Hash>,
	device: Device,
) -> Result<WholeProof> {
	let mut failures = Vec::new();
	let manifest = match Manifest::read(dir) {
		Ok(m) => m,
		Err(e) => return Ok(WholeProof::Broken(rejected(vec![format!("manifest: {e}")]))),
	};
	let mut session = Session::new(task, train, device)?;
	let model_box = task.model.build()?;
	let model: &dyn Model = model_box.as_ref();
	let steps = u64::from(task.local_steps);
	let k = u64::from(task.checkpoint_interval);

	let header = [
		("model", manifest.model_hash == task.model_hash),
		("dataset", manifest.dataset == task.dataset),
		("initial weights", manifest.initial_weights == task.initial_weights),
		("order", manifest.order == task.round.order),
		("round", manifest.round == task.round.round),
		("provider", manifest.provider == task.round.provider),
		("steps", manifest.steps == steps),
		("checkpoint interval", manifest.checkpoint_interval == k),
	];
	let verifier_profile = crate::profile::ComputeProfile::on(device, manifest.profile.threads);
	let same_profile = manifest.profile.name == verifier_profile.name
		&& manifest.profile.torch == verifier_profile.torch;
	if task.tolerance == Tolerance::BitwiseExact && !same_profile {
		failures.push(format!(
			"proof computed under profile {:?}, bitwise re-execution on {device:?} needs {}",
			manifest.profile, verifier_profile.name
		));
	}
	for (what, ok) in header {
		if !ok {
			failures.push(format!("manifest {what} differs from the task"));
		}
	}
	if weights_hash(&initial)? != task.initial_weights.0 {
		return Err(Error::Task("the verifier's initial weights do not match the task".into()));
	}
	let count = schedule::checkpoint_count(steps, k).map_err(|e| Error::Pol(format!("{e:?}")))?;
	if manifest.checkpoints.len() != count as usize {
		failures
			.push(format!("{} checkpoints, the schedule has {count}", manifest.checkpoints.len()));
		return Ok(WholeProof::Broken(rejected(failures)));
	}
	if !failures.is_empty() {
		return Ok(WholeProof::Broken(rejected(failures)));
	}

	// Every checkpoint: schedule, file hash; update norms between neighbours.
	let mut norms = Vec::new();
	let mut previous: Option<Vec<f32>> = None;
	let mut last_params_hash = None;
	for (index, entry) in (0u32..).zip(&manifest.checkpoints) {
		if Some(entry.step) != schedule::checkpoint_step(steps, k, index) {
			failures.push(format!(
				"checkpoint {index} claims step {}, the schedule says otherwise",
				entry.step
			));
			continue;
		}
		let loaded =
			entry_path(dir, entry).and_then(|p| Checkpoint::load(&p, model, &task.optimizer));
		let checkpoint = match loaded {
			Ok(c) => c,
			Err(e) => {
				failures.push(format!("checkpoint {index}: {e}"));
				continue;
			}
		};
		if checkpoint.step != entry.step || checkpoint.hash()? != entry.hash.0 {
			failures.push(format!("checkpoint {index} does not hash to its manifest entry"));
		}
		let flat = flat_params(&checkpoint.params)?;
		if let Some(prev) = &previous {
			norms.push(l2_norm_of_difference(&flat, prev));
		}
		previous = Some(flat);
		last_params_hash = Some(weights_hash(&checkpoint.params)?);
	}
	let initial_checkpoint = Checkpoint::initial(&task.optimizer, initial)?;
	if manifest.checkpoints.first().map(|c| c.hash.0) != Some(initial_checkpoint.hash()?) {
		failures.push(
			"checkpoint 0 is not the task's initial weights with fresh optimizer state".into(),
		);
	}
	let root = merkle::root(&manifest.hashes()).map_err(|e| Error::Pol(format!("{e:?}")))?;
	if root != manifest.merkle_root.0 {
		failures.push("the Merkle root is not the root of the checkpoint hashes".into());
	}
	if committed_root.is_some_and(|c| *c != root) {
		failures.push("the checkpoints are not the ones committed on chain".into());
	}
	if last_params_hash != Some(manifest.final_weights.0) {
		failures.push("final_weights is not the hash of the last checkpoint's weights".into());
	}
	if manifest.losses.len() != steps as usize || manifest.batches.len() != steps as usize {
		failures.push("losses or minibatches not recorded for every step".into());
	} else {
		for (step, recorded) in (0u64..).zip(&manifest.batches) {
			if session.batch(step)? != *recorded {
				failures.push(format!(
					"step {step} used other samples than (order, round, seed, provider) assign"
				));
				break;
			}
		}
	}
	if !failures.is_empty() {
		return Ok(WholeProof::Broken(Report {
			accepted: false,
			failures,
			selected: vec![],
			segments: vec![],
			update_norms: norms,
		}));
	}
	Ok(WholeProof::Sound {
		manifest: Box::new(manifest),
		session: Box::new(session),
		norms,
		root,
	})
}

/// Why the proof in `dir` fails [`check_whole`] (empty: it passes), for a committee that
/// re-executes one disputed segment but must first know the proof backs its commitment as a
/// whole, as the round verifier did.
pub fn whole_proof_failures(
	task: &TrainTask,
	train: &dyn Samples,
	initial: Params,
	dir: &Path,
	committed_root: &Hash,
) -> Result<Vec<String>> {
	Ok(match check_whole(task, train, initial, dir, Some(committed_root), Device::Cpu)? {
		WholeProof::Broken(report) => report.failures,
		WholeProof::Sound { .. } => Vec::new(),
	})
}

/// Selects the segments and re-executes them.
#[allow(clippy::too_many_arguments)]
fn reexecute(
	task: &TrainTask,
	manifest: &Manifest,
	session: &mut Session,
	model: &dyn Model,
	dir: &Path,
	(norms, seed, root, max_miss_ppm): (&[f64], &Hash, &Hash, u32),
	at_segment: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<u32>, Vec<SegmentReport>)> {
	let steps = u64::from(task.local_steps);
	let k = u64::from(task.checkpoint_interval);
	let selected = selected_segments(task, norms, seed, root, max_miss_ppm)?;
	let mut reports = Vec::new();
	at_segment(0, selected.len());
	for &index in &selected {
		let (start, end) =
			schedule::segment_steps(steps, k, index).ok_or_else(|| Error::Pol("segment".into()))?;
		let (first, last) = match (
			manifest.checkpoints.get(index as usize),
			manifest.checkpoints.get((index as usize).saturating_add(1)),
		) {
			(Some(a), Some(b)) => (a, b),
			_ => return Err(Error::Pol("segment outside the manifest".into())),
		};
		let mut checkpoint = Checkpoint::load(&entry_path(dir, first)?, model, &task.optimizer)?
			.to_device(session.device())?;
		let committed = Checkpoint::load(&entry_path(dir, last)?, model, &task.optimizer)?;
		let start_flat = flat_params(&checkpoint.params)?;
		let log = session.run(&mut checkpoint, end)?;
		reports.push(compare_segment(
			task,
			manifest,
			index,
			(start, end),
			&start_flat,
			&checkpoint,
			&committed,
			&last.hash.0,
			&log.losses,
		)?);
		at_segment(reports.len(), selected.len());
	}
	Ok((selected, reports))
}

/// Re-executes segment `index` of the proof in `dir` for `task` on `train`, as a challenge's
/// committee does: the segment's two checkpoints must be the manifest's entries `index` and
/// `index + 1` and hash to `start` and `end` (the hashes proven on chain); then the k steps are
/// run from `start` under the prover's thread count and compared with `end` within the task's
/// tolerance. `Ok(Err(reason))` when the proof itself is broken (missing or mismatching
/// checkpoint files, minibatches other than the assigned ones): the segment does not reproduce.
pub fn reexecute_segment(
	task: &TrainTask,
	train: &dyn Samples,
	dir: &Path,
	index: u32,
	start: &Hash,
	end: &Hash,
) -> Result<std::result::Result<SegmentReport, String>> {
	let manifest = match Manifest::read(dir) {
		Ok(m) => m,
		Err(e) => return Ok(Err(format!("manifest: {e}"))),
	};
	let steps = u64::from(task.local_steps);
	let k = u64::from(task.checkpoint_interval);
	let Some((first_step, end_step)) = schedule::segment_steps(steps, k, index) else {
		return Ok(Err(format!("segment {index} is outside the task's schedule")));
	};
	let (first, last) = match (
		manifest.checkpoints.get(index as usize),
		manifest.checkpoints.get((index as usize).saturating_add(1)),
	) {
		(Some(a), Some(b)) => (a, b),
		_ => return Ok(Err(format!("segment {index} is outside the manifest"))),
	};
	if first.hash.0 != *start || last.hash.0 != *end {
		return Ok(Err(format!("the checkpoints of segment {index} are not the challenged ones")));
	}
	if first.step != first_step || last.step != end_step {
		return Ok(Err(format!("segment {index}'s checkpoints are not at the scheduled steps")));
	}
	let model_box = task.model.build()?;
	let model: &dyn Model = model_box.as_ref();
	let load = |entry| entry_path(dir, entry).and_then(|p| Checkpoint::load(&p, model, &task.optimizer));
	let (mut checkpoint, committed) = match (load(first), load(last)) {
		(Ok(a), Ok(b)) => (a, b),
		(Err(e), _) | (_, Err(e)) => return Ok(Err(format!("segment {index}'s checkpoints: {e}"))),
	};
	if checkpoint.hash()? != *start || committed.hash()? != *end {
		return Ok(Err(format!("segment {index}'s checkpoint files do not hash to their entries")));
	}
	let mut session = Session::new(task, train, Device::Cpu)?;
	if manifest.batches.len() != steps as usize {
		return Ok(Err("minibatches not recorded for every step".into()));
	}
	for step in first_step..end_step {
		if manifest.batches.get(step as usize) != Some(&session.batch(step)?) {
			return Ok(Err(format!("step {step} used other samples than the assignment's")));
		}
	}
	let start_flat = flat_params(&checkpoint.params)?;
	let threads = tch::get_num_threads();
	tch::set_num_threads(i32::try_from(manifest.profile.threads.clamp(1, 256)).unwrap_or(1));
	let log = session.run(&mut checkpoint, end_step);
	tch::set_num_threads(threads);
	let log = log?;
	Ok(Ok(compare_segment(
		task,
		&manifest,
		index,
		(first_step, end_step),
		&start_flat,
		&checkpoint,
		&committed,
		end,
		&log.losses,
	)?))
}

/// The report of segment `index` (steps `start..end`) re-executed from weights `start_flat`
/// to `reexecuted`, against the committed checkpoint `committed` (hash `committed_hash`) and the
/// losses the manifest recorded, under the task's tolerance.
#[allow(clippy::too_many_arguments)]
fn compare_segment(
	task: &TrainTask,
	manifest: &Manifest,
	index: u32,
	(start, end): (u64, u64),
	start_flat: &[f32],
	reexecuted: &Checkpoint,
	committed: &Checkpoint,
	committed_hash: &Hash,
	losses: &[f32],
) -> Result<SegmentReport> {
	let (l2, linf, cosine) =
		distances(start_flat, &flat_params(&reexecuted.params)?, &flat_params(&committed.params)?);
	let hash_matches = reexecuted.hash()? == *committed_hash;
	let recorded = manifest.losses.get(start as usize..end as usize).unwrap_or_default();
	let losses_match =
		losses.iter().map(|l| l.to_bits()).eq(recorded.iter().map(|l| l.to_bits()));
	let accepted = match task.tolerance {
		Tolerance::BitwiseExact => hash_matches && losses_match,
		Tolerance::Bounds { max_l2, max_linf, min_cosine } => {
			l2 <= max_l2 && linf <= max_linf && cosine >= min_cosine
		}
	};
	Ok(SegmentReport { index, start, end, l2, linf, cosine, hash_matches, losses_match, accepted })
}

fn rejected(failures: Vec<String>) -> Report {
	Report { accepted: false, failures, selected: vec![], segments: vec![], update_norms: vec![] }
}
