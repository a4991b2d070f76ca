//! Import of a generated national extraction of 536,000 rows (the size of the real
//! "Extraction_Correspondance_MSSante"): French names with accents, hyphens, apostrophes
//! and particles (common names frequent, tens of thousands of rarer ones), personal and
//! organisational mailboxes, repeated addresses, liste rouge rows and a few malformed
//! lines. Runs the real `medimail directory import` (`MEDIMAIL_BIN`, or the debug build)
//! on SQLite, then on PostgreSQL when `DATABASE_URL` is set, and prints the total time
//! and rows per second. `directory-bench ROWS` imports another size.
//!
//! `directory-bench generate FILE [ROWS]` only writes the file.
//!
//! `directory-bench search [ROWS]` imports ROWS (default 2,200,000) the same way, puts
//! the liste rouge rows' addresses on accounts marked "liste rouge", and times 1,000
//! searches in-process (3-to-5-character prefixes of the names of random entries) on
//! SQLite and PostgreSQL: p50 / p99, and checks no liste rouge entry is ever returned.

use std::io::Write;
use std::time::Instant;

use medimail_e2e::{PgDatabase, ServerOptions, base_command, free_port, run_to_end};
use medimail_server::directory::extraction::COLUMNS;

const LAST: [&str; 24] = [
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "SIMON",
    "LAURENT",
    "LEFÈVRE",
    "MICHEL",
    "GARCIA",
    "DAVID",
    "BERTRAND",
    "ROUX",
    "VINCENT",
    "FOURNIER",
    "N'DIAYE",
    "D'ARC",
    "LE GOFF",
    "DE LA TOUR",
];
const FIRST: [&str; 20] = [
    "Bénédicte",
    "Jean-Pierre",
    "Hélène",
    "Zoé",
    "Noël",
    "Françoise",
    "Jérôme",
    "Anaïs",
    "Loïc",
    "Cécile",
    "Marie-Thérèse",
    "Éric",
    "Gaëlle",
    "François",
    "Inès",
    "Léa",
    "Raphaël",
    "Agnès",
    "Joël",
    "Maëlle",
];
const PROFESSIONS: [(&str, &str); 5] = [
    ("10", "Médecin"),
    ("60", "Infirmier"),
    ("50", "Pharmacien"),
    ("40", "Chirurgien-Dentiste"),
    ("70", "Masseur-Kinésithérapeute"),
];

/// Syllables of the rarer names: two or three of them make about 64,000 surnames.
const SYLLABLES: [&str; 40] = [
    "BA", "BER", "BOU", "CHA", "CO", "DA", "DE", "DU", "FA", "FER", "GA", "GUI", "JA", "LA", "LE",
    "LOU", "MA", "MER", "MI", "MON", "NA", "NOU", "PA", "PE", "POU", "RA", "RI", "RO", "SA", "SE",
    "TA", "TI", "TOU", "VA", "VI", "LIN", "RAN", "TEL", "QUET", "GNY",
];
const FIRST_SYLLABLES: [&str; 16] = [
    "A", "AN", "CÉ", "CLA", "DI", "É", "GA", "JU", "LI", "LOU", "MA", "NO", "RO", "SO", "THÉ", "YA",
];
const FIRST_ENDS: [&str; 12] = [
    "LINE", "NE", "RIE", "THIEU", "LIE", "DINE", "ËL", "RINE", "BIN", "CINE", "ZIN", "DRE",
];

/// The generator's random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A last name: one of the commonest a quarter of the time, else a rarer one.
fn last_name(rng: &mut Rng) -> String {
    let r = rng.next();
    if r.is_multiple_of(4) {
        return LAST[((r >> 8) % LAST.len() as u64) as usize].to_owned();
    }
    let n = 2 + (r >> 8) % 2;
    let mut name = String::new();
    for i in 0..n {
        name.push_str(SYLLABLES[((r >> (16 + 6 * i)) % SYLLABLES.len() as u64) as usize]);
    }
    if (r >> 40).is_multiple_of(50) {
        // A compound name now and then.
        name.push('-');
        name.push_str(LAST[((r >> 44) % LAST.len() as u64) as usize]);
    }
    name
}

/// A first name: one of the commonest a third of the time, else a rarer one.
fn first_name(rng: &mut Rng) -> String {
    let r = rng.next();
    if r.is_multiple_of(3) {
        return FIRST[((r >> 8) % FIRST.len() as u64) as usize].to_owned();
    }
    let a = FIRST_SYLLABLES[((r >> 8) % FIRST_SYLLABLES.len() as u64) as usize];
    let b = SYLLABLES[((r >> 16) % SYLLABLES.len() as u64) as usize];
    let c = FIRST_ENDS[((r >> 24) % FIRST_ENDS.len() as u64) as usize];
    let name = format!("{a}{b}{c}");
    // Capitalised as in the real file: "Maëline".
    let mut chars = name.chars();
    let head: String = chars.next().into_iter().collect();
    format!("{head}{}", chars.as_str().to_lowercase())
}

/// Address of the liste rouge row `n` (one row in 1,000).
fn is_liste_rouge(n: usize) -> bool {
    n % 1000 == 500
}

fn generate(path: &std::path::Path, rows: usize) -> usize {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("file"));
    writeln!(out, "{}", COLUMNS.join("|")).expect("write");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut written = 0;
    for i in 0..rows {
        if i % 5_000 == 4_999 {
            writeln!(out, "PER|ligne-mal-formée|x").expect("write");
            written += 1;
            continue;
        }
        let r = rng.next();
        // About 1 % of addresses appear twice, as in the real file.
        let n = if i % 100 == 99 { i - 1 } else { i };
        let last = last_name(&mut rng);
        let first = first_name(&mut rng);
        let (code, profession) = PROFESSIONS[((r >> 16) % 5) as usize];
        let org = r.is_multiple_of(10);
        let department = 1 + (r >> 24) % 95;
        let postal = format!("{department:02}{:03}", (r >> 32) % 1000);
        let mut cols = vec![String::new(); 31];
        cols[0] = if org { "ORG" } else { "PER" }.into();
        cols[1] = if is_liste_rouge(n) {
            format!("rouge{n}@etab{}.mssante.fr", n % 3000)
        } else {
            format!("boite{n}@etab{}.mssante.fr", n % 3000)
        };
        if !org {
            cols[2] = "8".into();
            cols[3] = format!("1{n:010}");
            cols[4] = format!("81{n:010}");
            cols[8] = if r & 1 == 0 { "M" } else { "MME" }.into();
            cols[9] = last;
            cols[10] = first;
            cols[13] = code.into();
            cols[14] = profession.into();
        }
        cols[18] = format!("CENTRE HOSPITALIER {}", n % 3000);
        cols[22] = format!("{}", 1 + (r >> 40) % 200);
        cols[24] = "R".into();
        cols[25] = "DE LA RÉPUBLIQUE".into();
        cols[27] = format!("{postal} VILLE{}", department);
        cols[28] = postal;
        cols[29] = format!("{department:02}");
        cols[30] = "FRANCE".into();
        writeln!(out, "{}", cols.join("|")).expect("write");
        written += 1;
    }
    out.flush().expect("flush");
    written
}

/// One run of `medimail directory import`, in a data directory given by `await_in`.
struct Import<'a> {
    label: &'a str,
    file: &'a std::path::Path,
    rows: usize,
    env: Vec<(String, String)>,
}

fn import<'a>(
    label: &'a str,
    file: &'a std::path::Path,
    rows: usize,
    env: Vec<(String, String)>,
) -> Import<'a> {
    Import {
        label,
        file,
        rows,
        env,
    }
}

impl Import<'_> {
    async fn await_in(self, data: &tempfile::TempDir) {
        run_import(self.label, self.file, self.rows, self.env, data).await
    }

    async fn run(self) {
        let data = tempfile::tempdir().expect("data");
        run_import(self.label, self.file, self.rows, self.env, &data).await
    }
}

async fn run_import(
    label: &str,
    file: &std::path::Path,
    rows: usize,
    env: Vec<(String, String)>,
    data: &tempfile::TempDir,
) {
    let options = ServerOptions {
        env,
        ..Default::default()
    };
    let mut command = base_command(data, free_port(), &options);
    command
        .args(["directory", "import", "--source", "mssante"])
        .arg(file);
    let started = Instant::now();
    let out = run_to_end_long(command).await;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "{label}: {rows} rows imported in {seconds:.1} s ({:.0} rows/s) — {}",
        rows as f64 / seconds,
        stdout
            .lines()
            .find(|l| l.contains("entrées importées"))
            .unwrap_or("")
    );
}

/// Like `run_to_end`, with room for a large import.
async fn run_to_end_long(mut command: tokio::process::Command) -> std::process::Output {
    let _ = run_to_end; // the short-timeout version is for start-up checks
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn medimail");
    tokio::time::timeout(
        std::time::Duration::from_secs(900),
        child.wait_with_output(),
    )
    .await
    .expect("the import ends within 15 minutes")
    .expect("output")
}

/// Puts the liste rouge rows' addresses on accounts marked "liste rouge".
async fn mark_liste_rouge(db: &sea_orm::DatabaseConnection, rows: usize) -> usize {
    use medimail_server::account::entity::account;
    use sea_orm::{EntityTrait, Set};
    let mut accounts = Vec::new();
    for n in (0..rows).filter(|n| is_liste_rouge(*n)) {
        accounts.push(account::ActiveModel {
            id: Set(format!("rouge-{n}")),
            display_name: Set(Some(format!("Rouge {n}"))),
            mailbox: Set(Some(format!("rouge{n}@etab{}.mssante.fr", n % 3000))),
            passphrase_hash: Set(None),
            failed_attempts: Set(0),
            locked_until: Set(None),
            created_at: Set(chrono::Utc::now()),
            last_code_requested_at: Set(None),
            liste_rouge: Set(true),
            mssante_enabled: Set(false),
            search_name: Set(None),
            proven_at: Set(Some(chrono::Utc::now())),
            conditions_version: Set(None),
            conditions_accepted_at: Set(None),
            must_reset: Set(false),
            received_at: Set(None),
            rpps: Set(None),
            adeli: Set(None),
            mssante_eligible: Set(false),
            stamps_allocated: Set(None),
            stamps_used: Set(0),
            mssante_address: Set(None),
            mssante_activated_at: Set(None),
        });
    }
    let count = accounts.len();
    for chunk in accounts.chunks(500) {
        account::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await
            .expect("liste rouge accounts");
    }
    count
}

/// 1,000 timed searches (after 20 to warm up): prefixes of 3 to 5 characters of the last
/// or first name of random entries, so common names come up as often as in real use.
async fn time_searches(label: &str, db: &sea_orm::DatabaseConnection, rows: usize) {
    use medimail_server::directory::search::{Criteria, search};
    // The names of the generated entries, in the generator's order.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut names = Vec::with_capacity(rows);
    for i in 0..rows {
        if i % 5_000 == 4_999 {
            continue;
        }
        rng.next();
        let last = last_name(&mut rng);
        let first = first_name(&mut rng);
        names.push((last, first));
    }
    let mut seed: u64 = 42;
    let mut times = Vec::with_capacity(1000);
    let mut found_total = 0usize;
    let mut more = 0usize;
    for i in 0..1020 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let (last, first) = &names[(seed >> 24) as usize % names.len()];
        let by_last = (seed >> 50).is_multiple_of(2);
        let name = medimail_server::directory::keys::normalize(if by_last { last } else { first })
            .replace(' ', "");
        let len = (3 + (seed >> 20) % 3) as usize;
        let prefix: String = name.chars().take(len).collect();
        let criteria = if by_last {
            Criteria {
                last_name: prefix,
                ..Default::default()
            }
        } else {
            Criteria {
                first_name: prefix,
                ..Default::default()
            }
        };
        let started = Instant::now();
        let found = search(db, "mssante", &criteria).await.expect("search");
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        assert!(
            found
                .contacts
                .iter()
                .all(|c| !c.address.starts_with("rouge")),
            "a liste rouge entry was returned"
        );
        if i >= 20 {
            times.push(elapsed);
            found_total += found.contacts.len();
            more += usize::from(found.more);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{label}: 1,000 searches (3-5 character prefixes of random entries' names) on {rows} entries, in-process: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} results on average, {more} with more than 50; no liste rouge entry returned)",
        times[times.len() / 2],
        times[(times.len() * 99) / 100],
        times[times.len() - 1],
        found_total / 1000
    );
}

/// `directory-bench search [ROWS]`.
async fn search_bench(rows: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("Extraction_Correspondance_MSSante.txt");
    let written = generate(&file, rows);
    let data = tempfile::tempdir().expect("data");
    import("SQLite", &file, written, vec![])
        .await_in(&data)
        .await;
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("medimail.db").display()
    );
    let db = medimail_server::db::connect_and_migrate(&url)
        .await
        .expect("db");
    let red = mark_liste_rouge(&db, rows).await;
    println!("{red} addresses on the liste rouge");
    time_searches("SQLite", &db, rows).await;
    db.close().await.ok();
    match PgDatabase::create().await {
        Some(pg) => {
            let data = tempfile::tempdir().expect("data");
            import(
                "PostgreSQL",
                &file,
                written,
                vec![("DATABASE_URL".into(), pg.url.clone())],
            )
            .await_in(&data)
            .await;
            let db = medimail_server::db::connect_and_migrate(&pg.url)
                .await
                .expect("db");
            mark_liste_rouge(&db, rows).await;
            time_searches("PostgreSQL", &db, rows).await;
            db.close().await.ok();
            pg.drop_database().await;
        }
        None => println!("PostgreSQL: skipped (DATABASE_URL is not a PostgreSQL URL)"),
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("generate") {
        // `directory-bench generate FILE [ROWS]`: only write the file.
        let path = std::path::PathBuf::from(std::env::args().nth(2).expect("FILE"));
        let rows = std::env::args()
            .nth(3)
            .and_then(|a| a.parse().ok())
            .unwrap_or(536_000);
        let written = generate(&path, rows);
        println!("{written} rows written to {}", path.display());
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("search") {
        let rows = std::env::args()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or(2_200_000);
        search_bench(rows).await;
        return;
    }
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(536_000);
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("Extraction_Correspondance_MSSante.txt");
    let started = Instant::now();
    let written = generate(&file, rows);
    println!(
        "generated {written} rows ({} bytes) in {:.1} s",
        std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    import("SQLite", &file, written, vec![]).run().await;
    match PgDatabase::create().await {
        Some(pg) => {
            import(
                "PostgreSQL",
                &file,
                written,
                vec![("DATABASE_URL".into(), pg.url.clone())],
            )
            .run()
            .await;
            pg.drop_database().await;
        }
        None => println!("PostgreSQL: skipped (DATABASE_URL is not a PostgreSQL URL)"),
    }
}
