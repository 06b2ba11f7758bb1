//! Domain newtypes with `parse` constructors: every input is checked once, at the edge.

use crate::error::{ApiError, ApiResult};
use alloy::primitives::{Address, B256};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// An agent handle: 3–32 characters of `a-z 0-9 _ -`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handle(String);

impl Handle {
    /// Parses a handle.
    pub fn parse(s: &str) -> ApiResult<Self> {
        let ok = (3..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(ApiError::unprocessable(
                "invalid_handle",
                "handle must be 3-32 characters of a-z, 0-9, '_' or '-', starting with a letter",
            ))
        }
    }
    /// The handle text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a free-text field: trimmed, non-empty (unless `min` is 0), at most `max` characters, no
/// control characters other than newlines and tabs.
pub fn text(field: &'static str, s: &str, min: usize, max: usize) -> ApiResult<String> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min || n > max {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("{field} must be {min}-{max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("{field} contains control characters"),
        ));
    }
    Ok(t.to_string())
}

/// Parses a 0x-prefixed 20-byte address.
pub fn parse_address(field: &'static str, s: &str) -> ApiResult<Address> {
    let hex = s.strip_prefix("0x").unwrap_or("");
    if hex.len() != 40 {
        return Err(ApiError::unprocessable(
            "invalid_address",
            format!("{field} must be a 0x-prefixed 20-byte hex address"),
        ));
    }
    Address::from_str(s).map_err(|_| {
        ApiError::unprocessable(
            "invalid_address",
            format!("{field} must be a 0x-prefixed 20-byte hex address"),
        )
    })
}

/// A bytes32 order id, `0x` + 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderId(pub B256);

impl OrderId {
    /// Parses an order id.
    pub fn parse(s: &str) -> ApiResult<Self> {
        let hex = s.strip_prefix("0x").unwrap_or("");
        if hex.len() != 64 {
            return Err(ApiError::bad_request(
                "invalid_order_id",
                "order id must be 0x followed by 64 hex digits",
            ));
        }
        B256::from_str(s).map(Self).map_err(|_| {
            ApiError::bad_request(
                "invalid_order_id",
                "order id must be 0x followed by 64 hex digits",
            )
        })
    }
}

/// A positive token amount as a decimal string, with at most the token's decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl Amount {
    /// Parses `s` (e.g. `"12.50"`) for a token with `decimals` decimals.
    pub fn parse(field: &'static str, s: &str, decimals: u32) -> ApiResult<Self> {
        let bad = |why: &str| ApiError::unprocessable("invalid_amount", format!("{field} {why}"));
        if s.is_empty() || s.len() > 40 || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(bad("must be a decimal string like \"12.50\""));
        }
        let d = Decimal::from_str_exact(s).map_err(|_| bad("is not a decimal number"))?;
        if d <= Decimal::ZERO {
            return Err(bad("must be greater than zero"));
        }
        if d.normalize().scale() > decimals {
            return Err(bad(&format!("has more than {decimals} decimals")));
        }
        if d.checked_mul(Decimal::from(10u64.pow(decimals.min(18))))
            .is_none()
            || decimals > 18
        {
            return Err(bad("is too large"));
        }
        Ok(Self(d.normalize()))
    }
    /// Parses a filter bound: like [`Amount::parse`] but zero is allowed.
    pub fn parse_bound(field: &'static str, s: &str, decimals: u32) -> ApiResult<Self> {
        if !s.is_empty() && s.chars().all(|c| c == '0' || c == '.') && s.matches('.').count() <= 1 {
            return Ok(Self(Decimal::ZERO));
        }
        Self::parse(field, s, decimals)
    }

    /// Base units (`amount × 10^decimals`) as an integer decimal.
    pub fn base_units(&self, decimals: u32) -> Decimal {
        let mut d = self.0 * Decimal::from(10u64.pow(decimals));
        d.rescale(0);
        d
    }
}

/// Formats a base-unit integer (decimal digits) with `decimals` decimals: `("1250000", 6)` →
/// `"1.250000"`. Works on strings so any `uint256` fits.
pub fn format_units(base: &str, decimals: u32) -> String {
    let (neg, digits) = match base.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, base),
    };
    let digits = digits.split('.').next().unwrap_or("0");
    let d = decimals as usize;
    let padded = if digits.len() <= d {
        format!("{}{digits}", "0".repeat(d + 1 - digits.len()))
    } else {
        digits.to_string()
    };
    let (int, frac) = padded.split_at(padded.len() - d);
    let sign = if neg { "-" } else { "" };
    if d == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Formats a token-unit price with exactly `decimals` decimals.
pub fn format_price(price: Decimal, decimals: u32) -> String {
    let mut p = price;
    p.rescale(decimals);
    p.to_string()
}

/// A page size: 1..=100, default 20.
pub fn limit(l: Option<u32>) -> ApiResult<i64> {
    match l {
        None => Ok(20),
        Some(n @ 1..=100) => Ok(i64::from(n)),
        Some(_) => Err(ApiError::bad_request(
            "invalid_limit",
            "limit must be between 1 and 100",
        )),
    }
}

/// One page of a list: the items and the cursor of the next page (`null` on the last page).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` when this is the last one.
    pub next_cursor: Option<String>,
}

/// An opaque keyset cursor: hex of a JSON array of the sort key values of the last row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cursor(pub Vec<serde_json::Value>);

impl Cursor {
    /// Encodes the cursor.
    pub fn encode(&self) -> String {
        hex::encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }
    /// Decodes a cursor with `n` values.
    pub fn parse(s: &str, n: usize) -> ApiResult<Self> {
        let bad = || ApiError::bad_request("invalid_cursor", "cursor is not one this API issued");
        let bytes = hex::decode(s).map_err(|_| bad())?;
        let v: Vec<serde_json::Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if v.len() != n {
            return Err(bad());
        }
        Ok(Self(v))
    }
    /// Value `i` as i64.
    pub fn i64(&self, i: usize) -> ApiResult<i64> {
        self.0[i].as_i64().ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
        })
    }
    /// Value `i` as a string.
    pub fn str(&self, i: usize) -> ApiResult<&str> {
        self.0[i].as_str().ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
        })
    }
    /// Value `i` as f64.
    pub fn f64(&self, i: usize) -> ApiResult<f64> {
        self.0[i].as_f64().ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
        })
    }
}

/// `0x`-hex of bytes.
pub fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_and_format() {
        assert_eq!(
            Amount::parse("p", "12.5", 6)
                .unwrap()
                .base_units(6)
                .to_string(),
            "12500000"
        );
        assert!(Amount::parse("p", "0.0000001", 6).is_err());
        assert!(Amount::parse("p", "0", 6).is_err());
        assert!(Amount::parse("p", "-1", 6).is_err());
        assert!(Amount::parse("p", "1e5", 6).is_err());
        assert!(Amount::parse("p", "99999999999999999999999999999999", 6).is_err());
        assert_eq!(format_units("1250000", 6), "1.250000");
        assert_eq!(format_units("5", 6), "0.000005");
        assert_eq!(format_units("0", 6), "0.000000");
        assert_eq!(format_units("7", 0), "7");
        assert_eq!(
            format_units(
                "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                6
            ),
            "115792089237316195423570985008687907853269984665640564039457584007913129.639935"
        );
        assert_eq!(
            format_price(Decimal::from_str("12.5").unwrap(), 6),
            "12.500000"
        );
    }

    #[test]
    fn handles_and_ids_are_checked() {
        assert!(Handle::parse("alice_01").is_ok());
        assert!(Handle::parse("Al").is_err());
        assert!(Handle::parse("1abc").is_err());
        assert!(Handle::parse("abc def").is_err());
        assert!(OrderId::parse("0x12").is_err());
        assert!(OrderId::parse(&format!("0x{}", "ab".repeat(32))).is_ok());
        assert!(parse_address("a", "0x0000000000000000000000000000000000000001").is_ok());
        assert!(parse_address("a", "0xzz00000000000000000000000000000000000001").is_err());
    }
}
