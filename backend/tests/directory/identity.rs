//! « Paramètres du compte » › « Identité » (manual part 1 §6.1), `GET`/`PUT
//! /api/account/identity`: every field checked, nothing stored when one is refused, the
//! stored values shown at once in the Medimail directory's card, and a hundred saves at
//! once leaving one whole « Identité ». The route is the account feature's; it sits here
//! because the directory is where it shows.

use medimail_server::account::entity::{account, identity_link};
use medimail_server::entity::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::common::*;
use crate::get_json;

const PATH: &str = "/api/account/identity";
const ME: &str = "pierre.dupond@chu-dev.fr";

/// A whole « Identité » as « Enregistrer » sends it.
fn filled() -> Value {
    json!({
        "dematerialised": true,
        "civility": "Dr",
        "last_name": "Dupond",
        "first_name": "Pierre",
        "rpps": "10005173140",
        "adeli": "",
        "profession": "10",
        "speciality": "SM54",
        "liberal": true,
        "raison_sociale": "Cabinet des Carmes",
        "address1": "12 place des Carmes",
        "address2": "",
        "postal_code": "31000",
        "city": "Toulouse",
        "region": "",
        "department": "",
        "phone1": "05.61.00.00.01",
        "phone2": "+33 6 12 34 56 78",
        "liste_rouge": false
    })
}

async fn account_of<C: sea_orm::ConnectionTrait>(db: &C, mailbox: &str) -> account::Model {
    account::Entity::find()
        .filter(account::Column::Mailbox.eq(mailbox))
        .one(db)
        .await
        .expect("q")
        .expect("account")
}

#[tokio::test]
async fn identite_is_stored_whole_and_shown_in_the_directory_card() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, ME, "Pierre DUPOND").await;
        let other = signed_in_as(&state, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;

        let (status, body) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["mailbox"], ME);
        assert_eq!(body["last_name"], Value::Null);

        let (status, stored) = get_json(&state, &me, "PUT", PATH, Some(filled())).await;
        assert_eq!(status, 200, "{stored}");
        // Trimmed, normalised, derived: the département from the postal code, the
        // region from the département; the phones written the French way.
        for (field, want) in [
            ("department", json!("31")),
            ("region", json!("76")),
            ("phone1", json!("05 61 00 00 01")),
            ("phone2", json!("06 12 34 56 78")),
            ("adeli", Value::Null),
            ("address2", Value::Null),
            ("mailbox", json!(ME)),
        ] {
            assert_eq!(stored[field], want, "{field}: {stored}");
        }
        let (_, again) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(again, stored, "GET answers what PUT stored");
        let a = account_of(&state.db, ME).await;
        assert_eq!(a.rpps.as_deref(), Some("10005173140"));
        assert_eq!(a.display_name.as_deref(), Some("Pierre DUPOND"));

        // Another user's directory card shows it at once, and the other criteria find it.
        let (status, found) = get_json(
            &state,
            &other,
            "GET",
            "/api/directory/search?nom=dupond&ville=toulouse&profession=medecin",
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        let card = &found["results"][0];
        assert_eq!(card["address"], ME, "{found}");
        for (field, want) in [
            ("civility", json!("Dr")),
            ("last_name", json!("Dupond")),
            ("first_name", json!("Pierre")),
            ("profession", json!("Médecin")),
            ("speciality", json!("Médecine générale (SM)")),
            ("organisation", json!("Cabinet des Carmes")),
            ("address_lines", json!("12 place des Carmes")),
            ("postal_code", json!("31000")),
            ("city", json!("Toulouse")),
            ("identifier", json!("10005173140")),
            ("phone", json!("05 61 00 00 01 / 06 12 34 56 78")),
            ("dematerialised", json!(true)),
        ] {
            assert_eq!(card[field], want, "{field}: {card}");
        }
        let (_, elsewhere) = get_json(
            &state,
            &other,
            "GET",
            "/api/directory/search?nom=dupond&ville=paris",
            None,
        )
        .await;
        assert_eq!(elsewhere["results"], json!([]), "{elsewhere}");

        // Signing in again from Outlook (the identity linked again, with the name its
        // provider gives) keeps the name typed in « Identité ».
        let a = account_of(&state.db, ME).await;
        let identity = medimail_server::account::registry::Identity {
            tenant_id: "tenant".into(),
            object_id: "other-device".into(),
            name: Some("P. Dupond (CHU)".into()),
            mailbox: Some(ME.into()),
        };
        medimail_server::account::registry::link(&state.db, &identity, &a.id, state.clock.now())
            .await
            .expect("link");
        let a = account_of(&state.db, ME).await;
        assert_eq!(a.display_name.as_deref(), Some("Pierre DUPOND"));

        // « Liste rouge », chosen here, takes the account out of the directory.
        let mut red = filled();
        red["liste_rouge"] = json!(true);
        let (status, body) = get_json(&state, &me, "PUT", PATH, Some(red)).await;
        assert_eq!(status, 200, "{body}");
        let (_, hidden) = get_json(
            &state,
            &other,
            "GET",
            "/api/directory/search?nom=dupond",
            None,
        )
        .await;
        assert_eq!(hidden["results"], json!([]), "{hidden}");

        // The audit trail names the fields changed, never their values.
        let trail = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("account_identity_changed"))
            .all(&state.db)
            .await
            .expect("audit");
        assert_eq!(trail.len(), 2);
        let first: Value = serde_json::from_str(&trail[0].detail).expect("json");
        assert!(
            first["changed"]
                .as_array()
                .expect("changed")
                .contains(&json!("phone1")),
            "{first}"
        );
        let second: Value = serde_json::from_str(&trail[1].detail).expect("json");
        assert_eq!(second["changed"], json!(["liste_rouge"]));
        for event in &trail {
            assert!(!event.detail.contains("05 61"), "{}", event.detail);
            assert!(!event.detail.contains("Carmes"), "{}", event.detail);
        }
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_refused_field_saves_nothing_and_every_refused_field_is_said() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, ME, "Pierre DUPOND").await;
        let (status, before) = get_json(&state, &me, "PUT", PATH, Some(filled())).await;
        assert_eq!(status, 200);

        let mut bad = filled();
        bad["last_name"] = json!("Martin");
        bad["rpps"] = json!("10005173141");
        bad["adeli"] = json!("34910266");
        bad["phone1"] = json!("05 61");
        bad["postal_code"] = json!("3100");
        bad["profession"] = json!("99");
        bad["speciality"] = json!("SM999");
        bad["civility"] = json!("Monseigneur");
        bad["city"] = json!("x".repeat(101));
        bad["department"] = json!("2C");
        let (status, body) = get_json(&state, &me, "PUT", PATH, Some(bad)).await;
        assert_eq!(status, 422, "{body}");
        let refused: Vec<(String, String)> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                assert!(!e["message"].as_str().expect("message").is_empty());
                (
                    e["field"].as_str().expect("field").to_owned(),
                    e["code"].as_str().expect("code").to_owned(),
                )
            })
            .collect();
        for (field, code) in [
            ("rpps", "rpps_invalid"),
            ("adeli", "adeli_invalid"),
            ("phone1", "phone_invalid"),
            ("postal_code", "postal_code_invalid"),
            ("profession", "profession_invalid"),
            ("speciality", "speciality_invalid"),
            ("civility", "civility_invalid"),
            ("city", "field_too_long"),
            ("department", "department_invalid"),
        ] {
            assert!(
                refused.contains(&(field.to_owned(), code.to_owned())),
                "{field} {code} not in {refused:?}"
            );
        }
        // The body's own code, message and field are the first refusal's.
        assert_eq!(body["code"], body["errors"][0]["code"]);
        assert_eq!(body["field"], body["errors"][0]["field"]);
        // Nothing half-written: the good « Nom » was not stored either.
        let (_, after) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(after, before);
        assert_eq!(
            account_of(&state.db, ME).await.rpps.as_deref(),
            Some("10005173140")
        );

        // A region that is not the département's.
        let mut wrong_region = filled();
        wrong_region["region"] = json!("11");
        let (status, body) = get_json(&state, &me, "PUT", PATH, Some(wrong_region)).await;
        assert_eq!(
            (status.as_u16(), body["code"].clone()),
            (422, json!("region_invalid"))
        );

        // With a CPx card linked, the RPPS is the card's.
        let a = account_of(&state.db, ME).await;
        identity_link::Entity::insert(identity_link::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            provider: Set("psc".into()),
            tenant_id: Set("https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet".into()),
            subject: Set("810005173140".into()),
            account_id: Set(Some(a.id.clone())),
            chosen_passphrase_hash: Set(None),
            created_at: Set(state.clock.now()),
            linked_at: Set(Some(state.clock.now())),
        })
        .exec(&state.db)
        .await
        .expect("link");
        let (_, read) = get_json(&state, &me, "GET", PATH, None).await;
        assert_eq!(read["identifier_from_card"], true);
        let mut changed = filled();
        changed["rpps"] = json!("10000005479");
        let (status, body) = get_json(&state, &me, "PUT", PATH, Some(changed)).await;
        assert_eq!(status, 422);
        assert_eq!(body["code"], "identifier_from_card", "{body}");
        // The rest may still change.
        let mut kept = filled();
        kept["city"] = json!("Blagnac");
        kept["postal_code"] = json!("31700");
        let (status, body) = get_json(&state, &me, "PUT", PATH, Some(kept)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["city"], "Blagnac");
        db.drop_postgres().await;
    }
}

/// `i` written in letters (names have no digits): 0 → « aa », 27 → « bb ».
fn letters(i: u32) -> String {
    let letter = |n: u32| char::from(b'a' + u8::try_from(n % 26).expect("letter"));
    format!("{}{}", letter(i / 26), letter(i))
}

#[tokio::test]
async fn a_hundred_saves_at_once_leave_one_whole_identite() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let me = signed_in_as(&state, ME, "Pierre DUPOND").await;
        let saves = (0..100).map(|i| {
            let state = state.clone();
            let me = me.clone();
            async move {
                let mut body = filled();
                body["last_name"] = json!(format!("Dupond-{}", letters(i)));
                body["city"] = json!(format!("Ville {i}"));
                body["liste_rouge"] = json!(i % 2 == 0);
                get_json(&state, &me, "PUT", PATH, Some(body)).await
            }
        });
        for (status, body) in futures::future::join_all(saves).await {
            assert_eq!(status, 200, "{body}");
        }
        let (_, last) = get_json(&state, &me, "GET", PATH, None).await;
        let name = last["last_name"].as_str().expect("name").to_owned();
        let i = (0..100)
            .find(|i| letters(*i) == name.trim_start_matches("Dupond-"))
            .expect("one of the saves");
        // One save, whole: its city and its liste rouge with its name, on both tables.
        assert_eq!(last["city"], format!("Ville {i}"), "{last}");
        assert_eq!(last["liste_rouge"], i % 2 == 0, "{last}");
        let a = account_of(&state.db, ME).await;
        assert_eq!(
            a.display_name,
            Some(format!("Pierre DUPOND-{}", letters(i).to_uppercase()))
        );
        assert_eq!(a.liste_rouge, i % 2 == 0);
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("account_identity_changed"))
            .all(&state.db)
            .await
            .expect("audit");
        assert_eq!(audited.len(), 100);
        db.drop_postgres().await;
    }
}
