//! ReplayDesk desktop shell: a Tauri 2 window around the console (`ui/`), with the backend
//! library embedded. Commands live in [`commands`] and only adapt the library.

pub mod commands;

use tauri::{Builder, Runtime};

/// Registers everything the app needs on `builder`. `run` uses it with the real runtime,
/// the tests with `tauri::test::mock_builder()`, so both exercise the same wiring.
pub fn build_app<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder.invoke_handler(tauri::generate_handler![commands::app_info])
}

/// Starts the desktop app and blocks until its last window closes.
pub fn run() {
    build_app(Builder::default())
        .run(tauri::generate_context!())
        .expect("error while running ReplayDesk");
}
