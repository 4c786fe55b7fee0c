//! ReplayDesk desktop shell: a Tauri 2 window around the console (`ui/`), with the backend
//! library embedded ([`backend`]). Commands live in [`commands`] and only adapt the library.

pub mod backend;
pub mod commands;

use tauri::{AppHandle, Builder, Manager, RunEvent, Runtime};

/// Registers the commands on `builder`. `run` uses it with the real runtime and the
/// embedded backend, the tests with `tauri::test::mock_builder()` and a backend they start
/// themselves, so both exercise the same wiring.
pub fn build_app<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    // One command per line, so that parallel additions merge cleanly. The console's
    // operations all go through `operation` (the library's operation table). Each waits
    // for the backend to have started (`backend::after_start`).
    builder.invoke_handler(backend::after_start(tauri::generate_handler![
        commands::app_info,
        commands::operation::operation,
        commands::host::host_create_class,
        commands::host::host_list_classes,
        commands::host::host_start_class,
        commands::host::host_end_class,
        commands::host::host_status,
        commands::host::host_join_info,
        commands::settings::get_settings,
        commands::settings::save_settings,
        commands::settings::restart_app,
    ]))
}

/// Another launch of the app handed over to this one: bring its window to the front (it
/// may be minimized or hidden behind others), so the second launch visibly did something.
pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    tracing::info!("another launch of ReplayDesk handed over to this one: showing its window");
    if let Some(window) = app.get_webview_window("main") {
        for (what, result) in [
            ("unminimize", window.unminimize()),
            ("show", window.show()),
            ("focus", window.set_focus()),
        ] {
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot {what} the window");
            }
        }
    }
}

/// WebKitGTK (Linux) composites the page on the GPU, or in software through Mesa's
/// llvmpipe where there is none: for a page of text and tables that costs the web process
/// more memory than the page itself (docs/benchmarks.md, "The desktop app's footprint").
/// Off unless the user's environment says otherwise; macOS and Windows use their own web
/// views and never read this.
fn webkit_defaults() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // Before any thread exists (the first thing `run` does), and read by the WebKit
        // processes this one starts.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// Starts the backend and the window; blocks until the app quits, then stops the backend.
pub fn run() {
    webkit_defaults();
    // Registered first, so that a second launch hands over (and exits) before it opens a
    // window or tries the listen address the first one holds. Where no D-Bus session bus
    // answers (Linux without a desktop session) the plugin lets every launch run as before.
    let builder =
        Builder::default().plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            show_main_window(app)
        }));
    let app = build_app(builder)
        .setup(|app| {
            // Returns at once: the backend starts on a task while the window paints. Tauri
            // panics on a setup error; a missing app dir deserves one plain line.
            if let Err(e) = backend::start(app) {
                eprintln!("ReplayDesk could not start: {e}");
                std::process::exit(1);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("ReplayDesk could not start: {e}");
            std::process::exit(1);
        });
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            backend::shutdown(handle);
        }
    });
}
