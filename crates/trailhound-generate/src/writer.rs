//! Spreading events over accounts, regions and five-minute windows, and writing the files.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use fastrand::Rng;
use flate2::{Compression, write::GzEncoder};
use rayon::prelude::*;

use crate::background::{self, Place, Tables};
use crate::estate::build_accounts;
use crate::scenario::{Planted, Scenario, Stage, plant};
use crate::{GenerateError, GeneratorConfig};

/// CloudTrail delivers a file per account and region about every five minutes.
const WINDOW: i64 = 300;
/// Regions the estate never uses, for planting activity where it does not belong.
const SELDOM_USED_REGIONS: [&str; 5] = [
    "ap-northeast-3",
    "sa-east-1",
    "me-south-1",
    "af-south-1",
    "eu-south-2",
];

/// What a generation wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerateReport {
    /// Log files written.
    pub files: u64,
    /// Background events written.
    pub events: u64,
    /// Scenario events planted.
    pub planted: u64,
    /// Compressed bytes written.
    pub bytes: u64,
    /// Digest files written (with `signing`).
    pub digests: u64,
}

impl std::ops::Add for GenerateReport {
    type Output = GenerateReport;
    fn add(self, other: GenerateReport) -> GenerateReport {
        GenerateReport {
            files: self.files + other.files,
            events: self.events + other.events,
            planted: self.planted + other.planted,
            bytes: self.bytes + other.bytes,
            digests: self.digests + other.digests,
        }
    }
}

/// Writes the logs described by `config`.
///
/// # Errors
///
/// [`GenerateError::Config`] for settings that cannot be generated, [`GenerateError::Io`] when
/// a file cannot be written.
pub fn generate(config: &GeneratorConfig) -> Result<GenerateReport, GenerateError> {
    validate(config)?;
    let mut rng = Rng::with_seed(config.seed);
    let accounts = build_accounts(config.accounts, &mut rng);
    let unused: Vec<String> = SELDOM_USED_REGIONS
        .iter()
        .filter(|r| !config.regions.iter().any(|c| c == *r))
        .map(|r| (*r).to_owned())
        .collect();
    // Planted activity may use regions outside the configured ones; they get no background.
    let mut regions = config.regions.clone();
    if config.scenarios.contains(&Scenario::UnusualRegionInstances) {
        regions.extend(unused.iter().take(2).cloned());
    }
    let start = config
        .start
        .and_hms_opt(0, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t))
        .ok_or_else(|| GenerateError::Config("start date out of range".to_owned()))?;
    let stage = Stage {
        accounts: &accounts,
        regions: &config.regions,
        unused_regions: &unused,
        start,
        span: Duration::days(i64::from(config.days)),
    };
    let planted = plant(&config.scenarios, &stage, &mut rng);

    let grid = Grid {
        windows: u64::from(config.days) * 86_400 / WINDOW as u64,
        accounts: accounts.len() as u64,
        regions: regions.len() as u64,
        background_regions: config.regions.len() as u64,
        start,
    };
    let mut planted_by_slot: HashMap<u64, Vec<Planted>> = HashMap::new();
    for event in &planted {
        if let Some(slot) = grid.slot_of(event, &regions) {
            planted_by_slot.entry(slot).or_default().push(event.clone());
        }
    }
    let counts = grid.allocate(config.events);
    let tables = Tables::new();
    let context = SlotContext {
        config,
        grid: &grid,
        accounts: &accounts,
        regions: &regions,
        tables: &tables,
    };
    let written: Vec<(GenerateReport, Option<DeliveredLog>)> = (0..grid.slots())
        .into_par_iter()
        .map(|slot| {
            let count = counts[slot as usize];
            let planted = planted_by_slot
                .get(&slot)
                .map(Vec::as_slice)
                .unwrap_or_default();
            context.write_slot(slot, count, planted)
        })
        .collect::<Result<_, _>>()?;
    let mut report = GenerateReport::default();
    let mut delivered = Vec::new();
    for (part, log) in written {
        report = report + part;
        delivered.extend(log);
    }
    if let Some(signing) = &config.signing {
        let chains: Vec<(String, String)> = accounts
            .iter()
            .flat_map(|account| {
                regions.iter().enumerate().filter_map(|(index, region)| {
                    // Planted-only regions get a chain only where something was delivered.
                    let used = index < config.regions.len()
                        || delivered
                            .iter()
                            .any(|log| log.account == account.id && log.region == *region);
                    used.then(|| (account.id.clone(), region.clone()))
                })
            })
            .collect();
        let span = Duration::days(i64::from(config.days));
        report.digests = crate::digests::write_chains(
            config,
            signing,
            &crate::digests::Span { start, span },
            &chains,
            delivered,
        )?;
    }
    if !config.scenarios.is_empty() {
        write_ground_truth(&config.dir, planted)?;
    }
    Ok(report)
}

fn validate(config: &GeneratorConfig) -> Result<(), GenerateError> {
    let fail = |message: String| Err(GenerateError::Config(message));
    if config.accounts == 0 || config.accounts > 1000 {
        return fail(format!(
            "--accounts must be between 1 and 1000, not {}",
            config.accounts
        ));
    }
    if config.days == 0 || config.days > 3660 {
        return fail(format!(
            "--days must be between 1 and 3660, not {}",
            config.days
        ));
    }
    if config.regions.is_empty() {
        return fail("give at least one region".to_owned());
    }
    for region in &config.regions {
        let valid = region.contains('-')
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return fail(format!("{region:?} is not a region name such as us-east-1"));
        }
    }
    if let Some(org) = &config.org_id {
        let valid = org.strip_prefix("o-").is_some_and(|id| {
            (10..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !valid {
            return fail(format!(
                "{org:?} is not an organization id (o- and 10 to 32 lowercase letters or digits)"
            ));
        }
    }
    Ok(())
}

/// The slots events are spread over: window × account × region.
struct Grid {
    windows: u64,
    accounts: u64,
    regions: u64,
    /// Regions that get background activity (the configured ones, listed first).
    background_regions: u64,
    start: DateTime<Utc>,
}

impl Grid {
    fn slots(&self) -> u64 {
        self.windows * self.accounts * self.regions
    }

    /// (window, account, region) of a slot.
    fn split(&self, slot: u64) -> (u64, u64, u64) {
        (
            slot / (self.accounts * self.regions),
            slot / self.regions % self.accounts,
            slot % self.regions,
        )
    }

    fn window_start(&self, window: u64) -> DateTime<Utc> {
        self.start + Duration::seconds(window as i64 * WINDOW)
    }

    fn slot_of(&self, event: &Planted, regions: &[String]) -> Option<u64> {
        let window = u64::try_from((event.time - self.start).num_seconds() / WINDOW).ok()?;
        let region = regions.iter().position(|r| *r == event.region)? as u64;
        (window < self.windows)
            .then(|| (window * self.accounts + event.account as u64) * self.regions + region)
    }

    /// A slot's share of activity: busier home region and first account, business hours
    /// (peaking mid-afternoon UTC), quieter weekends.
    fn weight(&self, slot: u64) -> f64 {
        let (window, account, region) = self.split(slot);
        if region >= self.background_regions {
            return 0.0;
        }
        let time = self.window_start(window);
        let hour = f64::from(time.hour()) + f64::from(time.minute()) / 60.0;
        let business = (-((hour - 15.0).powi(2)) / 18.0).exp();
        let weekend = matches!(time.weekday(), Weekday::Sat | Weekday::Sun);
        let region_weight = 1.0 / (1.0 + 1.2 * region as f64);
        let account_weight = 1.0 / (1.0 + 0.7 * account as f64);
        (0.3 + business) * if weekend { 0.45 } else { 1.0 } * region_weight * account_weight
    }

    /// Splits `total` events over the slots in proportion to their weights, exactly.
    fn allocate(&self, total: u64) -> Vec<u32> {
        let weights: Vec<f64> = (0..self.slots()).map(|slot| self.weight(slot)).collect();
        let sum: f64 = weights.iter().sum();
        let mut cumulative = 0.0;
        let mut assigned = 0u64;
        weights
            .iter()
            .map(|weight| {
                cumulative += weight;
                let target = if sum > 0.0 {
                    (total as f64 * cumulative / sum).round() as u64
                } else {
                    0
                };
                let count = target.saturating_sub(assigned);
                assigned = assigned.max(target);
                u32::try_from(count).unwrap_or(u32::MAX)
            })
            .collect()
    }
}

struct SlotContext<'a> {
    config: &'a GeneratorConfig,
    grid: &'a Grid,
    accounts: &'a [crate::estate::Account],
    regions: &'a [String],
    tables: &'a Tables,
}

impl SlotContext<'_> {
    fn write_slot(
        &self,
        slot: u64,
        count: u32,
        planted: &[Planted],
    ) -> Result<(GenerateReport, Option<DeliveredLog>), GenerateError> {
        if count == 0 && planted.is_empty() {
            return Ok((GenerateReport::default(), None));
        }
        // Each slot has its own stream, so parallel generation stays deterministic.
        let mut rng = Rng::with_seed(splitmix(self.config.seed ^ splitmix(slot)));
        let (window, account_index, region_index) = self.grid.split(slot);
        let account = &self.accounts[account_index as usize];
        let region = self.regions[region_index as usize].as_str();
        let window_start = self.grid.window_start(window);
        let mut times: Vec<DateTime<Utc>> = (0..count)
            .map(|_| window_start + Duration::seconds(rng.i64(0..WINDOW)))
            .collect();
        times.sort_unstable();
        let place = Place {
            account,
            region,
            home: region_index == 0,
        };
        let mut events: Vec<(DateTime<Utc>, String)> = times
            .into_iter()
            .map(|time| (time, background::event(&place, time, self.tables, &mut rng)))
            .collect();
        events.extend(planted.iter().map(|p| (p.time, p.json.clone())));
        events.sort_by_key(|e| e.0);

        let delivered = window_start + Duration::seconds(WINDOW + rng.i64(30..240));
        let path = self.file_path(&account.id, region, delivered, &mut rng);
        let mut body = Vec::with_capacity(events.iter().map(|e| e.1.len() + 1).sum::<usize>() + 16);
        body.extend_from_slice(b"{\"Records\":[");
        for (index, (_, json)) in events.iter().enumerate() {
            if index > 0 {
                body.push(b',');
            }
            body.extend_from_slice(json.as_bytes());
        }
        body.extend_from_slice(b"]}");
        let bytes = write_gzip(&path, &body, self.config.compression_level)?;
        let report = GenerateReport {
            files: 1,
            events: u64::from(count),
            planted: planted.len() as u64,
            bytes,
            digests: 0,
        };
        // Digests hash the uncompressed content and record each file's event time span.
        let log = match (&self.config.signing, events.first(), events.last()) {
            (Some(_), Some(oldest), Some(newest)) => Some(DeliveredLog {
                account: account.id.clone(),
                region: region.to_owned(),
                delivered,
                key: layout_key(&self.config.dir, &path),
                sha256: trailhound_integrity::sha256_hex(&body),
                oldest: oldest.0,
                newest: newest.0,
            }),
            _ => None,
        };
        Ok((report, log))
    }

    fn file_path(
        &self,
        account: &str,
        region: &str,
        delivered: DateTime<Utc>,
        rng: &mut Rng,
    ) -> PathBuf {
        let mut path = self.config.dir.join("AWSLogs");
        if let Some(org) = &self.config.org_id {
            path.push(org);
        }
        path.push(account);
        path.push("CloudTrail");
        path.push(region);
        path.push(delivered.format("%Y/%m/%d").to_string());
        const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let unique: String = (0..16)
            .map(|_| ID_CHARS[rng.usize(..ID_CHARS.len())] as char)
            .collect();
        path.push(format!(
            "{account}_CloudTrail_{region}_{}_{unique}.json.gz",
            delivered.format("%Y%m%dT%H%MZ")
        ));
        path
    }
}

/// A log file as a digest lists it.
pub(crate) struct DeliveredLog {
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) delivered: DateTime<Utc>,
    /// Key from `AWSLogs/` on.
    pub(crate) key: String,
    pub(crate) sha256: String,
    pub(crate) oldest: DateTime<Utc>,
    pub(crate) newest: DateTime<Utc>,
}

/// The S3 key of a file written under `dir`.
pub(crate) fn layout_key(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

pub(crate) fn write_gzip(path: &Path, body: &[u8], level: u32) -> Result<u64, GenerateError> {
    let io = |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let file = std::fs::File::create(path).map_err(io)?;
    let mut encoder = GzEncoder::new(std::io::BufWriter::new(file), Compression::new(level));
    encoder.write_all(body).map_err(io)?;
    let mut out = encoder.finish().map_err(io)?;
    out.flush().map_err(io)?;
    let written = out.get_ref().metadata().map_err(io)?.len();
    Ok(written)
}

fn write_ground_truth(dir: &Path, mut planted: Vec<Planted>) -> Result<(), GenerateError> {
    planted.sort_by_key(|p| p.time);
    let folder = dir.join(".trailhound");
    std::fs::create_dir_all(&folder).map_err(|source| GenerateError::Io {
        path: folder.clone(),
        source,
    })?;
    let path = folder.join("ground-truth.jsonl");
    let mut text = String::new();
    for event in &planted {
        text.push_str(&serde_json::to_string(&event.truth).unwrap_or_default());
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(|source| GenerateError::Io { path, source })
}

/// A well-mixed 64-bit hash, to derive independent streams from one seed.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(days: u64) -> Grid {
        Grid {
            windows: days * 288,
            accounts: 3,
            regions: 5,
            background_regions: 4,
            start: Utc
                .with_ymd_and_hms(2024, 7, 5, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        }
    }

    #[test]
    fn allocation_is_exact_and_follows_the_weights() {
        let grid = grid(7);
        let counts = grid.allocate(2_000_000);
        assert_eq!(counts.iter().map(|&c| u64::from(c)).sum::<u64>(), 2_000_000);
        // The fifth region is planted-only: it gets no background at all.
        let planted_only: u64 = (0..grid.slots())
            .filter(|s| s % 5 == 4)
            .map(|s| u64::from(counts[s as usize]))
            .sum();
        assert_eq!(planted_only, 0);
        // 2024-07-05 is a Friday: Saturday's 15:00 window is quieter than Friday's.
        let at = |day: u64| counts[((day * 288 + 180) * 15) as usize];
        assert!(at(1) < at(0), "{} !< {}", at(1), at(0));
        // Business hours are busier than the night.
        assert!(counts[(180 * 15) as usize] > counts[(40 * 15) as usize]);
    }

    #[test]
    fn splitmix_separates_neighbouring_streams() {
        assert_ne!(splitmix(1), splitmix(2));
        assert_ne!(splitmix(0), 0);
    }
}
