//! Measures how long the task pane takes from navigation to the French shell rendered, in
//! headless Chromium at 320×700, against the real server over HTTPS with the office.js
//! stand-in. Prints each load and the median of 10. Run by `scripts/bench.sh`.
//!
//! The figure is `window.__medimailShellRenderedAt`: `performance.now()` (milliseconds
//! since navigation start) taken by the app right after it mounted the shell.

use std::time::Duration;

use medimail_e2e::{Browser, OfficeStub, Server, ServerOptions, median};

const LOADS: usize = 10;

#[tokio::main]
async fn main() {
    let stub = OfficeStub::start().await;
    let server = Server::start(ServerOptions {
        office_js_url: Some(stub.url("OfficeOnline")),
        ..Default::default()
    })
    .await;
    let browser = Browser::start(320, 700, &[]).await;
    let url = server.url("/taskpane.html");
    let mut times = Vec::with_capacity(LOADS);
    for i in 0..LOADS {
        if i == 0 {
            // The first load starts from an empty cache.
            browser
                .cdp("Network.clearBrowserCache", serde_json::json!({}))
                .await;
        }
        browser.client.goto("about:blank").await.expect("blank");
        browser.client.goto(&url).await.expect("open the pane");
        browser.wait_ready().await;
        let ms = browser
            .client
            .execute("return window.__medimailShellRenderedAt", vec![])
            .await
            .expect("timestamp")
            .as_f64()
            .expect("a number");
        println!(
            "load {:>2}: shell rendered {ms:>7.1} ms after navigation{}",
            i + 1,
            if i == 0 { " (empty cache)" } else { "" }
        );
        if i == 0 {
            // What crossed the network on the cold load: the hashed assets as sent (brotli
            // where the browser accepts it) and their size once decoded.
            let sizes = browser
                .client
                .execute(
                    "return performance.getEntriesByType('resource')\
                       .filter(e => /-[0-9a-f]{8,16}(_bg\\.wasm|\\.js|\\.css)$/.test(e.name))\
                       .map(e => [e.name.split('/').pop(), e.encodedBodySize, e.decodedBodySize])",
                    vec![],
                )
                .await
                .expect("resource timings");
            let mut sent = 0;
            for asset in sizes.as_array().into_iter().flatten() {
                let (encoded, decoded) = (
                    asset[1].as_u64().unwrap_or(0),
                    asset[2].as_u64().unwrap_or(0),
                );
                sent += encoded;
                println!(
                    "  {:<48} {encoded:>8} bytes sent, {decoded:>8} decoded",
                    asset[0].as_str().unwrap_or("?")
                );
            }
            println!("  hashed assets sent on the cold load: {sent} bytes");
        }
        times.push(ms);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = times[0];
    let med = median(&mut times);
    println!(
        "navigation → shell rendered: median {med:.1} ms over {LOADS} loads \
         (first, empty cache: {first:.1} ms; min {:.1}, max {:.1})",
        times[0],
        times[LOADS - 1]
    );
    browser.close().await;
}
