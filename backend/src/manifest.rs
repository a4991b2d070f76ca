//! The Outlook add-in manifest, rendered from the template `manifest/Medimail.xml`.
//!
//! The template carries placeholder values that are themselves valid (so the file
//! validates against Microsoft's schemas as it stands). Rendering swaps them for the
//! configured public origin and application id. The result is computed once at start-up.

/// The template, compiled into the binary so that a deployment cannot lose it.
pub const TEMPLATE: &str = include_str!("../../manifest/Medimail.xml");

/// Origin placeholder used by every URL of the template.
const ORIGIN_PLACEHOLDER: &str = "https://medimail.invalid";
/// Application id URI placeholder of `WebApplicationInfo/Resource`.
const RESOURCE_PLACEHOLDER: &str = "api://medimail.invalid/";
/// Application id placeholder (the nil GUID).
pub const CLIENT_ID_PLACEHOLDER: &str = "00000000-0000-0000-0000-000000000000";

/// Renders the manifest for a public origin such as `https://medimail.example.org`
/// (no trailing slash) and an Entra application id (a GUID, already validated).
///
/// The origin's scheme, host and port come from a parsed URL, so they hold no XML
/// special characters.
pub fn render(template: &str, origin: &str, client_id: Option<&str>) -> String {
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    template
        .replace(RESOURCE_PLACEHOLDER, &format!("api://{authority}/"))
        .replace(ORIGIN_PLACEHOLDER, origin)
        .replace(
            CLIENT_ID_PLACEHOLDER,
            client_id.unwrap_or(CLIENT_ID_PLACEHOLDER),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://medimail.chu-exemple.fr:8443";
    const CLIENT_ID: &str = "1b2c3d4e-0000-4000-8000-1234567890ab";

    fn rendered() -> String {
        render(TEMPLATE, ORIGIN, Some(CLIENT_ID))
    }

    fn doc(xml: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(xml).expect("the manifest is well-formed XML")
    }

    /// Every attribute value or text that looks like a URL.
    fn urls(xml: &str) -> Vec<String> {
        let d = doc(xml);
        let mut out = Vec::new();
        for node in d.descendants() {
            for attr in node.attributes() {
                if attr.value().contains("://")
                    && !attr.value().starts_with("http://schemas.")
                    && !attr.value().starts_with("http://www.w3.org")
                {
                    out.push(attr.value().to_owned());
                }
            }
            if let Some(text) = node.text().map(str::trim)
                && text.contains("://")
                && node.is_element()
            {
                out.push(text.to_owned());
            }
        }
        out
    }

    #[test]
    fn renders_well_formed_xml_with_no_placeholder_left() {
        let xml = rendered();
        doc(&xml);
        assert!(
            !xml.contains("medimail.invalid"),
            "placeholder left in:\n{xml}"
        );
        assert!(!xml.contains(CLIENT_ID_PLACEHOLDER));
    }

    #[test]
    fn every_url_uses_the_public_origin_over_https() {
        let xml = rendered();
        let urls = urls(&xml);
        assert!(
            urls.len() >= 10,
            "expected the icon, source and resource URLs: {urls:?}"
        );
        for url in urls {
            let ok = url.starts_with(&format!("{ORIGIN}/"))
                || url == ORIGIN
                || url == format!("api://medimail.chu-exemple.fr:8443/{CLIENT_ID}");
            assert!(ok, "URL not on the configured origin: {url}");
        }
    }

    #[test]
    fn web_application_info_names_the_application() {
        let xml = rendered();
        let d = doc(&xml);
        let info = d
            .descendants()
            .find(|n| n.has_tag_name("WebApplicationInfo"))
            .expect("WebApplicationInfo present");
        // It belongs to the nested V1_1 overrides, as Microsoft's SSO documentation requires.
        let parent = info.parent_element().expect("has a parent");
        assert_eq!(
            parent.attribute(("http://www.w3.org/2001/XMLSchema-instance", "type")),
            Some("VersionOverridesV1_1")
        );
        let child = |name: &str| {
            info.children()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .map(str::to_owned)
        };
        assert_eq!(child("Id").as_deref(), Some(CLIENT_ID));
        assert_eq!(
            child("Resource"),
            Some(format!("api://medimail.chu-exemple.fr:8443/{CLIENT_ID}"))
        );
    }

    #[test]
    fn office_app_children_are_in_schema_order() {
        // OfficeApp then MailApp sequences of OfficeAppManifestV1_1.xsd.
        const ORDER: &[&str] = &[
            "Id",
            "AlternateId",
            "Version",
            "ProviderName",
            "DefaultLocale",
            "DisplayName",
            "Description",
            "IconUrl",
            "HighResolutionIconUrl",
            "SupportUrl",
            "AppDomains",
            "Hosts",
            "Requirements",
            "FormSettings",
            "Permissions",
            "Rule",
            "DisableEntityHighlighting",
            "VersionOverrides",
        ];
        let xml = rendered();
        let d = doc(&xml);
        let root = d.root_element();
        assert_eq!(root.tag_name().name(), "OfficeApp");
        let positions: Vec<usize> = root
            .children()
            .filter(|n| n.is_element())
            .map(|n| {
                ORDER
                    .iter()
                    .position(|o| *o == n.tag_name().name())
                    .unwrap_or_else(|| panic!("unexpected element {}", n.tag_name().name()))
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "OfficeApp children out of order: {positions:?}"
        );
        for required in [
            "Id",
            "Version",
            "DefaultLocale",
            "FormSettings",
            "Permissions",
            "Rule",
        ] {
            let idx = ORDER.iter().position(|o| *o == required).expect("known");
            assert!(positions.contains(&idx), "missing {required}");
        }
    }

    #[test]
    fn declares_read_and_compose_buttons_with_french_labels() {
        let xml = rendered();
        for surface in ["MessageReadCommandSurface", "MessageComposeCommandSurface"] {
            assert_eq!(
                xml.matches(surface).count(),
                2,
                "{surface} in V1_0 and V1_1"
            );
        }
        assert!(xml.contains("<DefaultLocale>fr-FR</DefaultLocale>"));
        assert!(xml.contains("Ouvrir Medimail"));
        for size in ["16", "32", "80"] {
            assert!(xml.contains(&format!("icons/icon-{size}.png")));
        }
        assert!(xml.contains("<Permissions>ReadWriteMailbox</Permissions>"));
    }

    #[test]
    fn the_read_pane_can_be_pinned_where_mailbox_1_5_is_supported() {
        let xml = rendered();
        let doc = doc(&xml);
        let v1_1 = doc
            .descendants()
            .find(|n| {
                n.tag_name().name() == "VersionOverrides"
                    && n.tag_name().namespace()
                        == Some("http://schemas.microsoft.com/office/mailappversionoverrides/1.1")
            })
            .expect("the V1_1 override");
        let sets = v1_1
            .descendants()
            .find(|n| n.tag_name().name() == "Sets")
            .expect("its requirements");
        assert_eq!(sets.attribute("DefaultMinVersion"), Some("1.5"));
        let read = v1_1
            .descendants()
            .find(|n| {
                n.tag_name().name() == "ExtensionPoint"
                    && n.attributes()
                        .any(|a| a.value() == "MessageReadCommandSurface")
            })
            .expect("the read surface");
        let pinning: Vec<_> = read
            .descendants()
            .filter(|n| n.tag_name().name() == "SupportsPinning")
            .collect();
        assert_eq!(pinning.len(), 1);
        assert_eq!(pinning[0].text(), Some("true"));
        // Only there: the V1_0 override (older clients) has none.
        assert_eq!(xml.matches("<SupportsPinning>").count(), 1);
    }

    #[test]
    fn stays_under_the_256_kb_office_limit() {
        assert!(rendered().len() < 256 * 1024);
    }

    #[test]
    fn without_an_application_id_keeps_the_placeholder() {
        let xml = render(TEMPLATE, "https://localhost:3000", None);
        assert!(xml.contains(&format!("api://localhost:3000/{CLIENT_ID_PLACEHOLDER}")));
    }

    /// Validates the rendered manifest with xmllint against Microsoft's schemas when the
    /// schema folder (`../shared/schemas/office-addin-manifest/`, beside the checkout) is
    /// present. A user's clone does not have it: the test then says that it skipped.
    #[test]
    fn validates_against_the_office_schemas_when_present() {
        let schemas = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/schemas/office-addin-manifest/OfficeAppManifestV1_1.xsd");
        if !schemas.exists() {
            eprintln!(
                "SKIPPED: no schema folder at {}; the manifest was not validated against the XSD",
                schemas.display()
            );
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("Medimail.xml");
        std::fs::write(&file, rendered()).expect("write manifest");
        let out = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&schemas)
            .arg(&file)
            .output()
            .expect("xmllint is installed by scripts/install-tools.sh --test");
        assert!(
            out.status.success(),
            "the manifest does not validate:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
