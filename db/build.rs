//! Rebuilds when the migration history changes (embedded by `sqlx::migrate!`): the one place it is
//! embedded, so every service that links this crate picks the change up.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
