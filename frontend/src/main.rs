//! Entry point of the task pane: waits for office.js (or not), then mounts the app.

// The pane is single-threaded (no atomics): talc's allocator for that case.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    console_error_panic_hook::set_once();
    medimail_taskpane::start();
}
