//! "Visibilité dans l'annuaire" (manual part 2 §2.2): the user puts themself on the liste
//! rouge and back with `PUT /api/account/visibility`. The route is the account feature's;
//! its effect is seen here, in the Medimail directory.

use serde_json::json;

use crate::common::*;
use crate::{Directories, SEARCH, addresses_of, get_json};

#[tokio::test]
async fn putting_oneself_on_the_liste_rouge_hides_the_account_and_me_says_so() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = d
            .as_me(
                "PUT",
                "/api/account/visibility",
                Some(json!({"liste_rouge": true})),
            )
            .await;
        assert_eq!((status.as_u16(), &body["liste_rouge"]), (200, &json!(true)));
        let (_, body) = d.as_me("GET", &format!("{SEARCH}?nom=dupon"), None).await;
        assert_eq!(addresses_of(&body), ["m.dupontel@ght-ouest.fr"], "hidden");
        let (_, body) = d.as_me("GET", "/api/me", None).await;
        assert_eq!(body["liste_rouge"], true);
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn leaving_the_liste_rouge_makes_the_account_visible_again() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, _) = d
            .as_me(
                "PUT",
                "/api/account/visibility",
                Some(json!({"liste_rouge": true})),
            )
            .await;
        assert_eq!(status, 200, "set-up: on the liste rouge");
        let (status, _) = d
            .as_me(
                "PUT",
                "/api/account/visibility",
                Some(json!({"liste_rouge": false})),
            )
            .await;
        assert_eq!(status, 200);
        let (_, body) = d.as_me("GET", &format!("{SEARCH}?nom=dupon"), None).await;
        assert_eq!(
            addresses_of(&body),
            ["pierre.dupond@chu-dev.fr", "m.dupontel@ght-ouest.fr"],
            "visible again"
        );
        db.drop_postgres().await;
    }
}

#[tokio::test]
async fn the_visibility_needs_a_session() {
    for db in databases().await {
        let d = Directories::activated(&db).await;
        let (status, body) = get_json(
            &d.state,
            &(d.me.0.clone(), "pas-une-session".into()),
            "PUT",
            "/api/account/visibility",
            Some(json!({"liste_rouge": true})),
        )
        .await;
        assert_eq!(status, 401, "{body}");
        db.drop_postgres().await;
    }
}
