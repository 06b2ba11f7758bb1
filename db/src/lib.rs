//! The database every Pact service shares, in one place.
//!
//! PostgreSQL is the contract between the services (the indexer writes the chain tables, the
//! relayer its own, the API the app tables; each reads the others'). This crate holds what they
//! must agree on:
//!
//! - [`MIGRATOR`]: the one migration history (`migrations/` at the workspace root), embedded once.
//!   Every binary applies it at start; sqlx's advisory lock makes concurrent starts safe.
//! - [`channel`]: the `LISTEN`/`NOTIFY` channel names.
//! - [`states`]: the text values the app tables' state columns take. The chain tables' state
//!   columns take the names of the Solidity enums (`pact_bindings`); both sets are pinned by
//!   `CHECK` constraints, and this crate's tests fail when a constraint and the Rust names differ.
//! - [`bytea`]: the fixed-size values (hashes, addresses) stored in `BYTEA` columns, decoded with
//!   a length check.

use sqlx::{PgPool, migrate::MigrateError};

/// The migration history (`migrations/`), embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Applies every pending migration (idempotent; safe to race: sqlx takes an advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), MigrateError> {
    MIGRATOR.run(pool).await
}

/// `LISTEN`/`NOTIFY` channels.
pub mod channel {
    /// Sent by the indexer in the transaction of every commit. Payload (JSON):
    /// `{"chain_id":N,"from":A,"to":B}` (rows added for blocks A..=B) or
    /// `{"chain_id":N,"reorg":F}` (everything above block F was removed).
    pub const CHAIN: &str = "pact_chain";
}

/// Fixed-size values stored in `BYTEA` columns. A value of another length is a corrupt row: it
/// is reported as [`sqlx::Error::Decode`] (holding a [`bytea::BadLength`]), never a panic, so
/// every service's `From<sqlx::Error>` takes it with `?`.
pub mod bytea {
    use alloy::primitives::{Address, B256};

    /// A stored value had the wrong length for its type.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
    #[error("stored {what} of {len} bytes (expected {expected})")]
    pub struct BadLength {
        /// What was read (`"hash"`, `"address"`).
        pub what: &'static str,
        /// Its stored length.
        pub len: usize,
        /// The length its type has.
        pub expected: usize,
    }

    fn fixed<T: for<'a> TryFrom<&'a [u8]>>(
        what: &'static str,
        expected: usize,
        bytes: &[u8],
    ) -> Result<T, sqlx::Error> {
        T::try_from(bytes).map_err(|_| {
            sqlx::Error::Decode(Box::new(BadLength {
                what,
                len: bytes.len(),
                expected,
            }))
        })
    }

    /// A stored 32-byte hash (block, transaction, order id, digest).
    pub fn b256(bytes: &[u8]) -> Result<B256, sqlx::Error> {
        fixed("hash", B256::len_bytes(), bytes)
    }

    /// A stored 20-byte address.
    pub fn address(bytes: &[u8]) -> Result<Address, sqlx::Error> {
        fixed("address", Address::len_bytes(), bytes)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn exact_lengths_decode_and_others_name_what_is_wrong() {
            let h = B256::repeat_byte(7);
            assert_eq!(b256(h.as_slice()).unwrap(), h);
            let a = Address::repeat_byte(9);
            assert_eq!(address(a.as_slice()).unwrap(), a);
            for (len, what, expected) in [(0, "hash", 32), (31, "hash", 32), (33, "hash", 32)] {
                let err = b256(&vec![1; len]).unwrap_err();
                let sqlx::Error::Decode(inner) = &err else {
                    panic!("{len} bytes: {err:?}")
                };
                assert_eq!(
                    inner.downcast_ref::<BadLength>(),
                    Some(&BadLength {
                        what,
                        len,
                        expected
                    })
                );
                assert!(
                    err.to_string()
                        .contains(&format!("stored hash of {len} bytes (expected 32)")),
                    "{err}"
                );
            }
            for len in [0, 19, 21, 32] {
                let err = address(&vec![1; len]).unwrap_err().to_string();
                assert!(
                    err.contains(&format!("stored address of {len} bytes (expected 20)")),
                    "{err}"
                );
            }
        }
    }
}

/// Text-valued state columns of the app tables, as Rust enums. Each maps to its `CHECK`
/// constraint's value list (tested); decode with `sqlx` as `TEXT`.
pub mod states {
    macro_rules! text_enum {
        ($(#[$meta:meta])* $name:ident, $table:literal, $column:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
            #[sqlx(type_name = "text")]
            pub enum $name {
                $($(#[$vmeta])* #[sqlx(rename = $text)] $variant),+
            }

            impl $name {
                /// Every value, in declaration order.
                pub const ALL: &[Self] = &[$(Self::$variant),+];
                /// The table and column holding it.
                pub const COLUMN: (&str, &str) = ($table, $column);

                /// The stored text.
                pub const fn as_str(self) -> &'static str {
                    match self {
                        $(Self::$variant => $text),+
                    }
                }

                /// Parses the stored text.
                pub fn parse(text: &str) -> Option<Self> {
                    match text {
                        $($text => Some(Self::$variant),)+
                        _ => None,
                    }
                }
            }

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        };
    }

    text_enum!(
        /// `app_orders.status`: the app's own part of an order's life. `FUNDED` (and the
        /// cancellation of rivals by a funding) is not stored: the API derives it from the
        /// indexer's tables at read time, so only the indexer handles reorgs.
        AppOrderStatus, "app_orders", "status" {
            /// Terms are being negotiated.
            Negotiating = "NEGOTIATING",
            /// Both parties agreed; waiting for the buyer's `fund`.
            AwaitingPay = "AWAITING_PAY",
            /// Cancelled by a party before funding.
            Cancelled = "CANCELLED",
        }
    );

    text_enum!(
        /// `listings.kind`.
        ListingKind, "listings", "kind" {
            /// A seller offers work.
            Offer = "offer",
            /// A buyer asks for work.
            Bounty = "bounty",
        }
    );

    text_enum!(
        /// `listings.status`.
        ListingStatus, "listings", "status" {
            /// Accepting negotiations.
            Open = "open",
            /// Closed by its owner.
            Closed = "closed",
        }
    );

    text_enum!(
        /// `webhook_deliveries.status`.
        DeliveryStatus, "webhook_deliveries", "status" {
            /// Waiting for its (next) attempt.
            Pending = "pending",
            /// The endpoint answered 2xx.
            Delivered = "delivered",
            /// Gave up after the last retry.
            Dead = "dead",
        }
    );

    text_enum!(
        /// `identity_challenges.scheme`: what a challenge's signature proves control of.
        ChallengeScheme, "identity_challenges", "scheme" {
            /// A wallet address, by an EIP-191 `personal_sign` signature.
            Eip191 = "eip191",
            /// A MOI participant, by MOI's `ECDSA_S256` signature.
            Moi = "moi",
        }
    );

    text_enum!(
        /// `relayer_txs.status`: a transaction the relayer or keeper sent.
        RelayerTxStatus, "relayer_txs", "status" {
            /// Broadcast, not yet seen mined.
            Sent = "sent",
            /// Mined (its nonce is used by this transaction).
            Mined = "mined",
            /// Its nonce was used by another transaction (a replacement or a rival).
            Replaced = "replaced",
        }
    );
}
