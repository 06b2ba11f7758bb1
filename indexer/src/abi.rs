//! Generic event decoding from a contract's committed ABI: each log becomes its event name and a
//! JSON object of named arguments (integers as decimal strings, bytes and addresses as 0x-hex), the
//! form stored in the event tables and folded into projections.

use crate::{IndexerError, IndexerResult};
use alloy::{
    dyn_abi::{DynSolValue, EventExt},
    json_abi::{Event, JsonAbi},
    primitives::{B256, LogData},
};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The events of one contract ABI, by `topic0`.
#[derive(Debug, Clone)]
pub struct EventSet {
    by_selector: HashMap<B256, Event>,
}

/// A decoded log.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedLog {
    /// The event name.
    pub name: String,
    /// Named arguments.
    pub args: Map<String, Value>,
}

impl EventSet {
    /// The events of a Foundry artifact (`{"abi": [...], ...}`).
    pub fn from_artifact(artifact: &str) -> IndexerResult<Self> {
        #[derive(serde::Deserialize)]
        struct Artifact {
            abi: JsonAbi,
        }
        let a: Artifact = serde_json::from_str(artifact)
            .map_err(|e| IndexerError::Config(format!("bad ABI artifact: {e}")))?;
        Ok(Self {
            by_selector: a.abi.events().map(|e| (e.selector(), e.clone())).collect(),
        })
    }

    /// Decodes `log`; `None` for an event not in the ABI.
    pub fn decode(&self, log: &LogData) -> IndexerResult<Option<DecodedLog>> {
        let Some(topic0) = log.topics().first() else {
            return Ok(None);
        };
        let Some(event) = self.by_selector.get(topic0) else {
            return Ok(None);
        };
        let decoded = event.decode_log(log).map_err(|e| {
            IndexerError::Inconsistent(format!("undecodable {} log: {e}", event.name))
        })?;
        let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
        let mut args = Map::new();
        for input in &event.inputs {
            let value = if input.indexed {
                indexed.next()
            } else {
                body.next()
            };
            let value = value.ok_or_else(|| {
                IndexerError::Inconsistent(format!("{}: missing argument", event.name))
            })?;
            args.insert(input.name.clone(), to_json(&value));
        }
        Ok(Some(DecodedLog {
            name: event.name.clone(),
            args,
        }))
    }
}

/// A decoded ABI value as JSON.
pub fn to_json(v: &DynSolValue) -> Value {
    match v {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::FixedBytes(w, n) => Value::String(alloy::hex::encode_prefixed(&w[..*n])),
        DynSolValue::Address(a) => Value::String(format!("{a:#x}")),
        DynSolValue::Function(f) => Value::String(alloy::hex::encode_prefixed(f.as_slice())),
        DynSolValue::Bytes(b) => Value::String(alloy::hex::encode_prefixed(b)),
        DynSolValue::String(s) => Value::String(s.clone()),
        DynSolValue::Array(xs) | DynSolValue::FixedArray(xs) | DynSolValue::Tuple(xs) => {
            Value::Array(xs.iter().map(to_json).collect())
        }
        #[allow(unreachable_patterns)]
        _ => Value::Null,
    }
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
