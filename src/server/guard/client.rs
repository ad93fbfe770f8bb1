//! Who the client is. The peer's address, unless the peer is a trusted reverse proxy
//! (`TRUSTED_PROXIES`): then the rightmost address in `X-Forwarded-For` that is not
//! itself a trusted proxy, the one address no client could forge (each proxy appends
//! the address it saw). From anyone else, `X-Forwarded-For` is ignored. Throttling, the
//! audit log and the sessions list all use this address. `X-Forwarded-Proto` and
//! `X-Forwarded-Host` are never read: origins come from `PUBLIC_ORIGIN`.

use std::net::IpAddr;

/// Addresses and CIDR ranges of reverse proxies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// `10.0.0.1, 192.168.0.0/16, ::1`; empty: none.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (address, bits) = item.split_once('/').unwrap_or((item, ""));
            let address: IpAddr = address.parse().map_err(|_| format!("not an address or CIDR range: {item:?}"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let bits = if bits.is_empty() { max } else { bits.parse().map_err(|_| format!("bad prefix: {item:?}"))? };
            if bits > max {
                return Err(format!("prefix longer than the address: {item:?}"));
            }
            ranges.push((address, bits));
        }
        Ok(TrustedProxies(ranges))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(range, bits)| in_range(ip, canonical(*range), *bits))
    }

    /// The client of a request from `peer` carrying these `X-Forwarded-For` values.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|value| value.split(',')).map(str::trim).collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.contains(ip) => continue,
                Ok(ip) => return canonical(ip),
                // Garbage where an address should be: nothing left of it can be trusted.
                Err(_) => return peer,
            }
        }
        peer // every hop a proxy of ours, or no header
    }
}

/// An IPv4-mapped IPv6 address is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn in_range(ip: IpAddr, range: IpAddr, bits: u8) -> bool {
    match (ip, range) {
        (IpAddr::V4(ip), IpAddr::V4(range)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(range) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(range)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(ip) & mask == u128::from(range) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let forged = ["6.6.6.6"];
        assert_eq!(proxies.client(ip("203.0.113.9"), forged.into_iter()), ip("203.0.113.9"), "forged by a client");
        assert_eq!(proxies.client(ip("127.0.0.1"), ["198.51.100.7"].into_iter()), ip("198.51.100.7"));
    }

    #[test]
    fn the_rightmost_address_that_is_not_a_proxy_wins() {
        let proxies = TrustedProxies::parse("10.0.0.0/8,127.0.0.1").unwrap();
        // The client forged "6.6.6.6"; nginx appended the address it saw; an inner
        // proxy appended nginx's.
        let header = ["6.6.6.6, 198.51.100.7", "10.1.2.3"];
        assert_eq!(proxies.client(ip("127.0.0.1"), header.into_iter()), ip("198.51.100.7"));
        assert_eq!(proxies.client(ip("127.0.0.1"), ["10.1.1.1, 10.2.2.2"].into_iter()), ip("127.0.0.1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), ["junk"].into_iter()), ip("127.0.0.1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), std::iter::empty()), ip("127.0.0.1"));
    }

    #[test]
    fn ranges_of_both_families_and_mapped_addresses() {
        let proxies = TrustedProxies::parse("192.168.0.0/16, 2001:db8::/32").unwrap();
        assert!(proxies.contains(ip("192.168.44.1")) && !proxies.contains(ip("192.169.0.1")));
        assert!(proxies.contains(ip("2001:db8:ffff::1")) && !proxies.contains(ip("2001:db9::1")));
        assert!(proxies.contains(ip("::ffff:192.168.1.1")));
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
        for bad in ["localhost", "10.0.0.0/33", "10.0.0.0/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
