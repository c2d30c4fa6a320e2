//! `retention`: how long the trail's logs are kept.

use std::io::Write;

use trailhound_posture::Aws;

use crate::cli::{GlobalArgs, RetentionCommand, S3LifecycleArgs};
use crate::exit;

pub(crate) fn run(command: RetentionCommand, _global: &GlobalArgs) -> anyhow::Result<u8> {
    match command {
        RetentionCommand::S3Lifecycle(args) => s3_lifecycle(&args),
    }
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
