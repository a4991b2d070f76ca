//! Import of a generated national extraction of 536,000 rows (the size of the real
//! "Extraction_Correspondance_MSSante"): French names with accents, hyphens, apostrophes
//! and particles, personal and organisational mailboxes, repeated addresses and a few
//! malformed lines. Runs the real `medimail directory import` (`MEDIMAIL_BIN`, or the
//! debug build) on SQLite, then on PostgreSQL when `DATABASE_URL` is set, and prints the
//! total time and rows per second. `directory-bench ROWS` imports another size.

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

fn generate(path: &std::path::Path, rows: usize) -> usize {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("file"));
    writeln!(out, "{}", COLUMNS.join("|")).expect("write");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut written = 0;
    for i in 0..rows {
        let r = next();
        if i % 5_000 == 4_999 {
            writeln!(out, "PER|ligne-mal-formée|x").expect("write");
            written += 1;
            continue;
        }
        // About 1 % of addresses appear twice, as in the real file.
        let n = if i % 100 == 99 { i - 1 } else { i };
        let last = LAST[(r % LAST.len() as u64) as usize];
        let first = FIRST[((r >> 8) % FIRST.len() as u64) as usize];
        let (code, profession) = PROFESSIONS[((r >> 16) % 5) as usize];
        let org = r % 10 == 0;
        let department = 1 + (r >> 24) % 95;
        let postal = format!("{department:02}{:03}", (r >> 32) % 1000);
        let mut cols = vec![String::new(); 31];
        cols[0] = if org { "ORG" } else { "PER" }.into();
        cols[1] = format!("boite{n}@etab{}.mssante.fr", n % 3000);
        if !org {
            cols[2] = "8".into();
            cols[3] = format!("1{n:010}");
            cols[4] = format!("81{n:010}");
            cols[8] = if r & 1 == 0 { "M" } else { "MME" }.into();
            cols[9] = last.into();
            cols[10] = first.into();
            cols[13] = code.into();
            cols[14] = profession.into();
        }
        cols[18] = format!("CENTRE HOSPITALIER {}", n % 3000);
        cols[22] = format!("{}", 1 + (r >> 40) % 200);
        cols[24] = "R".into();
        cols[25] = "DE LA RÉPUBLIQUE".into();
        cols[27] = format!("{postal} VILLE");
        cols[28] = postal;
        cols[29] = format!("{department:02}");
        cols[30] = "FRANCE".into();
        writeln!(out, "{}", cols.join("|")).expect("write");
        written += 1;
    }
    out.flush().expect("flush");
    written
}

async fn import(label: &str, file: &std::path::Path, rows: usize, env: Vec<(String, String)>) {
    let data = tempfile::tempdir().expect("data");
    let options = ServerOptions {
        env,
        ..Default::default()
    };
    let mut command = base_command(&data, free_port(), &options);
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

/// `directory-bench search [ROWS]`: imports ROWS (default 2,200,000, the size of the
/// national practitioner register) into SQLite with the real binary, then searches it
/// in-process with 1,000 random 3-to-5-character name prefixes: p50 / p99.
async fn search_bench(rows: usize) {
    use medimail_server::directory::search::{Criteria, search};
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("Extraction_Correspondance_MSSante.txt");
    let written = generate(&file, rows);
    let data = tempfile::tempdir().expect("data");
    let mut command = base_command(&data, free_port(), &ServerOptions::default());
    command
        .args(["directory", "import", "--source", "mssante"])
        .arg(&file);
    let started = Instant::now();
    let out = run_to_end_long(command).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "SQLite: {written} rows imported in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("medimail.db").display()
    );
    let db = medimail_server::db::connect_and_migrate(&url)
        .await
        .expect("db");
    let words: Vec<String> = LAST
        .iter()
        .chain(FIRST.iter())
        .flat_map(|n| {
            medimail_server::directory::normalize(n)
                .split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|w| w.len() >= 3)
        .collect();
    let mut seed: u64 = 42;
    let mut times = Vec::with_capacity(1000);
    let mut found_total = 0usize;
    for i in 0..1020 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let word = &words[(seed >> 33) as usize % words.len()];
        let len = (3 + (seed >> 20) % 3) as usize;
        let prefix: String = word.chars().take(len).collect();
        let criteria = if (seed >> 40).is_multiple_of(2) {
            Criteria {
                last_name: prefix,
                first_name: String::new(),
            }
        } else {
            Criteria {
                last_name: String::new(),
                first_name: prefix,
            }
        };
        let started = Instant::now();
        let found = search(&db, "mssante", &criteria).await.expect("search");
        if i >= 20 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            found_total += found.entries.len();
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "SQLite: 1,000 searches (3-5 character name prefixes) on {written} entries, in-process: p50 {:.2} ms, p99 {:.2} ms ({} results shown on average)",
        times[times.len() / 2],
        times[(times.len() * 99) / 100],
        found_total / 1000
    );
}

#[tokio::main]
async fn main() {
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
    import("SQLite", &file, written, vec![]).await;
    match PgDatabase::create().await {
        Some(pg) => {
            import(
                "PostgreSQL",
                &file,
                written,
                vec![("DATABASE_URL".into(), pg.url.clone())],
            )
            .await;
            pg.drop_database().await;
        }
        None => println!("PostgreSQL: skipped (DATABASE_URL is not a PostgreSQL URL)"),
    }
}
