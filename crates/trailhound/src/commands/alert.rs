//! `alert`: the configured sinks and routes, a test message per sink, the outbox's record;
//! and the loading of `trailhound.toml` that `watch` shares.

use std::path::PathBuf;

use anyhow::Context;
use trailhound_alert::{AlertConfig, Alerting, kind_name};
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::config::PipelineConfig;

use crate::cli::{AlertCommand, GlobalArgs};
use crate::exit;
use crate::table::{Table, print_table};

/// The configuration file: `--config`/`TRAILHOUND_CONFIG`, else `./trailhound.toml`, else
/// `<data-dir>/trailhound.toml`; none at all is a valid configuration (defaults).
pub(crate) fn config_path(global: &GlobalArgs) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = &global.config {
        return Ok(Some(path.clone()));
    }
    Ok([
        PathBuf::from("trailhound.toml"),
        global.data_dir()?.join("trailhound.toml"),
    ]
    .into_iter()
    .find(|p| p.is_file()))
}

/// `[retention]` and `[posture]` as configured (none when there is no file).
pub(crate) fn pipeline_config(global: &GlobalArgs) -> anyhow::Result<PipelineConfig> {
    match config_path(global)? {
        None => Ok(PipelineConfig::default()),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the configuration {}", path.display()))?;
            Ok(PipelineConfig::parse(&text, &path.display().to_string())?)
        }
    }
}

/// Alerting as configured.
pub(crate) fn load(global: &GlobalArgs) -> anyhow::Result<Alerting> {
    let config = match config_path(global)? {
        None => AlertConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the configuration {}", path.display()))?;
            AlertConfig::parse(&text, &path.display().to_string())?
        }
    };
    Ok(Alerting::new(config)?)
}

pub(crate) fn run(command: AlertCommand, global: &GlobalArgs) -> anyhow::Result<u8> {
    let alerting = load(global)?;
    match command {
        AlertCommand::List { format } => {
            let mut table = Table::new(&["sink", "type", "routes"]);
            let config = alerting.config();
            for sink in &config.sinks {
                table.row(vec![
                    sink.name.clone(),
                    kind_name(&sink.kind).to_owned(),
                    config.routes_feeding(&sink.name).join("; "),
                ]);
            }
            print_table(&table, format)?;
            Ok(exit::OK)
        }
        AlertCommand::Test { sink } => {
            alerting.test(&sink)?;
            if !global.quiet {
                eprintln!("sent a test alert to {sink}");
            }
            Ok(exit::OK)
        }
        AlertCommand::Send => {
            let mut lake = Lake::open(&global.data_dir()?, Access::Write)?;
            let round = alerting.run(lake.catalog_mut()?)?;
            if !global.quiet {
                eprintln!(
                    "{} alerts queued, {} sent, {} failed, {} waiting, {} set aside as dead letters",
                    round.queued, round.sent, round.failed, round.pending, round.dead
                );
            }
            Ok(if round.pending > 0 {
                exit::FOUND
            } else {
                exit::OK
            })
        }
        AlertCommand::Retry { id } => {
            let mut lake = Lake::open(&global.data_dir()?, Access::Write)?;
            if !alerting.retry(lake.catalog_mut()?, id)? {
                anyhow::bail!(
                    "alert {id} is not a dead letter; `trailhound alert history` lists them (state dead)"
                );
            }
            let round = alerting.deliver(lake.catalog_mut()?)?;
            if !global.quiet {
                eprintln!(
                    "alert {id} is back in its queue: {} sent, {} waiting, {} dead",
                    round.sent, round.pending, round.dead
                );
            }
            Ok(if round.pending > 0 || round.dead > 0 {
                exit::FOUND
            } else {
                exit::OK
            })
        }
        AlertCommand::History { limit, format } => {
            let lake = Lake::open(&global.data_dir()?, Access::Read)?;
            let mut table = Table::new(&[
                "id",
                "sink",
                "state",
                "attempts",
                "created",
                "sent",
                "title",
                "last_error",
            ]);
            for entry in lake.catalog().alerts(limit)? {
                let title = serde_json::from_str::<trailhound_alert::Alert>(&entry.payload)
                    .map(|a| a.title)
                    .unwrap_or_default();
                let time = |us: Option<i64>| {
                    us.and_then(chrono::DateTime::from_timestamp_micros)
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_default()
                };
                table.row(vec![
                    entry.id.to_string(),
                    entry.sink,
                    entry.state.to_string(),
                    entry.attempts.to_string(),
                    time(Some(entry.created_us)),
                    time(entry.sent_us),
                    title,
                    entry.last_error.unwrap_or_default(),
                ]);
            }
            print_table(&table, format)?;
            Ok(exit::OK)
        }
    }
}
