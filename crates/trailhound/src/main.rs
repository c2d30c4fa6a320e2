//! `trailhound`: the command-line face of Trailhound. This crate only wires the library crates
//! together; everything it does is decided by `cli` (what the user asked) and done by the
//! library crates.

mod cli;
mod commands;
mod read_report;
mod table;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// jemalloc rather than glibc's allocator. Ingest's workers allocate each file's buffers and
/// columns, and the rule pack's matches cross from them to the ingesting thread; glibc's arenas
/// fragmented under that mix and their slow path made the pack cost several times what it
/// costs with jemalloc (docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Lets jemalloc return freed memory to the system from its own background threads rather
/// than in whichever thread happens to free or allocate. Ingest frees each commit's hundreds of
/// megabytes at once, and purging them inline stalled whichever thread did it
/// (docs/benchmarks.md). Long-running commands (`serve`, `watch`) also
/// give memory back while idle, which inline purging only does on the next allocation.
fn purge_in_background() {
    #[cfg(not(target_env = "msvc"))]
    if let Err(err) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::debug!("jemalloc purges inline: no background threads ({err})");
    }
}

/// Exit codes, as DESIGN.md fixes them for every command.
pub(crate) mod exit {
    /// Everything went as asked.
    pub const OK: u8 = 0;
    /// A command that checks something found something (findings, failed rule tests).
    pub const FOUND: u8 = 1;
    /// Usage errors, and input that had to be skipped.
    pub const INPUT_ERROR: u8 = 2;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.quiet);
    purge_in_background();
    // Commands whose output is their result; a broken pipe from any other (a webhook's
    // socket, a server's client) is a real failure.
    let prints_results = matches!(
        cli.command,
        Command::Cat(_)
            | Command::Sources(_)
            | Command::Query(_)
            | Command::Report(_)
            | Command::Policy(_)
            | Command::Trace(_)
            | Command::Search(_)
            | Command::Stats(_)
            | Command::Show(_)
            | Command::Ddl(_)
            | Command::Hunt(_)
            | Command::Insights(_)
            | Command::Rules(_)
            | Command::Completions(_)
    );
    let uses_lake = !matches!(
        cli.command,
        Command::Cat(_)
            | Command::Export(_)
            | Command::Generate(_)
            | Command::Completions(_)
            | Command::Rules(_)
            | Command::Setup(_)
            | Command::Token(_)
            | Command::Catalog(_)
    );
    if uses_lake && let Err(err) = cli.global.adopt_lake_place() {
        eprintln!("error: {err:#}");
        return ExitCode::from(exit::INPUT_ERROR);
    }
    let result = match cli.command {
        Command::Cat(args) => commands::cat::run(args, &cli.global),
        Command::Export(args) => commands::export::run(args, &cli.global),
        Command::Generate(args) => commands::generate::run(args, &cli.global),
        Command::Ingest(args) => commands::ingest::run(args, &cli.global),
        Command::Sources(args) => commands::ingest::sources(args, &cli.global),
        Command::Query(args) => commands::query::query(args, &cli.global),
        Command::Search(args) => commands::query::search(args, &cli.global),
        Command::Stats(args) => commands::query::stats(args, &cli.global),
        Command::Show(args) => commands::query::show(args, &cli.global),
        Command::Ddl(args) => commands::query::ddl(args, &cli.global),
        Command::Hunt(args) => commands::hunt::run(args, &cli.global),
        Command::Insights(args) => commands::insights::run(args, &cli.global),
        Command::Validate(args) => commands::validate::run(args, &cli.global),
        Command::Pull(args) => commands::pull::run(args, &cli.global),
        Command::Posture(args) => commands::posture::posture(args, &cli.global),
        Command::Report(args) => commands::report::run(args, &cli.global),
        Command::Policy(args) => commands::policy::run(args, &cli.global),
        Command::Trace(args) => commands::trace::run(args, &cli.global),
        Command::Setup(args) => commands::posture::setup(args, &cli.global),
        Command::Retention(args) => commands::retention::run(args, &cli.global),
        Command::Watch(args) => commands::watch::run(args, &cli.global),
        Command::Alert(command) => commands::alert::run(command, &cli.global),
        Command::Status(args) => commands::status::run(args, &cli.global),
        Command::Serve(args) => commands::serve::run(args, &cli.global),
        Command::Token(command) => commands::serve::token(command, &cli.global),
        Command::Rules(command) => commands::rules::run(command, &cli.global),
        Command::Compact => commands::ingest::compact(&cli.global),
        Command::Catalog(command) => commands::catalog::run(command, &cli.global),
        Command::Completions(args) => commands::completions::run(args),
        Command::Demo(args) => commands::demo::run(args, &cli.global),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // `trailhound search … | head` closes the pipe on purpose; like `cat`, end quietly.
        Err(err) if prints_results && reader_hung_up(&err) => ExitCode::from(exit::OK),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit::INPUT_ERROR)
        }
    }
}

/// Whether `err` comes from writing to standard output after its reader went away.
fn reader_hung_up(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(
                cause.downcast_ref::<trailhound_query::QueryError>(),
                Some(trailhound_query::QueryError::OutputClosed)
            )
    })
}

/// Diagnostics go to stderr through `tracing`; `-v` raises the level, `--quiet` lowers it, and
/// `TRAILHOUND_LOG` (an env-filter directive such as `trailhound_source=debug`) overrides both.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILHOUND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
