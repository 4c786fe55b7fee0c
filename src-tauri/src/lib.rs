//! ReplayDesk desktop shell: a Tauri 2 window around the console (`ui/`), with the backend
//! library embedded. Commands live in [`commands`] and only adapt the library.

pub mod commands;

use tauri::{Builder, Runtime};

/// Registers everything the app needs on `builder`. `run` uses it with the real runtime,
/// the tests with `tauri::test::mock_builder()`, so both exercise the same wiring.
pub fn build_app<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    // One command per line, so that parallel additions merge cleanly.
    builder.invoke_handler(tauri::generate_handler![
        commands::app_info,
        commands::admin::create_class,
        commands::admin::list_classes,
        commands::admin::get_class,
        commands::admin::class_members,
        commands::admin::member_credential,
        commands::admin::class_reports,
        commands::admin::class_messages,
        commands::admin::list_messages,
        commands::admin::get_message,
        commands::admin::resend_message,
        commands::admin::bulk_resend,
        commands::admin::recover,
        commands::admin::list_jobs,
        commands::admin::get_job,
        commands::admin::list_audit,
        commands::admin::list_alerts,
        commands::admin::list_callbacks,
        commands::admin::get_callback,
        commands::admin::assign_callback,
        commands::admin::set_secret_key,
        commands::align::class_alignment,
    ])
}

/// Starts the desktop app and blocks until its last window closes.
pub fn run() {
    build_app(Builder::default())
        .run(tauri::generate_context!())
        .expect("error while running ReplayDesk");
}
