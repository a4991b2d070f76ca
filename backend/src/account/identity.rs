//! « Paramètres du compte » › « Identité » (manual part 1 §6.1): read, check field by
//! field, and store whole. Any field refused, nothing is written and every refused field
//! is said (`ErrorBody::errors`). What is stored feeds the Medimail directory at once:
//! the account's name (« Prénom NOM »), its RPPS / ADELI and « Liste rouge » are on
//! `account`, the rest in `account_identity`, both written in one transaction.

use chrono::{DateTime, Utc};
use medimail_api::{AccountIdentity, ErrorBody, FieldRefusal};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait,
};

use super::entity::{account, account_identity, identity_link};
use super::nomenclature;
use crate::keys::Keys;

/// Longest text field kept (names, addresses, town, raison sociale).
pub const MAX_TEXT_CHARS: usize = 100;

/// What `GET /api/account/identity` answers for `account`.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    account: &account::Model,
) -> Result<AccountIdentity, sea_orm::DbErr> {
    let row = account_identity::Entity::find_by_id(account.id.clone())
        .one(db)
        .await?;
    let mut out = match row {
        Some(r) => from_row(r),
        None => AccountIdentity::default(),
    };
    out.mailbox = account.mailbox.clone();
    out.rpps = account.rpps.clone();
    out.adeli = account.adeli.clone();
    out.liste_rouge = account.liste_rouge;
    out.identifier_from_card = card_linked(db, &account.id).await?;
    Ok(out)
}

fn from_row(r: account_identity::Model) -> AccountIdentity {
    AccountIdentity {
        mailbox: None,
        dematerialised: r.dematerialised,
        civility: r.civility,
        last_name: r.last_name,
        first_name: r.first_name,
        rpps: None,
        adeli: None,
        profession: r.profession_code,
        speciality: r.speciality_code,
        liberal: r.liberal,
        raison_sociale: r.raison_sociale,
        address1: r.address1,
        address2: r.address2,
        postal_code: r.postal_code,
        city: r.city,
        region: r.region,
        department: r.department,
        phone1: r.phone1,
        phone2: r.phone2,
        liste_rouge: false,
        identifier_from_card: false,
    }
}

/// Whether a CPx card is linked to the account: its RPPS / ADELI then come from the card.
async fn card_linked<C: ConnectionTrait>(db: &C, account_id: &str) -> Result<bool, sea_orm::DbErr> {
    Ok(identity_link::Entity::find()
        .filter(identity_link::Column::Provider.eq(crate::auth::card::PROVIDER))
        .filter(identity_link::Column::AccountId.eq(account_id))
        .one(db)
        .await?
        .is_some())
}

/// The Luhn check (ISO/IEC 7812-1) over ASCII digits.
fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// An RPPS number: 11 digits whose last is the Luhn key of the first ten (checked
/// against real numbers; docs/IDENTITE.md gives the sources).
pub fn rpps_valid(rpps: &str) -> bool {
    rpps.len() == 11 && rpps.bytes().all(|b| b.is_ascii_digit()) && luhn(rpps)
}

/// An ADELI number: 9 characters — the département (two digits, or `2A` / `2B`), the
/// profession's two digits, the order number (4 digits) and a Luhn key over the whole.
/// No rule is published for Corsica's key: `2A` / `2B` numbers are checked for their
/// shape only. (Research and sources: docs/IDENTITE.md.)
pub fn adeli_valid(adeli: &str) -> bool {
    if adeli.len() != 9 || !adeli.is_ascii() {
        return false;
    }
    let upper = adeli.to_ascii_uppercase();
    let (department, rest) = upper.split_at(2);
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match department {
        "2A" | "2B" => true,
        d if d.bytes().all(|b| b.is_ascii_digit()) => luhn(&upper),
        _ => false,
    }
}

/// A telephone number, as it is stored: French ones as `01 23 45 67 89`, international
/// ones as `+` and 8 to 15 digits (E.164), `+33` ones written the French way. Spaces,
/// dots and hyphens between digits are allowed.
pub fn phone(input: &str) -> Option<String> {
    let kept: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}'))
        .collect::<String>()
        .replacen("(0)", "", 1);
    let (plus, digits) = match kept.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, kept.as_str()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let french = |national: &str| -> String {
        national
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !plus {
        // 0 then nine digits, not 00 (an international prefix).
        return (digits.len() == 10 && digits.starts_with('0') && !digits.starts_with("00"))
            .then(|| french(digits));
    }
    if let Some(national) = digits.strip_prefix("33") {
        return (national.len() == 9 && !national.starts_with('0'))
            .then(|| french(&format!("0{national}")));
    }
    ((8..=15).contains(&digits.len()) && !digits.starts_with('0')).then(|| format!("+{digits}"))
}

/// A free text field: trimmed, empty is `None`, at most [`MAX_TEXT_CHARS`] characters,
/// no control characters.
fn text(value: &Option<String>) -> Result<Option<String>, ()> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > MAX_TEXT_CHARS || v.chars().any(char::is_control) {
        return Err(());
    }
    Ok(Some(v.to_owned()))
}

/// A checked « Identité », ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked(AccountIdentity);

/// Checks every field of `wanted` for `current` (the account as stored, and whether a
/// card gives its RPPS / ADELI): the form as it will be stored, or every refused field.
pub fn check(wanted: &AccountIdentity, current: &AccountIdentity) -> Result<Checked, ErrorBody> {
    let mut refused: Vec<FieldRefusal> = Vec::new();
    let mut refuse = |field: &str, code: &str, message: String| {
        refused.push(FieldRefusal {
            field: field.to_owned(),
            code: code.to_owned(),
            message,
        })
    };
    let mut out = AccountIdentity {
        mailbox: current.mailbox.clone(),
        dematerialised: wanted.dematerialised,
        liberal: wanted.liberal,
        liste_rouge: wanted.liste_rouge,
        identifier_from_card: current.identifier_from_card,
        ..Default::default()
    };
    let too_long = |label: &str| {
        format!("« {label} » : {MAX_TEXT_CHARS} caractères au plus, sans caractère de contrôle.")
    };
    for (field, label, value, slot) in [
        ("last_name", "Nom", &wanted.last_name, &mut out.last_name),
        (
            "first_name",
            "Prénom",
            &wanted.first_name,
            &mut out.first_name,
        ),
        (
            "raison_sociale",
            "Raison sociale",
            &wanted.raison_sociale,
            &mut out.raison_sociale,
        ),
        (
            "address1",
            "Adresse (1)",
            &wanted.address1,
            &mut out.address1,
        ),
        (
            "address2",
            "Adresse (2)",
            &wanted.address2,
            &mut out.address2,
        ),
        ("city", "Ville", &wanted.city, &mut out.city),
    ] {
        match text(value) {
            Ok(v) => *slot = v,
            Err(()) => refuse(field, "field_too_long", too_long(label)),
        }
    }
    for (field, slot) in [
        ("last_name", &out.last_name),
        ("first_name", &out.first_name),
    ] {
        if slot.as_deref().is_some_and(|n| {
            !n.chars().any(char::is_alphabetic)
                || n.chars()
                    .any(|c| c.is_ascii_digit() || "@<>;:\"\\/".contains(c))
        }) {
            let label = if field == "last_name" {
                "Nom"
            } else {
                "Prénom"
            };
            refuse(
                field,
                "name_invalid",
                format!(
                    "« {label} » : des lettres, des espaces, des traits d'union ou des apostrophes."
                ),
            );
        }
    }
    match text(&wanted.civility) {
        Ok(None) => {}
        Ok(Some(c)) if nomenclature::CIVILITIES.iter().any(|(code, _)| *code == c) => {
            out.civility = Some(c)
        }
        _ => refuse(
            "civility",
            "civility_invalid",
            "« Civilité » : choisissez M., Mme, Dr ou Pr.".to_owned(),
        ),
    }
    let identifier = |value: &Option<String>| {
        value
            .as_deref()
            .map(|v| v.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .filter(|v| !v.is_empty())
    };
    let rpps = identifier(&wanted.rpps);
    let adeli = identifier(&wanted.adeli).map(|a| a.to_ascii_uppercase());
    if current.identifier_from_card && (rpps != current.rpps || adeli != current.adeli) {
        refuse(
            if rpps != current.rpps {
                "rpps"
            } else {
                "adeli"
            },
            "identifier_from_card",
            "Votre numéro RPPS / ADELI vient de votre carte CPx : il ne peut pas être modifié \
             ici. Dissociez d'abord votre carte pour le changer."
                .to_owned(),
        );
    } else {
        if rpps.as_deref().is_some_and(|r| !rpps_valid(r)) {
            refuse(
                "rpps",
                "rpps_invalid",
                "« RPPS » : le numéro RPPS compte 11 chiffres, dont une clé de contrôle ; \
                 vérifiez-le sur votre carte CPS."
                    .to_owned(),
            );
        }
        if adeli.as_deref().is_some_and(|a| !adeli_valid(a)) {
            refuse(
                "adeli",
                "adeli_invalid",
                "« ADELI » : le numéro ADELI compte 9 caractères (département, profession, \
                 numéro d'ordre et clé) ; vérifiez-le sur votre carte CPS."
                    .to_owned(),
            );
        }
    }
    out.rpps = rpps;
    out.adeli = adeli;
    match text(&wanted.profession) {
        Ok(None) => {}
        Ok(Some(p)) if nomenclature::profession(&p).is_some() => out.profession = Some(p),
        _ => refuse(
            "profession",
            "profession_invalid",
            "« Profession » : choisissez une profession de la liste.".to_owned(),
        ),
    }
    match text(&wanted.speciality) {
        Ok(None) => {}
        Ok(Some(s)) if nomenclature::speciality(&s).is_some() => out.speciality = Some(s),
        _ => refuse(
            "speciality",
            "speciality_invalid",
            "« Spécialité » : choisissez une spécialité de la liste.".to_owned(),
        ),
    }
    match text(&wanted.postal_code) {
        Ok(None) => {}
        Ok(Some(p)) if p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            out.postal_code = Some(p)
        }
        _ => refuse(
            "postal_code",
            "postal_code_invalid",
            "« Code postal » : 5 chiffres.".to_owned(),
        ),
    }
    match text(&wanted.department) {
        Ok(None) => {
            out.department = out
                .postal_code
                .as_deref()
                .and_then(nomenclature::department_of_postal_code)
                .map(str::to_owned)
        }
        Ok(Some(d)) if nomenclature::department(&d.to_ascii_uppercase()).is_some() => {
            out.department = Some(d.to_ascii_uppercase())
        }
        _ => refuse(
            "department",
            "department_invalid",
            "« Département » : choisissez un département de la liste.".to_owned(),
        ),
    }
    let region_of_department = out
        .department
        .as_deref()
        .and_then(nomenclature::department)
        .and_then(|d| d.parent.clone());
    match text(&wanted.region) {
        Ok(None) => out.region = region_of_department,
        Ok(Some(r)) if nomenclature::region(&r).is_some() => {
            if region_of_department.as_ref().is_some_and(|d| *d != r) {
                refuse(
                    "region",
                    "region_invalid",
                    "« Région » : ce n'est pas la région du département choisi.".to_owned(),
                );
            }
            out.region = Some(r)
        }
        _ => refuse(
            "region",
            "region_invalid",
            "« Région » : choisissez une région de la liste.".to_owned(),
        ),
    }
    for (field, label, value, slot) in [
        ("phone1", "Téléphone (1)", &wanted.phone1, &mut out.phone1),
        ("phone2", "Téléphone (2)", &wanted.phone2, &mut out.phone2),
    ] {
        match text(value) {
            Ok(None) => {}
            Ok(Some(p)) => match phone(&p) {
                Some(p) => *slot = Some(p),
                None => refuse(
                    field,
                    "phone_invalid",
                    format!(
                        "« {label} » : un numéro français à 10 chiffres (01 23 45 67 89) ou \
                         international (+33 1 23 45 67 89)."
                    ),
                ),
            },
            Err(()) => refuse(field, "phone_invalid", too_long(label)),
        }
    }
    if refused.is_empty() {
        Ok(Checked(out))
    } else {
        Err(ErrorBody::fields("identity_invalid", refused))
    }
}

/// « Prénom NOM », the name the directory and « Bonjour … » show.
pub fn display_name(identity: &AccountIdentity) -> Option<String> {
    match (&identity.first_name, &identity.last_name) {
        (Some(first), Some(last)) => Some(format!("{first} {}", last.to_uppercase())),
        (None, Some(last)) => Some(last.to_uppercase()),
        _ => None,
    }
}

/// Stores a checked « Identité » for `account`, whole, in one transaction, audited with
/// the names of the fields that changed (never their values). Answers what is stored.
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keys: &Keys,
    account: &account::Model,
    Checked(identity): Checked,
    now: DateTime<Utc>,
) -> Result<AccountIdentity, sea_orm::DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, account).await?;
    let row = account_identity::ActiveModel {
        account_id: Set(account.id.clone()),
        civility: Set(identity.civility.clone()),
        last_name: Set(identity.last_name.clone()),
        first_name: Set(identity.first_name.clone()),
        profession_code: Set(identity.profession.clone()),
        speciality_code: Set(identity.speciality.clone()),
        liberal: Set(identity.liberal),
        raison_sociale: Set(identity.raison_sociale.clone()),
        address1: Set(identity.address1.clone()),
        address2: Set(identity.address2.clone()),
        postal_code: Set(identity.postal_code.clone()),
        city: Set(identity.city.clone()),
        region: Set(identity.region.clone()),
        department: Set(identity.department.clone()),
        phone1: Set(identity.phone1.clone()),
        phone2: Set(identity.phone2.clone()),
        dematerialised: Set(identity.dematerialised),
        updated_at: Set(now),
    };
    account_identity::Entity::insert(row)
        .on_conflict(
            OnConflict::column(account_identity::Column::AccountId)
                .update_columns([
                    account_identity::Column::Civility,
                    account_identity::Column::LastName,
                    account_identity::Column::FirstName,
                    account_identity::Column::ProfessionCode,
                    account_identity::Column::SpecialityCode,
                    account_identity::Column::Liberal,
                    account_identity::Column::RaisonSociale,
                    account_identity::Column::Address1,
                    account_identity::Column::Address2,
                    account_identity::Column::PostalCode,
                    account_identity::Column::City,
                    account_identity::Column::Region,
                    account_identity::Column::Department,
                    account_identity::Column::Phone1,
                    account_identity::Column::Phone2,
                    account_identity::Column::Dematerialised,
                    account_identity::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let mut update = account::Entity::update_many()
        .col_expr(account::Column::Rpps, Expr::value(identity.rpps.clone()))
        .col_expr(account::Column::Adeli, Expr::value(identity.adeli.clone()))
        .col_expr(
            account::Column::ListeRouge,
            Expr::value(identity.liste_rouge),
        );
    if let Some(name) = display_name(&identity) {
        update = update
            .col_expr(
                account::Column::SearchName,
                Expr::value(Some(crate::directory::keys::normalize(&name))),
            )
            .col_expr(account::Column::DisplayName, Expr::value(Some(name)));
    }
    update
        .filter(account::Column::Id.eq(&account.id))
        .exec(&txn)
        .await?;
    let stored = AccountIdentity {
        identifier_from_card: before.identifier_from_card,
        ..identity
    };
    let changed = changed_fields(&before, &stored);
    crate::audit::append(
        &txn,
        keys,
        &account.label(),
        "account_identity_changed",
        serde_json::json!({"account": account.id, "changed": changed}),
    )
    .await?;
    txn.commit().await?;
    Ok(stored)
}

/// The names of the fields that differ.
fn changed_fields(a: &AccountIdentity, b: &AccountIdentity) -> Vec<&'static str> {
    let (a, b) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    FIELDS
        .iter()
        .copied()
        .filter(|f| a.get(f) != b.get(f))
        .collect()
}

const FIELDS: [&str; 20] = [
    "dematerialised",
    "civility",
    "last_name",
    "first_name",
    "rpps",
    "adeli",
    "profession",
    "speciality",
    "liberal",
    "raison_sociale",
    "address1",
    "address2",
    "postal_code",
    "city",
    "region",
    "department",
    "phone1",
    "phone2",
    "liste_rouge",
    "mailbox",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpps_numbers_have_eleven_digits_and_a_luhn_key() {
        // Real numbers from public ANS / RPPS sources (docs/IDENTITE.md).
        for real in ["10000005479", "10005173140", "10101534229"] {
            assert!(rpps_valid(real), "{real}");
        }
        // A fictional example of the FR Core guide, one digit changed, the wrong length.
        for wrong in ["10101201234", "10000005478", "1000000547", "1000000547A"] {
            assert!(!rpps_valid(wrong), "{wrong}");
        }
    }

    #[test]
    fn adeli_numbers_have_nine_characters_and_a_luhn_key() {
        for real in ["349102665", "879101558", "012807590", "2A9100001"] {
            assert!(adeli_valid(real), "{real}");
        }
        for wrong in [
            "349102664",
            "34910266",
            "3491026650",
            "2C9100001",
            "34A102665",
        ] {
            assert!(!adeli_valid(wrong), "{wrong}");
        }
    }

    #[test]
    fn phones_are_french_or_international() {
        assert_eq!(phone("0561776000").as_deref(), Some("05 61 77 60 00"));
        assert_eq!(phone("05.61.77.60.00").as_deref(), Some("05 61 77 60 00"));
        assert_eq!(
            phone("+33 5 61 77 60 00").as_deref(),
            Some("05 61 77 60 00")
        );
        assert_eq!(
            phone("+33 (0)5 61 77 60 00").as_deref(),
            Some("05 61 77 60 00")
        );
        assert_eq!(phone("+41 22 555 12 34").as_deref(), Some("+41225551234"));
        assert_eq!(phone("056177600"), None);
        assert_eq!(phone("0056177600"), None);
        assert_eq!(phone("05617760000"), None);
        assert_eq!(phone("+33 05 61 77 60 00"), None);
        assert_eq!(phone("05 61 77 60 0x"), None);
        assert_eq!(phone("+1"), None);
    }
}
