//! Child processes of the end-to-end tests (verifier services, providers, consumers) beside
//! the nodes of a [`crate::Network`]: spawned from the workspace's binaries, logged to files,
//! killed when the test ends.

use crate::node_binary;
use anyhow::{bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Child processes (other than nodes) killed when the test ends, however it ends.
pub struct Processes {
	/// Where the logs go.
	pub dir: PathBuf,
	children: BTreeMap<String, (Vec<String>, PathBuf, Child)>,
}

impl Processes {
	/// No processes yet; logs go to `dir`.
	pub fn new(dir: PathBuf) -> Self {
		Self { dir, children: BTreeMap::new() }
	}
}

impl Processes {
	/// The workspace binary `name` (beside `pot-node`).
	pub fn bin(name: &str) -> Result<PathBuf> {
		let path = node_binary()?.with_file_name(name);
		ensure!(path.is_file(), "{} is missing; build the workspace first", path.display());
		Ok(path)
	}

	/// Starts `bin args…` as `name`, output appended to `<dir>/<name>.log`.
	pub fn spawn(&mut self, name: &str, bin: &str, args: &[String]) -> Result<()> {
		let log = self.dir.join(format!("{name}.log"));
		let out = File::options().create(true).append(true).open(&log)?;
		let child = Command::new(Self::bin(bin)?)
			.args(args)
			.stdin(Stdio::null())
			.stdout(out.try_clone()?)
			.stderr(out)
			.spawn()
			.with_context(|| format!("starting {name}"))?;
		self.children.insert(name.into(), (std::iter::once(bin.to_owned()).chain(args.iter().cloned()).collect(), log, child));
		Ok(())
	}

	/// SIGKILLs `name` and starts it again with the same command line.
	pub fn kill_and_restart(&mut self, name: &str) -> Result<()> {
		let (command, _, mut child) =
			self.children.remove(name).with_context(|| format!("no process {name}"))?;
		child.kill()?;
		child.wait()?;
		let (bin, args) = command.split_first().context("empty command")?;
		self.spawn(name, bin, args)
	}

	/// Waits up to `timeout` for `name` to exit and returns its status; fails if another
	/// process exits first or the time runs out (the process is then killed).
	pub async fn wait(
		&mut self,
		name: &str,
		timeout: std::time::Duration,
	) -> Result<std::process::ExitStatus> {
		let started = std::time::Instant::now();
		loop {
			let (_, log, child) =
				self.children.get_mut(name).with_context(|| format!("no process {name}"))?;
			if let Some(status) = child.try_wait()? {
				let log = log.clone();
				self.children.remove(name);
				ensure!(status.success(), "{name} exited with {status}; log:\n{}", tail(&log));
				return Ok(status);
			}
			if started.elapsed() > timeout {
				let log = log.clone();
				let _ = child.kill();
				bail!("{name} did not finish in {timeout:?}; log:\n{}", tail(&log));
			}
			for (other, (_, log, child)) in &mut self.children {
				if other != name {
					if let Some(status) = child.try_wait()? {
						bail!("{other} exited with {status}; log:\n{}", tail(log));
					}
				}
			}
			tokio::time::sleep(std::time::Duration::from_millis(500)).await;
		}
	}

	/// The log file of `name`.
	pub fn log(&self, name: &str) -> PathBuf {
		self.dir.join(format!("{name}.log"))
	}

	/// Fails if a process exited, with the end of its log.
	pub fn ensure_alive(&mut self) -> Result<()> {
		for (name, (_, log, child)) in &mut self.children {
			if let Some(status) = child.try_wait()? {
				bail!("{name} exited with {status}; log:\n{}", tail(log));
			}
		}
		Ok(())
	}
}

impl Drop for Processes {
	fn drop(&mut self) {
		for (_, _, child) in self.children.values_mut() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}

/// The last 30 lines of the file at `path`.
pub fn tail(path: &Path) -> String {
	let text = std::fs::read_to_string(path).unwrap_or_default();
	let lines: Vec<&str> = text.lines().collect();
	lines.iter().skip(lines.len().saturating_sub(30)).copied().collect::<Vec<_>>().join("\n")
}

/// The JSON lines (`--json` events) in the log at `path`, each echoed to stderr prefixed with
/// `who` so that a failing test shows what happened.
pub fn json_events(path: &Path, who: &str) -> Result<Vec<serde_json::Value>> {
	let log = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
	let events: Vec<serde_json::Value> = log
		.lines()
		.filter(|l| l.starts_with('{'))
		.filter_map(|l| serde_json::from_str(l).ok())
		.collect();
	for e in &events {
		eprintln!("{who}: {e}");
	}
	Ok(events)
}

/// `v` as a `String` (for argument lists).
pub fn s(v: impl ToString) -> String {
	v.to_string()
}

/// Runs `pot-trainer args…` to completion; fails with its output if it fails.
pub fn run_trainer(args: &[String]) -> Result<String> {
	let out = Command::new(Processes::bin("pot-trainer")?).args(args).output()?;
	let text = format!(
		"{}{}",
		String::from_utf8_lossy(&out.stdout),
		String::from_utf8_lossy(&out.stderr)
	);
	ensure!(out.status.success(), "pot-trainer {args:?} failed:\n{text}");
	Ok(text)
}

