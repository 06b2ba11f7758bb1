//! The chain specs services are configured with: `rpc=<url>,deployment=<path>` plus, where the
//! flag takes them, `confirmations=<n>` or `finality=finalized` and `start=<block>`. The
//! indexer's `--chain` and the relayer's `--satellite` parse them here, and the stack supervisor
//! writes them with [`ChainSpec`]'s `Display`, so the format lives in one place.

use std::{fmt, num::ParseIntError, path::PathBuf};
use url::Url;

/// When a block counts as final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finality {
    /// `head - n` (n = 0 follows the head itself).
    Confirmations(u64),
    /// The node's `finalized` block tag.
    Finalized,
}

/// The head itself (`confirmations=0`).
impl Default for Finality {
    fn default() -> Self {
        Self::Confirmations(0)
    }
}

/// A key of a chain spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `rpc=<url>` (required): the node's JSON-RPC URL, `http` or `https`.
    Rpc,
    /// `deployment=<path>` (required): the chain's `deployments/<chain_id>.json`.
    Deployment,
    /// `confirmations=<n>`: blocks below the head that count as final.
    Confirmations,
    /// `finality=finalized`: the node's `finalized` tag says what is final.
    Finality,
    /// `start=<block>`: the first block to read (default: the deploy block).
    Start,
}

impl Key {
    /// Every key.
    pub const ALL: &[Key] = &[
        Key::Rpc,
        Key::Deployment,
        Key::Confirmations,
        Key::Finality,
        Key::Start,
    ];
    /// The keys of a chain that is only connected to: finality and start do not apply.
    pub const ENDPOINT: &[Key] = &[Key::Rpc, Key::Deployment];

    /// The key as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Key::Rpc => "rpc",
            Key::Deployment => "deployment",
            Key::Confirmations => "confirmations",
            Key::Finality => "finality",
            Key::Start => "start",
        }
    }

    fn parse(key: &str, known: &[Key]) -> Option<Self> {
        known.iter().copied().find(|k| k.as_str() == key)
    }
}

/// Why a chain spec (or an RPC URL) was refused. The message names the key and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainSpecError {
    /// A part without `=`.
    #[error("{part:?} is not key=value")]
    NotKeyValue {
        /// The part.
        part: String,
    },
    /// A key the flag does not take.
    #[error("unknown key {key:?} (known: {known})")]
    UnknownKey {
        /// The key.
        key: String,
        /// The keys the flag takes, comma-separated.
        known: String,
    },
    /// A key given twice.
    #[error("{key} is given twice")]
    Repeated {
        /// The key.
        key: &'static str,
    },
    /// `key=` without a value.
    #[error("{key}= has no value")]
    Empty {
        /// The key.
        key: &'static str,
    },
    /// A required key is absent.
    #[error("{key}=<{what}> is missing")]
    Missing {
        /// The key.
        key: &'static str,
        /// What its value is.
        what: &'static str,
    },
    /// A number that does not parse.
    #[error("{key}={value:?} is not a number: {source}")]
    NotNumber {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// The parse error.
        #[source]
        source: ParseIntError,
    },
    /// `finality=` other than `finalized`.
    #[error("finality={value:?}: only `finalized` is known")]
    UnknownFinality {
        /// The value.
        value: String,
    },
    /// Both `confirmations=` and `finality=finalized`.
    #[error("confirmations= and finality= exclude each other")]
    ConflictingFinality,
    /// An RPC URL that does not parse.
    #[error("rpc url {value:?} is not a URL: {source}")]
    BadUrl {
        /// The value.
        value: String,
        /// The parse error.
        #[source]
        source: url::ParseError,
    },
    /// An RPC URL of another scheme than `http`/`https`.
    #[error("rpc url {value:?}: scheme {scheme:?} is not http or https")]
    Scheme {
        /// The value.
        value: String,
        /// Its scheme.
        scheme: String,
    },
}

/// Parses a JSON-RPC URL: `http` or `https` (the services speak JSON-RPC over HTTP).
pub fn parse_rpc_url(value: &str) -> Result<Url, ChainSpecError> {
    let url = Url::parse(value).map_err(|source| ChainSpecError::BadUrl {
        value: value.to_string(),
        source,
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        scheme => Err(ChainSpecError::Scheme {
            value: value.to_string(),
            scheme: scheme.to_string(),
        }),
    }
}

/// One chain as a service is configured with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    /// The node's JSON-RPC URL.
    pub rpc: Url,
    /// The chain's deployment file (`deployments/<chain_id>.json`).
    pub deployment: PathBuf,
    /// Which blocks count as final (default: the head, `confirmations=0`).
    pub finality: Finality,
    /// First block to read (default: the deployment's start block).
    pub start: Option<u64>,
}

impl ChainSpec {
    /// A spec of `rpc` and `deployment` with the defaults for the rest.
    pub fn new(rpc: Url, deployment: impl Into<PathBuf>) -> Self {
        Self {
            rpc,
            deployment: deployment.into(),
            finality: Finality::default(),
            start: None,
        }
    }

    /// Parses comma-separated `key=value` parts, taking only the keys in `known` (see
    /// [`Key::ALL`], [`Key::ENDPOINT`]); `rpc` and `deployment` are required.
    pub fn parse(spec: &str, known: &[Key]) -> Result<Self, ChainSpecError> {
        let mut seen: Vec<Key> = Vec::new();
        let (mut rpc, mut deployment, mut finality, mut start) = (None, None, None, None);
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| ChainSpecError::NotKeyValue { part: part.into() })?;
            let key = Key::parse(k.trim(), known).ok_or_else(|| ChainSpecError::UnknownKey {
                key: k.trim().into(),
                known: known
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            if seen.contains(&key) {
                return Err(ChainSpecError::Repeated { key: key.as_str() });
            }
            seen.push(key);
            let v = v.trim();
            if v.is_empty() {
                return Err(ChainSpecError::Empty { key: key.as_str() });
            }
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|source| ChainSpecError::NotNumber {
                        key: key.as_str(),
                        value: v.into(),
                        source,
                    })
            };
            match key {
                Key::Rpc => rpc = Some(parse_rpc_url(v)?),
                Key::Deployment => deployment = Some(PathBuf::from(v)),
                Key::Confirmations | Key::Finality if finality.is_some() => {
                    return Err(ChainSpecError::ConflictingFinality);
                }
                Key::Confirmations => finality = Some(Finality::Confirmations(number(v)?)),
                Key::Finality if v == "finalized" => finality = Some(Finality::Finalized),
                Key::Finality => {
                    return Err(ChainSpecError::UnknownFinality { value: v.into() });
                }
                Key::Start => start = Some(number(v)?),
            }
        }
        Ok(Self {
            rpc: rpc.ok_or(ChainSpecError::Missing {
                key: "rpc",
                what: "url",
            })?,
            deployment: deployment.ok_or(ChainSpecError::Missing {
                key: "deployment",
                what: "path",
            })?,
            finality: finality.unwrap_or_default(),
            start,
        })
    }
}

/// The spec as [`ChainSpec::parse`] reads it back (defaults are left out). A URL or path holding
/// a `,` cannot be written as a spec.
impl fmt::Display for ChainSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rpc={},deployment={}",
            self.rpc,
            self.deployment.display()
        )?;
        match self.finality {
            Finality::Confirmations(0) => {}
            Finality::Confirmations(n) => write!(f, ",confirmations={n}")?,
            Finality::Finalized => f.write_str(",finality=finalized")?,
        }
        if let Some(start) = self.start {
            write!(f, ",start={start}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn parses_every_key_and_writes_the_spec_back() {
        let s = ChainSpec::parse(
            " rpc=http://127.0.0.1:8545 , deployment=d/31337.json,confirmations=2,start=7,",
            Key::ALL,
        )
        .unwrap();
        assert_eq!(
            s,
            ChainSpec {
                rpc: url("http://127.0.0.1:8545"),
                deployment: "d/31337.json".into(),
                finality: Finality::Confirmations(2),
                start: Some(7),
            }
        );
        let f = ChainSpec::parse(
            "deployment=y.json,finality=finalized,rpc=https://node.example/v1?key=a=b",
            Key::ALL,
        )
        .unwrap();
        assert_eq!(f.finality, Finality::Finalized);
        assert_eq!(f.rpc.as_str(), "https://node.example/v1?key=a=b");
        assert_eq!(f.start, None);
        let plain = ChainSpec::parse("rpc=http://h:1,deployment=p", Key::ENDPOINT).unwrap();
        assert_eq!(plain, ChainSpec::new(url("http://h:1"), "p"));
        assert_eq!(plain.finality, Finality::Confirmations(0));
        for spec in [s, f, plain] {
            let text = spec.to_string();
            assert_eq!(ChainSpec::parse(&text, Key::ALL).unwrap(), spec, "{text}");
        }
        assert_eq!(
            ChainSpec::new(url("http://127.0.0.1:8546"), "/tmp/31338.json").to_string(),
            "rpc=http://127.0.0.1:8546/,deployment=/tmp/31338.json"
        );
    }

    #[test]
    fn every_bad_input_is_named() {
        let all = Key::ALL;
        let endpoint = Key::ENDPOINT;
        for (spec, known, want) in [
            ("", all, "rpc=<url> is missing"),
            ("deployment=y", all, "rpc=<url> is missing"),
            ("rpc=http://x", all, "deployment=<path> is missing"),
            ("rpc", all, "\"rpc\" is not key=value"),
            (
                "rpc=http://x,deployment=y,colour=red",
                all,
                "unknown key \"colour\" (known: rpc, deployment, confirmations, finality, start)",
            ),
            (
                "rpc=http://x,deployment=y,start=3",
                endpoint,
                "unknown key \"start\" (known: rpc, deployment)",
            ),
            (
                "rpc=http://x,deployment=y,confirmations=2",
                endpoint,
                "unknown key \"confirmations\" (known: rpc, deployment)",
            ),
            (
                "rpc=http://x,rpc=http://z,deployment=y",
                all,
                "rpc is given twice",
            ),
            ("rpc=http://x,deployment=", all, "deployment= has no value"),
            ("rpc=,deployment=y", all, "rpc= has no value"),
            (
                "rpc=http://x,deployment=y,confirmations=two",
                all,
                "confirmations=\"two\" is not a number: invalid digit",
            ),
            (
                "rpc=http://x,deployment=y,confirmations=-1",
                all,
                "confirmations=\"-1\" is not a number",
            ),
            (
                "rpc=http://x,deployment=y,start=1e3",
                all,
                "start=\"1e3\" is not a number",
            ),
            (
                "rpc=http://x,deployment=y,finality=safe",
                all,
                "finality=\"safe\": only `finalized` is known",
            ),
            (
                "rpc=http://x,deployment=y,confirmations=2,finality=finalized",
                all,
                "confirmations= and finality= exclude each other",
            ),
            (
                "rpc=127.0.0.1:8545,deployment=y",
                all,
                "rpc url \"127.0.0.1:8545\" is not a URL",
            ),
            (
                "rpc=localhost:8545,deployment=y",
                all,
                "rpc url \"localhost:8545\": scheme \"localhost\" is not http or https",
            ),
            (
                "rpc=ws://127.0.0.1:8545,deployment=y",
                all,
                "scheme \"ws\" is not http or https",
            ),
            (
                "rpc=http://[::1,deployment=y",
                all,
                "rpc url \"http://[::1\" is not a URL: invalid IPv6 address",
            ),
        ] {
            let err = ChainSpec::parse(spec, known).unwrap_err().to_string();
            assert!(err.contains(want), "{spec:?}: {err:?} lacks {want:?}");
        }
    }

    #[test]
    fn rpc_urls_are_http_or_https() {
        assert_eq!(
            parse_rpc_url("http://127.0.0.1:8545").unwrap().as_str(),
            "http://127.0.0.1:8545/"
        );
        assert!(parse_rpc_url("https://node.example").is_ok());
        assert!(matches!(
            parse_rpc_url("not a url"),
            Err(ChainSpecError::BadUrl { .. })
        ));
        assert!(matches!(
            parse_rpc_url("file:///tmp/x"),
            Err(ChainSpecError::Scheme { .. })
        ));
    }
}
