//! The offline build's pins agree with each other (TOOLCHAIN.md): Trunk uses the
//! wasm-bindgen on PATH, which must be the exact version of the library in Cargo.lock.

use medimail_e2e::workspace_root;

fn locked_version(lock: &str, name: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"") {
            return lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_owned());
        }
    }
    None
}

#[test]
fn trunk_pins_the_wasm_bindgen_of_cargo_lock() {
    let root = workspace_root();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    let trunk = std::fs::read_to_string(root.join("Trunk.toml")).expect("Trunk.toml");
    let locked = locked_version(&lock, "wasm-bindgen").expect("wasm-bindgen locked");
    assert!(
        trunk.contains(&format!("wasm_bindgen = \"{locked}\"")),
        "Trunk.toml must pin wasm_bindgen = \"{locked}\" (Cargo.lock)"
    );
    assert!(trunk.contains("offline = true"));
    assert!(trunk.contains("wasm_opt = \"version_132\""));
}

#[test]
fn the_built_pane_is_the_optimised_release_build() {
    let dist = medimail_e2e::dist_dir();
    let wasm: Vec<_> = std::fs::read_dir(&dist)
        .expect("dist")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        .collect();
    assert_eq!(wasm.len(), 1, "one .wasm in dist/");
    let bytes = std::fs::read(wasm[0].path()).expect("wasm");
    assert_eq!(&bytes[..4], b"\0asm");
    // wasm-opt -Oz with the wasm-release profile keeps the pane small (TOOLCHAIN.md: ~117 KB
    // for a minimal app); an unoptimised debug build would be several MB.
    assert!(
        bytes.len() < 1_500_000,
        "the release .wasm is {} bytes",
        bytes.len()
    );
}
