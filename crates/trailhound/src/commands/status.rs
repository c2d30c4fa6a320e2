//! `status`: is the monitor healthy, and how far behind is it?

use std::io::Write;

use chrono::Utc;
use serde_json::json;
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::watch::monitor_status;

use crate::cli::{GlobalArgs, StatusArgs, StatusFormat};
use crate::exit;

pub(crate) fn run(args: StatusArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let data_dir = global.data_dir()?;
    anyhow::ensure!(
        data_dir.join("catalog.sqlite").exists(),
        "no lake in {}: nothing was ingested or watched there yet (see `trailhound ingest` and `trailhound watch`)",
        data_dir.display()
    );
    let lake = Lake::open(&data_dir, Access::Read)?;
    let now = Utc::now();
    let status = monitor_status(lake.catalog(), now)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        StatusFormat::Json => {
            let mut report = serde_json::to_value(&status)?;
            report["data_dir"] = json!(data_dir.display().to_string());
            report["lake"] = json!(lake.remote().map(|remote| remote.url()));
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        StatusFormat::Table => {
            let health = if status.healthy {
                "healthy"
            } else {
                "UNHEALTHY"
            };
            match lake.remote() {
                Some(remote) => writeln!(
                    out,
                    "{health} — lake {} (catalog in {})",
                    remote.url(),
                    data_dir.display()
                )?,
                None => writeln!(out, "{health} — lake {}", data_dir.display())?,
            }
            status.write_text(&mut out, now)?;
        }
    }
    Ok(if status.healthy {
        exit::OK
    } else {
        exit::FOUND
    })
}
