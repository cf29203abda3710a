//! The `pot-trainer` binary as a provider and a validator run it: it finds libtorch by itself
//! (rpath), re-executes itself under the compute profile, gives identical proofs in separate
//! processes, and its exit status says whether a proof was accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::{path::Path, process::Command};

fn pot_trainer(dir: &Path, args: &[&str]) -> std::process::Output {
	Command::new(env!("CARGO_BIN_EXE_pot-trainer"))
		.args(args)
		.current_dir(dir)
		// Nothing inherited: no LD_LIBRARY_PATH, no profile variables, no RUST_LOG.
		.env_clear()
		.output()
		.unwrap()
}

fn stdout_line(out: &std::process::Output, key: &str) -> String {
	let text = String::from_utf8_lossy(&out.stdout);
	text.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_default().trim().to_owned()
}

const SEED: &str = "0202020202020202020202020202020202020202020202020202020202020202";

#[test]
fn train_twice_verify_and_reject_a_tampered_proof() {
	let dir = tempfile::tempdir().unwrap();
	let d = dir.path();
	let new = pot_trainer(
		d,
		&[
			"new-task",
			"--task",
			"task.json",
			"--initial-weights",
			"init.safetensors",
			"--steps",
			"30",
			"--checkpoint-interval",
			"10",
		],
	);
	assert!(new.status.success(), "{new:?}");
	let train = |out: &str| {
		pot_trainer(
			d,
			&["train", "--task", "task.json", "--initial-weights", "init.safetensors", "--out", out],
		)
	};
	let (a, b) = (train("a"), train("b"));
	assert!(a.status.success(), "{a:?}");
	let root = stdout_line(&a, "merkle_root ");
	assert_eq!(root.len(), 64);
	assert_eq!(root, stdout_line(&b, "merkle_root "));

	let verify = |proof: &str, root: &str| {
		pot_trainer(
			d,
			&[
				"verify",
				"--task",
				"task.json",
				"--initial-weights",
				"init.safetensors",
				"--proof",
				proof,
				"--seed",
				SEED,
				"--committed-root",
				root,
				"--json",
			],
		)
	};
	let ok = verify("a", &root);
	assert_eq!(ok.status.code(), Some(0), "{ok:?}");
	let report: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
	assert_eq!(report["accepted"], true);

	// Flip one bit of a weight in the last checkpoint.
	let file = d.join("b/ckpt-000003.safetensors");
	let mut bytes = std::fs::read(&file).unwrap();
	let last = bytes.len() - 1;
	bytes[last] ^= 1;
	std::fs::write(&file, bytes).unwrap();
	let bad = verify("b", &root);
	assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}
