//! `account_identity`: « Paramètres du compte » › « Identité » (manual part 1 §6.1), one
//! row per account, written whole by « Enregistrer ». Codes of profession and spécialité
//! are those of the national nomenclatures (`account::nomenclature`). The RPPS / ADELI
//! numbers and « Liste rouge » are on `account`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_identity")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    /// « M. », « Mme », « Dr » or « Pr ».
    pub civility: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    /// TRE_G15 « Profession de santé » code (`10`: Médecin…).
    pub profession_code: Option<String>,
    /// TRE_R38 « Spécialité ordinale » code (`SM54`…).
    pub speciality_code: Option<String>,
    /// « Activité libérale ».
    pub liberal: bool,
    pub raison_sociale: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// INSEE region code (`76`: Occitanie…).
    pub region: Option<String>,
    /// INSEE département code (`31`, `2A`, `971`…).
    pub department: Option<String>,
    pub phone1: Option<String>,
    pub phone2: Option<String>,
    /// « Je souhaite dématérialiser tous mes échanges et ne plus recevoir de papier. »
    pub dematerialised: bool,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
