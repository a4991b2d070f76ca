//! The task pane in a real headless Chromium, served over HTTPS by the real server.

use medimail_e2e::{Browser, OfficeStub, Server, ServerOptions};

async fn server_with_outlook_stub(stub: &OfficeStub, platform: &str) -> Server {
    Server::start(ServerOptions {
        office_js_url: Some(stub.url(platform)),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn renders_the_french_shell_inside_outlook_and_saves_a_screenshot() {
    let stub = OfficeStub::start().await;
    let server = server_with_outlook_stub(&stub, "OfficeOnline").await;
    let browser = Browser::start(320, 700, &[]).await;

    browser.open_pane(&server.url("/taskpane.html")).await;

    // Rendered by the WASM app: the static page has none of these elements.
    assert_eq!(browser.text_of(".app-header h1").await, "Medimail");
    let status = browser.text_of("p.status").await;
    assert_eq!(status, "Connecté à Outlook sur le web");
    let host = browser
        .client
        .execute(
            "return document.querySelector('p.status').getAttribute('data-host')",
            vec![],
        )
        .await
        .expect("data-host");
    assert_eq!(host, "outlook");
    assert!(browser.text_of("#contenu").await.contains("Bienvenue"));
    // The loading placeholder is gone.
    let loading = browser
        .client
        .execute(
            "return document.getElementById('medimail-loading') === null",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(loading, true);

    // The browser got the wasm, JS and CSS it loaded in their brotli copies, and keeps
    // them for a year (issue 21, item 12).
    let served = browser
        .eval_async(
            "Promise.all(Array.from(document.querySelectorAll('link[href]'), l => l.href)\
               .filter(n => /-[0-9a-f]{8,16}(_bg\\.wasm|\\.js|\\.css)$/.test(n))\
               .map(n => fetch(n).then(r => [n.split('/').pop().split('.').pop(), \
                 r.headers.get('content-encoding'), r.headers.get('cache-control')])))",
        )
        .await;
    let mut kinds: Vec<String> = Vec::new();
    for asset in served.as_array().expect("a list") {
        assert_eq!(asset[1], "br", "{asset}");
        assert_eq!(asset[2], "public, max-age=31536000, immutable", "{asset}");
        kinds.push(asset[0].as_str().unwrap_or("").to_owned());
    }
    kinds.sort();
    assert_eq!(kinds, ["css", "js", "wasm"], "{served}");

    let png = browser.client.screenshot().await.expect("screenshot");
    let dir = medimail_e2e::target_dir().join("e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    let path = dir.join("taskpane-320x700.png");
    std::fs::write(&path, &png).expect("write screenshot");
    let (w, h) = png_size(&png);
    assert_eq!(
        (w, h),
        (320, 700),
        "screenshot size; saved at {}",
        path.display()
    );
    eprintln!("screenshot saved at {}", path.display());

    browser.close().await;
}

#[tokio::test]
async fn names_the_desktop_outlook_and_follows_hash_routes() {
    let stub = OfficeStub::start().await;
    let server = server_with_outlook_stub(&stub, "PC").await;
    let browser = Browser::start(320, 700, &[]).await;

    browser
        .client
        .goto(&server.url("/taskpane.html#/aide"))
        .await
        .expect("open help");
    browser.wait_ready().await;
    assert_eq!(
        browser.text_of("p.status").await,
        "Connecté à Outlook pour Windows"
    );
    assert_eq!(browser.text_of("#aide-titre").await, "Aide");
    let manifest = browser.text_of(".manifest-url code").await;
    assert_eq!(manifest, server.url("/Add-in/Manifestes/Medimail.xml"));

    // office.js nulls history.pushState: navigation works through the hash alone.
    browser
        .client
        .execute("window.location.hash = '#/ailleurs'", vec![])
        .await
        .expect("navigate");
    assert_eq!(
        browser.text_of("#introuvable-titre").await,
        "Page introuvable"
    );
    browser
        .client
        .find(fantoccini::Locator::Css("#contenu a[href='#/']"))
        .await
        .expect("link home")
        .click()
        .await
        .expect("click");
    assert_eq!(browser.text_of("#accueil-titre").await, "Bienvenue");

    browser.close().await;
}

#[tokio::test]
async fn starts_without_office_js_and_says_it_is_outside_outlook() {
    // An address where nothing listens: office.js fails to load, as when it is blocked.
    let port = medimail_e2e::free_port();
    let server = Server::start(ServerOptions {
        office_js_url: Some(format!("https://127.0.0.1:{port}/office.js")),
        ..Default::default()
    })
    .await;
    let browser = Browser::start(320, 700, &[]).await;
    browser
        .client
        .goto(&server.url("/taskpane.html"))
        .await
        .expect("open");
    browser.wait_ready().await;
    assert_eq!(browser.text_of(".app-header h1").await, "Medimail");
    let status = browser.text_of("p.status").await;
    assert!(status.starts_with("Hors d'Outlook"), "{status}");
    browser.close().await;
}

#[tokio::test]
async fn explains_in_french_when_webassembly_is_unavailable() {
    // Outlook 2016 on Internet Explorer 11 has no WebAssembly; Chromium is made the same
    // by removing the global before the page's scripts run.
    let stub = OfficeStub::start().await;
    let server = server_with_outlook_stub(&stub, "PC").await;
    let browser = Browser::start(320, 700, &[]).await;
    browser.before_each_page("delete window.WebAssembly;").await;
    browser
        .client
        .goto(&server.url("/taskpane.html"))
        .await
        .expect("open");
    let text = browser.text_of("#medimail-unsupported").await;
    assert!(
        text.contains("Cette version d'Outlook est trop ancienne pour Medimail."),
        "{text}"
    );
    let app_hidden = browser
        .client
        .execute(
            "return getComputedStyle(document.getElementById('medimail-app')).display",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(app_hidden, "none");
    // "Ouvrir Medimail dans mon navigateur": the webmail, at the public origin.
    let href = browser
        .client
        .execute(
            "return document.getElementById('open-in-browser').getAttribute('href')",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(href, format!("{}/", server.origin));
    browser.close().await;
}

#[tokio::test]
async fn without_webassembly_the_browser_link_carries_the_selected_notification() {
    // The pane opened on a notification in Outlook 2016: the link opens its envelope.
    let stub = OfficeStub::start().await;
    let server = Server::start(ServerOptions {
        office_js_url: Some(stub.url_read()),
        ..Default::default()
    })
    .await;
    let browser = Browser::start(320, 700, &[]).await;
    browser
        .before_each_page(
            "delete window.WebAssembly; window.__medimailReadItem = { subject: \
             '[MEDIMAIL : Reception] Compte rendu', body: 'Pour accéder au contenu : \
             https://medimail.chu-exemple.fr/#/inbox/open/AbCd_123-xyz Cordialement' };",
        )
        .await;
    browser
        .client
        .goto(&server.url("/taskpane.html"))
        .await
        .expect("open");
    browser.text_of("#medimail-unsupported").await;
    let expected = format!("{}/#/inbox/open/AbCd_123-xyz", server.origin);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let href = browser
            .client
            .execute(
                "return document.getElementById('open-in-browser').getAttribute('href')",
                vec![],
            )
            .await
            .expect("script");
        if href == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{href} is not {expected}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    browser.close().await;
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[1..4], b"PNG", "a PNG image");
    let w = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
    let h = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
    (w, h)
}
