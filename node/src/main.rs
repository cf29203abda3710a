//! `pot-node`: the PoT chain's node binary.

mod chain_spec;
mod cli;
mod command;
mod ports;
mod rpc;
mod service;

fn main() {
	if let Err(error) = command::run() {
		// Print the error's message, not its debug representation, and exit non-zero.
		eprintln!("Error: {error}");
		std::process::exit(1);
	}
}
