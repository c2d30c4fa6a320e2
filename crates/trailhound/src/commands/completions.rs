use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit;

pub(crate) fn run(args: CompletionsArgs) -> anyhow::Result<u8> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "trailhound",
        &mut std::io::stdout(),
    );
    Ok(exit::OK)
}
