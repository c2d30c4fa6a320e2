//! Validation speed on a signed tree, without the CLI (so the benchmark builds in release in
//! minutes, not the quarter hour DataFusion takes).
//!
//! ```sh
//! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out /tmp/key.pem
//! cargo run --release -p trailhound-integrity --example validate_bench -- /tmp/signed /tmp/key.pem 2000000
//! ```
//!
//! Generates the tree first (7 days, 3 accounts, 4 regions) if DIR does not exist, then
//! validates it and prints the figures.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use trailhound_integrity::{DigestSigner, LocalTree, PublicKeySet, ValidateOptions, validate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: validate_bench DIR KEY.pem [EVENTS]";
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let key = PathBuf::from(args.next().ok_or(usage)?);
    let events: u64 = args.next().map_or(Ok(2_000_000), |n| n.parse())?;
    if !dir.exists() {
        let started = Instant::now();
        let report = trailhound_generate::generate(&trailhound_generate::GeneratorConfig {
            dir: dir.clone(),
            events,
            accounts: 3,
            regions: ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"]
                .map(str::to_owned)
                .to_vec(),
            days: 7,
            start: chrono::NaiveDate::from_ymd_opt(2024, 7, 1).ok_or("date")?,
            seed: 1,
            scenarios: Vec::new(),
            org_id: None,
            compression_level: 1,
            signing: Some(trailhound_generate::Signing {
                signer: Arc::new(DigestSigner::from_pem_file(&key)?),
                bucket: "bench".to_owned(),
                trail: "bench".to_owned(),
            }),
        })?;
        println!(
            "generated {} events in {} files and {} signed digests in {:.2} s",
            report.events,
            report.files,
            report.digests,
            started.elapsed().as_secs_f64()
        );
    }
    let mut keys = PublicKeySet::new();
    keys.load_file(&dir.join(".trailhound/public-keys.json"))?;
    let options = ValidateOptions {
        keys,
        ..ValidateOptions::default()
    };
    let started = Instant::now();
    let validation = validate(&LocalTree::new(&dir)?, &options)?;
    let seconds = started.elapsed().as_secs_f64();
    let counts = validation.counts;
    println!(
        "validated {} digests and {} log files in {seconds:.2} s: {:.2} GB/s uncompressed ({:.1} GB hashed), {:.2} GB/s as stored ({:.2} GB read); {} invalid",
        counts.valid_digests,
        counts.valid_logs,
        counts.bytes_hashed as f64 / seconds / 1e9,
        counts.bytes_hashed as f64 / 1e9,
        counts.bytes_read as f64 / seconds / 1e9,
        counts.bytes_read as f64 / 1e9,
        counts.invalid_digests + counts.invalid_logs,
    );
    Ok(())
}
