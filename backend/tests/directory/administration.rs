//! Organisations and managers (issue 17): the operator's `medimail organisation …`
//! services, and a manager's « Administration » through the real router — its
//! organisation's accounts only, each change checked whole and audited, the MSSanté
//! activation reserved to the managers when the organisation says so, and a hundred
//! identical requests at once.

use medimail_server::account::entity::account;
use medimail_server::account::organisation::{self, OrganisationRefusal, OrganisationSpec};
use medimail_server::entity::audit_event;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::common::*;
use crate::get_json;
use crate::mssante::{ACTIVATION, DOMAIN, identify, namesakes, with_domain};

const ADMIN: &str = "/api/account/administration";
const MANAGER: &str = "pierre.dupond@chu-dev.fr";
const COLLEAGUE: &str = "rose.rouge@chu-dev.fr";

fn spec(
    id: &str,
    name: Option<&str>,
    domains: &[&str],
    reserved: Option<bool>,
) -> OrganisationSpec {
    OrganisationSpec {
        id: id.into(),
        name: name.map(Into::into),
        domains: Some(domains.iter().map(|d| (*d).to_owned()).collect()),
        activation_by_managers: reserved,
    }
}

/// `chu-dev` (chu-dev.fr), `reserved` or not, with `MANAGER` as its manager.
async fn chu_dev(state: &medimail_server::state::AppState, reserved: bool) {
    let now = state.clock.now();
    organisation::set(
        &state.db,
        &state.keys,
        spec(
            "chu-dev",
            Some("CHU de développement"),
            &["chu-dev.fr"],
            Some(reserved),
        ),
        now,
    )
    .await
    .expect("db")
    .expect("set");
    organisation::add_manager(&state.db, &state.keys, "chu-dev", MANAGER, now)
        .await
        .expect("db")
        .expect("manager");
}

async fn account_of(state: &medimail_server::state::AppState, mailbox: &str) -> account::Model {
    medimail_server::account::registry::by_mailbox(&state.db, mailbox)
        .await
        .expect("db")
        .expect("account")
}

async fn audited(
    state: &medimail_server::state::AppState,
    action: &str,
) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .all(&state.db)
        .await
        .expect("audit")
}

fn mailboxes(page: &Value) -> Vec<&str> {
    page["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["mailbox"].as_str().expect("mailbox"))
        .collect()
}

#[tokio::test]
async fn the_operator_configures_organisations_their_domains_and_managers() {
    for db in databases().await {
        let state = state_with(&db, true).await;
        let (db_, keys, now) = (&state.db, &state.keys, state.clock.now());
        let set = |s: OrganisationSpec| organisation::set(db_, keys, s, now);

        assert!(matches!(
            set(spec("CHU dev", Some("CHU"), &["chu-dev.fr"], None))
                .await
                .expect("db"),
            Err(OrganisationRefusal::IdInvalid(_))
        ));
        assert_eq!(
            set(spec("chu-dev", None, &["chu-dev.fr"], None))
                .await
                .expect("db"),
            Err(OrganisationRefusal::NameMissing)
        );
        assert_eq!(
            set(spec("chu-dev", Some("CHU"), &["chu-dev"], None))
                .await
                .expect("db"),
            Err(OrganisationRefusal::DomainInvalid("chu-dev".into()))
        );
        let made = set(spec(
            "chu-dev",
            Some("  CHU   de dév "),
            &["CHU-Dev.fr", "chu-dev.org"],
            None,
        ))
        .await
        .expect("db")
        .expect("set");
        assert_eq!(made.organisation.name, "CHU de dév");
        assert_eq!(made.domains, vec!["chu-dev.fr", "chu-dev.org"]);
        assert!(!made.organisation.activation_by_managers);

        // A domain is one organisation's: refused, and nothing of the other is created.
        assert_eq!(
            set(spec(
                "clinique",
                Some("Clinique"),
                &["clinique.fr", "chu-dev.fr"],
                None
            ))
            .await
            .expect("db"),
            Err(OrganisationRefusal::DomainTaken {
                domain: "chu-dev.fr".into(),
                owner: "chu-dev".into()
            })
        );
        assert_eq!(organisation::list(db_).await.expect("list").len(), 1);

        // Changing one setting keeps the others.
        let changed = organisation::set(
            db_,
            keys,
            OrganisationSpec {
                id: "chu-dev".into(),
                activation_by_managers: Some(true),
                ..OrganisationSpec::default()
            },
            now,
        )
        .await
        .expect("db")
        .expect("set");
        assert_eq!(changed.domains, vec!["chu-dev.fr", "chu-dev.org"]);
        assert!(changed.organisation.activation_by_managers);

        // Managers: a known organisation, one organisation each.
        assert_eq!(
            organisation::add_manager(db_, keys, "nulle-part", MANAGER, now)
                .await
                .expect("db")
                .map(|_| ()),
            Err(OrganisationRefusal::Unknown("nulle-part".into()))
        );
        for _ in 0..2 {
            organisation::add_manager(db_, keys, "chu-dev", " Pierre.Dupond@CHU-dev.fr ", now)
                .await
                .expect("db")
                .expect("manager");
        }
        set(spec("clinique", Some("Clinique"), &["clinique.fr"], None))
            .await
            .expect("db")
            .expect("set");
        assert_eq!(
            organisation::add_manager(db_, keys, "clinique", MANAGER, now)
                .await
                .expect("db")
                .map(|_| ()),
            Err(OrganisationRefusal::ManagesAnother {
                mailbox: MANAGER.into(),
                owner: "chu-dev".into()
            })
        );
        let all = organisation::list(db_).await.expect("list");
        assert_eq!(
            all.iter()
                .map(|o| (o.organisation.id.as_str(), o.managers.clone()))
                .collect::<Vec<_>>(),
            vec![("chu-dev", vec![MANAGER.to_owned()]), ("clinique", vec![])]
        );
        assert!(
            organisation::remove_manager(db_, keys, MANAGER)
                .await
                .expect("db")
        );
        assert!(
            !organisation::remove_manager(db_, keys, MANAGER)
                .await
                .expect("db")
        );
        assert!(
            organisation::remove(db_, keys, "clinique")
                .await
                .expect("db")
        );
        assert!(
            !organisation::remove(db_, keys, "clinique")
                .await
                .expect("db")
        );

        // A hundred organisations claiming one domain at once: one gets it.
        let claims = (0..100).map(|i| {
            organisation::set(
                db_,
                keys,
                spec(&format!("org-{i}"), Some("Org"), &["partage.fr"], None),
                now,
            )
        });
        let outcomes = futures::future::join_all(claims).await;
        let won = outcomes.iter().filter(|o| matches!(o, Ok(Ok(_)))).count();
        let taken = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Err(OrganisationRefusal::DomainTaken { .. }))))
            .count();
        assert_eq!((won, taken), (1, 99), "{outcomes:?}");

        for action in [
            "organisation_changed",
            "organisation_manager_added",
            "organisation_manager_removed",
            "organisation_removed",
        ] {
            let rows = audited(&state, action).await;
            assert!(!rows.is_empty(), "{action}");
            assert!(rows.iter().all(|r| r.actor == "cli"), "{action}");
        }
        assert_eq!(audited(&state, "organisation_manager_added").await.len(), 1);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_manager_administers_its_organisations_accounts_and_nobody_elses() {
    for db in databases().await {
        let state = with_domain(state_with(&db, true).await);
        let manager = signed_in_as(&state, MANAGER, "Pierre DUPOND").await;
        let colleague = signed_in_as(&state, COLLEAGUE, "Rose ROUGE").await;
        let outsider = signed_in_as(&state, "paul.durand@clinique.fr", "Paul DURAND").await;

        // Not yet a manager: nothing to administer.
        let (status, body) = get_json(&state, &manager, "GET", ADMIN, None).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (403, &json!("administration_forbidden"))
        );
        chu_dev(&state, true).await;
        let (status, body) = get_json(&state, &colleague, "GET", ADMIN, None).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (403, &json!("administration_forbidden"))
        );

        // The organisation's accounts, by mailbox; found by name or address.
        let (status, page) = get_json(&state, &manager, "GET", ADMIN, None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["organisation"], "CHU de développement");
        assert_eq!(page["domains"], json!(["chu-dev.fr"]));
        assert_eq!(page["reserved_to_managers"], true);
        assert_eq!(mailboxes(&page), vec![MANAGER, COLLEAGUE]);
        assert_eq!(page["accounts"][0]["manager"], true);
        assert_eq!(page["accounts"][1]["manager"], false);
        let (_, found) = get_json(&state, &manager, "GET", &format!("{ADMIN}?q=rouge"), None).await;
        assert_eq!(mailboxes(&found), vec![COLLEAGUE]);
        let (_, found) = get_json(&state, &manager, "GET", &format!("{ADMIN}?q=%25"), None).await;
        assert_eq!(found["total"], 0, "a % is a character, not a wildcard");
        for far in ["2", "18446744073709551615"] {
            let (status, past) = get_json(
                &state,
                &manager,
                "GET",
                &format!("{ADMIN}?page={far}"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{past}");
            assert_eq!((&past["total"], &past["accounts"]), (&json!(2), &json!([])));
        }

        // Someone else's organisation (or none): unknown, nothing changed.
        let paul = account_of(&state, "paul.durand@clinique.fr").await;
        let (status, body) = get_json(
            &state,
            &manager,
            "PUT",
            &format!("{ADMIN}/{}", paul.id),
            Some(json!({"eligible": true})),
        )
        .await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (404, &json!("administration_account_unknown"))
        );
        assert!(
            !account_of(&state, "paul.durand@clinique.fr")
                .await
                .mssante_eligible
        );
        let _ = outsider;

        // Eligible and five stamps.
        let rose = account_of(&state, COLLEAGUE).await;
        let one = format!("{ADMIN}/{}", rose.id);
        let (status, body) = get_json(
            &state,
            &manager,
            "PUT",
            &one,
            Some(json!({"eligible": true, "stamps": {"allocated": 5}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (&body["eligible"], &body["stamps_allocated"]),
            (&json!(true), &json!(5))
        );
        // A refused field refuses the whole change.
        let (status, body) = get_json(
            &state,
            &manager,
            "PUT",
            &one,
            Some(json!({"eligible": false, "stamps": {"allocated": 2_000_000}})),
        )
        .await;
        assert_eq!(
            (status.as_u16(), &body["code"], &body["field"]),
            (422, &json!("stamps_invalid"), &json!("stamps"))
        );
        let stored = account_of(&state, COLLEAGUE).await;
        assert_eq!(
            (stored.mssante_eligible, stored.stamps_allocated),
            (true, Some(5))
        );
        let (status, body) = get_json(
            &state,
            &manager,
            "PUT",
            &one,
            Some(json!({"stamps": {"allocated": null}})),
        )
        .await;
        assert_eq!(
            (status.as_u16(), &body["stamps_allocated"]),
            (200, &Value::Null)
        );

        // Locked after ten failures: shown, then « Débloquer ».
        let mut lock: account::ActiveModel = account_of(&state, COLLEAGUE).await.into();
        lock.locked_until = Set(Some(state.clock.now() + chrono::Duration::minutes(15)));
        lock.failed_attempts = Set(10);
        lock.update(&state.db).await.expect("lock");
        let (_, found) = get_json(&state, &manager, "GET", &format!("{ADMIN}?q=rose"), None).await;
        assert!(found["accounts"][0]["locked_until"].is_string(), "{found}");
        let (status, body) =
            get_json(&state, &manager, "PUT", &one, Some(json!({"unlock": true}))).await;
        assert_eq!(
            (status.as_u16(), &body["locked_until"]),
            (200, &Value::Null)
        );
        let stored = account_of(&state, COLLEAGUE).await;
        assert_eq!((stored.locked_until, stored.failed_attempts), (None, 0));

        // Audited with the manager as the actor.
        let changes = audited(&state, "account_administered").await;
        assert_eq!(changes.len(), 2, "the refused change wrote nothing");
        assert!(
            changes
                .iter()
                .all(|c| c.actor == MANAGER && c.detail.contains(&rose.id))
        );
        let unlocked = audited(&state, "account_unlocked").await;
        assert_eq!(unlocked.len(), 1);
        assert_eq!(unlocked[0].actor, MANAGER);
        assert!(unlocked[0].detail.contains("administration"));

        // The activation is the managers': the colleague's tab lists them.
        let (_, status_) = get_json(&state, &colleague, "GET", "/api/account/mssante", None).await;
        assert_eq!(status_["reserved_to_managers"], true);
        assert_eq!(
            status_["managers"],
            json!([{"name": "Pierre DUPOND", "mailbox": MANAGER}])
        );
        identify(&state, &colleague, "Rose", "Rouge").await;
        let (status, body) = get_json(&state, &colleague, "POST", ACTIVATION, None).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (403, &json!("mssante_reserved_to_managers"))
        );
        assert!(
            account_of(&state, COLLEAGUE)
                .await
                .mssante_address
                .is_none()
        );

        // The manager activates it.
        let (status, body) =
            get_json(&state, &manager, "POST", &format!("{one}/mssante"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["address"], format!("rose.rouge@{DOMAIN}"));
        let activated = audited(&state, "mssante_activated").await;
        assert_eq!(activated.len(), 1);
        assert_eq!(activated[0].actor, MANAGER);
        let (_, status_) = get_json(&state, &colleague, "GET", "/api/account/mssante", None).await;
        assert_eq!(status_["address"], format!("rose.rouge@{DOMAIN}"));

        // Not eligible (the outsider is no member anyway): the conditions are said.
        let (status, body) = get_json(
            &state,
            &manager,
            "PUT",
            &format!("{ADMIN}/{}", account_of(&state, MANAGER).await.id),
            Some(json!({"eligible": false})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = get_json(
            &state,
            &manager,
            "POST",
            &format!("{ADMIN}/{}/mssante", account_of(&state, MANAGER).await.id),
            None,
        )
        .await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (403, &json!("mssante_conditions_unmet"))
        );

        // A session that is not the strong authentication may not administer.
        medimail_server::auth::entity::auth_session::Entity::update_many()
            .col_expr(
                medimail_server::auth::entity::auth_session::Column::Method,
                sea_orm::sea_query::Expr::value("office"),
            )
            .filter(
                medimail_server::auth::entity::auth_session::Column::AccountId.eq(account_of(
                    &state, MANAGER,
                )
                .await
                .id),
            )
            .exec(&state.db)
            .await
            .expect("method");
        let (status, body) = get_json(&state, &manager, "GET", ADMIN, None).await;
        assert_eq!(
            (status.as_u16(), &body["code"]),
            (403, &json!("administration_strong_required"))
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn a_hundred_identical_administrations_at_once_hold() {
    for db in databases().await {
        let state = with_domain(state_with(&db, true).await);
        let manager = signed_in_as(&state, MANAGER, "Pierre DUPOND").await;
        chu_dev(&state, true).await;
        // Two Jean MARTIN of the organisation, eligible with an RPPS.
        let people = namesakes(&state, 0..2).await;
        let ids: Vec<String> = people.iter().map(|(a, _)| a.id.clone()).collect();

        // A hundred « Activer » at once, half for each: one address each, different.
        let all = (0..100).map(|i| {
            let (state, manager) = (state.clone(), manager.clone());
            let path = format!("{ADMIN}/{}/mssante", ids[i % 2]);
            async move {
                let (status, body) = get_json(&state, &manager, "POST", &path, None).await;
                assert_eq!(status, 200, "{body}");
                (i % 2, body["address"].as_str().expect("address").to_owned())
            }
        });
        let got = futures::future::join_all(all).await;
        let of = |who: usize| {
            let mut a: Vec<&String> = got
                .iter()
                .filter(|(w, _)| *w == who)
                .map(|(_, a)| a)
                .collect();
            a.dedup();
            a
        };
        let (first, second) = (of(0), of(1));
        assert_eq!((first.len(), second.len()), (1, 1), "{got:?}");
        let mut both = vec![first[0].clone(), second[0].clone()];
        both.sort();
        assert_eq!(
            both,
            vec![
                format!("jean.martin2@{DOMAIN}"),
                format!("jean.martin@{DOMAIN}")
            ]
        );
        assert_eq!(audited(&state, "mssante_activated").await.len(), 2);

        // A hundred stamp allocations at once: each stored whole, each audited.
        let all = (0..100u64).map(|n| {
            let (state, manager) = (state.clone(), manager.clone());
            let path = format!("{ADMIN}/{}", ids[0]);
            async move {
                let (status, body) = get_json(
                    &state,
                    &manager,
                    "PUT",
                    &path,
                    Some(json!({"stamps": {"allocated": n}})),
                )
                .await;
                assert_eq!(status, 200, "{body}");
            }
        });
        futures::future::join_all(all).await;
        let stored = account::Entity::find_by_id(ids[0].clone())
            .one(&state.db)
            .await
            .expect("db")
            .expect("account");
        assert!(
            stored
                .stamps_allocated
                .is_some_and(|n| (0..100).contains(&n))
        );
        assert_eq!(audited(&state, "account_administered").await.len(), 100);
        db.drop_postgres().await;
    }
}
