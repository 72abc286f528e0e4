//! Example programs that embed idv; see `embed.rs` and run `cargo run -p idv-examples --example embed`.
