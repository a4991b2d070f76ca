//! `medimail directory export`: the operator's publication file — the accounts with
//! MSSanté activated and not on the liste rouge, one line each, in the format of the
//! national extraction « Extraction_Correspondance_MSSante » (UTF-8, `|`-separated, the
//! 31 published columns, one header line), so that the file the operator sends for
//! publication reads back with `medimail directory import`.
//!
//! What « Identité » says fills the columns it has: the RPPS (`8`) or ADELI (`0`) with
//! its national identification, the civilité d'exercice (`DR`, `PR`), the names, the
//! profession and spécialité codes with their labels, the raison sociale, the address
//! (Adresse (1) as the street, Adresse (2) as the complement, « code postal VILLE » as
//! the routing line), the postal code and the département. « Dématérialisation » is `O`
//! or `N` (the published files do not document its values).

use std::io::Write;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::extraction::COLUMNS;
use crate::account::entity::{account, account_identity};
use crate::account::nomenclature;

/// Writes the publication file to `out`; answers the number of addresses written.
pub async fn publication<C: ConnectionTrait>(
    db: &C,
    out: &mut impl Write,
) -> Result<usize, ExportError> {
    let accounts = account::Entity::find()
        .filter(account::Column::MssanteAddress.is_not_null())
        .filter(account::Column::ListeRouge.eq(false))
        .order_by_asc(account::Column::MssanteAddress)
        .all(db)
        .await?;
    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let mut identities = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        for i in account_identity::Entity::find()
            .filter(account_identity::Column::AccountId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            identities.insert(i.account_id.clone(), i);
        }
    }
    writeln!(out, "{}", COLUMNS.join("|"))?;
    let mut written = 0;
    for a in &accounts {
        let Some(address) = &a.mssante_address else {
            continue;
        };
        writeln!(out, "{}", line(address, a, identities.get(&a.id)).join("|"))?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

/// The 31 columns of one account.
fn line(
    address: &str,
    a: &account::Model,
    identity: Option<&account_identity::Model>,
) -> Vec<String> {
    // A value never carries the separator nor a line break.
    let clean = |v: Option<&str>| -> String {
        v.unwrap_or("")
            .chars()
            .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let mut cols = vec![String::new(); COLUMNS.len()];
    cols[0] = "PER".into();
    cols[1] = clean(Some(address));
    let (kind, id) = match (&a.rpps, &a.adeli) {
        (Some(rpps), _) => ("8", rpps.as_str()),
        (None, Some(adeli)) => ("0", adeli.as_str()),
        (None, None) => ("", ""),
    };
    cols[2] = kind.into();
    cols[3] = clean(Some(id));
    cols[4] = if id.is_empty() {
        String::new()
    } else {
        clean(Some(&format!("{kind}{id}")))
    };
    if let Some(i) = identity {
        cols[8] = match i.civility.as_deref() {
            Some("Dr") => "DR".into(),
            Some("Pr") => "PR".into(),
            _ => String::new(),
        };
        cols[9] = clean(i.last_name.as_deref()).to_uppercase();
        cols[10] = clean(i.first_name.as_deref());
        cols[13] = clean(i.profession_code.as_deref());
        cols[14] = clean(
            i.profession_code
                .as_deref()
                .and_then(nomenclature::profession),
        );
        cols[15] = clean(i.speciality_code.as_deref());
        cols[16] = clean(
            i.speciality_code
                .as_deref()
                .and_then(nomenclature::speciality),
        );
        cols[17] = if i.dematerialised { "O" } else { "N" }.into();
        cols[18] = clean(i.raison_sociale.as_deref());
        cols[20] = clean(i.address2.as_deref());
        cols[25] = clean(i.address1.as_deref());
        let routing = [i.postal_code.as_deref(), i.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        cols[27] = clean(Some(&routing)).to_uppercase();
        cols[28] = clean(i.postal_code.as_deref());
        cols[29] = clean(i.department.as_deref());
    }
    cols
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("base de données : {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("écriture du fichier : {0}")]
    Io(#[from] std::io::Error),
}
