//! Office token verification time with a warm JWKS cache: the server's own
//! `OfficeVerifier` against the test identity provider, 10,000 verifications of a valid
//! RS256 token, each timed. Prints p50, p99 and the mean. Run by `scripts/bench.sh`
//! (build it in release for production-like figures: `cargo run --release --bin token-verify-bench`).

use std::time::{Duration, Instant};

use medimail_e2e::idp::{self, TestIdp};
use medimail_server::auth::office::{AllowedTenants, OfficeVerifier, VerifierSettings};

const RUNS: usize = 10_000;

#[tokio::main]
async fn main() {
    medimail_e2e::install_crypto_provider();
    let provider = TestIdp::start().await;
    let verifier = OfficeVerifier::new(VerifierSettings {
        metadata_url: provider.metadata_url().parse().expect("metadata URL"),
        issuer_template: idp::ISSUER_TEMPLATE.to_owned(),
        tenants: AllowedTenants::Only(vec![idp::TENANT.to_owned()]),
        audiences: vec![idp::CLIENT_ID.to_owned()],
        refresh_interval: Duration::from_secs(60),
        client_apps: medimail_server::auth::office::client_apps(None, Some(idp::CLIENT_ID)),
        clock: medimail_server::clock::Clock::System,
    });
    let token = idp::sign(&provider.current_key(), &idp::valid_claims());
    verifier
        .verify(&token)
        .await
        .expect("warm-up: the token verifies");

    let mut micros = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let identity = verifier.verify(&token).await.expect("verifies");
        micros.push(start.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(identity);
    }
    let mean = micros.iter().sum::<f64>() / micros.len() as f64;
    micros.sort_by(f64::total_cmp);
    let p = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    println!(
        "token verification, warm JWKS cache, {RUNS} runs ({} build): p50 {:.1} µs, p99 {:.1} µs, mean {mean:.1} µs",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        p(0.50),
        p(0.99),
    );
    assert_eq!(provider.jwks_fetches(), 1, "the cache stayed warm");
}
