//! The command line: `medimail [serve]` and the operators' subcommands
//! (`medimail directory import …`, `medimail account set …`, `medimail organisation …`).
//! Each subcommand opens the database, calls one service of its feature and prints the
//! result in French; the server itself (`serve`) is started by `main` through `startup`.

use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;

/// Why a subcommand failed: one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot {what}: {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] crate::db::DbOpenError),
    #[error("database: {0}")]
    Query(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Refused(String),
}

/// Medimail for Outlook: the server behind the Outlook add-in.
#[derive(Debug, Parser)]
#[command(name = "medimail", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTPS server (the default when no command is given).
    Serve,
    /// Manage the directories.
    Directory {
        #[command(subcommand)]
        action: DirectoryCommand,
    },
    /// Manage an account's directory settings (MSSanté flag, liste rouge).
    Account {
        #[command(subcommand)]
        action: AccountCommand,
    },
    /// Organisations (by mail domain) and their managers (« Administration »).
    Organisation {
        #[command(subcommand)]
        action: OrganisationCommand,
    },
    /// Check or export the audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
}

/// `medimail audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Checks every link of the chain and its head; exit 1 with the first row that does
    /// not verify.
    Verify,
    /// Prints the events since a date as JSON lines, oldest first.
    Export {
        /// RFC 3339 time or a date (`2026-12-01`, midnight UTC).
        #[arg(long)]
        since: String,
    },
}

/// `medimail account …`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Change an account's settings, found by its mailbox; prints the result.
    Set {
        /// The account's mailbox (its Office 365 address).
        #[arg(long)]
        mailbox: String,
        /// MSSanté activated: offers the national directory ("Annuaire National MSSanté").
        #[arg(long, value_enum)]
        mssante: Option<Switch>,
        /// On the liste rouge: never returned by a directory search.
        #[arg(long, value_enum)]
        liste_rouge: Option<Switch>,
        /// An eligible personal account: the first condition of the MSSanté activation
        /// (« Bénéficier d'un compte personnel Medimail éligible »).
        #[arg(long, value_enum)]
        eligible: Option<Switch>,
        /// « Timbres alloués à votre compte »: a number of envelopes in all, or
        /// `illimite`.
        #[arg(long, value_parser = parse_stamps)]
        stamps: Option<Stamps>,
    },
    /// Ends the lock of an account (10 failed sign-ins in a row), at once.
    Unlock {
        /// The account's mailbox.
        #[arg(long)]
        mailbox: String,
    },
    /// Forces a new passphrase: the current one stops working, every session ends, and
    /// the user chooses a new one at the next sign-in (a code mailed to the mailbox).
    Reset {
        /// The account's mailbox.
        #[arg(long)]
        mailbox: String,
    },
}

/// `medimail organisation …`
#[derive(Debug, Subcommand)]
pub enum OrganisationCommand {
    /// Create an organisation or change it; prints it.
    Set {
        /// Its identifier: lower case, digits and hyphens (`chu-toulouse`).
        #[arg(long)]
        id: String,
        /// Its name, as managers see it (« CHU de Toulouse »); needed to create it.
        #[arg(long)]
        name: Option<String>,
        /// Its mail domains, separated by commas: an account belongs to the organisation
        /// of its mailbox's domain. Replaces the organisation's domains.
        #[arg(long, value_delimiter = ',')]
        domains: Option<Vec<String>>,
        /// Who activates MSSanté: `managers` (reserved to the organisation's managers) or
        /// `users` (each user, in the MSSanté tab).
        #[arg(long, value_enum)]
        activation: Option<Activation>,
    },
    /// List the organisations with their domains and managers.
    List,
    /// Remove an organisation (its accounts stay; its managers are managers no more).
    Remove {
        #[arg(long)]
        id: String,
    },
    /// Make an account a manager of the organisation (created for the mailbox if
    /// nobody has signed in with it yet).
    AddManager {
        /// The organisation's identifier.
        #[arg(long)]
        id: String,
        /// The manager's mailbox.
        #[arg(long)]
        mailbox: String,
    },
    /// The account is a manager no more.
    RemoveManager {
        #[arg(long)]
        mailbox: String,
    },
}

/// Who activates MSSanté in an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Activation {
    Managers,
    Users,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn on(self) -> bool {
        self == Switch::On
    }
}

/// `medimail directory …`
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Import a directory file; a re-import replaces the previous snapshot atomically.
    Import {
        /// Which directory the file is: `mssante`, the national extraction
        /// "Extraction_Correspondance_MSSante" (the .txt, UTF-8, `|`-separated, or the
        /// .zip as published); `regional`, entries of the Medimail directory in the same
        /// format.
        #[arg(long, value_enum)]
        source: DirectorySource,
        /// The file to import.
        file: std::path::PathBuf,
    },
    /// Write the publication file for the national directory: the accounts with MSSanté
    /// activated and not on the liste rouge, in the format of the national extraction
    /// (it reads back with `directory import`).
    Export {
        /// Where to write it (`-`: standard output).
        #[arg(long, default_value = "-")]
        output: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DirectorySource {
    /// The national MSSanté directory.
    Mssante,
    /// Regional entries of the Medimail directory (same format).
    Regional,
}

impl DirectorySource {
    /// The name snapshots are stored under.
    pub fn name(self) -> &'static str {
        match self {
            DirectorySource::Mssante => "mssante",
            DirectorySource::Regional => "regional",
        }
    }
}

/// Runs an operator's subcommand (everything but `serve`).
pub async fn run(config: &Config, command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve => Ok(()),
        Command::Audit {
            action: AuditCommand::Verify,
        } => verify_audit(config).await,
        Command::Audit {
            action: AuditCommand::Export { since },
        } => export_audit(config, &since).await,
        Command::Directory {
            action: DirectoryCommand::Import { source, file },
        } => import_directory(config, source, &file).await,
        Command::Directory {
            action: DirectoryCommand::Export { output },
        } => export_directory(config, &output).await,
        Command::Organisation { action } => organisation(config, action).await,
        Command::Account {
            action: AccountCommand::Unlock { mailbox },
        } => operate(config, &mailbox, Operation::Unlock).await,
        Command::Account {
            action: AccountCommand::Reset { mailbox },
        } => operate(config, &mailbox, Operation::Reset).await,
        Command::Account {
            action:
                AccountCommand::Set {
                    mailbox,
                    mssante,
                    liste_rouge,
                    eligible,
                    stamps,
                },
        } => {
            let change = crate::account::settings::OperatorChange {
                mssante: mssante.map(Switch::on),
                liste_rouge: liste_rouge.map(Switch::on),
                eligible: eligible.map(Switch::on),
                stamps: stamps.map(|s| s.0),
            };
            set_account(config, &mailbox, change).await
        }
    }
}

fn keys(config: &Config) -> Result<crate::keys::Keys, CliError> {
    crate::keys::Keys::load(config.master_key_file.as_deref(), &config.data_dir)
        .map_err(|e| CliError::Refused(e.to_string()))
}

/// `medimail audit verify`.
async fn verify_audit(config: &Config) -> Result<(), CliError> {
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    match crate::audit::verify_chain(&db, &keys(config)?).await? {
        crate::audit::Verdict::Intact { count } => {
            println!("piste d'audit intègre : {count} événements vérifiés");
            Ok(())
        }
        crate::audit::Verdict::Broken { id, why } => Err(CliError::Refused(format!(
            "piste d'audit altérée à l'événement {id} : {why}"
        ))),
    }
}

/// `medimail audit export --since …`: JSON lines on standard output.
async fn export_audit(config: &Config, since: &str) -> Result<(), CliError> {
    use std::io::Write;
    let since = chrono::DateTime::parse_from_rfc3339(since)
        .map(|t| t.to_utc())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| {
            CliError::Refused(format!(
                "--since {since:?} : attendu une date (2026-12-01) ou une heure RFC 3339 \
                 (2026-12-01T08:00:00Z)"
            ))
        })?;
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = 0;
    loop {
        let rows = crate::audit::page_since(&db, since, after, 1000).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            let detail: serde_json::Value =
                serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null);
            let line = serde_json::json!({
                "id": row.id,
                "at": row.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "actor": row.actor,
                "action": row.action,
                "detail": detail,
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            });
            writeln!(out, "{line}").map_err(|e| CliError::Io {
                what: "write the export",
                path: PathBuf::from("-"),
                source: e,
            })?;
        }
    }
    out.flush().map_err(|e| CliError::Io {
        what: "write the export",
        path: PathBuf::from("-"),
        source: e,
    })?;
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Unlock,
    Reset,
}

/// `medimail account unlock|reset --mailbox M`: audited with the actor `operator`.
async fn operate(config: &Config, mailbox: &str, operation: Operation) -> Result<(), CliError> {
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let keys = keys(config)?;
    let mailbox = crate::account::registry::normalize_mailbox(mailbox);
    let now = crate::clock::Clock::System.now();
    let done = match operation {
        Operation::Unlock => {
            crate::auth::webmail::unlock_by_operator(&db, &keys, &mailbox, now).await?
        }
        Operation::Reset => {
            crate::auth::webmail::reset_by_operator(&db, &keys, &mailbox, now).await?
        }
    };
    if !done {
        return Err(CliError::Refused(format!(
            "{mailbox} : aucun compte Medimail"
        )));
    }
    match operation {
        Operation::Unlock => println!("{mailbox} : compte débloqué"),
        Operation::Reset => println!(
            "{mailbox} : mot de passe réinitialisé, sessions fermées ; un nouveau mot de passe \
             sera choisi à la prochaine connexion"
        ),
    }
    Ok(())
}

fn oui_non(on: bool) -> &'static str {
    if on { "oui" } else { "non" }
}

/// `--stamps`: a number of stamps, or none (illimité).
#[derive(Clone, Copy, Debug)]
pub struct Stamps(Option<i64>);

fn parse_stamps(value: &str) -> Result<Stamps, String> {
    let value = value.trim().to_lowercase();
    if ["illimite", "illimité", "unlimited"].contains(&value.as_str()) {
        return Ok(Stamps(None));
    }
    match value.parse::<u32>() {
        Ok(n) => Ok(Stamps(Some(i64::from(n)))),
        Err(_) => Err("un nombre de timbres (0 à 4294967295) ou « illimite »".to_owned()),
    }
}

/// `medimail account set --mailbox M [--mssante on|off] [--liste-rouge on|off]
/// [--eligible on|off] [--stamps N|illimite]`: changes the account's settings and prints them.
async fn set_account(
    config: &Config,
    mailbox: &str,
    change: crate::account::settings::OperatorChange,
) -> Result<(), CliError> {
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let mailbox = mailbox.trim().to_lowercase();
    let keys = keys(config)?;
    let updated = crate::account::settings::set_by_operator(&db, &keys, &mailbox, change)
        .await?
        .ok_or_else(|| {
            CliError::Refused(format!("{mailbox} n'est pas une adresse de messagerie"))
        })?;
    let stamps = match updated.stamps_allocated {
        Some(n) => format!("{n} timbres alloués"),
        None => "timbres illimités".to_owned(),
    };
    println!(
        "{mailbox} : MSSanté {}, liste rouge {}, compte éligible {}, {stamps} ({} utilisés)",
        if updated.mssante_enabled {
            "activée"
        } else {
            "désactivée"
        },
        oui_non(updated.liste_rouge),
        oui_non(updated.mssante_eligible),
        updated.stamps_used
    );
    Ok(())
}

/// `medimail organisation …`: one service of `account::organisation`, then what is
/// stored, in French.
async fn organisation(config: &Config, action: OrganisationCommand) -> Result<(), CliError> {
    use crate::account::organisation as org;
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let keys = keys(config)?;
    let now = crate::clock::Clock::System.now();
    let refused = |r: org::OrganisationRefusal| CliError::Refused(r.to_string());
    match action {
        OrganisationCommand::Set {
            id,
            name,
            domains,
            activation,
        } => {
            let spec = org::OrganisationSpec {
                id,
                name,
                domains,
                activation_by_managers: activation.map(|a| a == Activation::Managers),
            };
            let stored = org::set(&db, &keys, spec, now).await?.map_err(refused)?;
            print_organisation(&stored);
        }
        OrganisationCommand::List => {
            let all = org::list(&db).await?;
            if all.is_empty() {
                println!("aucune organisation");
            }
            for one in &all {
                print_organisation(one);
            }
        }
        OrganisationCommand::Remove { id } => {
            if !org::remove(&db, &keys, &id).await? {
                return Err(CliError::Refused(format!("aucune organisation « {id} »")));
            }
            println!("{id} : organisation supprimée (ses comptes restent)");
        }
        OrganisationCommand::AddManager { id, mailbox } => {
            let manager = org::add_manager(&db, &keys, &id, &mailbox, now)
                .await?
                .map_err(refused)?;
            println!("{} : manager de l'organisation {id}", manager.label());
        }
        OrganisationCommand::RemoveManager { mailbox } => {
            let mailbox = crate::account::registry::normalize_mailbox(&mailbox);
            if !org::remove_manager(&db, &keys, &mailbox).await? {
                return Err(CliError::Refused(format!(
                    "{mailbox} n'est manager d'aucune organisation"
                )));
            }
            println!("{mailbox} : n'est plus manager");
        }
    }
    Ok(())
}

fn print_organisation(o: &crate::account::organisation::Described) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "aucun".to_owned()
        } else {
            v.join(", ")
        }
    };
    println!(
        "{} « {} » : domaines {} ; managers {} ; activation MSSanté par {}",
        o.organisation.id,
        o.organisation.name,
        list(&o.domains),
        list(&o.managers),
        if o.organisation.activation_by_managers {
            "les managers"
        } else {
            "les utilisateurs"
        }
    );
}

/// `medimail directory export [--output FILE]`: the publication file, then the count on
/// standard error. Written to a temporary file renamed at the end: an interrupted export
/// leaves no half file.
async fn export_directory(config: &Config, output: &Path) -> Result<(), CliError> {
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let refused = |e: crate::directory::export::ExportError| CliError::Refused(e.to_string());
    let written = if output.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        crate::directory::export::publication(&db, &mut out)
            .await
            .map_err(refused)?
    } else {
        let io = |source| CliError::Io {
            what: "write the publication file",
            path: output.to_path_buf(),
            source,
        };
        let dir = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let written = {
            let mut out = std::io::BufWriter::new(file.as_file_mut());
            crate::directory::export::publication(&db, &mut out)
                .await
                .map_err(refused)?
        };
        file.persist(output).map_err(|e| io(e.error))?;
        written
    };
    crate::audit::record(
        &db,
        &keys(config)?,
        "cli",
        "directory_exported",
        serde_json::json!({"addresses": written}),
    )
    .await?;
    eprintln!("{written} adresse(s) MSSanté exportée(s).");
    Ok(())
}

/// `medimail directory import --source mssante|regional FILE`: imports with a progress
/// bar on standard error (phase, percentage, rows per second), then prints the counts and
/// every rejected line with its number and reason.
async fn import_directory(
    config: &Config,
    source: DirectorySource,
    file: &Path,
) -> Result<(), CliError> {
    use crate::directory::import::{ExtractionFile, Progress, import_extraction};
    use std::io::Write;
    let source = source.name();
    let size = std::fs::metadata(file)
        .map_err(|e| CliError::Io {
            what: "read the directory file",
            path: file.to_path_buf(),
            source: e,
        })?
        .len();
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let started = std::time::Instant::now();
    let report = import_extraction(
        &db,
        source,
        ExtractionFile::Path(file.to_path_buf()),
        Utc::now(),
        move |p| {
            let seconds = started.elapsed().as_secs_f64().max(0.001);
            let line = match p {
                Progress::Reading { lines } => format!(
                    "  lecture  : {lines} lignes — {:.0} lignes/s — {seconds:.1} s",
                    lines as f64 / seconds
                ),
                Progress::Writing { written, total } => {
                    let share = written as f64 / total.max(1) as f64;
                    let filled = (share * 30.0).round() as usize;
                    format!(
                        "  écriture : [{}{}] {:>3.0} % — {written}/{total} — {:.0} lignes/s — {seconds:.1} s",
                        "#".repeat(filled),
                        " ".repeat(30 - filled.min(30)),
                        share * 100.0,
                        written as f64 / seconds
                    )
                }
            };
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{line}\x1b[K");
            let _ = err.flush();
        },
    )
    .await
    .map_err(|e| CliError::Refused(format!("import refused: {e}")))?;
    eprintln!();
    crate::audit::record(
        &db,
        &keys(config)?,
        "cli",
        "directory_imported",
        serde_json::json!({
            "source": source,
            "imported": report.imported,
            "duplicates": report.duplicates,
            "rejected": report.rejected.len(),
        }),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{source}: {} entrées importées, {} doublons ignorés, {} lignes rejetées, en {:.1} s ({:.0} lignes/s ; fichier de {} octets)",
        report.imported,
        report.duplicates,
        report.rejected.len(),
        seconds,
        (report.imported + report.duplicates + report.rejected.len() as u64) as f64
            / seconds.max(0.001),
        size
    );
    for (line, reason) in report.rejected.iter().take(1000) {
        println!("  ligne {line} : {reason}");
    }
    if report.rejected.len() > 1000 {
        println!("  … et {} autres", report.rejected.len() - 1000);
    }
    Ok(())
}
