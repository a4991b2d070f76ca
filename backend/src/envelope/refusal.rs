//! Why an envelope request is refused: each refusal's status, stable code and French
//! message, in one place. The rules of a draft (`rules::RuleError`) answer here too.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use super::rules::RuleError;
use crate::error::Refusal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvelopeRefusal {
    /// `folder=` names no folder.
    FolderUnknown,
    /// `after=` / `before=` is not a position the list gave (or both are given).
    CursorInvalid,
    /// "Supprimer définitivement" outside "Messages supprimés".
    NotDeleted,
    /// Before the opening window (its start).
    NotOpenYet(DateTime<Utc>),
    /// After the opening window (its end).
    Closed(DateTime<Utc>),
    /// The multipart request broke off or is not what "Envoyer" sends.
    UploadInterrupted,
    /// The `envelope` part is over its size.
    BodyTooLarge,
    /// The dates of "Conditions d'ouverture" are not RFC 3339.
    OpeningUnreadable,
    /// A forwarded attachment is not in the original envelope.
    ForwardAttachmentUnknown,
    /// No text and no file: the recipient would get an empty envelope.
    BodyMissing,
    /// Webmail with `MEDIMAIL_WEBMAIL=recipients`: only a reply to, or a forward of, an
    /// envelope of the sender's threads.
    ReplyOnly,
    /// The report link's token is not one the server gave (or the envelope is gone).
    ReportUnknown,
    /// `Idempotency-Key` is not 1 to 64 characters among `A-Za-z0-9_-`.
    IdempotencyKeyInvalid,
    /// The sender's hourly quota of envelopes (or of recipients) is reached.
    QuotaExceeded {
        until: DateTime<Utc>,
        wait: u64,
        recipients: bool,
        limit: u64,
    },
    /// Every stamp allocated to the account is used (« Activité », manual part 1 §6.4).
    StampsExhausted { allocated: u64 },
}

impl Refusal for EnvelopeRefusal {
    fn status(&self) -> StatusCode {
        match self {
            EnvelopeRefusal::FolderUnknown
            | EnvelopeRefusal::CursorInvalid
            | EnvelopeRefusal::UploadInterrupted
            | EnvelopeRefusal::IdempotencyKeyInvalid => StatusCode::BAD_REQUEST,
            EnvelopeRefusal::ReportUnknown => StatusCode::NOT_FOUND,
            EnvelopeRefusal::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            EnvelopeRefusal::NotDeleted => StatusCode::CONFLICT,
            EnvelopeRefusal::NotOpenYet(_)
            | EnvelopeRefusal::Closed(_)
            | EnvelopeRefusal::ReplyOnly
            | EnvelopeRefusal::StampsExhausted { .. } => StatusCode::FORBIDDEN,
            EnvelopeRefusal::BodyTooLarge
            | EnvelopeRefusal::OpeningUnreadable
            | EnvelopeRefusal::ForwardAttachmentUnknown
            | EnvelopeRefusal::BodyMissing => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            EnvelopeRefusal::FolderUnknown => "folder_unknown",
            EnvelopeRefusal::CursorInvalid => "cursor_invalid",
            EnvelopeRefusal::NotDeleted => "envelope_not_deleted",
            EnvelopeRefusal::NotOpenYet(_) => "envelope_not_open_yet",
            EnvelopeRefusal::Closed(_) => "envelope_closed",
            EnvelopeRefusal::UploadInterrupted => "upload_interrupted",
            EnvelopeRefusal::BodyTooLarge => "body_too_large",
            EnvelopeRefusal::OpeningUnreadable => "opening_window_invalid",
            EnvelopeRefusal::ForwardAttachmentUnknown => "forward_attachment_unknown",
            EnvelopeRefusal::BodyMissing => "body_missing",
            EnvelopeRefusal::ReplyOnly => "webmail_reply_only",
            EnvelopeRefusal::ReportUnknown => "report_unknown",
            EnvelopeRefusal::IdempotencyKeyInvalid => "idempotency_key_invalid",
            EnvelopeRefusal::QuotaExceeded { .. } => "send_quota_exceeded",
            EnvelopeRefusal::StampsExhausted { .. } => "stamps_exhausted",
        }
    }

    fn message(&self) -> String {
        match self {
            EnvelopeRefusal::FolderUnknown => "Ce dossier n'existe pas : choisissez « Messages \
                 reçus », « Messages envoyés » ou « Messages supprimés »."
                .to_owned(),
            EnvelopeRefusal::CursorInvalid => "Cette page de la liste n'existe plus : revenez \
                 à la première page."
                .to_owned(),
            EnvelopeRefusal::NotDeleted => "Seuls les messages de « Messages supprimés » \
                 peuvent être supprimés définitivement."
                .to_owned(),
            EnvelopeRefusal::NotOpenYet(from) => format!(
                "Cette enveloppe ne peut être ouverte qu'à partir du {}.",
                crate::fr::date_time(*from)
            ),
            EnvelopeRefusal::Closed(until) => format!(
                "Cette enveloppe ne pouvait être ouverte que jusqu'au {}.",
                crate::fr::date_time(*until)
            ),
            EnvelopeRefusal::UploadInterrupted => "L'envoi a été interrompu avant la fin : rien \
                 n'a été envoyé. Vérifiez votre connexion et cliquez de nouveau sur « Envoyer »."
                .to_owned(),
            EnvelopeRefusal::BodyTooLarge => "Le message dépasse 1 Mo : raccourcissez-le ou \
                 joignez le texte en pièce jointe."
                .to_owned(),
            EnvelopeRefusal::OpeningUnreadable => {
                "Les dates des conditions d'ouverture sont illisibles.".to_owned()
            }
            EnvelopeRefusal::ForwardAttachmentUnknown => "Une pièce jointe du message d'origine \
                 est introuvable : retirez-la et cliquez de nouveau sur « Envoyer »."
                .to_owned(),
            EnvelopeRefusal::BodyMissing => "Votre message est vide : écrivez un texte ou \
                 joignez un fichier avant de cliquer sur « Envoyer »."
                .to_owned(),
            EnvelopeRefusal::ReplyOnly => "Depuis votre navigateur, vous pouvez répondre aux \
                 enveloppes reçues et les transférer (« Répondre », « Répondre à tous », \
                 « Transférer »). Pour écrire un nouveau message, utilisez Medimail depuis \
                 Outlook ou demandez l'accès à votre responsable Medimail."
                .to_owned(),
            EnvelopeRefusal::ReportUnknown => "Ce lien de signalement n'est pas valable, ou \
                 l'enveloppe n'est plus conservée. Copiez le lien complet depuis le mail de \
                 notification."
                .to_owned(),
            EnvelopeRefusal::IdempotencyKeyInvalid => "La demande d'envoi est mal formée \
                 (Idempotency-Key : 1 à 64 caractères parmi A-Z, a-z, 0-9, « - » et « _ »). \
                 Rechargez le volet et réessayez."
                .to_owned(),
            EnvelopeRefusal::QuotaExceeded {
                until,
                recipients,
                limit,
                ..
            } => {
                let what = if *recipients {
                    format!("{limit} destinataires")
                } else {
                    format!("{limit} enveloppes")
                };
                format!(
                    "Vous avez atteint la limite de {what} par heure : rien n'a été envoyé. \
                     Vous pourrez envoyer ce message à partir de {} ; il reste ouvert d'ici là.",
                    crate::fr::time_of_day(*until)
                )
            }
            EnvelopeRefusal::StampsExhausted { allocated } => format!(
                "Vous avez utilisé {} alloué{} à votre compte : rien n'a été envoyé. Pour \
                 envoyer d'autres enveloppes, demandez de nouveaux timbres à l'administrateur \
                 de votre structure (Paramètres du compte, onglet « Activité »).",
                if *allocated == 1 {
                    "le timbre".to_owned()
                } else {
                    format!("les {allocated} timbres")
                },
                if *allocated == 1 { "" } else { "s" }
            ),
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            EnvelopeRefusal::QuotaExceeded { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            EnvelopeRefusal::BodyTooLarge | EnvelopeRefusal::BodyMissing => Some("body"),
            EnvelopeRefusal::OpeningUnreadable => Some("opening"),
            EnvelopeRefusal::ForwardAttachmentUnknown => Some("attachments"),
            _ => None,
        }
    }
}

impl Refusal for RuleError {
    fn status(&self) -> StatusCode {
        match self.code {
            "attachments_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn code(&self) -> &'static str {
        self.code
    }

    fn message(&self) -> String {
        self.message.clone()
    }

    fn field(&self) -> Option<&'static str> {
        Some(self.field)
    }
}
