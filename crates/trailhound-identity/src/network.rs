//! Whether a call came from inside AWS: the address ranges AWS publishes as its own
//! (`ip-ranges.json`, service `AMAZON`), written into data/aws-ip-ranges.txt.gz by
//! scripts/aws-ip-ranges.

use std::io::Read;
use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;

static TABLE: &[u8] = include_bytes!("../data/aws-ip-ranges.txt.gz");

/// AWS's address ranges, as sorted (first, last) pairs.
struct Ranges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

static RANGES: LazyLock<Ranges> = LazyLock::new(|| {
    let mut text = String::new();
    // The table is built into the binary: a failure here is a broken build, and then no
    // address counts as AWS's (the signal only errs towards saying more).
    let _ = flate2::read::GzDecoder::new(TABLE).read_to_string(&mut text);
    let mut ranges = Ranges {
        v4: Vec::new(),
        v6: Vec::new(),
    };
    for line in text.lines() {
        match line.parse::<IpNet>() {
            Ok(IpNet::V4(net)) => ranges
                .v4
                .push((net.network().into(), net.broadcast().into())),
            Ok(IpNet::V6(net)) => ranges
                .v6
                .push((net.network().into(), net.broadcast().into())),
            Err(_) => {}
        }
    }
    ranges.v4.sort_unstable();
    ranges.v6.sort_unstable();
    ranges
});

fn within<T: Ord + Copy>(ranges: &[(T, T)], address: T) -> bool {
    let after = ranges.partition_point(|(first, _)| *first <= address);
    after > 0 && ranges[after - 1].1 >= address
}

/// Where a call's `sourceIPAddress` places it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An AWS service calling (`ec2.amazonaws.com`, `AWS Internal`), or an address AWS
    /// publishes as its own.
    Aws,
    /// A private, loopback or otherwise non-public address: a VPC endpoint or a network
    /// the call cannot be placed from.
    Private,
    /// A public address outside AWS's ranges.
    Outside,
}

/// Where `source_ip` places a call. Documentation addresses (198.51.100.0/24, …) count as
/// public: AWS's examples and the tests use them as outside addresses.
pub fn origin_of(source_ip: &str) -> Origin {
    let Ok(address) = source_ip.parse::<IpAddr>() else {
        // Service principals and "AWS Internal" are written as names.
        return Origin::Aws;
    };
    match address {
        IpAddr::V4(v4) => {
            if v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
            {
                Origin::Private
            } else if within(&RANGES.v4, u32::from(v4)) {
                Origin::Aws
            } else {
                Origin::Outside
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback()
                || v6.is_unspecified()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80
            {
                Origin::Private
            } else if within(&RANGES.v6, u128::from(v6)) {
                Origin::Aws
            } else {
                Origin::Outside
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_built_in_and_places_addresses() {
        assert!(RANGES.v4.len() > 1000, "{}", RANGES.v4.len());
        assert!(RANGES.v6.len() > 1000);
        // 3.0.0.0/15 and 52.94.0.0/22 are EC2 and AWS ranges; 198.51.100.7 is a documentation
        // address (outside); 10.1.2.3 is private.
        assert_eq!(origin_of("3.0.5.32"), Origin::Aws);
        assert_eq!(origin_of("52.94.0.10"), Origin::Aws);
        assert_eq!(origin_of("198.51.100.7"), Origin::Outside);
        assert_eq!(origin_of("203.0.113.9"), Origin::Outside);
        assert_eq!(origin_of("10.1.2.3"), Origin::Private);
        assert_eq!(origin_of("ec2.amazonaws.com"), Origin::Aws);
        assert_eq!(origin_of("AWS Internal"), Origin::Aws);
        assert_eq!(origin_of("2600:1f18::1"), Origin::Aws);
        assert_eq!(origin_of("2001:db8::1"), Origin::Outside);
        assert_eq!(origin_of("fd00::1"), Origin::Private);
    }
}
