//! « Paramètres du compte » › « MSSanté » (manual part 2 §2): the three conditions of the
//! activation and their state, `GET /api/account/mssante`. The route is the account
//! feature's; it sits beside the directory's visibility, whose national directory it opens.

use medimail_server::account::settings::{OperatorChange, set_by_operator};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::common::*;
use crate::get_json;

const PATH: &str = "/api/account/mssante";

#[tokio::test]
async fn each_condition_is_shown_as_it_stands_for_the_caller() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let (status, body) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"eligible": false, "identifier": false, "strong": true, "method": "otp",
                   "activated": false, "address": null, "reserved_to_managers": false,
                   "managers": []}),
            "a session opened by a code is strong; nothing else is met yet"
        );

        // The operator makes the account eligible; the RPPS is filled (by the card's link
        // or « Identité »): every condition is met.
        let change = OperatorChange {
            eligible: Some(true),
            ..OperatorChange::default()
        };
        let updated = set_by_operator(&state.db, &state.keys, "pierre.dupond@chu-dev.fr", change)
            .await
            .expect("set")
            .expect("account");
        assert!(updated.mssante_eligible);
        {
            use medimail_server::account::entity::account;
            use sea_orm::{ActiveModelTrait, Set};
            let mut a: account::ActiveModel = updated.into();
            a.rpps = Set(Some("10001234567".into()));
            a.update(&state.db).await.expect("rpps");
        }
        let (_, body) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(
            (&body["eligible"], &body["identifier"], &body["strong"]),
            (&json!(true), &json!(true), &json!(true)),
            "{body}"
        );

        // Someone else's conditions are their own.
        let other = signed_in_as(&state, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;
        let (_, body) = get_json(&state, &other, "GET", PATH, None).await;
        assert_eq!(
            (&body["eligible"], &body["identifier"]),
            (&json!(false), &json!(false))
        );

        // No session, no answer.
        let (status, _) = get_json(
            &state,
            &(me.0.clone(), "pas-une-session".into()),
            "GET",
            PATH,
            None,
        )
        .await;
        assert_eq!(status, 401);
        db.drop_postgres().await;
    }
}

pub(crate) const DOMAIN: &str = "medimail.mssante.fr";
pub(crate) const ACTIVATION: &str = "/api/account/mssante/activation";

/// The state with `MEDIMAIL_MSSANTE_DOMAIN` set.
pub(crate) fn with_domain(
    mut state: medimail_server::state::AppState,
) -> medimail_server::state::AppState {
    let mut config = (*state.config).clone();
    config.mssante_domain = Some(DOMAIN.into());
    state.config = std::sync::Arc::new(config);
    state
}

async fn make_eligible(state: &medimail_server::state::AppState, mailbox: &str) {
    let change = OperatorChange {
        eligible: Some(true),
        ..OperatorChange::default()
    };
    set_by_operator(&state.db, &state.keys, mailbox, change)
        .await
        .expect("set")
        .expect("account");
}

/// « Identité » with a name and an RPPS, through the route.
pub(crate) async fn identify(
    state: &medimail_server::state::AppState,
    who: &(String, String),
    first: &str,
    last: &str,
) {
    let (status, body) = get_json(
        state,
        who,
        "PUT",
        "/api/account/identity",
        Some(json!({"first_name": first, "last_name": last, "rpps": "10005173140"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn activer_gives_prenom_nom_then_a_number_when_the_address_is_taken() {
    for db in databases().await {
        let state = with_domain(state_with(&db, true).await);
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;

        // Conditions unmet: refused, nothing activated.
        let (status, body) = get_json(&state, &me, "POST", ACTIVATION, None).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (403, &json!("mssante_conditions_unmet"))
        );
        // Eligible with an RPPS but no name: the address cannot be made.
        make_eligible(&state, "pierre.dupond@chu-dev.fr").await;
        let (status, _) = get_json(
            &state,
            &me,
            "PUT",
            "/api/account/identity",
            Some(json!({"rpps": "10005173140"})),
        )
        .await;
        assert_eq!(status, 200);
        let (status, body) = get_json(&state, &me, "POST", ACTIVATION, None).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (422, &json!("mssante_name_missing"))
        );

        identify(&state, &me, "Pierre", "Dupond").await;
        let (status, body) = get_json(&state, &me, "POST", ACTIVATION, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["address"], "pierre.dupond@medimail.mssante.fr");
        let (_, shown) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(shown["activated"], true);
        assert_eq!(shown["address"], "pierre.dupond@medimail.mssante.fr");
        // Again: the same address.
        let (_, again) = get_json(&state, &me, "POST", ACTIVATION, None).await;
        assert_eq!(again["address"], "pierre.dupond@medimail.mssante.fr");

        // A namesake: the next number.
        let namesake = signed_in_as(&state, "p.dupond@clinique-dev.fr", "P DUPOND").await;
        make_eligible(&state, "p.dupond@clinique-dev.fr").await;
        identify(&state, &namesake, "Pierre", "Dupond").await;
        let (status, body) = get_json(&state, &namesake, "POST", ACTIVATION, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["address"], "pierre.dupond2@medimail.mssante.fr");

        // An envelope to the MSSanté address reaches the account.
        let sealed = send_to(&state, &namesake, "pierre.dupond@medimail.mssante.fr").await;
        let (_, inbox) = get_json(&state, &me, "GET", "/api/envelopes?folder=inbox", None).await;
        assert!(
            inbox["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|i| i["reference"] == sealed),
            "{inbox}"
        );

        // Without MEDIMAIL_MSSANTE_DOMAIN, « Activer » says so.
        let bare = state_with(&db, true).await;
        let other = signed_in_as(&bare, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;
        make_eligible(&bare, "rose.rouge@chu-dev.fr").await;
        identify(&bare, &other, "Rose", "Rouge").await;
        let (status, body) = get_json(&bare, &other, "POST", ACTIVATION, None).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (503, &json!("mssante_not_configured"))
        );
        db.drop_postgres().await;
    }
}

/// Sends an envelope from `who` to `to` through `POST /api/envelopes`; its reference.
async fn send_to(
    state: &medimail_server::state::AppState,
    who: &(String, String),
    to: &str,
) -> String {
    let draft = json!({"to": [to], "subject": "Compte rendu", "body_html": "<p>Bonjour</p>"});
    const BOUNDARY: &str = "medimail-mssante-test";
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
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    assert_eq!(status, 201, "{answer}");
    answer["reference"].as_str().expect("reference").to_owned()
}

/// `n` eligible accounts named Jean MARTIN (mailboxes `jean.martin.<i>@chu-dev.fr`),
/// each with a strong session.
pub(crate) async fn namesakes(
    state: &medimail_server::state::AppState,
    which: std::ops::Range<usize>,
) -> Vec<(
    medimail_server::account::entity::account::Model,
    medimail_server::auth::entity::auth_session::Model,
)> {
    use medimail_server::account::entity::{account, account_identity};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let now = state.clock.now();
    let mut out = Vec::new();
    for i in which {
        let mailbox = format!("jean.martin.{i}@chu-dev.fr");
        let a = medimail_server::account::registry::for_mailbox(&state.db, &mailbox, now)
            .await
            .expect("account");
        let mut update: account::ActiveModel = a.into();
        update.mssante_eligible = Set(true);
        update.rpps = Set(Some("10005173140".into()));
        update.proven_at = Set(Some(now));
        let a = update.update(&state.db).await.expect("update");
        account_identity::Entity::insert(account_identity::ActiveModel {
            account_id: Set(a.id.clone()),
            civility: Set(Some("Dr".into())),
            last_name: Set(Some("Martin".into())),
            first_name: Set(Some("Jean".into())),
            profession_code: Set(Some("10".into())),
            speciality_code: Set(None),
            liberal: Set(false),
            raison_sociale: Set(None),
            address1: Set(None),
            address2: Set(None),
            postal_code: Set(Some("31000".into())),
            city: Set(Some("Toulouse".into())),
            region: Set(Some("76".into())),
            department: Set(Some("31".into())),
            phone1: Set(None),
            phone2: Set(None),
            dematerialised: Set(true),
            updated_at: Set(now),
        })
        .exec(&state.db)
        .await
        .expect("identity");
        let session = medimail_server::auth::entity::auth_session::Model {
            id: format!("s{i}"),
            account_id: a.id.clone(),
            token_hash: String::new(),
            created_at: now,
            last_seen_at: now,
            expires_at: now,
            revoked_at: None,
            client: None,
            tenant_id: String::new(),
            subject: String::new(),
            scope: String::new(),
            method: "otp".into(),
        };
        out.push((a, session));
    }
    out
}

#[tokio::test]
async fn a_hundred_activations_of_one_name_at_once_get_a_hundred_addresses() {
    use medimail_server::account::mssante::activate;
    for db in databases().await {
        let state = with_domain(state_with(&db, true).await);
        let people = namesakes(&state, 0..100).await;
        let all = people.iter().map(|(a, s)| {
            let state = state.clone();
            async move {
                activate(
                    &state.db,
                    &state.keys,
                    a,
                    s,
                    Some(DOMAIN),
                    state.clock.now(),
                )
                .await
                .expect("db")
                .expect("activated")
            }
        });
        let mut addresses = futures::future::join_all(all).await;
        addresses.sort();
        let mut wanted: Vec<String> = (1..=100)
            .map(|n| medimail_server::account::mssante::candidate("Jean", "Martin", DOMAIN, n))
            .collect();
        wanted.sort();
        assert_eq!(
            addresses, wanted,
            "each its own: jean.martin, jean.martin2 … jean.martin100"
        );

        // The same account a hundred times at once: one address, one audit event.
        let more = namesakes(&state, 100..101).await;
        let (a, s) = &more[0];
        let again = (0..100).map(|_| {
            let state = state.clone();
            async move {
                activate(
                    &state.db,
                    &state.keys,
                    a,
                    s,
                    Some(DOMAIN),
                    state.clock.now(),
                )
                .await
                .expect("db")
                .expect("activated")
            }
        });
        let got = futures::future::join_all(again).await;
        assert!(got.iter().all(|g| *g == got[0]), "{got:?}");
        assert_eq!(got[0], format!("jean.martin101@{DOMAIN}"));
        let audited = medimail_server::entity::audit_event::Entity::find()
            .filter(medimail_server::entity::audit_event::Column::Action.eq("mssante_activated"))
            .filter(medimail_server::entity::audit_event::Column::Detail.contains(&a.id))
            .all(&state.db)
            .await
            .expect("audit");
        assert_eq!(audited.len(), 1);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn the_publication_file_reads_back_and_finds_the_activated_users() {
    use medimail_server::account::mssante::activate;
    use medimail_server::directory::import::{ExtractionFile, import_extraction};
    for db in databases().await {
        let state = with_domain(state_with(&db, true).await);
        let people = namesakes(&state, 0..3).await;
        for (a, s) in &people {
            activate(
                &state.db,
                &state.keys,
                a,
                s,
                Some(DOMAIN),
                state.clock.now(),
            )
            .await
            .expect("db")
            .expect("activated");
        }
        // The third goes on the liste rouge: not published.
        {
            use medimail_server::account::entity::account;
            use sea_orm::{ActiveModelTrait, Set};
            let mut red: account::ActiveModel = people[2].0.clone().into();
            red.liste_rouge = Set(true);
            red.update(&state.db).await.expect("red");
        }
        let mut file = Vec::new();
        let written = medimail_server::directory::export::publication(&state.db, &mut file)
            .await
            .expect("export");
        assert_eq!(written, 2);
        let text = String::from_utf8(file.clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let line = lines
            .iter()
            .find(|l| l.starts_with("PER|jean.martin@"))
            .expect("jean.martin@");
        assert_eq!(line.split('|').count(), 31);
        for part in [
            "PER|jean.martin@medimail.mssante.fr|8|10005173140|810005173140|",
            "|DR|MARTIN|Jean|",
            "|10|Médecin|",
            "|O|",
            "|31000 TOULOUSE|31000|31|",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
        assert!(
            !text.contains("jean.martin3@"),
            "liste rouge published: {text}"
        );

        // It reads back as the national directory, and the search finds them.
        let report = import_extraction(
            &state.db,
            "mssante",
            ExtractionFile::Bytes(file.into()),
            state.clock.now(),
            |_| {},
        )
        .await
        .expect("import");
        assert_eq!(report.imported, 2);
        assert!(report.rejected.is_empty());
        let me = signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let change = OperatorChange {
            mssante: Some(true),
            ..OperatorChange::default()
        };
        set_by_operator(&state.db, &state.keys, "pierre.dupond@chu-dev.fr", change)
            .await
            .expect("set");
        let (status, found) = get_json(
            &state,
            &me,
            "GET",
            "/api/directory/search?annuaire=mssante&nom=martin&ville=toulouse",
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        let addresses = crate::addresses_of(&found);
        assert_eq!(
            addresses,
            [
                "jean.martin2@medimail.mssante.fr",
                "jean.martin@medimail.mssante.fr"
            ]
        );
        assert_eq!(found["results"][0]["profession"], "Médecin");
        db.drop_postgres().await;
    }
}
