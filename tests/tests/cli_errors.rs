//! Bad command lines end with a clear `Error:` message and a non-zero exit code, never a panic.

use std::{
	net::TcpListener,
	process::{Command, Stdio},
	time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};

/// Runs `pot-node` with `args` and returns (exit code, stderr), failing if it is still running
/// after a minute (a node that should have refused to start).
fn run_node(args: &[&str]) -> Result<(i32, String)> {
	let dir = tempfile::tempdir()?;
	let stderr_path = dir.path().join("stderr");
	let mut child = Command::new(pot_tests::node_binary()?)
		.args(args)
		.stdout(Stdio::null())
		.stderr(std::fs::File::create(&stderr_path)?)
		.spawn()
		.context("starting pot-node")?;
	let deadline = Instant::now() + Duration::from_secs(60);
	let status = loop {
		if let Some(status) = child.try_wait()? {
			break status;
		}
		if Instant::now() > deadline {
			child.kill().ok();
			child.wait().ok();
			bail!("pot-node {args:?} kept running instead of exiting with an error");
		}
		std::thread::sleep(Duration::from_millis(100));
	};
	let stderr = std::fs::read_to_string(&stderr_path)?;
	Ok((status.code().unwrap_or(-1), stderr))
}

fn assert_clean_error(args: &[&str], expected: &str) -> Result<()> {
	let (code, stderr) = run_node(args)?;
	ensure!(code == 1, "pot-node {args:?} exited with {code}, expected 1; stderr:\n{stderr}");
	ensure!(!stderr.contains("panicked"), "pot-node {args:?} panicked:\n{stderr}");
	ensure!(
		stderr.contains(expected),
		"pot-node {args:?}: expected `{expected}` in stderr:\n{stderr}"
	);
	Ok(())
}

#[test]
fn unknown_chain_is_refused() -> Result<()> {
	assert_clean_error(&["--chain", "no-such-chain", "--tmp"], "unknown chain `no-such-chain`")
}

#[test]
fn malformed_chain_spec_file_is_refused() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let spec = dir.path().join("broken.json");
	std::fs::write(&spec, "{ \"name\": \"half a spec\", ")?;
	let spec = spec.to_str().context("temp path is not UTF-8")?;
	assert_clean_error(&["--chain", spec, "--tmp"], "invalid chain-spec file")
}

#[test]
fn rpc_port_in_use_is_refused() -> Result<()> {
	let listener = TcpListener::bind("127.0.0.1:0")?;
	let port = listener.local_addr()?.port().to_string();
	assert_clean_error(
		&["--dev", "--tmp", "--rpc-port", &port, "--no-prometheus", "--port", "0"],
		"is already in use",
	)
}

#[test]
fn validator_without_node_key_is_refused() -> Result<()> {
	let dir = tempfile::tempdir()?;
	let base = dir.path().to_str().context("temp path is not UTF-8")?;
	assert_clean_error(
		&["--chain", "local", "--validator", "--base-path", base, "--no-prometheus", "--rpc-port", "0"],
		"without network key",
	)
}
