use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Duration, NaiveDate, Utc};
use std::sync::Arc;

use trailhound_generate::{GeneratorConfig, Scenario, Signing, generate};
use trailhound_integrity::DigestSigner;

use crate::cli::{GenerateArgs, GlobalArgs};
use crate::exit;

pub(crate) fn run(args: GenerateArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let scenarios = match &args.scenarios {
        None => Vec::new(),
        Some(names) if names.iter().any(|n| n == "list") => {
            for scenario in Scenario::ALL {
                let (id, name) = scenario.technique();
                println!("{:28} {id:10} {name}", scenario.name());
            }
            return Ok(exit::OK);
        }
        Some(names) if names.iter().any(|n| n == "all") => Scenario::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|name| {
                Scenario::from_name(name).with_context(|| {
                    format!("unknown scenario {name:?}; `trailhound generate --scenarios=list DIR` shows them")
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let start = match &args.start {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .with_context(|| format!("--start {text:?} is not a date such as 2024-07-01"))?,
        None => (Utc::now() - Duration::days(i64::from(args.days))).date_naive(),
    };
    if args.dir.exists() && !args.dir.is_dir() {
        bail!("{} exists and is not a folder", args.dir.display());
    }
    let config = GeneratorConfig {
        dir: args.dir.clone(),
        events: args.events,
        accounts: args.accounts,
        regions: args.regions.clone(),
        days: args.days,
        start,
        seed: args.seed,
        scenarios,
        org_id: args.org.clone(),
        compression_level: args.compression_level,
        signing: match &args.sign {
            None => None,
            Some(path) => Some(Signing {
                signer: Arc::new(DigestSigner::from_pem_file(path)?),
                bucket: args.bucket.clone(),
                trail: args.trail.clone(),
            }),
        },
    };
    let started = Instant::now();
    let report = generate(&config)?;
    if !global.quiet {
        let elapsed = started.elapsed().as_secs_f64();
        eprintln!(
            "wrote {} events ({} planted) in {} files, {:.1} MiB compressed, under {} in {elapsed:.2}s ({:.0} events/s)",
            report.events + report.planted,
            report.planted,
            report.files,
            report.bytes as f64 / (1 << 20) as f64,
            args.dir.join("AWSLogs").display(),
            (report.events + report.planted) as f64 / elapsed.max(1e-9),
        );
        if config.signing.is_some() {
            eprintln!(
                "signed {} digest files; public key: {} (trailhound validate {} --public-keys it)",
                report.digests,
                args.dir.join(".trailhound/public-keys.json").display(),
                args.dir.display()
            );
        }
        if !config.scenarios.is_empty() {
            eprintln!(
                "ground truth: {}",
                args.dir.join(".trailhound/ground-truth.jsonl").display()
            );
        }
    }
    Ok(exit::OK)
}
