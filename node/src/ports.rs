//! Refuses to start when a port the operator asked for is taken. Substrate's RPC server would
//! otherwise move silently to a random port, and clients would talk to whichever process owns it.

use std::net::{IpAddr, SocketAddr, TcpListener};

use polkadot_sdk::{sc_network::multiaddr::Protocol, sc_service::Configuration};

/// Checks that the RPC, Prometheus and p2p TCP ports of `config` can be bound.
pub fn ensure_free(config: &Configuration) -> Result<(), String> {
	for endpoint in config.rpc.addr.iter().flatten() {
		check(endpoint.listen_addr, "RPC", "--rpc-port", endpoint.is_optional)?;
	}
	if let Some(prometheus) = &config.prometheus_config {
		check(prometheus.port, "Prometheus", "--prometheus-port", false)?;
	}
	for address in &config.network.listen_addresses {
		let mut ip = None;
		for protocol in address.iter() {
			match protocol {
				Protocol::Ip4(v4) => ip = Some(IpAddr::V4(v4)),
				Protocol::Ip6(v6) => ip = Some(IpAddr::V6(v6)),
				Protocol::Tcp(port) =>
					if let Some(ip) = ip {
						check(SocketAddr::new(ip, port), "p2p", "--port", false)?;
					},
				_ => {},
			}
		}
	}
	Ok(())
}

fn check(address: SocketAddr, service: &str, flag: &str, optional: bool) -> Result<(), String> {
	if address.port() == 0 {
		return Ok(());
	}
	match TcpListener::bind(address) {
		Ok(_) => Ok(()),
		Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => Err(format!(
			"{service} address {address} is already in use (is another node running?); \
			 choose a free port with {flag}"
		)),
		// An optional endpoint (e.g. IPv6 on a host without it) is skipped by the node too.
		Err(_) if optional => Ok(()),
		Err(error) => Err(format!("cannot listen for {service} on {address}: {error}")),
	}
}
