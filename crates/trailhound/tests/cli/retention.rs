//! `retention --keep`: a lake of seven days keeps the last three, the archive holds the rest
//! as a lake of its own, and a kill at any moment loses nothing and, once run again, stores
//! nothing twice.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{binary, lake_run, path_str, run};

type Error = Box<dyn std::error::Error>;

/// Seven days of logs ending today, two accounts, three regions, ingested.
fn seven_days(dir: &Path) -> Result<std::path::PathBuf, Error> {
    let start = (chrono::Utc::now().date_naive() - chrono::Days::new(6)).to_string();
    let logs = dir.join("logs");
    let generated = run(&[
        "generate",
        "--start",
        &start,
        "--days",
        "7",
        "--accounts",
        "2",
        "--regions",
        "us-east-1,eu-west-1,ap-south-1",
        "--events",
        "3000",
        &path_str(&logs),
    ])?;
    assert_eq!(generated.code, 0, "{}", generated.stderr);
    let data = dir.join("data");
    let ingest = lake_run(&data, &["ingest", "-q", "--no-detect", &path_str(&logs)])?;
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    Ok(data)
}

/// (date, events) of a lake, by SQL.
fn days(data: &Path) -> Result<Vec<(String, u64)>, Error> {
    let out = lake_run(
        data,
        &[
            "query",
            "--format",
            "csv",
            "SELECT date, count(*) AS n FROM events GROUP BY date ORDER BY date",
        ],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .map(|(d, n)| (d.to_owned(), n.parse().unwrap_or(0)))
        .collect())
}

/// The eventIDs of a lake (none when it has no catalog yet).
fn event_ids(data: &Path) -> Result<Vec<String>, Error> {
    if !data.join("catalog.sqlite").is_file() {
        return Ok(Vec::new());
    }
    let out = lake_run(
        data,
        &["query", "--format", "csv", "SELECT eventID FROM events"],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(out.stdout.lines().skip(1).map(str::to_owned).collect())
}

#[test]
fn keeping_three_days_of_seven_archives_the_rest_as_a_lake() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let data = seven_days(dir.path())?;
    let before = days(&data)?;
    assert_eq!(before.len(), 7, "{before:?}");
    let archive = dir.path().join("archive");
    let archive_arg = path_str(&archive);

    // The plan changes nothing.
    let plan = lake_run(
        &data,
        &["retention", "--keep", "3d", "--archive-to", &archive_arg],
    )?;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("would be archived"), "{}", plan.stdout);
    assert_eq!(days(&data)?, before);
    assert!(!archive.exists());

    let applied = lake_run(
        &data,
        &[
            "retention",
            "--keep",
            "3d",
            "--archive-to",
            &archive_arg,
            "--apply",
        ],
    )?;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(
        days(&data)?,
        before[4..].to_vec(),
        "the last three days stay"
    );
    assert_eq!(
        days(&archive)?,
        before[..4].to_vec(),
        "the archive is a lake of the rest"
    );

    // Nothing left to do; and without an archive, old days are deleted.
    let again = lake_run(
        &data,
        &[
            "retention",
            "--keep",
            "3d",
            "--archive-to",
            &archive_arg,
            "--apply",
        ],
    )?;
    assert!(
        again.stdout.contains("nothing is older"),
        "{}",
        again.stdout
    );
    let deleted = lake_run(&data, &["retention", "--keep", "1d", "--apply"])?;
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert_eq!(days(&data)?, before[6..].to_vec());
    assert_eq!(days(&archive)?, before[..4].to_vec());

    // Wrong input is told, not guessed.
    let wrong = lake_run(
        &data,
        &[
            "retention",
            "--keep",
            "3d",
            "--archive-to",
            &path_str(&data),
            "--apply",
        ],
    )?;
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("archive is this lake"),
        "{}",
        wrong.stderr
    );
    let nothing = lake_run(&data, &["retention"])?;
    assert_eq!(nothing.code, 2);
    assert!(nothing.stderr.contains("--keep"), "{}", nothing.stderr);
    Ok(())
}

#[test]
fn a_killed_retention_loses_nothing_and_a_rerun_stores_nothing_twice() -> Result<(), Error> {
    killed_retention(&[])
}

#[test]
fn a_killed_category_retention_loses_nothing_and_a_rerun_stores_nothing_twice() -> Result<(), Error>
{
    killed_retention(&["--category", "data"])
}

/// Kills `retention --keep 3d --apply` (with `extra`) at points spread over a whole run,
/// checks that nothing was lost, runs it again and checks that nothing is stored twice.
fn killed_retention(extra: &[&str]) -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let original = seven_days(dir.path())?;
    let all: BTreeSet<String> = event_ids(&original)?.into_iter().collect();
    let fresh = |name: &str| -> Result<std::path::PathBuf, Error> {
        let data = dir.path().join(name);
        let copied = Command::new("cp")
            .arg("-r")
            .arg(&original)
            .arg(&data)
            .status()?;
        assert!(copied.success());
        Ok(data)
    };
    // How long a whole run takes here, so that the kills fall inside one.
    let timed = fresh("timed")?;
    let started = std::time::Instant::now();
    let whole = lake_run(
        &timed,
        &[
            "retention",
            "--keep",
            "3d",
            "--archive-to",
            &path_str(&dir.path().join("timed-archive")),
            "--apply",
            "-q",
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect::<Vec<_>>(),
    )?;
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let took = started.elapsed();
    let mut partial = 0;
    for trial in 1..=7u32 {
        let delay = took * trial / 8;
        let data = fresh(&format!("data-{trial}"))?;
        let archive = dir.path().join(format!("archive-{trial}"));
        let mut child = Command::new(binary())
            .args([
                "--data-dir",
                &path_str(&data),
                "retention",
                "--keep",
                "3d",
                "--apply",
                "-q",
            ])
            .arg("--archive-to")
            .arg(&archive)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();

        // Killed: every event is in the lake or the archive; only the partition in flight
        // can be in both.
        let (lake, archived) = (event_ids(&data)?, event_ids(&archive)?);
        let union: BTreeSet<String> = lake.iter().chain(&archived).cloned().collect();
        assert_eq!(union, all, "trial {trial}: an event was lost");
        let both = lake.len() + archived.len() - union.len();
        let killed_lake = lake.len();
        let killed_archive = archived.len();
        assert!(
            both <= 300,
            "trial {trial}: {both} events are in both (more than one partition)"
        );

        // Run again: done exactly.
        let rerun = lake_run(
            &data,
            &[
                "retention",
                "--keep",
                "3d",
                "--archive-to",
                &path_str(&archive),
                "--apply",
                "-q",
            ]
            .iter()
            .chain(extra)
            .copied()
            .collect::<Vec<_>>(),
        )?;
        assert_eq!(rerun.code, 0, "trial {trial}: {}", rerun.stderr);
        let (lake, archived) = (event_ids(&data)?, event_ids(&archive)?);
        if killed_archive > 0 && killed_lake > lake.len() {
            partial += 1;
        }
        assert_eq!(
            lake.len() + archived.len(),
            all.len(),
            "trial {trial}: an event is stored twice"
        );
        let union: BTreeSet<String> = lake.into_iter().chain(archived).collect();
        assert_eq!(union, all, "trial {trial}");
    }
    // Some kills fell mid-way (else this test would prove nothing).
    assert!(partial >= 1, "no kill fell inside a run of {took:?}");
    Ok(())
}

#[test]
fn watch_applies_the_configured_retention_once_a_day() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let data = seven_days(dir.path())?;
    let before = days(&data)?;
    let archive = dir.path().join("archive");
    std::fs::write(
        data.join("trailhound.toml"),
        format!(
            "[retention]\nkeep = \"3d\"\narchive_to = {:?}\n",
            path_str(&archive)
        ),
    )?;
    let followed = dir.path().join("incoming");
    std::fs::create_dir_all(&followed)?;
    std::fs::copy(
        crate::support::fixture("console-sign-in.json"),
        followed.join("console-sign-in.json"),
    )?;
    let watch = lake_run(
        &data,
        &["watch", "--once", "--no-detect", &path_str(&followed)],
    )?;
    assert_eq!(watch.code, 0, "{}", watch.stderr);
    assert_eq!(days(&data)?, before[4..].to_vec());
    // The old sign-in the poll took in went the same way.
    let mut archived = days(&archive)?;
    assert_eq!(archived.remove(0).0, "2014-07-16");
    assert_eq!(archived, before[..4].to_vec());

    // A mistyped setting is refused with its name, before anything runs.
    std::fs::write(
        data.join("trailhound.toml"),
        "[retention]\nkeep = \"3d\"\narchiveto = \"x\"\n",
    )?;
    let wrong = lake_run(&data, &["watch", "--once", &path_str(&followed)])?;
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("archiveto"), "{}", wrong.stderr);
    Ok(())
}

#[test]
fn one_category_can_be_kept_shorter_than_the_rest() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let data = seven_days(dir.path())?;
    let count = |data: &Path, filter: &str| -> Result<u64, Error> {
        Ok(
            crate::support::scalar(data, &format!("SELECT count(*) FROM events WHERE {filter}"))?
                .parse()?,
        )
    };
    let keep_from = (chrono::Utc::now().date_naive() - chrono::Days::new(2)).to_string();
    let old_data = format!("eventCategory = 'Data' AND date < '{keep_from}'");
    let old_other =
        format!("coalesce(eventCategory, 'Management') <> 'Data' AND date < '{keep_from}'");
    let (data_before, other_before, total) = (
        count(&data, &old_data)?,
        count(&data, &old_other)?,
        count(&data, "true")?,
    );
    assert!(data_before > 0 && other_before > 0, "the estate has both");
    let archive = dir.path().join("archive");
    let apply = [
        "retention",
        "--keep",
        "3d",
        "--category",
        "data",
        "--archive-to",
        &path_str(&archive),
        "--apply",
    ];
    let run = lake_run(&data, &apply)?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(count(&data, &old_data)?, 0);
    assert_eq!(
        count(&data, &old_other)?,
        other_before,
        "the other events of old days stay"
    );
    assert_eq!(count(&archive, "eventCategory = 'Data'")?, data_before);
    assert_eq!(count(&archive, "true")?, data_before);
    assert_eq!(count(&data, "true")?, total - data_before);
    // Once done, nothing is taken twice.
    let again = lake_run(&data, &apply)?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.starts_with("0 events"), "{}", again.stdout);
    assert_eq!(count(&archive, "true")?, data_before);
    let wrong = lake_run(
        &data,
        &["retention", "--keep", "3d", "--category", "logs", "--apply"],
    )?;
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("NetworkActivity"), "{}", wrong.stderr);
    Ok(())
}
