//! The `replaydesk` subcommands, each a thin adapter over the library crates.

pub mod align;
