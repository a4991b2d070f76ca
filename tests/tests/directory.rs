//! `medimail directory import` on the real binary: counts and rejected lines printed, a
//! changed header refused with exit code 1 and a French explanation.

use medimail_e2e::{ServerOptions, base_command, free_port, run_to_end};
use medimail_server::directory::extraction::COLUMNS;

fn line(address: &str, last: &str) -> String {
    let mut cols = vec![""; 31];
    cols[0] = "PER";
    cols[1] = address;
    cols[9] = last;
    cols.join("|")
}

#[tokio::test]
async fn imports_a_file_and_refuses_a_changed_header() {
    let data = tempfile::tempdir().expect("data");
    let file = data.path().join("Extraction_Correspondance_MSSante.txt");
    let content = format!(
        "{}\n{}\n{}\nPER|court\n",
        COLUMNS.join("|"),
        line("a.martin@chu.mssante.fr", "MARTIN"),
        line("b.leroy@chu.mssante.fr", "LE ROY")
    );
    std::fs::write(&file, content).expect("write");
    let mut command = base_command(&data, free_port(), &ServerOptions::default());
    command
        .args(["directory", "import", "--source", "mssante"])
        .arg(&file);
    let out = run_to_end(command).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 entrées importées"), "{stdout}");
    assert!(
        stdout.contains("ligne 4 : 2 colonnes au lieu de 31"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("lignes/s"));

    let mut cols = COLUMNS.to_vec();
    cols.swap(0, 1);
    std::fs::write(&file, format!("{}\n", cols.join("|"))).expect("write");
    let mut command = base_command(&data, free_port(), &ServerOptions::default());
    command
        .args(["directory", "import", "--source", "mssante"])
        .arg(&file);
    let out = run_to_end(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("colonne 1") && stderr.contains("rien n'a été importé"),
        "{stderr}"
    );
}
