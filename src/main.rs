//! The `vg` binary: parse the command line, run the subcommand, turn errors into one line and an exit code.

use std::process::ExitCode;

use vg::cli::{Cli, Command, UsageError};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("vg: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Blocking readers (stdin) must not keep the process alive once the command is done.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("vg: {error:#}");
            if error.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Logs(args) => vg::cli::logs::run(args).await,
        Command::Tui(args) => vg::tui::run(args).await,
        #[cfg(feature = "server")]
        Command::Serve(args) => vg::cli::serve::run(args).await,
        #[cfg(feature = "server")]
        Command::Demo(args) => {
            if !args.no_tui && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                let hint = "vg demo opens the viewer, which needs a terminal; `vg demo --no-tui` serves only";
                return Err(UsageError::new(hint).into());
            }
            let demo = vg::cli::demo::Demo::start(&args).await?;
            if args.no_tui {
                return vg::cli::demo::serve_until_stopped(demo).await;
            }
            // Left on the terminal under the viewer's screen, so it is there once the viewer quits.
            eprintln!("vg demo: web dashboard at {}", demo.dashboard_url());
            let code = vg::tui::run(demo.tui_args()).await;
            demo.shutdown().await;
            code
        }
        #[cfg(feature = "server")]
        Command::Alerts(args) => vg::cli::alerts::run(args),
        #[cfg(not(feature = "server"))]
        Command::Serve(_) | Command::Demo(_) | Command::Alerts(_) => Err(needs_server_feature()),
    }
}

#[cfg(not(feature = "server"))]
fn needs_server_feature() -> anyhow::Error {
    UsageError::new(
        "this command needs the `server` feature: rebuild with `cargo install vg-logs --features server` \
         (or `cargo run --features server -- ...`)",
    )
    .into()
}
