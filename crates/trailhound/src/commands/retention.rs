//! `retention`: how long the trail's logs are kept.

use std::io::Write;

use trailhound_posture::Aws;

use anyhow::Context;
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::retention::RetentionSettings;

use crate::cli::{GlobalArgs, RetentionArgs, RetentionCommand, S3LifecycleArgs};
use crate::exit;

pub(crate) fn run(args: RetentionArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    match &args.command {
        Some(RetentionCommand::S3Lifecycle(lifecycle)) => s3_lifecycle(lifecycle),
        None => lake(&args, global),
    }
}

/// `retention --keep`: the lake's old partitions, archived or deleted.
fn lake(args: &RetentionArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let Some(keep) = args.keep else {
        anyhow::bail!("give --keep AGE (90d, 1y), or a subcommand such as s3-lifecycle");
    };
    let keep = keep.to_std().unwrap_or_default();
    let settings = RetentionSettings {
        keep,
        accounts: args.accounts.clone(),
        archive_to: args.archive_to.clone(),
        category: args.category.clone(),
    };
    let data_dir = global.data_dir()?;
    let mut lake = Lake::open(&data_dir, Access::Write)
        .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
    settings.check(&lake)?;
    let plan = settings.plan(&lake, chrono::Utc::now())?;
    let mut out = std::io::stdout().lock();
    if plan.partitions.is_empty() {
        writeln!(
            out,
            "nothing is older than {}: the lake is kept whole",
            plan.keep_from
        )?;
        return Ok(exit::OK);
    }
    let verb = match (&args.archive_to, args.apply) {
        (Some(_), true) => "archived",
        (None, true) => "deleted",
        (Some(_), false) => "would be archived",
        (None, false) => "would be deleted",
    };
    let what = match &args.category {
        Some(category) => format!("{category} events of "),
        None => String::new(),
    };
    if !args.apply {
        for partition in &plan.partitions {
            writeln!(
                out,
                "{verb}: {what}account={} region={} date={}  ({} events, {} files in all)",
                partition.account,
                partition.region,
                partition.date,
                partition.rows(),
                partition.files.len()
            )?;
        }
    }
    let plan_summary = format!(
        "{what}{} partitions before {} ({} events, {:.1} MiB in all) {verb}{}",
        plan.partitions.len(),
        plan.keep_from,
        plan.rows(),
        plan.bytes() as f64 / 1_048_576.0,
        args.archive_to
            .as_ref()
            .map(|a| format!(" to {}", a.display()))
            .unwrap_or_default()
    );
    if !args.apply {
        writeln!(out, "{plan_summary}; run again with --apply to do it")?;
        return Ok(exit::OK);
    }
    let quiet = global.quiet;
    let report = trailhound_pipeline::retention::apply(&mut lake, &settings, &plan, |partition| {
        if !quiet {
            eprintln!(
                "{verb}: {what}account={} region={} date={}",
                partition.account, partition.region, partition.date
            );
        }
    })?;
    writeln!(
        out,
        "{} events {verb} from {} partitions before {}{}",
        report.rows,
        report.partitions,
        plan.keep_from,
        args.archive_to
            .as_ref()
            .map(|a| format!(" to {}", a.display()))
            .unwrap_or_default()
    )?;
    Ok(exit::OK)
}

fn s3_lifecycle(args: &S3LifecycleArgs) -> anyhow::Result<u8> {
    let Some(rule) = args.lifecycle.rule(&args.prefix)? else {
        anyhow::bail!("give --archive-after, --expire-after or both");
    };
    if !args.apply {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &rule.to_json())?;
        writeln!(out)?;
        if let Some(bucket) = &args.bucket {
            eprintln!(
                "put it with --apply, or: aws s3api put-bucket-lifecycle-configuration --bucket {bucket} --lifecycle-configuration file://lifecycle.json"
            );
        }
        return Ok(exit::OK);
    }
    let Some(bucket) = &args.bucket else {
        anyhow::bail!("--apply needs --bucket: the trail's bucket");
    };
    let aws = Aws::connect(&args.s3.settings(), None)?;
    let kept = trailhound_posture::setup::put_lifecycle(&aws, bucket, &rule)?;
    println!(
        "bucket {bucket}: rule {} put{}",
        rule.id,
        if kept == 0 {
            String::new()
        } else {
            format!(", beside its {kept} other rule(s)")
        }
    );
    Ok(exit::OK)
}
