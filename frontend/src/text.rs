//! Case mapping without the standard library's Unicode case tables, which weigh 24 KB of
//! the pane's WebAssembly (its size budget, docs/PERFORMANCE.md): in the browser, its
//! own `toLowerCase` / `toUpperCase`, which follow the same Unicode rules ("é" → "É");
//! outside a browser (the native unit tests), the standard library's.

/// `text` in lowercase (addresses are compared and kept that way, as the server does).
pub fn lower(text: &str) -> String {
    #[cfg(target_family = "wasm")]
    {
        String::from(js_sys::JsString::from(text).to_lower_case())
    }
    #[cfg(not(target_family = "wasm"))]
    {
        text.to_lowercase()
    }
}

/// `text` in uppercase (the NOM of "NOM Prénom").
pub fn upper(text: &str) -> String {
    #[cfg(target_family = "wasm")]
    {
        String::from(js_sys::JsString::from(text).to_upper_case())
    }
    #[cfg(not(target_family = "wasm"))]
    {
        text.to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_accented_letters_too() {
        assert_eq!(lower("Élise.Durand@CHU.fr"), "élise.durand@chu.fr");
        assert_eq!(upper("Lefèvre-Dœuf"), "LEFÈVRE-DŒUF");
    }
}
