//! The stored form of a typed event: its Solidity name and a JSON object of its named arguments
//! (integers as decimal strings, bytes, hashes and addresses as lowercase 0x-hex, strings and
//! booleans as themselves, arrays as arrays), the `args` column of the event tables.
//!
//! Events are decoded into the `sol!`-generated enums (`SolEventInterface::decode_raw_log`);
//! [`stored_events!`] maps each generated event struct to and from the stored form, field by
//! field, with destructuring patterns that name every field: a field added to or removed from the
//! Solidity event fails to compile here instead of silently changing the rows.

use crate::{IndexerError, IndexerResult};
use alloy::primitives::{Address, B256, Bytes, U256, Uint};
use serde_json::{Map, Value};

/// One event argument's stored JSON form.
pub trait StoredArg: Sized {
    /// The stored form.
    fn to_stored(&self) -> Value;
    /// Parses the stored form (`None` when malformed).
    fn from_stored(v: &Value) -> Option<Self>;
}

macro_rules! decimal {
    ($($t:ty),*) => {$(
        impl StoredArg for $t {
            fn to_stored(&self) -> Value {
                Value::String(self.to_string())
            }
            fn from_stored(v: &Value) -> Option<Self> {
                v.as_str()?.parse().ok()
            }
        }
    )*};
}
decimal!(u8, u16, u32, u64, U256, Uint<96, 2>);

impl StoredArg for Address {
    fn to_stored(&self) -> Value {
        Value::String(format!("{self:#x}"))
    }
    fn from_stored(v: &Value) -> Option<Self> {
        v.as_str()?.parse().ok()
    }
}

impl StoredArg for B256 {
    fn to_stored(&self) -> Value {
        Value::String(alloy::hex::encode_prefixed(self))
    }
    fn from_stored(v: &Value) -> Option<Self> {
        v.as_str()?.parse().ok()
    }
}

impl StoredArg for Bytes {
    fn to_stored(&self) -> Value {
        Value::String(alloy::hex::encode_prefixed(self))
    }
    fn from_stored(v: &Value) -> Option<Self> {
        alloy::hex::decode(v.as_str()?).ok().map(Into::into)
    }
}

impl StoredArg for String {
    fn to_stored(&self) -> Value {
        Value::String(self.clone())
    }
    fn from_stored(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
}

impl StoredArg for bool {
    fn to_stored(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_stored(v: &Value) -> Option<Self> {
        v.as_bool()
    }
}

impl<T: StoredArg> StoredArg for Vec<T> {
    fn to_stored(&self) -> Value {
        Value::Array(self.iter().map(StoredArg::to_stored).collect())
    }
    fn from_stored(v: &Value) -> Option<Self> {
        v.as_array()?.iter().map(T::from_stored).collect()
    }
}

/// Reads argument `key` of the stored event `event`.
pub fn field<T: StoredArg>(args: &Map<String, Value>, event: &str, key: &str) -> IndexerResult<T> {
    let v = args
        .get(key)
        .ok_or_else(|| IndexerError::Inconsistent(format!("{event}: argument {key} missing")))?;
    T::from_stored(v)
        .ok_or_else(|| IndexerError::Inconsistent(format!("{event}: argument {key} malformed")))
}

/// The string argument `key` of a stored event (`event` names it in the error).
pub fn arg<'a>(args: &'a Map<String, Value>, event: &str, key: &str) -> IndexerResult<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| IndexerError::Inconsistent(format!("{event}: argument {key} missing")))
}

/// The argument `key` of a stored event, parsed (numbers, addresses, hashes).
pub fn parse<T: std::str::FromStr>(
    args: &Map<String, Value>,
    event: &str,
    key: &str,
) -> IndexerResult<T> {
    arg(args, event, key)?
        .parse()
        .map_err(|_| IndexerError::Inconsistent(format!("{event}: argument {key} malformed")))
}

/// Decodes a log into the generated event enum `E`: `Ok(None)` for a log without topics or with
/// a `topic0` that is not one of `E`'s events, an error for a known event that does not decode.
pub fn decode_log<E: alloy::sol_types::SolEventInterface>(
    log: &alloy::primitives::LogData,
) -> IndexerResult<Option<E>> {
    if log.topics().is_empty() {
        return Ok(None);
    }
    match E::decode_raw_log(log.topics(), &log.data) {
        Ok(ev) => Ok(Some(ev)),
        Err(alloy::sol_types::Error::UnknownSelector { .. }) => Ok(None),
        Err(e) => Err(IndexerError::Inconsistent(format!(
            "undecodable {} log: {e}",
            E::NAME
        ))),
    }
}

/// Implements the stored form for a generated event enum: `fn name`, `fn to_args` and
/// `fn from_args` in an extension trait. Every variant and every field must be listed.
macro_rules! stored_events {
    ($trait:ident for $enum:ident in $module:path { $($ev:ident { $($f:ident),* }),* $(,)? }) => {
        /// The stored form of the events (see [`crate::stored`]).
        pub trait $trait: Sized {
            /// The Solidity event name.
            fn name(&self) -> &'static str;
            /// The named arguments, as stored.
            fn to_args(&self) -> serde_json::Map<String, serde_json::Value>;
            /// The event stored as `name` with `args`.
            fn from_args(
                name: &str,
                args: &serde_json::Map<String, serde_json::Value>,
            ) -> $crate::IndexerResult<Self>;
        }

        impl $trait for $enum {
            fn name(&self) -> &'static str {
                match self {
                    $(Self::$ev(_) => stringify!($ev),)*
                }
            }

            #[allow(unused_mut, unused_variables)]
            fn to_args(&self) -> serde_json::Map<String, serde_json::Value> {
                use $module as m;
                let mut args = serde_json::Map::new();
                match self {
                    $(Self::$ev(m::$ev { $($f),* }) => {
                        $(args.insert(
                            stringify!($f).to_string(),
                            $crate::stored::StoredArg::to_stored($f),
                        );)*
                    })*
                }
                args
            }

            #[allow(unused_variables)]
            fn from_args(
                name: &str,
                args: &serde_json::Map<String, serde_json::Value>,
            ) -> $crate::IndexerResult<Self> {
                use $module as m;
                match name {
                    $(stringify!($ev) => Ok(Self::$ev(m::$ev {
                        $($f: $crate::stored::field(args, name, stringify!($f))?,)*
                    })),)*
                    _ => Err($crate::IndexerError::Inconsistent(format!(
                        "stored event {name} unknown"
                    ))),
                }
            }
        }
    };
}
pub(crate) use stored_events;
