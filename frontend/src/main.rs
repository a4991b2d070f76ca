//! Entry point of the task pane: waits for office.js (or not), then mounts the app.

// The pane is single-threaded (no atomics): talc's allocator for that case.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn error(message: &str);
}

fn main() {
    // A panic is said in the console with its message and place (the smaller hook than
    // console_error_panic_hook's: no JavaScript stack, which `panic = "abort"` builds
    // do not unwind anyway).
    std::panic::set_hook(Box::new(|info| error(&info.to_string())));
    medimail_taskpane::start();
}
