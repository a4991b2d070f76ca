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

mod sign_in {
    //! The « carte CPx » on the real binary: the webmail's card sign-in (the callback
    //! sets the session, or keeps the card for the sign-in with a code that links it), the
    //! pane's grant (`POST /api/auth/psc`, once, 100 at once), each refusal of the
    //! provider's answer as a page with its code, a different RPPS refused with nothing
    //! written, « Dissocier ma carte », and the audit of each.

    use medimail_e2e::psc_idp::{Bend, CLIENT_ID, CLIENT_SECRET, TestPsc};
    use medimail_e2e::{Server, ServerOptions};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use serde_json::{Value, json};

    const MARIE: &str = "marie.curie@chu-exemple.fr";
    const PAUL: &str = "paul.langevin@chu-exemple.fr";
    const PASSPHRASE: &str = "Le chat dort sur le radiateur";
    /// The test provider's default professional: RPPS 99700427885.
    const CARD: &str = "899700427885";

    pub async fn server(idp: &TestPsc) -> Server {
        let secret = tempfile::NamedTempFile::new().expect("secret");
        std::fs::write(secret.path(), CLIENT_SECRET).expect("write");
        let (_, path) = secret.keep().expect("keep");
        Server::start(ServerOptions {
            env: vec![
                ("MEDIMAIL_DEV_IDENTITY".into(), "true".into()),
                ("MEDIMAIL_WEBMAIL".into(), "all".into()),
                ("MEDIMAIL_PSC_ISSUER".into(), idp.issuer()),
                ("MEDIMAIL_PSC_CLIENT_ID".into(), CLIENT_ID.into()),
                (
                    "MEDIMAIL_PSC_CLIENT_SECRET_FILE".into(),
                    path.display().to_string(),
                ),
            ],
            ..Default::default()
        })
        .await
    }

    /// A client that follows no redirect and keeps no cookie (each test says which it
    /// sends).
    fn browser(server: &Server) -> reqwest::Client {
        let pem = std::fs::read(server.cert_path()).expect("certificate");
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("PEM")])
            .resolve("localhost", server.addr())
            .build()
            .expect("client")
    }

    /// The value `name` is set to by `response`, if it sets it.
    fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap_or_default().to_owned())
    }

    fn location(response: &reqwest::Response) -> String {
        response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_else(|| panic!("a redirect, got {}", response.status()))
            .to_owned()
    }

    /// What the card's trip ends with: the callback's answer.
    pub struct Trip {
        pub status: u16,
        pub location: Option<String>,
        /// `__Host-medimail-session`, `__Host-medimail-psc-grant` as set.
        pub session: Option<String>,
        pub waiting: Option<String>,
        /// The page's JSON outcome (pane dialog or refusal).
        pub outcome: Value,
    }

    /// Start, the provider's authorize, the callback (with the pending cookie, or another
    /// one); `pane` for the Office dialog.
    pub async fn trip(server: &Server, idp: &TestPsc, pane: bool) -> Trip {
        let http = browser(server);
        let start = http
            .get(server.url(&format!(
                "/auth/psc/start{}",
                if pane { "?pour=volet" } else { "" }
            )))
            .send()
            .await
            .expect("start");
        assert_eq!(
            start.status(),
            303,
            "{}",
            start.text().await.unwrap_or_default()
        );
        let pending = set_cookie(&start, "__Host-medimail-psc").expect("pending cookie");
        let (code, state) = idp.authorize(&location(&start)).await;
        callback(server, &pending, &code, &state).await
    }

    pub async fn callback(server: &Server, pending: &str, code: &str, state: &str) -> Trip {
        let mut url = url::Url::parse(&server.url("/auth/psc/callback")).expect("url");
        url.query_pairs_mut()
            .append_pair("code", code)
            .append_pair("state", state);
        let back = browser(server)
            .get(url.as_str())
            .header("cookie", format!("__Host-medimail-psc={pending}"))
            .send()
            .await
            .expect("callback");
        let status = back.status().as_u16();
        let location = back
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let session = set_cookie(&back, medimail_api::SESSION_COOKIE).filter(|s| !s.is_empty());
        let waiting = set_cookie(&back, "__Host-medimail-psc-grant").filter(|s| !s.is_empty());
        let html = back.text().await.unwrap_or_default();
        let outcome = html
            .split("id=\"medimail-dialog-result\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .map(|json| serde_json::from_str(json).expect("outcome JSON"))
            .unwrap_or(Value::Null);
        Trip {
            status,
            location,
            session,
            waiting,
            outcome,
        }
    }

    /// « Demander un code » and « Connexion » in the webmail, with `cookie` sent.
    async fn webmail_sign_in(
        server: &Server,
        mailbox: &str,
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let http = browser(server);
        let before = server.outbox_count();
        let asked = http
            .post(server.url(medimail_api::paths::WEBMAIL_CODE))
            .json(&json!({"mailbox": mailbox}))
            .send()
            .await
            .expect("code");
        assert_eq!(asked.status(), 202);
        let code = server.code_after(before).await;
        let mut request = http
            .post(server.url(medimail_api::paths::WEBMAIL_SESSION))
            .json(&json!({"mailbox": mailbox, "code": code, "passphrase": PASSPHRASE}));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.expect("session")
    }

    async fn account(
        server: &Server,
        mailbox: &str,
    ) -> medimail_server::account::entity::account::Model {
        use medimail_server::account::entity::account;
        account::Entity::find()
            .filter(account::Column::Mailbox.eq(mailbox))
            .one(&server.sqlite().await)
            .await
            .expect("query")
            .expect("account")
    }

    async fn card_links(server: &Server) -> Vec<(String, Option<String>)> {
        use medimail_server::account::entity::identity_link;
        identity_link::Entity::find()
            .filter(identity_link::Column::Provider.eq("psc"))
            .all(&server.sqlite().await)
            .await
            .expect("links")
            .into_iter()
            .map(|l| (l.subject, l.account_id))
            .collect()
    }

    async fn audited(server: &Server, action: &str) -> Vec<Value> {
        use medimail_server::entity::audit_event;
        audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq(action))
            .all(&server.sqlite().await)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| serde_json::from_str(&e.detail).expect("detail"))
            .collect()
    }

    #[tokio::test]
    async fn the_first_card_sign_in_links_after_a_code_and_the_next_goes_straight_in() {
        let idp = TestPsc::start().await;
        let server = server(&idp).await;
        server.dev_sign_in(MARIE, PASSPHRASE).await;
        let status: Value = server
            .get(medimail_api::paths::AUTH_PSC)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(status["available"], true);

        // Not linked yet: the card waits for the sign-in with a code.
        let first = trip(&server, &idp, false).await;
        assert_eq!(first.status, 303);
        assert_eq!(first.location.as_deref(), Some("/#/carte-cpx"));
        assert!(first.session.is_none(), "no session before the code");
        let waiting = first.waiting.expect("the card waits in its cookie");
        let signed = webmail_sign_in(
            &server,
            MARIE,
            Some(&format!("__Host-medimail-psc-grant={waiting}")),
        )
        .await;
        assert_eq!(signed.status(), 201);
        assert_eq!(
            set_cookie(&signed, "__Host-medimail-psc-grant").as_deref(),
            Some(""),
            "the waiting card's cookie ends"
        );
        let described: Value = signed.json().await.expect("json");
        assert_eq!(described["psc_linked"], true);
        assert_eq!(described["method"], "otp");
        assert_eq!(
            account(&server, MARIE).await.rpps.as_deref(),
            Some("99700427885"),
            "the RPPS comes from the card"
        );
        let marie_id = account(&server, MARIE).await.id;
        assert_eq!(
            card_links(&server).await,
            vec![(CARD.to_owned(), Some(marie_id.clone()))]
        );
        assert_eq!(audited(&server, "psc_linked").await.len(), 1);

        // Linked: the card alone opens the mailbox.
        let next = trip(&server, &idp, false).await;
        assert_eq!(next.status, 303);
        assert_eq!(next.location.as_deref(), Some("/"));
        let session = next.session.expect("the session cookie");
        let state: Value = browser(&server)
            .get(server.url(medimail_api::paths::WEBMAIL_SESSION))
            .header(
                "cookie",
                format!("{}={session}", medimail_api::SESSION_COOKIE),
            )
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("json");
        // The first webmail visit of this account: the conditions of use come first.
        assert_eq!(state["stage"], "conditions", "{state}");
        assert_eq!(state["method"], "psc");
        assert_eq!(state["mailbox"], MARIE);
        let accepted: Value = browser(&server)
            .post(server.url(medimail_api::paths::WEBMAIL_CONDITIONS))
            .header(
                "cookie",
                format!("{}={session}", medimail_api::SESSION_COOKIE),
            )
            .header(
                medimail_api::CSRF_HEADER,
                state["csrf"].as_str().expect("csrf"),
            )
            .json(&json!({"version": state["conditions_version"]}))
            .send()
            .await
            .expect("conditions")
            .json()
            .await
            .expect("json");
        assert_eq!(accepted["stage"], "signed_in", "{accepted}");
        let signed_in_by_card = audited(&server, "sign_in")
            .await
            .into_iter()
            .filter(|d| d["method"] == "psc")
            .count();
        assert_eq!(signed_in_by_card, 1);
        // « MSSanté »: the card's session is the strong authentication the activation
        // asks for, and the RPPS it brought fills the second condition.
        let conditions: Value = browser(&server)
            .get(server.url(medimail_api::paths::ACCOUNT_MSSANTE))
            .header(
                "cookie",
                format!("{}={session}", medimail_api::SESSION_COOKIE),
            )
            .send()
            .await
            .expect("mssante")
            .json()
            .await
            .expect("json");
        assert_eq!(
            conditions,
            json!({"eligible": false, "identifier": true, "strong": true, "method": "psc",
                   "activated": false, "address": null,
                   "reserved_to_managers": false, "managers": []})
        );

        // « Dissocier ma carte »: the card no longer opens the mailbox.
        let csrf = state["csrf"].as_str().expect("csrf");
        let unlinked = browser(&server)
            .delete(server.url(medimail_api::paths::ACCOUNT_PSC))
            .header(
                "cookie",
                format!("{}={session}", medimail_api::SESSION_COOKIE),
            )
            .header(medimail_api::CSRF_HEADER, csrf)
            .send()
            .await
            .expect("unlink");
        assert_eq!(unlinked.status(), 204);
        assert!(card_links(&server).await.is_empty());
        assert_eq!(audited(&server, "psc_unlinked").await.len(), 1);
        let after = trip(&server, &idp, false).await;
        assert_eq!(after.location.as_deref(), Some("/#/carte-cpx"));
    }

    #[tokio::test]
    async fn each_forged_or_weak_answer_is_refused_with_its_code_and_audited() {
        let idp = TestPsc::start().await;
        let server = server(&idp).await;
        let cases: [(Bend, &str); 5] = [
            (
                Bend {
                    acr: Some(Some("eidas0".into())),
                    ..Default::default()
                },
                "psc_acr_too_low",
            ),
            (
                Bend {
                    acr: Some(None),
                    ..Default::default()
                },
                "psc_acr_too_low",
            ),
            (
                Bend {
                    audience: Some("autre-application".into()),
                    ..Default::default()
                },
                "psc_wrong_audience",
            ),
            (
                Bend {
                    nonce: Some("un-autre-nonce".into()),
                    ..Default::default()
                },
                "psc_nonce_mismatch",
            ),
            (
                Bend {
                    key: Some(1),
                    ..Default::default()
                },
                "psc_unknown_key",
            ),
        ];
        for (bend, code) in cases {
            idp.bend(bend);
            let refused = trip(&server, &idp, false).await;
            assert_eq!(refused.status, 200);
            assert_eq!(refused.outcome["code"], code, "{}", refused.outcome);
            assert!(refused.session.is_none() && refused.waiting.is_none());
        }
        idp.bend(Bend::default());
        assert_eq!(audited(&server, "psc_sign_in_refused").await.len(), 5);

        // A replayed code (the same pending cookie and code twice): the provider refuses.
        let http = browser(&server);
        let start = http
            .get(server.url("/auth/psc/start"))
            .send()
            .await
            .expect("start");
        let pending = set_cookie(&start, "__Host-medimail-psc").expect("pending");
        let (code, state) = idp.authorize(&location(&start)).await;
        assert_eq!(callback(&server, &pending, &code, &state).await.status, 303);
        let replayed = callback(&server, &pending, &code, &state).await;
        assert_eq!(replayed.outcome["code"], "psc_code_refused");
        // Another sign-in's state, and no pending cookie at all.
        let forged = callback(&server, &pending, &code, "un-autre-etat").await;
        assert_eq!(forged.outcome["code"], "psc_state_mismatch");
        let lost = callback(&server, "", &code, &state).await;
        assert_eq!(lost.outcome["code"], "psc_expired");
        assert!(
            lost.outcome["message"]
                .as_str()
                .is_some_and(|m| m.contains("recommencez")),
            "{}",
            lost.outcome
        );
        // Nothing was linked by any of them.
        assert!(card_links(&server).await.is_empty());
    }

    #[tokio::test]
    async fn another_rpps_refuses_the_link_and_nothing_is_written() {
        let idp = TestPsc::start().await;
        let server = server(&idp).await;
        server.dev_sign_in(PAUL, PASSPHRASE).await;
        // Paul's account says RPPS 10000000001; the card says 99700427885.
        {
            use medimail_server::account::entity::account;
            use sea_orm::sea_query::Expr;
            account::Entity::update_many()
                .col_expr(account::Column::Rpps, Expr::value(Some("10000000001")))
                .filter(account::Column::Mailbox.eq(PAUL))
                .exec(&server.sqlite().await)
                .await
                .expect("rpps");
        }
        let trip = trip(&server, &idp, false).await;
        let waiting = trip.waiting.expect("waiting card");
        let http = browser(&server);
        let before = server.outbox_count();
        http.post(server.url(medimail_api::paths::WEBMAIL_CODE))
            .json(&json!({"mailbox": PAUL}))
            .send()
            .await
            .expect("code");
        let code = server.code_after(before).await;
        let sign_in = |cookie: Option<String>| {
            let mut request = http
                .post(server.url(medimail_api::paths::WEBMAIL_SESSION))
                .json(&json!({"mailbox": PAUL, "code": code, "passphrase": PASSPHRASE}));
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send()
        };
        let refused = sign_in(Some(format!("__Host-medimail-psc-grant={waiting}")))
            .await
            .expect("sign in");
        assert_eq!(refused.status(), 409);
        assert_eq!(
            set_cookie(&refused, "__Host-medimail-psc-grant").as_deref(),
            Some(""),
            "the card no longer waits"
        );
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["code"], "psc_identifier_mismatch");
        assert!(card_links(&server).await.is_empty());
        assert_eq!(
            account(&server, PAUL).await.rpps.as_deref(),
            Some("10000000001")
        );
        assert!(audited(&server, "psc_linked").await.is_empty());
        // The code was not spent: the same code signs in without the card.
        let plain = sign_in(None).await.expect("sign in");
        assert_eq!(plain.status(), 201);
    }

    #[tokio::test]
    async fn in_outlook_a_grant_opens_one_session_once_even_sent_100_times_at_once() {
        let idp = TestPsc::start().await;
        let server = server(&idp).await;
        let (marie_token, _) = server.dev_sign_in(MARIE, PASSPHRASE).await;
        let (paul_token, _) = server.dev_sign_in(PAUL, PASSPHRASE).await;
        let grant = |trip: Trip| {
            assert_eq!(trip.outcome["status"], "ok", "{}", trip.outcome);
            trip.outcome["grant"].as_str().expect("grant").to_owned()
        };

        // Not linked: the pane is told, then links it with its code.
        let unlinked = grant(trip(&server, &idp, true).await);
        let (status, body) = server
            .call(
                reqwest::Method::POST,
                medimail_api::paths::AUTH_PSC,
                (&marie_token, None),
                Some(json!({"grant": unlinked})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("psc_not_linked"))
        );
        let before = server.outbox_count();
        let (status, _) = server
            .call(
                reqwest::Method::POST,
                medimail_api::paths::AUTH_CODE,
                (&marie_token, None),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let code = server.code_after(before).await;
        let (status, body) = server
            .call(
                reqwest::Method::POST,
                medimail_api::paths::AUTH_SESSION,
                (&marie_token, None),
                Some(json!({"code": code, "passphrase": PASSPHRASE, "psc_grant": unlinked})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(card_links(&server).await.len(), 1);

        // Linked: a grant opens a session, once — even sent 100 times at once.
        let linked = grant(trip(&server, &idp, true).await);
        let answers = futures::future::join_all((0..100).map(|_| {
            server.call(
                reqwest::Method::POST,
                medimail_api::paths::AUTH_PSC,
                (&marie_token, None),
                Some(json!({"grant": linked})),
            )
        }))
        .await;
        let opened: Vec<&Value> = answers
            .iter()
            .filter(|(s, _)| *s == 201)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(opened.len(), 1, "one session from one grant");
        assert!(
            answers
                .iter()
                .filter(|(s, _)| *s != 201)
                .all(|(s, b)| *s == 400 && b["code"] == "psc_grant_used"),
            "the others are told it was used"
        );
        let session = opened[0]["session"].as_str().expect("session");
        let (status, _) = server
            .call(
                reqwest::Method::GET,
                medimail_api::paths::AUTH_SESSION,
                (&marie_token, Some(session)),
                None,
            )
            .await;
        assert_eq!(status, 200, "the card's session works");

        // Paul's Outlook with Marie's card: refused.
        let marie_card = grant(trip(&server, &idp, true).await);
        let (status, body) = server
            .call(
                reqwest::Method::POST,
                medimail_api::paths::AUTH_PSC,
                (&paul_token, None),
                Some(json!({"grant": marie_card})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("psc_other_account"))
        );
        // A grant altered, or sealed by another server: refused.
        let (status, body) = server
            .call(
                reqwest::Method::POST,
                medimail_api::paths::AUTH_PSC,
                (&marie_token, None),
                Some(json!({"grant": format!("{marie_card}x")})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("psc_grant_invalid"))
        );
        let me: Value = server
            .call(
                reqwest::Method::GET,
                medimail_api::paths::ME,
                (&marie_token, None),
                None,
            )
            .await
            .1;
        assert_eq!(
            (me["psc_available"].as_bool(), me["psc_linked"].as_bool()),
            (Some(true), Some(true))
        );
        assert!(audited(&server, "psc_sign_in_refused").await.len() >= 100);
    }
}

mod chromium {
    //! The card in headless Chromium: the webmail's button (to the test provider and
    //! back), the link after the sign-in with a code, the card alone next time, « Dissocier
    //! ma carte »; and the pane's button through the Office dialog (a real window, the
    //! page's `messageParent`), not linked then linked by the code, then alone.

    use medimail_e2e::psc_idp::{CLIENT_ID, CLIENT_SECRET, TestPsc};
    use medimail_e2e::{Identity, OfficeStub, Pane, PaneOptions};

    const MARIE: &str = "marie.curie@chu-dev.fr";
    const PASSPHRASE: &str = "Le chat dort sur le radiateur";

    async fn pane(idp: &TestPsc) -> Pane {
        let secret = tempfile::NamedTempFile::new().expect("secret");
        std::fs::write(secret.path(), CLIENT_SECRET).expect("write");
        let (_, path) = secret.keep().expect("keep");
        Pane::start(PaneOptions {
            identity: Identity::Development,
            office_js: OfficeStub::url_outside_office,
            env: vec![
                ("MEDIMAIL_WEBMAIL".into(), "all".into()),
                ("MEDIMAIL_PSC_ISSUER".into(), idp.issuer()),
                ("MEDIMAIL_PSC_CLIENT_ID".into(), CLIENT_ID.into()),
                (
                    "MEDIMAIL_PSC_CLIENT_SECRET_FILE".into(),
                    path.display().to_string(),
                ),
            ],
        })
        .await
    }

    /// Waits until the text of `selector` contains `needle`.
    async fn wait_text(browser: &medimail_e2e::Browser, selector: &str, needle: &str) {
        browser
            .wait_until(&format!(
                "(function () {{ var e = document.querySelector({}); return !!e && e.textContent.indexOf({}) >= 0; }})()",
                serde_json::to_string(selector).expect("json"),
                serde_json::to_string(needle).expect("json")
            ))
            .await;
    }

    async fn card_links(pane: &Pane) -> usize {
        use medimail_server::account::entity::identity_link;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        identity_link::Entity::find()
            .filter(identity_link::Column::Provider.eq("psc"))
            .count(&pane.server.sqlite().await)
            .await
            .expect("links") as usize
    }

    #[tokio::test]
    async fn in_the_pane_the_card_opens_the_dialog_links_with_a_code_then_signs_in_alone() {
        let idp = TestPsc::start().await;
        let pane = pane(&idp).await;
        let browser = pane
            .open_pane((360, 900), &["--disable-popup-blocking"], "")
            .await;
        browser.click("#dev-continue").await;
        pane.sign_in(&browser, MARIE, PASSPHRASE).await;
        browser.element("#signed-in").await;
        browser.click("#sign-out").await;

        // Not linked yet: the dialog's grant comes back, the pane says what to do.
        browser.click("#psc-sign-in").await;
        wait_text(&browser, "#notice", "pas encore liée").await;
        assert_eq!(card_links(&pane).await, 0);
        let before = pane.code_mails(MARIE);
        browser.click("#request-code").await;
        let code = pane.code(MARIE, before + 1).await;
        browser.authenticate(&code, PASSPHRASE).await;
        browser.element("#signed-in").await;
        assert_eq!(card_links(&pane).await, 1, "the code linked the card");
        browser.click("#sign-out").await;

        // Linked: the card alone.
        let codes = pane.code_mails(MARIE);
        browser.click("#psc-sign-in").await;
        browser.element("#signed-in").await;
        assert_eq!(pane.code_mails(MARIE), codes, "no code was asked");
        // « Dissocier ma carte » in the pane's « Paramètres du compte ».
        browser.click("#open-parametres").await;
        let frame = browser.element("iframe#parametres-frame").await;
        frame.enter_frame().await.expect("into the settings");
        wait_text(
            &browser,
            "#psc-certificate",
            "Un certificat est associé à votre compte",
        )
        .await;
        browser.click("#psc-unlink").await;
        wait_text(
            &browser,
            "#psc-certificate",
            "Aucun certificat n'est associé à votre compte",
        )
        .await;
        assert_eq!(card_links(&pane).await, 0);
        browser.close().await;
    }

    #[tokio::test]
    async fn in_the_webmail_the_card_links_after_a_code_signs_in_alone_and_can_be_unlinked() {
        let idp = TestPsc::start().await;
        let pane = pane(&idp).await;
        let server = &pane.server;
        // Marie has an account with a passphrase (signed in once from Outlook).
        {
            let browser = pane.open_pane((360, 900), &[], "").await;
            browser.click("#dev-continue").await;
            pane.sign_in(&browser, MARIE, PASSPHRASE).await;
            browser.element("#signed-in").await;
            browser.close().await;
        }
        let browser = pane.browser((1280, 800), &[], "").await;
        browser.open_pane(&server.url("/")).await;
        browser.click("#webmail-psc").await;
        // Back from the provider: the manual's « Partie 2 ».
        wait_text(
            &browser,
            "#webmail-notice",
            "Votre certificat n'est associé à aucun compte Medimail",
        )
        .await;
        browser.fill("#webmail-mailbox", MARIE).await;
        browser.fill("#webmail-passphrase", PASSPHRASE).await;
        let before = pane.code_mails(MARIE);
        browser.click("#webmail-connect").await;
        let code = pane.code(MARIE, before + 1).await;
        browser.fill("#webmail-code", &code).await;
        browser.click("#webmail-sign-in-submit").await;
        // A first webmail visit: the conditions of use.
        browser.click("#conditions-submit").await;
        wait_text(
            &browser,
            "#psc-certificate",
            "Votre compte est maintenant associé à votre carte CPx",
        )
        .await;
        assert_eq!(card_links(&pane).await, 1);
        browser.click("#sign-out").await;

        // Next time the card alone opens the mailbox.
        let codes = pane.code_mails(MARIE);
        browser.click("#webmail-psc").await;
        wait_text(
            &browser,
            "#psc-certificate",
            "Un certificat est associé à votre compte",
        )
        .await;
        assert_eq!(pane.code_mails(MARIE), codes, "no code was asked");
        // « MSSanté »: the card's session meets the strong authentication, its RPPS the
        // identifier; the account is not eligible yet.
        browser.click("#mssante > summary").await;
        wait_text(
            &browser,
            "#mssante-strong",
            "Authentification forte par carte CPS ou OTP (carte CPx) : remplie",
        )
        .await;
        wait_text(&browser, "#mssante-identifier", "ADELI : remplie").await;
        wait_text(&browser, "#mssante-eligible", "éligible : non remplie").await;
        wait_text(
            &browser,
            "#mssante-next",
            "prenez contact avec l'administrateur",
        )
        .await;
        browser.click("#psc-unlink").await;
        wait_text(
            &browser,
            "#psc-certificate",
            "Aucun certificat n'est associé à votre compte",
        )
        .await;
        assert_eq!(card_links(&pane).await, 0);
        browser.close().await;
    }
}
