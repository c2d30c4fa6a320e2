//! Logs Insights' address tests: `is_valid_ip(text, version)` (version 4, 6 or 0 for
//! either) and `ip_in_subnet(address, cidr)`. CloudTrail's `sourceIPAddress` holds a
//! service's name (`s3.amazonaws.com`) where AWS called on someone's behalf; such values are
//! not addresses and in no subnet.

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Whether `address` is in `cidr` (`10.0.0.0/8`, `2001:db8::/32`, or a single address).
fn in_subnet(address: &str, cidr: &str) -> Option<bool> {
    let address: IpAddr = address.trim().parse().ok()?;
    let (network, bits) = match cidr.trim().split_once('/') {
        Some((network, bits)) => (network.parse::<IpAddr>().ok()?, bits.parse::<u32>().ok()?),
        None => {
            let network: IpAddr = cidr.trim().parse().ok()?;
            (network, if network.is_ipv4() { 32 } else { 128 })
        }
    };
    Some(match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    })
}

fn is_valid(address: &str, version: i64) -> bool {
    matches!(
        (address.trim().parse::<IpAddr>(), version),
        (Ok(IpAddr::V4(_)), 4 | 0) | (Ok(IpAddr::V6(_)), 6 | 0)
    )
}

fn text(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(array, &DataType::Utf8)?)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct IsValidIp {
    signature: Signature,
}

impl ScalarUDFImpl for IsValidIp {
    udf_boilerplate!("is_valid_ip");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [_, version] if version.is_integer() => Ok(DataType::Boolean),
            _ => plan_err!("is_valid_ip(text, version) takes text and 4, 6 or 0 (either)"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let addresses = text(&arrays[0])?;
        let addresses = addresses.as_string::<i32>();
        let versions = arrow::compute::cast(&arrays[1], &DataType::Int64)?;
        let versions = versions.as_primitive::<Int64Type>();
        let mut out = BooleanBuilder::with_capacity(addresses.len());
        for row in 0..addresses.len() {
            if addresses.is_null(row) || versions.is_null(row) {
                out.append_null();
            } else {
                out.append_value(is_valid(addresses.value(row), versions.value(row)));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct IpInSubnet {
    signature: Signature,
}

impl ScalarUDFImpl for IpInSubnet {
    udf_boilerplate!("ip_in_subnet");

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [_, _] => Ok(DataType::Boolean),
            _ => plan_err!("ip_in_subnet(address, cidr) takes an address and a CIDR block"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (addresses, blocks) = (text(&arrays[0])?, text(&arrays[1])?);
        let (addresses, blocks) = (addresses.as_string::<i32>(), blocks.as_string::<i32>());
        let mut out = BooleanBuilder::with_capacity(addresses.len());
        for row in 0..addresses.len() {
            if addresses.is_null(row) || blocks.is_null(row) {
                out.append_null();
            } else {
                out.append_value(
                    in_subnet(addresses.value(row), blocks.value(row)).unwrap_or(false),
                );
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The address functions, to register with a session.
pub(crate) fn udfs() -> Vec<ScalarUDF> {
    let two = || Signature::any(2, Volatility::Immutable);
    vec![
        ScalarUDF::from(IsValidIp { signature: two() }),
        ScalarUDF::from(IpInSubnet { signature: two() }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_of_both_families_and_names_that_are_not_addresses() {
        assert_eq!(in_subnet("10.1.2.3", "10.0.0.0/8"), Some(true));
        assert_eq!(in_subnet("11.1.2.3", "10.0.0.0/8"), Some(false));
        assert_eq!(in_subnet("203.0.113.7", "203.0.113.7"), Some(true));
        assert_eq!(in_subnet("203.0.113.7", "0.0.0.0/0"), Some(true));
        assert_eq!(in_subnet("2001:db8::1", "2001:db8::/32"), Some(true));
        assert_eq!(in_subnet("2001:db8::1", "10.0.0.0/8"), Some(false));
        assert_eq!(in_subnet("s3.amazonaws.com", "10.0.0.0/8"), None);
        assert_eq!(in_subnet("10.0.0.1", "10.0.0.0/33"), Some(false));
        assert!(is_valid("192.0.2.1", 4) && !is_valid("192.0.2.1", 6) && is_valid("::1", 0));
        assert!(!is_valid("AWS Internal", 0));
    }
}
