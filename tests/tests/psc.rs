//! Pro Santé Connect's relying party (issue 20, first step) against a PSC-shaped test
//! provider on loopback (`medimail_e2e::psc_idp`): discovery at PSC's own path, the
//! authorize redirect with PKCE and `acr_values`, the code exchanged once, the ID token
//! verified (signature by `kid`, `aud`, `nonce`, `acr`), the professional read from
//! userinfo; and each refusal.

use medimail_e2e::psc_idp::{Bend, CLIENT_ID, CLIENT_SECRET, TestPsc};
use medimail_server::auth::psc::{Psc, PscError, PscSettings};

fn relying_party(idp: &TestPsc) -> Psc {
    Psc::new(PscSettings {
        issuer: idp.issuer(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: "https://localhost:8443/auth/psc/callback".into(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    })
}

/// A whole sign-in: start, the browser's trip, finish.
async fn sign_in(
    idp: &TestPsc,
    psc: &Psc,
) -> Result<medimail_server::auth::psc::Professional, PscError> {
    let started = psc.start().await.expect("start");
    assert!(started.url.contains("acr_values=eidas1"), "{}", started.url);
    assert!(
        started.url.contains("scope=openid+scope_all"),
        "{}",
        started.url
    );
    assert!(
        started.url.contains("code_challenge_method=S256"),
        "{}",
        started.url
    );
    let (code, state) = idp.authorize(&started.url).await;
    assert_eq!(state, started.state);
    psc.finish(&code, &started.verifier, &started.nonce).await
}

#[tokio::test]
async fn a_professional_signs_in_and_every_forgery_is_refused() {
    medimail_e2e::install_crypto_provider();
    let idp = TestPsc::start().await;
    let psc = relying_party(&idp);

    let professional = sign_in(&idp, &psc).await.expect("signed in");
    assert_eq!(professional.national_id, "899700427885");
    assert_eq!(professional.rpps.as_deref(), Some("99700427885"));
    assert_eq!(professional.family_name.as_deref(), Some("DOC0042788"));
    assert_eq!(professional.professions, vec!["10"]);
    assert_eq!(professional.acr, "eidas1");

    // A card sign-in answering a higher level is accepted; a lower or missing one is not.
    idp.bend(Bend {
        acr: Some(Some("eidas3".into())),
        ..Default::default()
    });
    assert_eq!(sign_in(&idp, &psc).await.expect("eidas3").acr, "eidas3");
    idp.bend(Bend {
        acr: Some(Some("eidas0".into())),
        ..Default::default()
    });
    assert_eq!(
        sign_in(&idp, &psc).await.err().map(|e| e.code()),
        Some("psc_acr_too_low")
    );
    idp.bend(Bend {
        acr: Some(None),
        ..Default::default()
    });
    assert_eq!(
        sign_in(&idp, &psc).await.err().map(|e| e.code()),
        Some("psc_acr_too_low")
    );

    // Another application's token, another sign-in's nonce, an unpublished key.
    idp.bend(Bend {
        audience: Some("autre-application".into()),
        ..Default::default()
    });
    assert_eq!(sign_in(&idp, &psc).await.err(), Some(PscError::Audience));
    idp.bend(Bend {
        nonce: Some("un-autre-nonce".into()),
        ..Default::default()
    });
    assert_eq!(sign_in(&idp, &psc).await.err(), Some(PscError::Nonce));
    idp.bend(Bend {
        key: Some(1),
        ..Default::default()
    });
    assert_eq!(sign_in(&idp, &psc).await.err(), Some(PscError::UnknownKey));
    idp.bend(Bend::default());

    // A replayed code: the provider refuses it.
    let started = psc.start().await.expect("start");
    let (code, _) = idp.authorize(&started.url).await;
    psc.finish(&code, &started.verifier, &started.nonce)
        .await
        .expect("first use");
    assert_eq!(
        psc.finish(&code, &started.verifier, &started.nonce)
            .await
            .err()
            .map(|e| e.code()),
        Some("psc_code_refused")
    );
    // A wrong PKCE verifier: refused too.
    let started = psc.start().await.expect("start");
    let (code, _) = idp.authorize(&started.url).await;
    assert_eq!(
        psc.finish(
            &code,
            "un-autre-verificateur-un-autre-verificateur-0123",
            &started.nonce
        )
        .await
        .err()
        .map(|e| e.code()),
        Some("psc_code_refused")
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_an_unknown_issuer_is_refused() {
    medimail_e2e::install_crypto_provider();
    let idp = TestPsc::start().await;
    let psc = relying_party(&idp);
    sign_in(&idp, &psc).await.expect("first key");
    // PSC rotates its key: the unknown kid refreshes the keys, the sign-in goes through.
    idp.rotate_to(medimail_e2e::idp::key(2, "psc-2"));
    let professional = sign_in(&idp, &psc).await.expect("rotated key");
    assert_eq!(professional.national_id, "899700427885");

    // Configured with another issuer than the document names: refused before anything.
    let wrong = Psc::new(PscSettings {
        // The same provider reached by another name: its document names another issuer.
        issuer: idp.issuer().replace("127.0.0.1", "localhost"),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: "https://localhost:8443/auth/psc/callback".into(),
        http: reqwest::Client::new(),
    });
    assert_eq!(wrong.start().await.err(), Some(PscError::IssuerMismatch));
}
