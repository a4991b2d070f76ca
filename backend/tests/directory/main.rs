//! The directories, on SQLite and on PostgreSQL when `DATABASE_URL` is set, through the
//! services and through the real router with real signed tokens. One module per part:
//!
//! - `import`: the national extraction (text or the published zip) written as a
//!   snapshot, bad lines reported, a bad file refused before anything is written, a
//!   re-import replacing the snapshot without a search ever seeing a mix;
//! - `search`: names by any part, every webmail criterion, the MSSanté gate, the
//!   3-character rule, the Medimail directory (accounts and the regional extraction), the
//!   liste rouge;
//! - `favorites`: starring a contact, listed by an empty search, per directory and per
//!   account;
//! - `identity`: « Identité », checked field by field and shown in the directory card;
//! - `administration`: organisations and managers (the operator's), and a manager's
//!   « Administration » of its organisation's accounts, MSSanté activation included;
//! - `visibility`: "Visibilité dans l'annuaire", the account's own liste rouge setting
//!   (served by the account feature, seen in the directory).
//!
//! One test binary for the whole feature: each file in `backend/tests/` links the server.

use axum::http::StatusCode;
use medimail_server::directory::extraction::COLUMNS;
use medimail_server::directory::import::{ExtractionFile, import_extraction};
use medimail_server::state::AppState;
use serde_json::Value;

#[path = "../common/mod.rs"]
mod common;

mod administration;
mod favorites;
mod identity;
mod import;
mod mssante;
mod search;
mod visibility;

/// A line of the extraction with a kind, an address and a name (postal code 75012).
fn line(kind: &str, address: &str, last: &str, first: &str) -> String {
    let mut cols = vec![String::new(); 31];
    cols[0] = kind.into();
    cols[1] = address.into();
    cols[9] = last.into();
    cols[10] = first.into();
    cols[28] = "75012".into();
    cols.join("|")
}

/// An extraction file: the header, then `lines`.
fn file(lines: &[String]) -> Vec<u8> {
    let mut out = COLUMNS.join("|").into_bytes();
    out.extend_from_slice(b"\r\n");
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A line with every field the webmail searches.
#[allow(clippy::too_many_arguments)]
fn full_line(
    kind: &str,
    address: &str,
    last: &str,
    first: &str,
    rpps: &str,
    profession: &str,
    speciality: &str,
    organisation: &str,
    postal: &str,
    city: &str,
) -> String {
    let mut cols = vec![String::new(); 31];
    cols[0] = kind.into();
    cols[1] = address.into();
    cols[4] = rpps.into();
    cols[9] = last.into();
    cols[10] = first.into();
    cols[14] = profession.into();
    cols[16] = speciality.into();
    cols[18] = organisation.into();
    cols[27] = format!("{postal} {city}");
    cols[28] = postal.into();
    cols[29] = postal.chars().take(2).collect();
    cols.join("|")
}

/// One signed-in request through the real router, with a JSON body if any: the status
/// and the JSON answer (`Null` when there is none).
async fn get_json(
    state: &AppState,
    auth: &(String, String),
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    let (status, _, bytes) = common::call_signed_in(state, auth, method, path, body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The addresses of a search's or a favorites list's `results`, in order.
fn addresses_of(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["address"].as_str().expect("address").to_owned())
        .collect()
}

const SEARCH: &str = "/api/directory/search";

/// A search of the national (MSSanté) directory with the query string `q`.
fn national_search(q: &str) -> String {
    format!("{SEARCH}?annuaire=mssante&{q}")
}

/// The directories the API tests search, through the router.
struct Directories {
    state: AppState,
    /// Pierre DUPOND, signed in: the caller.
    me: (String, String),
    /// Rose ROUGE, signed in; also in the national extraction. On the liste rouge once
    /// MSSanté is activated (`Directories::activated`).
    red: (String, String),
}

impl Directories {
    /// Two signed-in accounts (Pierre DUPOND, Rose ROUGE), the national extraction (two
    /// DUPONTs in Toulouse, Rose ROUGE, a cardiology secretariat) and the regional one
    /// (Marc DUPONTEL in Rennes); MSSanté not activated for anyone yet.
    async fn imported(db: &common::TestDb) -> Directories {
        let state = common::state_with(db, true).await;
        let me = common::signed_in_as(&state, "pierre.dupond@chu-dev.fr", "Pierre DUPOND").await;
        let red = common::signed_in_as(&state, "rose.rouge@chu-dev.fr", "Rose ROUGE").await;
        let national = file(&[
            full_line(
                "PER",
                "b.dupont@chu-toulouse.mssante.fr",
                "DUPONT-MOREAU",
                "Bénédicte",
                "810001234567",
                "Médecin",
                "Cardiologie",
                "CHU DE TOULOUSE",
                "31059",
                "TOULOUSE CEDEX 9",
            ),
            full_line(
                "PER",
                "l.dupont@clinique.mssante.fr",
                "DUPONT",
                "Luc",
                "810009999999",
                "Infirmier",
                "",
                "CLINIQUE PASTEUR",
                "31300",
                "TOULOUSE",
            ),
            full_line(
                "PER",
                "rose.rouge@chu-dev.fr",
                "ROUGE",
                "Rose",
                "810005555555",
                "Médecin",
                "",
                "CHU DEV",
                "75012",
                "PARIS",
            ),
            full_line(
                "ORG",
                "secretariat.cardio@chu-toulouse.mssante.fr",
                "",
                "",
                "",
                "",
                "",
                "CHU DE TOULOUSE",
                "31059",
                "TOULOUSE CEDEX 9",
            ),
        ]);
        let regional = file(&[full_line(
            "PER",
            "m.dupontel@ght-ouest.fr",
            "DUPONTEL",
            "Marc",
            "",
            "Pharmacien",
            "",
            "GHT OUEST",
            "35000",
            "RENNES",
        )]);
        import_extraction(
            &state.db,
            "mssante",
            ExtractionFile::Bytes(national.into()),
            state.clock.now(),
            |_| {},
        )
        .await
        .expect("national");
        import_extraction(
            &state.db,
            "regional",
            ExtractionFile::Bytes(regional.into()),
            state.clock.now(),
            |_| {},
        )
        .await
        .expect("regional");
        Directories { state, me, red }
    }

    /// `imported`, then MSSanté activated for both accounts and Rose ROUGE on the liste
    /// rouge.
    async fn activated(db: &common::TestDb) -> Directories {
        use medimail_server::account::entity::account;
        use sea_orm::{ActiveModelTrait, EntityTrait, Set};
        let directories = Directories::imported(db).await;
        let db = &directories.state.db;
        for a in account::Entity::find().all(db).await.expect("q") {
            let mut a: account::ActiveModel = a.into();
            let mailbox = a.mailbox.clone().unwrap().unwrap_or_default();
            a.mssante_enabled = Set(true);
            a.liste_rouge = Set(mailbox == "rose.rouge@chu-dev.fr");
            a.update(db).await.expect("updated");
        }
        directories
    }

    /// A signed-in request as Pierre DUPOND.
    async fn as_me(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        get_json(&self.state, &self.me, method, path, body).await
    }
}
