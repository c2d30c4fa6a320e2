//! `trailhound catalog backup|restore`: wiring the lake's backup to files and S3.

use std::path::{Path, PathBuf};

use trailhound_lake::{BackupReport, Lake};
use trailhound_source::{S3Bucket, S3Settings, S3Url};

use crate::cli::{CatalogCommand, GlobalArgs};
use crate::exit;

pub(crate) fn run(command: CatalogCommand, global: &GlobalArgs) -> anyhow::Result<u8> {
    let data_dir = global.data_dir()?;
    let report = match command {
        CatalogCommand::Backup { to } => backup(&data_dir, &to, global)?,
        CatalogCommand::Restore { from, replace } => restore(&data_dir, &from, replace, global)?,
    };
    if !global.quiet {
        let place = report.lake.as_deref().unwrap_or("the data directory");
        eprintln!(
            "{} lake files (in {place}), {:.1} MiB",
            report.files,
            report.bytes as f64 / f64::from(1 << 20)
        );
    }
    Ok(exit::OK)
}

fn backup(data_dir: &Path, to: &str, global: &GlobalArgs) -> anyhow::Result<BackupReport> {
    let Some((bucket, key)) = s3_object(to, global)? else {
        let report = Lake::backup_catalog(data_dir, Path::new(to))?;
        if !global.quiet {
            eprintln!("catalog backed up to {to}");
        }
        return Ok(report);
    };
    if bucket.head(&key)?.is_some() {
        anyhow::bail!("{to} exists; a backup is written to a new key");
    }
    let snapshot = temporary(data_dir, "backup");
    let report = Lake::backup_catalog(data_dir, &snapshot)?;
    let uploaded = bucket.upload_file(&snapshot, &key);
    let _ = std::fs::remove_file(&snapshot);
    uploaded?;
    if !global.quiet {
        eprintln!("catalog backed up to {to}");
    }
    Ok(report)
}

fn restore(
    data_dir: &Path,
    from: &str,
    replace: bool,
    global: &GlobalArgs,
) -> anyhow::Result<BackupReport> {
    let Some((bucket, key)) = s3_object(from, global)? else {
        anyhow::ensure!(Path::new(from).is_file(), "{from}: no such file");
        let report = Lake::restore_catalog(data_dir, Path::new(from), replace)?;
        announce_restore(from, data_dir, global);
        return Ok(report);
    };
    std::fs::create_dir_all(data_dir)?;
    let download = temporary(data_dir, "restore");
    let found = bucket.download_file(&key, &download);
    let report = match found {
        Ok(true) => Lake::restore_catalog(data_dir, &download, replace),
        Ok(false) => {
            let _ = std::fs::remove_file(&download);
            anyhow::bail!("{from}: no such object");
        }
        Err(err) => {
            let _ = std::fs::remove_file(&download);
            return Err(err.into());
        }
    };
    let _ = std::fs::remove_file(&download);
    announce_restore(from, data_dir, global);
    Ok(report?)
}

fn announce_restore(from: &str, data_dir: &Path, global: &GlobalArgs) {
    if !global.quiet {
        eprintln!(
            "catalog of {} restored from {from}; the next ingest or watch here settles the lake \
             against it",
            data_dir.display()
        );
    }
}

/// The bucket and key of an `s3://bucket/key` argument, reached as the lake is (`--lake-…`
/// flags, else the credential chain); `None` for a path.
fn s3_object(
    target: &str,
    global: &GlobalArgs,
) -> anyhow::Result<Option<(std::sync::Arc<S3Bucket>, String)>> {
    if !target.starts_with("s3://") {
        return Ok(None);
    }
    let url = S3Url::parse(target)?;
    anyhow::ensure!(
        !url.prefix.is_empty(),
        "{target} names a bucket but no key: write s3://bucket/path/catalog.sqlite"
    );
    let settings = S3Settings {
        endpoint: global.lake_endpoint_url.clone(),
        profile: global.lake_profile.clone(),
        downloads: 0,
    };
    Ok(Some(S3Bucket::for_url(&url, &settings)?))
}

fn temporary(data_dir: &Path, what: &str) -> PathBuf {
    data_dir.join(format!(".catalog-{what}-{}.sqlite", std::process::id()))
}
