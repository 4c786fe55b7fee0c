//! The integration tests of the `replaydesk` package, in one binary (one build, one link,
//! one process): a module per area, and one helper root, [`util`].
//!
//! One process runs every test at once, so no test may change what the process shares:
//! no `std::env::set_var`, no working directory, no umask, no signal handler, no global
//! `tracing` subscriber that sees other tests' events, no fixed port. What a child needs
//! goes to the child (`util::process`). Run one area with
//! `cargo test -p replaydesk --test it -- store::`; tests/README.md says more.

#[macro_use]
mod util;

mod align;
mod archive;
mod archive_store;
mod auth_cli;
mod auth_people;
mod auth_sessions;
mod bad_requests;
mod bulk_resend;
mod callback;
mod chaos;
mod console_queries;
mod css_streams;
mod delivery;
mod delivery_crash;
mod delivery_fairness;
mod delivery_leases;
mod delivery_rate_limit;
mod delivery_rate_limit_groups;
mod demo;
mod emulator;
mod firsthour_traps;
mod group_missing;
mod heartbeat;
mod hostile_bundles;
mod http_edges;
mod identifiers;
mod import;
mod intake_batch;
mod jobs_adopted;
mod lifecycle;
mod local_access;
mod message_source;
mod multinode_pg;
mod openapi;
mod operations;
mod protocol_fixtures;
mod query_plans;
mod recorder_store;
mod recordings;
mod report_limits;
mod roster;
mod sandbox_restart;
mod secrets_in_logs;
mod security;
mod serve_start;
mod server;
mod server_callbacks;
mod server_limits;
mod server_sigterm;
mod store;
mod tls_proxy;
mod trtc_callback;
mod usersig_interop;
mod write_faults;
