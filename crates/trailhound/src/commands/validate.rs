//! `trailhound validate`: digest chains, signatures and log hashes, reported as
//! `aws cloudtrail validate-logs` reports them.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use trailhound_integrity::{
    LocalTree, PublicKeySet, S3Tree, TrailStore, ValidateOptions, Validation, validate,
};

use crate::cli::{GlobalArgs, ValidateArgs, ValidateFormat};
use crate::exit;

pub(crate) fn run(args: ValidateArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let now = Utc::now();
    let mut keys = PublicKeySet::new();
    for path in &args.public_keys {
        keys.load_file(path)?;
    }
    let options = ValidateOptions {
        start: args.start_time.map(|t| t.resolve(now)),
        end: Some(args.end_time.map_or(now, |t| t.resolve(now))),
        account: args.account.clone(),
        region: args.region.clone(),
        keys,
    };
    if let (Some(start), Some(end)) = (options.start, options.end)
        && start > end
    {
        anyhow::bail!("invalid time range: --start-time must come before --end-time");
    }
    let mut total = Validation::default();
    for path in &args.paths {
        let store: Box<dyn TrailStore> = if path.starts_with("s3://") {
            let url = trailhound_source::S3Url::parse(path)?;
            Box::new(S3Tree::new(&url, &args.s3.settings())?)
        } else {
            Box::new(LocalTree::new(Path::new(path))?)
        };
        let validation = validate(store.as_ref(), &options)
            .with_context(|| format!("cannot validate {path}"))?;
        record(global, path, &validation);
        total.merge(validation);
    }
    match args.format {
        ValidateFormat::Json => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &total)?;
            writeln!(out)?;
        }
        ValidateFormat::Text => total.write_text(
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
            &args.paths.join(", "),
            &options,
            global.verbose > 0,
        )?,
    }
    if total.chains.is_empty() && !global.quiet {
        eprintln!(
            "no digest files found under {}: is log file validation enabled on the trail, and were the CloudTrail-Digest/ folders downloaded?",
            args.paths.join(", ")
        );
    }
    Ok(if total.has_invalid() {
        exit::FOUND
    } else {
        exit::OK
    })
}

/// Keeps the result in the lake's catalog, when there is a lake, for `serve`'s integrity page.
/// A lake is not needed to validate, so failing to record only warns.
fn record(global: &GlobalArgs, location: &str, validation: &Validation) {
    let Ok(data_dir) = global.data_dir() else {
        return;
    };
    if !data_dir.join("catalog.sqlite").is_file() {
        return;
    }
    let report = serde_json::to_string(&validation.summary()).unwrap_or_default();
    let recorded =
        trailhound_lake::Lake::open(&data_dir, trailhound_lake::Access::Read).and_then(|lake| {
            lake.catalog()
                .record_integrity_check(location, !validation.has_invalid(), &report)
        });
    if let Err(err) = recorded {
        tracing::warn!(
            "the result was not recorded in {}: {err}",
            data_dir.display()
        );
    }
}
