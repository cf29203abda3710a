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
			&[
				"train",
				"--task",
				"task.json",
				"--initial-weights",
				"init.safetensors",
				"--out",
				out,
			],
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

fn write_idx(path: &Path, dims: &[u32], data: &[u8]) {
	let mut out = vec![0, 0, 0x08, dims.len() as u8];
	for d in dims {
		out.extend_from_slice(&d.to_be_bytes());
	}
	out.extend_from_slice(data);
	std::fs::write(path, out).unwrap();
}

#[test]
fn idx_files_train_verify_and_evaluate() {
	// The first 600 digits as an MNIST-format pair, pixels stretched to 0..255.
	let digits = pot_trainer::data::digits().unwrap();
	let dir = tempfile::tempdir().unwrap();
	let d = dir.path();
	let pixels: Vec<u8> = digits.pixels[..600 * 64].iter().map(|&p| p * 15).collect();
	write_idx(&d.join("images"), &[600, 8, 8], &pixels);
	write_idx(&d.join("labels"), &[600], &digits.labels[..600]);
	let data = ["--idx-images", "images", "--idx-labels", "labels"];
	let run = |args: &[&str]| pot_trainer(d, &[args, &data[..]].concat());
	let new = run(&[
		"new-task",
		"--model",
		"cnn",
		"--task",
		"task.json",
		"--initial-weights",
		"init.safetensors",
		"--steps",
		"20",
		"--checkpoint-interval",
		"10",
	]);
	assert!(new.status.success(), "{new:?}");
	let train = run(&[
		"train",
		"--task",
		"task.json",
		"--initial-weights",
		"init.safetensors",
		"--out",
		"p",
	]);
	assert!(train.status.success(), "{train:?}");
	let verify = run(&[
		"verify",
		"--task",
		"task.json",
		"--initial-weights",
		"init.safetensors",
		"--proof",
		"p",
		"--seed",
		SEED,
	]);
	assert_eq!(verify.status.code(), Some(0), "{verify:?}");
	let eval = run(&["eval", "--task", "task.json", "--weights", "p/final.safetensors"]);
	assert!(String::from_utf8_lossy(&eval.stdout).contains("accuracy"), "{eval:?}");
	// The digits' training split is another data set: the task does not accept it.
	let wrong = pot_trainer(
		d,
		&["train", "--task", "task.json", "--initial-weights", "init.safetensors", "--out", "q"],
	);
	assert!(!wrong.status.success());
}

#[test]
fn transformer_trains_and_verifies_on_a_text_file() {
	let dir = tempfile::tempdir().unwrap();
	let d = dir.path();
	std::fs::write(d.join("text.txt"), include_bytes!("../README.md")).unwrap();
	let text = ["--text", "text.txt", "--text-context", "16", "--text-stride", "7"];
	fn with<'a>(args: &[&'a str], text: &[&'a str]) -> Vec<&'a str> {
		[args, text].concat()
	}
	let new = pot_trainer(
		d,
		&with(
			&[
				"new-task",
				"--task",
				"task.json",
				"--initial-weights",
				"init.safetensors",
				"--model",
				"transformer",
				"--steps",
				"20",
				"--checkpoint-interval",
				"10",
				"--batch-size",
				"8",
			],
			&text,
		),
	);
	assert!(new.status.success(), "{new:?}");
	let base = ["--task", "task.json", "--initial-weights", "init.safetensors"];
	let train = pot_trainer(d, &with(&[&["train"], &base[..], &["--out", "p"]].concat(), &text));
	assert!(train.status.success(), "{train:?}");
	let verify = pot_trainer(
		d,
		&with(&[&["verify"], &base[..], &["--proof", "p", "--seed", SEED]].concat(), &text),
	);
	assert!(verify.status.success(), "{verify:?}");
	// The digits are not what this task was made for.
	let digits = pot_trainer(d, &[&["train"], &base[..], &["--out", "q"]].concat());
	assert!(!digits.status.success());
	// A transformer needs text.
	let wrong = pot_trainer(
		d,
		&[
			"new-task",
			"--task",
			"t2.json",
			"--initial-weights",
			"i2.safetensors",
			"--model",
			"transformer",
		],
	);
	assert!(!wrong.status.success());
}

#[test]
fn a_torchscript_module_file_becomes_a_task_that_trains_and_verifies() {
	let dir = tempfile::tempdir().unwrap();
	let d = dir.path();
	// A real TorchScript file: the digits MLP (64-32-10) traced by libtorch and saved.
	let spec = pot_trainer::model::ModelSpec::Mlp { inputs: 64, hidden: vec![32], classes: 10 };
	let example = tch::Tensor::zeros([4, 64], (tch::Kind::Float, tch::Device::Cpu));
	let traced = pot_trainer::model::trace(spec.build().unwrap().as_ref(), &example).unwrap();
	let pot_trainer::model::ModelSpec::TorchScript { module, .. } = traced else { unreachable!() };
	std::fs::write(d.join("mlp.pt"), module).unwrap();

	let params = [
		"layer0.weight:32x64",
		"layer0.bias:32",
		"layer1.weight:10x32",
		"layer1.bias:10",
	];
	let mut args = vec!["model-spec", "--torchscript", "mlp.pt", "--out", "model.json"];
	for p in &params {
		args.extend(["--param", p]);
	}
	let made = pot_trainer(d, &args);
	assert!(made.status.success(), "{made:?}");
	assert!(stdout_line(&made, "model ").len() > 64, "{made:?}");
	// A file that is no TorchScript module is refused with the reason.
	std::fs::write(d.join("junk.pt"), b"junk").unwrap();
	let junk = pot_trainer(
		d,
		&["model-spec", "--torchscript", "junk.pt", "--param", "w:2x2", "--out", "junk.json"],
	);
	assert!(!junk.status.success());
	assert!(String::from_utf8_lossy(&junk.stderr).contains("not a TorchScript module"), "{junk:?}");

	let new = pot_trainer(
		d,
		&[
			"new-task",
			"--task",
			"task.json",
			"--initial-weights",
			"init.safetensors",
			"--model-spec",
			"model.json",
			"--steps",
			"30",
			"--checkpoint-interval",
			"10",
		],
	);
	assert!(new.status.success(), "{new:?}");
	let train = pot_trainer(
		d,
		&["train", "--task", "task.json", "--initial-weights", "init.safetensors", "--out", "p"],
	);
	assert!(train.status.success(), "{train:?}");
	let root = stdout_line(&train, "merkle_root ");
	let ok = pot_trainer(
		d,
		&[
			"verify",
			"--task",
			"task.json",
			"--initial-weights",
			"init.safetensors",
			"--proof",
			"p",
			"--seed",
			SEED,
			"--committed-root",
			&root,
		],
	);
	assert_eq!(ok.status.code(), Some(0), "{ok:?}");
}

#[test]
fn the_cpu_is_the_default_device_and_a_gpu_is_used_only_where_one_can_run() {
	let dir = tempfile::tempdir().unwrap();
	let d = dir.path();
	let new = pot_trainer(
		d,
		&["new-task", "--task", "task.json", "--initial-weights", "init.safetensors", "--steps", "20"],
	);
	assert!(new.status.success(), "{new:?}");
	let train = |out: &str, device: &[&str]| {
		let mut args =
			vec!["train", "--task", "task.json", "--initial-weights", "init.safetensors", "--out", out];
		args.extend_from_slice(device);
		pot_trainer(d, &args)
	};
	let profile = |out: &str| -> serde_json::Value {
		let manifest = std::fs::read(d.join(out).join("manifest.json")).unwrap();
		serde_json::from_slice::<serde_json::Value>(&manifest).unwrap()["profile"]["name"].clone()
	};
	let (default, cpu) = (train("default", &[]), train("cpu", &["--device", "cpu"]));
	assert!(default.status.success() && cpu.status.success(), "{default:?} {cpu:?}");
	assert_eq!(stdout_line(&default, "merkle_root "), stdout_line(&cpu, "merkle_root "));
	assert_eq!(profile("cpu"), "cpu-avx2-strict");

	let unknown = train("unknown", &["--device", "gpu"]);
	assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
	assert!(String::from_utf8_lossy(&unknown.stderr).contains("is not a device"), "{unknown:?}");

	let gpu = train("gpu", &["--device", "cuda"]);
	let stderr = String::from_utf8_lossy(&gpu.stderr);
	let refusal = if !tch::utils::has_cudart() {
		Some("built without CUDA")
	} else if tch::Cuda::device_count() == 0 {
		Some("no CUDA GPU is visible")
	} else {
		None
	};
	match refusal {
		Some(reason) => {
			assert!(!gpu.status.success() && stderr.contains(reason), "{gpu:?}");
			assert!(!d.join("gpu").exists(), "a refused run wrote nothing");
		}
		None => {
			assert!(gpu.status.success(), "{gpu:?}");
			assert_eq!(profile("gpu"), "cuda-strict");
			// The bitwise-exact task names the CPU profile: a CPU verifier refuses the GPU's
			// proof for its profile, a GPU verifier re-executes it.
			let verify = |device: &str| {
				pot_trainer(
					d,
					&[
						"verify", "--task", "task.json", "--initial-weights", "init.safetensors",
						"--proof", "gpu", "--seed", SEED, "--json", "--device", device,
					],
				)
			};
			let on_cpu = verify("cpu");
			assert_eq!(on_cpu.status.code(), Some(2), "{on_cpu:?}");
			assert!(String::from_utf8_lossy(&on_cpu.stdout).contains("profile"), "{on_cpu:?}");
			let on_gpu = verify("cuda");
			assert_eq!(on_gpu.status.code(), Some(0), "{on_gpu:?}");
		}
	}
}
