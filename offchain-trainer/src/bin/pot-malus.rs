//! `pot-malus`: a cheating provider, for end-to-end tests of verification and slashing (in the
//! spirit of Polkadot's `malus`). It is `pot-trainer work` with one difference: every proof it
//! commits is forged (`pot_trainer::forge`) and resealed, so its hashes are consistent and only
//! the validator's re-execution can catch it. Never run it with funds you care about: its bond
//! is slashed for every rejected round.

use anyhow::Context;
use clap::Parser;
use pot_trainer::{
	forge::Forgery,
	profile::{self, ComputeProfile},
	work::{self, WorkArgs},
};

#[derive(Parser)]
#[command(name = "pot-malus", version, about = "A cheating PoT provider, for end-to-end tests")]
struct Cli {
	/// Intra-op threads of libtorch.
	#[arg(long, default_value_t = 1)]
	threads: u32,
	/// What to forge in every proof.
	#[arg(long, value_enum)]
	forgery: Forgery,
	#[command(flatten)]
	work: WorkArgs,
}

fn main() -> anyhow::Result<()> {
	let cli = Cli::parse();
	// The same compute profile as `pot-trainer`, so the honest part of a forged proof matches.
	if !profile::env_is_set() {
		return Err(profile::reexec_with_profile())
			.context("re-executing with the compute profile's environment");
	}
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
		)
		.with_writer(std::io::stderr)
		.init();
	profile::apply_in_process(cli.threads);
	work::run_forging(cli.work, ComputeProfile::cpu(cli.threads), cli.forgery)
}
