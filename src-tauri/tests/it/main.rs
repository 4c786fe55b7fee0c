//! The desktop shell's integration tests, in one binary: its commands called the way the
//! webview calls them (Tauri IPC over the mock runtime: no window, no display) on a real
//! backend, a module per area, and one helper root, [`util`].
//!
//! One process runs every test at once: no test may change what the process shares (its
//! environment, working directory, a global `tracing` subscriber, a fixed port).

mod util;

mod admin_commands;
mod align_commands;
mod commands;
mod operations;
