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
