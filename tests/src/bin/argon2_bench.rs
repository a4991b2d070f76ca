//! Time of one argon2id passphrase hash with the server's parameters
//! (`medimail_server::auth::passphrase`), 20 runs: prints the median, min and max.
//! Build in release for production-like figures (`scripts/bench.sh` does).

use std::time::Instant;

use medimail_server::auth::passphrase;

const RUNS: usize = 20;

fn main() {
    let mut ms: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let phc = passphrase::hash_blocking("Le chat dort sur le radiateur").expect("hash");
            std::hint::black_box(phc);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let med = medimail_e2e::median(&mut ms);
    println!(
        "argon2id hash (m={} KiB, t={}, p={}), {RUNS} runs ({} build): median {med:.1} ms, min {:.1} ms, max {:.1} ms",
        passphrase::M_COST_KIB,
        passphrase::T_COST,
        passphrase::P_COST,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        ms[0],
        ms[RUNS - 1],
    );
}
