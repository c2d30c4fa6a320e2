//! `trailhound demo`: the pipeline's tour on generated sample data, in a folder of its own
//! (the system's temp folder by default), so the user's lake is never touched.

use crate::cli::{DemoArgs, GlobalArgs};
use crate::exit;

pub(crate) fn run(args: DemoArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join("trailhound-demo"));
    let every_event = global.verbose > 0;
    let complete =
        trailhound_pipeline::demo::tour(&dir, args.events, every_event, &mut std::io::stdout())?;
    Ok(if complete {
        exit::OK
    } else {
        exit::INPUT_ERROR
    })
}
