//! `pot-trainer ask`: a validator offers its cluster's training on the order book.

use crate::{chain_task::parse_pot, consumer::runtime};
use anyhow::Context;
use pot_client::{
	api::{
		self,
		runtime_types::pot_primitives::ids::{HardwareClass, RegionTag, WorkUnits},
	},
	account_of, keypair_from_suri, Chain,
};

/// `pot-trainer ask` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct AskArgs {
	/// The node's WebSocket RPC URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// The validator account's secret URI (`//Alice`, a mnemonic, …).
	#[arg(long)]
	pub suri: String,
	/// Price per work unit (one optimizer step of one provider), in POT.
	#[arg(long)]
	pub price: String,
	/// Work units offered (at most what the validator's bond covers).
	#[arg(long)]
	pub capacity: u64,
	/// Hardware classes (compute profile numbers) the cluster trains, comma separated.
	#[arg(long, value_delimiter = ',', default_value = "0")]
	pub hardware_class: Vec<u16>,
	/// Regions of the cluster, comma separated; none: unspecified.
	#[arg(long, value_delimiter = ',')]
	pub region: Vec<u16>,
	/// Replace the validator's current ask instead of placing a first one.
	#[arg(long)]
	pub update: bool,
}

/// Runs `pot-trainer ask`: places (or with `--update` replaces) the validator's ask and prints
/// the ask's id and any orders it matched at once.
pub fn run_ask(args: AskArgs) -> anyhow::Result<()> {
	let price = parse_pot(&args.price)?;
	let classes: Vec<HardwareClass> = args.hardware_class.iter().map(|c| HardwareClass(*c)).collect();
	let regions: Vec<RegionTag> = args.region.iter().map(|r| RegionTag(*r)).collect();
	runtime()?.block_on(async move {
		let chain = Chain::connect(&args.node).await?;
		let signer = keypair_from_suri(&args.suri)?;
		let market = api::tx().market();
		let events = if args.update {
			let call = market.update_ask(price, WorkUnits(args.capacity), classes, regions);
			chain.submit(&call, &signer).await
		} else {
			let call = market.place_ask(price, WorkUnits(args.capacity), classes, regions);
			chain.submit(&call, &signer).await
		}
		.with_context(|| format!("placing the ask of {}", account_of(&signer)))?;
		for placed in events.find::<api::market::events::AskPlaced>() {
			let placed = placed?;
			println!("ask {} placed by {}", placed.ask.0, account_of(&signer));
		}
		for updated in events.find::<api::market::events::AskUpdated>() {
			let updated = updated?;
			println!("ask {} updated", updated.ask.0);
		}
		for matched in events.find::<api::market::events::OrderMatched>() {
			let matched = matched?;
			println!("order {} matched", matched.order.0);
		}
		Ok(())
	})
}
