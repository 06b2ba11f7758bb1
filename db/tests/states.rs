//! The `CHECK` constraints on the state columns and the Rust definitions name the same values.

use pact_bindings::{
    escrow_enums::{ACTIONS, FUNDED_STATES, REFUND_REASONS, RESOLUTIONS},
    identity_status::Status,
    sol_enum::SolEnumNames,
};
use pact_db::states::{
    AppOrderStatus, ChallengeScheme, DeliveryStatus, ListingKind, ListingStatus, RelayerTxStatus,
};
use std::collections::BTreeSet;

/// The definition of the constraint `<table>_<column>_check`, as PostgreSQL normalised it.
async fn definition(pool: &sqlx::PgPool, table: &str, column: &str) -> String {
    let name = format!("{table}_{column}_check");
    sqlx::query_scalar(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = $1 AND c.conname = $2",
    )
    .bind(table)
    .bind(&name)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("constraint {name}: {e}"))
}

/// The quoted literals of the constraint `<table>_<column>_check`
/// (`CHECK ((state = ANY (ARRAY['A'::text, …])))`).
async fn allowed(pool: &sqlx::PgPool, table: &str, column: &str) -> BTreeSet<String> {
    let def = definition(pool, table, column).await;
    let values: BTreeSet<String> = def
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(
        !values.is_empty(),
        "{table}.{column} lists no values: {def}"
    );
    values
}

/// The integers of the constraint `<table>_<column>_check` (`CHECK ((n = ANY (ARRAY[1, 2])))`).
async fn allowed_numbers(pool: &sqlx::PgPool, table: &str, column: &str) -> BTreeSet<i64> {
    let def = definition(pool, table, column).await;
    let list = def
        .split_once("ARRAY[")
        .and_then(|(_, rest)| rest.split_once(']'))
        .unwrap_or_else(|| panic!("{table}.{column}: no value list in {def}"))
        .0;
    list.split(',')
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|e| panic!("{table}.{column}: {v:?} in {def}: {e}"))
        })
        .collect()
}

fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_string).collect()
}

#[tokio::test]
async fn every_state_constraint_matches_its_definition() {
    let db = pact_testkit::TestDb::new().await.unwrap();
    let pool = db.pool().await.unwrap();
    pact_db::migrate(&pool).await.unwrap();

    // Chain tables: the members of the Solidity enums (NONE is never stored).
    let escrow: [(&str, &str, BTreeSet<String>); 5] = [
        ("escrow_orders", "state", set(FUNDED_STATES.iter().copied())),
        (
            "escrow_events",
            "state_after",
            set(FUNDED_STATES.iter().copied()),
        ),
        (
            "escrow_orders",
            "next_action",
            set(ACTIONS[1..].iter().copied()),
        ),
        (
            "escrow_orders",
            "resolution",
            set(RESOLUTIONS.iter().copied()),
        ),
        (
            "escrow_orders",
            "refund_reason",
            set(REFUND_REASONS.iter().copied()),
        ),
    ];
    for (table, column, want) in escrow {
        assert_eq!(
            allowed(&pool, table, column).await,
            want,
            "{table}.{column}"
        );
    }

    // Identity statuses: the members of IIdentityRegistry.Status but NONE (an unknown id's), by name
    // on the home projection and by discriminant in the Lites' mirror.
    let statuses: Vec<Status> = Status::members().filter(|s| *s != Status::NONE).collect();
    assert_eq!(
        allowed(&pool, "identities", "status").await,
        set(statuses.iter().map(|s| s.name())),
        "identities.status"
    );
    assert_eq!(
        allowed_numbers(&pool, "lite_identities", "status").await,
        statuses.iter().map(|s| i64::from(u8::from(*s))).collect(),
        "lite_identities.status"
    );

    macro_rules! check {
        ($($ty:ty),+) => {$({
            let (table, column) = <$ty>::COLUMN;
            let want = set(<$ty>::ALL.iter().map(|s| s.as_str()));
            assert_eq!(allowed(&pool, table, column).await, want, "{table}.{column}");
            for s in <$ty>::ALL {
                assert_eq!(<$ty>::parse(s.as_str()), Some(*s));
            }
            assert_eq!(<$ty>::parse("no such state"), None);
        })+};
    }
    check!(
        AppOrderStatus,
        ListingKind,
        ListingStatus,
        DeliveryStatus,
        RelayerTxStatus,
        ChallengeScheme
    );
}

#[tokio::test]
async fn a_state_enum_round_trips_through_a_text_column() {
    let db = pact_testkit::TestDb::new().await.unwrap();
    let pool = db.pool().await.unwrap();
    let back: AppOrderStatus = sqlx::query_scalar("SELECT $1::text")
        .bind(AppOrderStatus::AwaitingPay)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(back, AppOrderStatus::AwaitingPay);
    let text: String = sqlx::query_scalar("SELECT $1::text")
        .bind(DeliveryStatus::Dead)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(text, "dead");
    // An unknown stored value is a decode error, not a silent default.
    let err = sqlx::query_scalar::<_, ListingStatus>("SELECT 'archived'::text")
        .fetch_one(&pool)
        .await
        .unwrap_err();
    assert!(matches!(err, sqlx::Error::ColumnDecode { .. }), "{err}");
}

#[tokio::test]
async fn migrating_twice_concurrently_applies_each_migration_once() {
    let db = pact_testkit::TestDb::new().await.unwrap();
    let pool = db.pool().await.unwrap();
    let (a, b) = tokio::join!(pact_db::migrate(&pool), pact_db::migrate(&pool));
    a.unwrap();
    b.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied as usize, pact_db::MIGRATOR.iter().count());
}
