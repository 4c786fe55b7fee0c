use std::path::Path;

fn main() {
    // With `custom-protocol` the app embeds ui/dist at compile time (`generate_context!`).
    // The proc macro does not tell cargo to watch those files, so do it here: rebuilding
    // the front end then rebuilds the app instead of shipping stale assets.
    println!("cargo:rerun-if-changed=../ui/dist");
    if std::env::var_os("CARGO_FEATURE_CUSTOM_PROTOCOL").is_some()
        && !Path::new("../ui/dist/index.html").exists()
    {
        panic!(
            "ui/dist/index.html is missing: build the console first with \
             `npm --prefix ui ci && npm --prefix ui run build` (from the repository root)"
        );
    }
    tauri_build::build()
}
