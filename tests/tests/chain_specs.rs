//! The checked-in chain specs must equal what the current runtime generates.
//!
//! Everything but the runtime code is compared byte for byte (as JSON). The code is compared
//! by a path-independent fingerprint (imports, export names, runtime version and APIs): the wasm
//! embeds the checkout path in panic locations and symbol hashes, so the
//! same commit built in another directory yields different bytes (see `docs/building.md`).

use std::process::Command;

use anyhow::{ensure, Context, Result};
use pot_tests::wasm_fingerprint::WasmFingerprint;
use serde_json::Value;

/// Storage key of the runtime code in a raw spec (`:code`).
const CODE_KEY: &str = "0x3a636f6465";

fn generated_spec(chain: &str, raw: bool) -> Result<Value> {
	let mut command = Command::new(pot_tests::node_binary()?);
	command.args(["build-spec", "--chain", chain, "--disable-default-bootnode"]);
	if raw {
		command.arg("--raw");
	}
	let output = command.output().context("running pot-node build-spec")?;
	ensure!(
		output.status.success(),
		"build-spec --chain {chain} failed: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).context("build-spec printed invalid JSON")
}

fn checked_in_spec(file: &str) -> Result<Value> {
	let path = pot_tests::workspace_root().join("chain-spec").join(file);
	let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
	serde_json::from_str(&text).with_context(|| format!("parsing {path:?}"))
}

/// Removes the runtime code from a plain or raw spec and returns it.
fn take_code(spec: &mut Value) -> Result<Vec<u8>> {
	let slot = match spec.pointer_mut("/genesis/runtimeGenesis/code") {
		Some(slot) => slot,
		None => spec
			.pointer_mut(&format!("/genesis/raw/top/{CODE_KEY}"))
			.context("spec has no runtime code")?,
	};
	let hex = slot.take();
	pot_tests::decode_hex(hex.as_str().context("code is not a string")?)
}

#[test]
fn checked_in_chain_specs_match_the_runtime() -> Result<()> {
	for chain in ["dev", "local"] {
		for raw in [false, true] {
			let file = if raw { format!("{chain}-raw.json") } else { format!("{chain}.json") };
			let stale = format!(
				"chain-spec/{file} differs from what the runtime generates; \
				 run scripts/gen-chain-specs.sh and commit the result"
			);
			let mut generated = generated_spec(chain, raw)?;
			let mut checked_in = checked_in_spec(&file)?;
			let generated_code = WasmFingerprint::of(&take_code(&mut generated)?)?;
			let checked_in_code = WasmFingerprint::of(&take_code(&mut checked_in)?)?;
			ensure!(generated == checked_in, "{stale} (genesis or metadata fields)");
			ensure!(generated_code == checked_in_code, "{stale} (runtime code)");
		}
	}
	Ok(())
}

#[test]
fn chain_specs_carry_token_properties() -> Result<()> {
	for file in ["dev.json", "local.json", "dev-raw.json", "local-raw.json"] {
		let spec = checked_in_spec(file)?;
		let properties = &spec["properties"];
		ensure!(properties["tokenSymbol"] == "POT", "{file}: token symbol {properties}");
		ensure!(properties["tokenDecimals"] == 12, "{file}: token decimals {properties}");
	}
	Ok(())
}
