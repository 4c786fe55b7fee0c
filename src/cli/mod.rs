//! The `replaydesk` subcommands, each a thin adapter over the library crates.

pub mod align;
pub mod callback;
pub mod delivery;
pub mod emulator;
pub mod people;
pub mod store;
