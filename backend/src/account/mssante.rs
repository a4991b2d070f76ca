//! « Paramètres du compte » › « MSSanté » (manual part 1 §6.6, part 2 §2): the three
//! conditions of the activation, each evaluated for the caller's account and the session
//! it signed in with. A session opened by the CPx card (Pro Santé Connect) or by a
//! one-time code is the strong authentication the third condition asks for.

use medimail_api::MssanteStatus;

use crate::account::entity::account;
use crate::auth::entity::auth_session;
use crate::auth::session::{BY_CARD, BY_CODE};

/// The conditions' state for `account` signed in with `session`.
pub fn status(account: &account::Model, session: &auth_session::Model) -> MssanteStatus {
    let filled = |n: &Option<String>| n.as_deref().is_some_and(|n| !n.trim().is_empty());
    MssanteStatus {
        eligible: account.mssante_eligible,
        identifier: filled(&account.rpps) || filled(&account.adeli),
        strong: [BY_CARD, BY_CODE].contains(&session.method.as_str()),
        method: session.method.clone(),
        activated: account.mssante_enabled,
    }
}
