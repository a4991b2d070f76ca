//! Entry point of the task pane: waits for office.js (or not), then mounts the app.

fn main() {
    console_error_panic_hook::set_once();
    medimail_taskpane::start();
}
