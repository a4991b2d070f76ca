//! « Paramètres du compte » (issue 17) through the real router on SQLite and PostgreSQL:
//!
//! - « Signature de mail » (manual part 1 §6.5): signatures created, modified, deleted;
//!   sanitised like message bodies; names unique per account; one default at most; 20 at
//!   most, held when a hundred creations arrive at once; nobody else's reached;
//! - « Notifications » (§6.3): the manual's matrix, its defaults, and the notification
//!   mails queued (or not) as each addressee's settings say;
//! - « Changer mon mot de passe » from the pane's session (its « Paramètres du compte »).

use axum::http::StatusCode;
use medimail_server::account::entity::signature;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

mod common;
use common::*;

const PATH: &str = "/api/account/signatures";
const NOTIFICATIONS: &str = "/api/account/notifications";

async fn call(
    state: &medimail_server::state::AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = call_signed_in(
        state,
        auth,
        method,
        path,
        body.map(|b| ("application/json", b.to_string().into_bytes())),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn signatures_are_created_modified_and_deleted_sanitised_with_one_default() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let (status, body) = call(&state, &me, "GET", PATH, None).await;
        assert_eq!((status.as_u16(), body), (200, json!([])));

        let (status, first) = call(
            &state,
            &me,
            "POST",
            PATH,
            Some(json!({"name": "Cabinet", "default": true,
                "body_html": "<p><b>Dr Pierre DUPOND</b></p><script>alert(1)</script><p onclick=\"x()\">Cardiologie</p>"})),
        )
        .await;
        assert_eq!(status, 201, "{first}");
        let html = first["body_html"].as_str().expect("html");
        assert!(html.contains("<b>Dr Pierre DUPOND</b>"), "{html}");
        assert!(
            !html.contains("script") && !html.contains("onclick"),
            "{html}"
        );
        assert_eq!(first["default"], true);

        // A second default takes the place of the first.
        let (status, second) = call(
            &state,
            &me,
            "POST",
            PATH,
            Some(json!({"name": "Hôpital", "default": true, "body_html": "<p>CHU</p>"})),
        )
        .await;
        assert_eq!(status, 201, "{second}");
        let (_, all) = call(&state, &me, "GET", PATH, None).await;
        let defaults: Vec<&str> = all
            .as_array()
            .expect("list")
            .iter()
            .filter(|s| s["default"] == true)
            .map(|s| s["name"].as_str().expect("name"))
            .collect();
        assert_eq!(defaults, ["Hôpital"]);

        // Refusals, nothing written.
        for (request, status, code) in [
            (
                json!({"name": " ", "body_html": "<p>x</p>"}),
                422,
                "signature_name_missing",
            ),
            (
                json!({"name": "x".repeat(61), "body_html": "<p>x</p>"}),
                422,
                "signature_name_too_long",
            ),
            (
                json!({"name": "cabinet", "body_html": "<p>x</p>"}),
                409,
                "signature_name_taken",
            ),
            (
                json!({"name": "Vide", "body_html": "<p> <script>x</script></p>"}),
                422,
                "signature_empty",
            ),
            (
                json!({"name": "Longue", "body_html": format!("<p>{}</p>", "a".repeat(20_001))}),
                422,
                "signature_too_large",
            ),
        ] {
            let (got, body) = call(&state, &me, "POST", PATH, Some(request)).await;
            assert_eq!(
                (got.as_u16(), body["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
        let (_, all) = call(&state, &me, "GET", PATH, None).await;
        assert_eq!(all.as_array().expect("list").len(), 2);

        // Modify: a new name and text; another's name refused.
        let id = first["id"].as_str().expect("id");
        let (status, modified) = call(
            &state,
            &me,
            "PUT",
            &format!("{PATH}/{id}"),
            Some(json!({"name": "Cabinet des Carmes", "body_html": "<p><i>Dr DUPOND</i></p>", "default": false})),
        )
        .await;
        assert_eq!(status, 200, "{modified}");
        assert_eq!(modified["name"], "Cabinet des Carmes");
        let (status, body) = call(
            &state,
            &me,
            "PUT",
            &format!("{PATH}/{id}"),
            Some(json!({"name": "HOPITAL", "body_html": "<p>x</p>"})),
        )
        .await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (409, &json!("signature_name_taken"))
        );

        // Another account reaches none of them.
        let other = signed_in_as(&state, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;
        let (_, theirs) = call(&state, &other, "GET", PATH, None).await;
        assert_eq!(theirs, json!([]));
        for method in ["PUT", "DELETE"] {
            let (status, body) = call(
                &state,
                &other,
                method,
                &format!("{PATH}/{id}"),
                Some(json!({"name": "Volée", "body_html": "<p>x</p>"})),
            )
            .await;
            assert_eq!(
                (status.as_u16(), &body["code"]),
                (404, &json!("signature_not_found"))
            );
        }

        // Delete.
        let (status, _) = call(&state, &me, "DELETE", &format!("{PATH}/{id}"), None).await;
        assert_eq!(status, 204);
        let (_, all) = call(&state, &me, "GET", PATH, None).await;
        assert_eq!(all.as_array().expect("list").len(), 1);
        let (status, _) = call(&state, &me, "DELETE", &format!("{PATH}/{id}"), None).await;
        assert_eq!(status, 404);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_hundred_creations_at_once_keep_twenty_signatures() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let all = (0..100).map(|i| {
            let state = state.clone();
            let me = me.clone();
            async move {
                call(
                    &state,
                    &me,
                    "POST",
                    PATH,
                    Some(json!({"name": format!("Signature {i}"), "body_html": "<p>Dr DUPOND</p>", "default": true})),
                )
                .await
            }
        });
        let answers = futures::future::join_all(all).await;
        let created = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        let full = answers
            .iter()
            .filter(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "signatures_full")
            .count();
        assert_eq!((created, full), (20, 80));
        let account =
            medimail_server::account::registry::by_mailbox(&state.db, "pierre.dupond@chu-dev.fr")
                .await
                .expect("q")
                .expect("account");
        let stored = signature::Entity::find()
            .filter(signature::Column::AccountId.eq(account.id.as_str()))
            .count(&state.db)
            .await
            .expect("count");
        assert_eq!(stored, 20);
        let defaults = signature::Entity::find()
            .filter(signature::Column::AccountId.eq(account.id.as_str()))
            .filter(signature::Column::IsDefault.eq(true))
            .count(&state.db)
            .await
            .expect("count");
        assert_eq!(defaults, 1, "one default, however many asked at once");
        db.drop_postgres().await;
    }
}

/// Sends an envelope from `who` to `to`; its reference.
async fn send(
    state: &medimail_server::state::AppState,
    who: &(String, String),
    to: &[&str],
) -> String {
    let draft = json!({"to": to, "subject": "Compte rendu", "body_html": "<p>Bonjour</p>"});
    const BOUNDARY: &str = "medimail-notifications-test";
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"envelope\"\r\nContent-Type: \
         application/json\r\n\r\n{draft}\r\n--{BOUNDARY}--\r\n"
    );
    let (status, _, bytes) = call_signed_in(
        state,
        who,
        "POST",
        "/api/envelopes",
        Some((
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            body.into_bytes(),
        )),
    )
    .await;
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    assert_eq!(status, 201, "{answer}");
    answer["reference"].as_str().expect("reference").to_owned()
}

/// Mails of `purpose` queued for `mailbox` so far (sent or not).
async fn queued(state: &medimail_server::state::AppState, purpose: &str, mailbox: &str) -> u64 {
    use medimail_server::entity::outbox;
    outbox::Entity::find()
        .filter(outbox::Column::Purpose.eq(purpose))
        .filter(outbox::Column::Recipient.eq(mailbox))
        .count(&state.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn notification_mails_follow_each_addressees_settings() {
    const PIERRE: &str = "pierre.dupond@chu-dev.fr";
    const ROSE: &str = "rose.rouge@chu-dev.fr";
    const LUC: &str = "luc.vert@chu-dev.fr";
    for db in databases().await {
        let state = state_with(&db, true).await;
        let pierre = signed_in_as(&state, PIERRE, "Pierre DUPOND").await;
        let rose = signed_in_as(&state, ROSE, "Rose ROUGE").await;
        let luc = signed_in_as(&state, LUC, "Luc VERT").await;
        let (status, defaults) = call(&state, &pierre, "GET", NOTIFICATIONS, None).await;
        assert_eq!(status, 200);
        assert_eq!(
            defaults,
            json!({"sealed": false, "opened_by_me_sent": false, "received": true,
                   "opened_by_me_received": false, "daily_digest": false,
                   "opened_by_others_sent": true, "opened_by_others_received": false})
        );

        // Rose wants no reception mail; Pierre wants the sealing one; Luc wants to know
        // when another recipient opens.
        let mut rose_wants = defaults.clone();
        rose_wants["received"] = json!(false);
        rose_wants["opened_by_me_received"] = json!(true);
        let (status, stored) = call(
            &state,
            &rose,
            "PUT",
            NOTIFICATIONS,
            Some(rose_wants.clone()),
        )
        .await;
        assert_eq!((status.as_u16(), &stored), (200, &rose_wants));
        let mut pierre_wants = defaults.clone();
        pierre_wants["sealed"] = json!(true);
        call(&state, &pierre, "PUT", NOTIFICATIONS, Some(pierre_wants)).await;
        let mut luc_wants = defaults.clone();
        luc_wants["opened_by_others_received"] = json!(true);
        call(&state, &luc, "PUT", NOTIFICATIONS, Some(luc_wants)).await;

        // The sealing transaction queues every mail: what is not there is not sent.
        let reference = send(&state, &pierre, &[ROSE, LUC]).await;
        assert_eq!(queued(&state, "notification", ROSE).await, 0);
        assert_eq!(queued(&state, "notification", LUC).await, 1);
        assert_eq!(queued(&state, "sealing_notification", PIERRE).await, 1);

        // Rose opens it: Pierre (default) and Luc (asked) are told, and Rose herself.
        let (status, _) = call(
            &state,
            &rose,
            "GET",
            &format!("/api/envelopes/{reference}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(queued(&state, "opening_notification", PIERRE).await, 1);
        assert_eq!(queued(&state, "opening_notification", LUC).await, 1);
        assert_eq!(queued(&state, "opening_notification", ROSE).await, 1);
        // Luc opens it: Pierre told again; Rose did not ask for others' openings.
        call(
            &state,
            &luc,
            "GET",
            &format!("/api/envelopes/{reference}"),
            None,
        )
        .await;
        assert_eq!(queued(&state, "opening_notification", PIERRE).await, 2);
        assert_eq!(queued(&state, "opening_notification", ROSE).await, 1);

        // Pierre switches off the openings of his envelopes: none queued any more.
        let mut quiet = defaults.clone();
        quiet["opened_by_others_sent"] = json!(false);
        call(&state, &pierre, "PUT", NOTIFICATIONS, Some(quiet)).await;
        let second = send(&state, &pierre, &[LUC]).await;
        call(
            &state,
            &luc,
            "GET",
            &format!("/api/envelopes/{second}"),
            None,
        )
        .await;
        assert_eq!(queued(&state, "opening_notification", PIERRE).await, 2);

        // A hundred saves at once: one of them, whole; each audited.
        let saves = (0..100).map(|i| {
            let state = state.clone();
            let rose = rose.clone();
            let mut wanted = defaults.clone();
            wanted["sealed"] = json!(i % 2 == 0);
            wanted["daily_digest"] = json!(i % 2 == 0);
            async move { call(&state, &rose, "PUT", NOTIFICATIONS, Some(wanted)).await }
        });
        for (status, body) in futures::future::join_all(saves).await {
            assert_eq!(status, 200, "{body}");
        }
        let (_, last) = call(&state, &rose, "GET", NOTIFICATIONS, None).await;
        assert_eq!(last["sealed"], last["daily_digest"], "{last}");
        let audited = medimail_server::entity::audit_event::Entity::find()
            .filter(
                medimail_server::entity::audit_event::Column::Action.eq("notifications_changed"),
            )
            .count(&state.db)
            .await
            .expect("audit");
        assert_eq!(audited, 104);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn the_daily_digest_is_made_once_even_with_two_instances_at_the_same_minute() {
    use medimail_server::envelope::digest::{parse_time, run_due};
    const PIERRE: &str = "pierre.dupond@chu-dev.fr";
    const ROSE: &str = "rose.rouge@chu-dev.fr";
    const LUC: &str = "luc.vert@chu-dev.fr";
    for db in databases().await {
        let one = state_with(&db, true).await;
        // A second instance: its own connections, the same database and master key.
        let mut two = state_with(&db, true).await;
        two.keys = one.keys.clone();
        let pierre = signed_in_as(&one, PIERRE, "Pierre DUPOND").await;
        let rose = signed_in_as(&one, ROSE, "Rose ROUGE").await;
        signed_in_as(&one, LUC, "Luc VERT").await;
        let (_, defaults) = call(&one, &rose, "GET", NOTIFICATIONS, None).await;
        let mut daily = defaults.clone();
        daily["daily_digest"] = json!(true);
        let (status, _) = call(&one, &rose, "PUT", NOTIFICATIONS, Some(daily)).await;
        assert_eq!(status, 200);
        for _ in 0..3 {
            send(&one, &pierre, &[ROSE]).await;
        }
        send(&one, &pierre, &[LUC]).await;

        let at = parse_time("07:00").expect("time");
        // The envelopes were sealed at the test's start (15 January, 09:30 in Paris): the
        // digest of the 16th at 07:00 lists them.
        let next_day = test_start() + chrono::Duration::hours(21) + chrono::Duration::minutes(31);
        assert_eq!(
            next_day.to_rfc3339(),
            "2026-01-16T06:01:00+00:00",
            "07:01 in Paris"
        );
        // Before its time, nothing (yesterday's digest had nothing to list).
        let early = next_day - chrono::Duration::minutes(2);
        assert_eq!(
            run_due(&one.db, &one.keys, early, at).await.expect("run"),
            0
        );
        assert_eq!(queued(&one, "daily_digest", ROSE).await, 0);
        // Both instances, fifty times each, at the same minute.
        let runs = (0..100).map(|i| {
            let state = if i % 2 == 0 { one.clone() } else { two.clone() };
            async move {
                run_due(&state.db, &state.keys, next_day, at)
                    .await
                    .expect("run")
            }
        });
        let made: usize = futures::future::join_all(runs).await.into_iter().sum();
        assert_eq!(made, 1, "one digest, for Rose only");
        assert_eq!(queued(&one, "daily_digest", ROSE).await, 1);
        assert_eq!(queued(&one, "daily_digest", LUC).await, 0);
        // Later the same day: still one.
        let later = next_day + chrono::Duration::hours(5);
        assert_eq!(
            run_due(&two.db, &two.keys, later, at).await.expect("run"),
            0
        );
        assert_eq!(queued(&one, "daily_digest", ROSE).await, 1);

        // The mail, as the worker sends it: when and from whom, never the title.
        one.clock.set(next_day);
        one.mail_worker().drain_once().await.expect("drained");
        let dir = one.mailer.file_dir().expect("file outbox");
        let digest = std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(|e| std::fs::read(e.expect("entry").path()).ok())
            .filter_map(|raw| {
                let parsed = mail_parser::MessageParser::default().parse(&raw)?;
                let subject = parsed.subject()?.to_owned();
                subject.starts_with("[MEDIMAIL : Réceptions]").then(|| {
                    (
                        subject,
                        parsed
                            .body_text(0)
                            .map(|t| t.into_owned())
                            .unwrap_or_default(),
                    )
                })
            })
            .next()
            .expect("the digest mail");
        assert_eq!(
            digest.0,
            "[MEDIMAIL : Réceptions] 3 enveloppe(s) reçue(s) en 24 heures"
        );
        assert_eq!(digest.1.matches(PIERRE).count(), 3, "{}", digest.1);
        assert!(!digest.1.contains("Compte rendu"), "no title: {}", digest.1);
        db.drop_postgres().await;
    }
}

/// An anonymous request (the confirmation link): status and body text.
async fn anonymous(
    state: &medimail_server::state::AppState,
    method: &str,
    path: &str,
    form: Option<String>,
) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    let body = match form {
        Some(f) => {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            axum::body::Body::from(f)
        }
        None => axum::body::Body::empty(),
    };
    let response = medimail_server::http::app(state.clone())
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn delegated_addresses_get_copies_once_confirmed_and_only_then() {
    const PIERRE: &str = "pierre.dupond@chu-dev.fr";
    const ROSE: &str = "rose.rouge@chu-dev.fr";
    const DELEGATION: &str = "/api/account/delegation";
    for db in databases().await {
        let state = state_with(&db, true).await;
        let pierre = signed_in_as(&state, PIERRE, "Pierre DUPOND").await;
        let rose = signed_in_as(&state, ROSE, "Rose ROUGE").await;

        // Refusals: nothing stored.
        for (typed, code) in [
            (
                "secretariat@cabinet.fr; pas-une-adresse",
                "delegation_address_invalid",
            ),
            (PIERRE, "delegation_address_invalid"),
            (
                "a@x.fr;b@x.fr;c@x.fr;d@x.fr;e@x.fr;f@x.fr",
                "delegation_too_many",
            ),
        ] {
            let (status, body) = call(
                &state,
                &pierre,
                "PUT",
                DELEGATION,
                Some(json!({"addresses": typed})),
            )
            .await;
            assert_eq!(
                (status.as_u16(), body["code"].as_str()),
                (422, Some(code)),
                "{body}"
            );
        }
        let (_, none) = call(&state, &pierre, "GET", DELEGATION, None).await;
        assert_eq!(none, json!({"addresses": []}));

        let (status, stored) = call(
            &state,
            &pierre,
            "PUT",
            DELEGATION,
            Some(json!({"addresses": " Secretariat@Cabinet.fr ; remplacant@cabinet.fr;secretariat@cabinet.fr "})),
        )
        .await;
        assert_eq!(status, 200, "{stored}");
        assert_eq!(
            stored,
            json!({"addresses": [
                {"address": "remplacant@cabinet.fr", "confirmed": false},
                {"address": "secretariat@cabinet.fr", "confirmed": false}
            ]})
        );
        assert_eq!(
            queued(&state, "delegation_confirmation", "secretariat@cabinet.fr").await,
            1
        );

        // Unconfirmed: no copy.
        send(&state, &rose, &[PIERRE]).await;
        assert_eq!(queued(&state, "notification", PIERRE).await, 1);
        assert_eq!(
            queued(&state, "delegation_copy", "secretariat@cabinet.fr").await,
            0
        );

        // The link from the mail: its page confirms nothing; « Confirmer » does.
        state.mail_worker().drain_once().await.expect("drained");
        let dir = state.mailer.file_dir().expect("file outbox");
        let token = std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(|e| std::fs::read(e.expect("entry").path()).ok())
            .filter_map(|raw| {
                let parsed = mail_parser::MessageParser::default().parse(&raw)?;
                let to = parsed.to()?.first()?.address()?.to_owned();
                let text = parsed.body_text(0)?.into_owned();
                (to == "secretariat@cabinet.fr")
                    .then(|| text.split("token=").nth(1).map(|t| t[..64].to_owned()))
                    .flatten()
            })
            .next()
            .expect("the confirmation link");
        let (status, page) = anonymous(
            &state,
            "GET",
            &format!("/delegation/confirm?token={token}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert!(page.contains("Confirmer"), "{page}");
        let (_, still) = call(&state, &pierre, "GET", DELEGATION, None).await;
        assert_eq!(still["addresses"][1]["confirmed"], false);
        let (status, page) = anonymous(
            &state,
            "POST",
            "/delegation/confirm",
            Some(format!("token={token}")),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("secretariat@cabinet.fr"), "{page}");
        let (status, _) = anonymous(
            &state,
            "POST",
            "/delegation/confirm",
            Some(format!("token={}", "0".repeat(64))),
        )
        .await;
        assert_eq!(status, 404);
        let (_, now) = call(&state, &pierre, "GET", DELEGATION, None).await;
        assert_eq!(
            now["addresses"][1],
            json!({"address": "secretariat@cabinet.fr", "confirmed": true})
        );

        // Confirmed: each notification is copied there, not to the unconfirmed one.
        send(&state, &rose, &[PIERRE]).await;
        assert_eq!(
            queued(&state, "delegation_copy", "secretariat@cabinet.fr").await,
            1
        );
        assert_eq!(
            queued(&state, "delegation_copy", "remplacant@cabinet.fr").await,
            0
        );

        // A hundred saves at once: one list, whole.
        let saves = (0..100).map(|i| {
            let state = state.clone();
            let pierre = pierre.clone();
            let typed = if i % 2 == 0 {
                "a@cabinet.fr"
            } else {
                "b@cabinet.fr; c@cabinet.fr"
            };
            async move {
                call(
                    &state,
                    &pierre,
                    "PUT",
                    DELEGATION,
                    Some(json!({"addresses": typed})),
                )
                .await
            }
        });
        for (status, body) in futures::future::join_all(saves).await {
            assert_eq!(status, 200, "{body}");
        }
        let (_, last) = call(&state, &pierre, "GET", DELEGATION, None).await;
        let addresses: Vec<&str> = last["addresses"]
            .as_array()
            .expect("list")
            .iter()
            .map(|a| a["address"].as_str().expect("address"))
            .collect();
        assert!(
            addresses == ["a@cabinet.fr"] || addresses == ["b@cabinet.fr", "c@cabinet.fr"],
            "{addresses:?}"
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn the_pane_s_session_changes_its_passphrase_and_stays_open() {
    use medimail_server::account::entity::account;
    const NEW: &str = "Trois tortues traversent la route";
    for db in databases().await {
        let state = state_with(&db, true).await;
        let marie = signed_in_as(&state, "marie.curie@chu-dev.fr", "Marie CURIE").await;
        let hash = || async {
            account::Entity::find()
                .filter(account::Column::Mailbox.eq("marie.curie@chu-dev.fr"))
                .one(&state.db)
                .await
                .expect("q")
                .expect("account")
                .passphrase_hash
        };
        let before = hash().await;
        let path = "/api/webmail/passphrase/change";
        let (status, body) = call(
            &state,
            &marie,
            "POST",
            path,
            Some(json!({"current": NEW, "passphrase": NEW, "confirmation": NEW})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "current_passphrase_incorrect");
        assert_eq!(hash().await, before, "nothing changed");
        let (status, body) = call(
            &state,
            &marie,
            "POST",
            path,
            Some(json!({"current": GOOD_PASSPHRASE, "passphrase": NEW, "confirmation": NEW})),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_ne!(hash().await, before, "the new passphrase stored");
        // The pane's own session is still open.
        let (status, body) = call(&state, &marie, "GET", "/api/me", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        db.drop_postgres().await;
    }
}
