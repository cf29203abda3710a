//! The checked-in chain specs must equal what the current runtime generates.

use std::{path::PathBuf, process::Command};

use anyhow::{ensure, Context, Result};
use serde_json::Value;

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
	let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../chain-spec").join(file);
	let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
	serde_json::from_str(&text).with_context(|| format!("parsing {path:?}"))
}

#[test]
fn checked_in_chain_specs_match_the_runtime() -> Result<()> {
	for chain in ["dev", "local"] {
		for raw in [false, true] {
			let file = if raw { format!("{chain}-raw.json") } else { format!("{chain}.json") };
			let generated = generated_spec(chain, raw)?;
			let checked_in = checked_in_spec(&file)?;
			ensure!(
				generated == checked_in,
				"chain-spec/{file} differs from what the runtime generates; \
				 run scripts/gen-chain-specs.sh and commit the result"
			);
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
