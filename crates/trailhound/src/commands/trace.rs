//! `trailhound trace`: who is behind a key, session or event, and what was minted from it.

use std::io::Write;

use anyhow::Context;
use trailhound_identity::{IdentityError, TraceSettings};
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::{PipelineError, trace_in_lake, update_identity_index};

use crate::cli::{GlobalArgs, TraceArgs, TraceFormat};
use crate::exit;

pub(crate) fn run(args: TraceArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let data_dir = global.data_dir()?;
    let mut lake = Lake::open(&data_dir, Access::Read)
        .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
    // A lake ingested by an older Trailhound, or an ingest run with --no-identity, has files
    // the index does not count yet: index them first (once).
    let pending = lake.catalog().identity_pending()?.len();
    if pending > 0 {
        if !global.quiet {
            eprintln!("indexing {pending} lake files for identities first (once)…");
        }
        lake = Lake::open(&data_dir, Access::Write)?;
        update_identity_index(&mut lake, &trailhound_identity::Settings::default(), None)
            .context("indexing the lake's identities failed")?;
    }
    let settings = TraceSettings {
        since_us: args
            .since
            .map(|bound| bound.resolve(chrono::Utc::now()).timestamp_micros()),
        max_sessions: args.max_sessions.max(1),
        ..TraceSettings::default()
    };
    let trace = match trace_in_lake(&lake, &args.what, &settings) {
        Ok(trace) => trace,
        Err(PipelineError::Identity(
            err @ (IdentityError::NotFound(_) | IdentityError::Usage(_)),
        )) => {
            eprintln!("error: {err}");
            return Ok(exit::INPUT_ERROR);
        }
        Err(err) => return Err(err.into()),
    };
    let text = match args.format {
        TraceFormat::Tree => trailhound_identity::tree(&trace),
        TraceFormat::Json => {
            let mut json = serde_json::to_string_pretty(&trace)?;
            json.push('\n');
            json
        }
        TraceFormat::Dot => trailhound_identity::dot(&trace),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(exit::OK)
}
