//! `pot-malus`: a cheating provider or a censoring validator, for end-to-end tests of
//! verification, challenges and slashing (in the spirit of Polkadot's `malus`). Never run it
//! with funds you care about: it is meant to be slashed.
//!
//! - `pot-malus work --forgery <kind> <work flags>`: `pot-trainer work`, but every proof it
//!   commits is forged (`pot_trainer::forge`) and resealed, so its hashes are consistent and
//!   only the validator's re-execution can catch it.
//! - `pot-malus serve --censor-position <p> [--censor-segment <s>] <serve flags>`:
//!   `pot-trainer serve` whose round results reject the submission at position `p` (at segment
//!   `s`) whatever its verification found: a validator leaving valid work unpaid, which the
//!   provider can challenge.
//! - `pot-malus serve --accept-all <serve flags>`: `pot-trainer serve` whose round results
//!   accept every submission, forged or not: a lazy validator, which another validator's
//!   watcher (`pot-trainer serve --watch`) can challenge.

use anyhow::Context;
use clap::{Parser, Subcommand};
use pot_trainer::{
	forge::Forgery,
	profile::{self, ComputeProfile},
	serve::{self, ServeArgs},
	work::{self, WorkArgs},
};

#[derive(Parser)]
#[command(name = "pot-malus", version, about = "A cheating PoT provider or validator, for end-to-end tests")]
struct Cli {
	/// Intra-op threads of libtorch.
	#[arg(long, default_value_t = 1, global = true)]
	threads: u32,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// A provider committing forged proofs.
	Work {
		/// What to forge in every proof.
		#[arg(long, value_enum)]
		forgery: Forgery,
		#[command(flatten)]
		work: WorkArgs,
	},
	/// A verifier service that rejects one position's submissions, valid or not, or accepts
	/// every submission.
	Serve {
		/// The run position whose submissions are always rejected.
		#[arg(long, required_unless_present = "accept_all", conflicts_with = "accept_all")]
		censor_position: Option<u32>,
		/// Accept every submission, whatever re-execution found.
		#[arg(long)]
		accept_all: bool,
		/// The segment the rejection names.
		#[arg(long, default_value_t = 0)]
		censor_segment: u32,
		#[command(flatten)]
		serve: ServeArgs,
	},
}

fn main() -> anyhow::Result<()> {
	let cli = Cli::parse();
	// The same compute profile as `pot-trainer`, so the honest part of its work matches.
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
	match cli.command {
		Command::Work { forgery, work } => {
			work::run_forging(work, ComputeProfile::cpu(cli.threads), forgery)
		},
		Command::Serve { censor_position, censor_segment, accept_all, serve } => {
			let malice = match censor_position {
				Some(position) if !accept_all => {
					serve::Malice::Censor(serve::Censor { position, segment: censor_segment })
				},
				_ => serve::Malice::AcceptAll,
			};
			serve::main_malicious(serve, malice)
		},
	}
}
