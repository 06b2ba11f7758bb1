//! Rebuilds when the shared migration history changes (embedded by `sqlx::migrate!`).

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
