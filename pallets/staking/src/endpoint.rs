//! Shape check of a validator's artifact endpoint URL.
//!
//! Accepted: `http://` or `https://`, then a host — a DNS name (labels of ASCII letters, digits
//! and `-`, not starting or ending with `-`, separated by single dots), an IPv4 address (which
//! is a DNS-shaped name) or an IPv6 address in brackets — then optionally `:port` (1–65535),
//! then optionally a path starting with `/`. Only printable ASCII without spaces is allowed
//! anywhere; no user info (`@`), query or fragment before the path.

/// Whether `url` has the shape of an artifact endpoint URL.
pub fn is_valid_endpoint(url: &[u8]) -> bool {
	let Some(rest) = url.strip_prefix(b"https://").or_else(|| url.strip_prefix(b"http://")) else {
		return false;
	};
	if !rest.iter().all(|b| b.is_ascii_graphic()) {
		return false;
	}
	let (authority, _path) = match rest.iter().position(|b| *b == b'/') {
		Some(i) => match rest.split_at_checked(i) {
			Some(parts) => parts,
			None => return false,
		},
		None => (rest, &[][..]),
	};
	let (host_ok, port) = if let Some(v6) = authority.strip_prefix(b"[") {
		let Some(close) = v6.iter().position(|b| *b == b']') else { return false };
		let Some((addr, after)) = v6.split_at_checked(close) else { return false };
		let after = after.strip_prefix(b"]").unwrap_or(after);
		let port = match after {
			[] => None,
			[b':', port @ ..] => Some(port),
			_ => return false,
		};
		(valid_ipv6(addr), port)
	} else {
		match authority.iter().position(|b| *b == b':') {
			Some(i) => match authority.split_at_checked(i) {
				Some((host, colon_port)) => (valid_dns(host), colon_port.strip_prefix(b":")),
				None => return false,
			},
			None => (valid_dns(authority), None),
		}
	};
	host_ok && port.is_none_or(valid_port)
}

/// A DNS name or IPv4 address: dot-separated non-empty labels of letters, digits and `-`, no
/// label starting or ending with `-`.
fn valid_dns(host: &[u8]) -> bool {
	!host.is_empty()
		&& host.split(|b| *b == b'.').all(|label| {
			!label.is_empty()
				&& label.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
				&& label.first() != Some(&b'-')
				&& label.last() != Some(&b'-')
		})
}

/// An IPv6 address (shape only): hex digits, colons, and dots for an embedded IPv4 address,
/// with at least two colons.
fn valid_ipv6(addr: &[u8]) -> bool {
	addr.iter().all(|b| b.is_ascii_hexdigit() || *b == b':' || *b == b'.')
		&& addr.iter().filter(|b| **b == b':').count() >= 2
}

/// A decimal port from 1 to 65535.
fn valid_port(port: &[u8]) -> bool {
	if port.is_empty() || port.len() > 5 || !port.iter().all(|b| b.is_ascii_digit()) {
		return false;
	}
	let value = port
		.iter()
		.fold(0u32, |v, d| v.saturating_mul(10).saturating_add(u32::from(d.saturating_sub(b'0'))));
	(1..=65_535).contains(&value)
}

#[cfg(test)]
mod tests {
	use super::is_valid_endpoint;

	#[test]
	fn accepts_endpoint_shapes() {
		for url in [
			"http://localhost",
			"http://127.0.0.1:8000",
			"https://artifacts.example.org/pot/v1",
			"https://a-b.example:443/",
			"http://[::1]:9000/x",
			"http://[2001:db8::7]",
			"https://example.org/path?with=query",
		] {
			assert!(is_valid_endpoint(url.as_bytes()), "{url}");
		}
	}

	#[test]
	fn rejects_bad_shapes() {
		for url in [
			"",
			"ftp://example.org",
			"http://",
			"https:///path",
			"http://exa mple.org",
			"http://example.org/a b",
			"http://example.org\n",
			"http://example.org\t/x",
			"http://-bad.example",
			"http://bad-.example",
			"http://a..b",
			"http://.a",
			"http://user@example.org",
			"http://example.org:0",
			"http://example.org:65536",
			"http://example.org:",
			"http://example.org:80:80",
			"http://example.org:http",
			"http://[::1",
			"http://[zz::1]",
			"http://[::1]x",
			"http://example.org?q",
			"HTTP://example.org",
			"http://\u{e9}.example",
		] {
			assert!(!is_valid_endpoint(url.as_bytes()), "{url:?}");
		}
	}
}
