//! `medimail`: the server binary. Everything lives in the library; this only parses the
//! command line, starts the server (`startup`) or runs an operator's subcommand (`cli`),
//! and turns an error into one clear line and exit code 1.

use clap::Parser;
use medimail_server::cli::{Cli, Command};
use medimail_server::startup;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    medimail_server::telemetry::init(cli.config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match startup::prepare(cli.config).await {
            Ok(prepared) => startup::serve(prepared).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        command => medimail_server::cli::run(&cli.config, command)
            .await
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medimail: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
