//! `medimail`: the server binary. Everything lives in the library; this only parses the
//! command line and turns a start-up error into one clear line and exit code 1.

use clap::Parser;
use medimail_server::config::{AccountCommand, Cli, Command, DirectoryCommand};
use medimail_server::startup;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    medimail_server::telemetry::init(cli.config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match startup::prepare(cli.config).await {
            Ok(prepared) => startup::serve(prepared).await,
            Err(e) => Err(e),
        },
        Command::Directory {
            action: DirectoryCommand::Import { source, file },
        } => medimail_server::directory::import::run(&cli.config, source, &file).await,
        Command::Account {
            action:
                AccountCommand::Set {
                    mailbox,
                    mssante,
                    liste_rouge,
                },
        } => {
            medimail_server::auth::account::set_from_cli(
                &cli.config,
                &mailbox,
                mssante,
                liste_rouge,
            )
            .await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medimail: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
