//! The lake as ingest fills it: what ingest stores, what re-ingest adds, what a crash leaves
//! and how opening repairs it, and compaction.

use std::collections::HashSet;
use std::path::Path;

use arrow::array::{Array, AsArray};
use trailhound_lake::{Access, CompactOptions, IngestReport, Lake, SourceOutcome, WriteOptions};
use trailhound_pipeline::IngestSettings;
use trailhound_source::{InputSpec, ReadOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn ingest(
    data: &Path,
    inputs: Vec<InputSpec>,
    options: WriteOptions,
) -> Result<IngestReport, Box<dyn std::error::Error>> {
    let mut lake = Lake::open(data, Access::Write)?;
    // Every input read, as the lake's own ingest read them before the pipeline skipped
    // unchanged ones: these tests look at what the lake does with what it is given.
    let settings = IngestSettings {
        write: options,
        force: true,
        ..IngestSettings::default()
    };
    Ok(trailhound_pipeline::ingest(
        &mut lake,
        inputs,
        &ReadOptions::default(),
        &settings,
        |_| {},
    )?)
}

/// Writes one day (2024-07-01) of generated background activity into `logs`.
fn generate_day(
    logs: &Path,
    events: u64,
    accounts: usize,
    regions: &[&str],
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    trailhound_generate::generate(&trailhound_generate::GeneratorConfig {
        dir: logs.to_owned(),
        events,
        accounts,
        regions: regions.iter().map(|region| (*region).to_owned()).collect(),
        days: 1,
        start: chrono::NaiveDate::from_ymd_opt(2024, 7, 1).ok_or("date")?,
        seed,
        scenarios: vec![],
        org_id: None,
        compression_level: 1,
        signing: None,
    })?;
    Ok(())
}

/// Every eventID stored in the lake's files, with repeats.
fn stored_ids(data: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    stored_values(data, "eventID")
}

/// Every value of the text column `name` in the lake's files, with repeats.
fn stored_values(data: &Path, name: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let lake = Lake::open(data, Access::Read)?;
    let mut values = Vec::new();
    for file in lake.catalog().lake_files(None)? {
        let path = data.join("lake").join(&file.path);
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(path)?,
        )?
        .build()?;
        for batch in reader {
            let batch = batch?;
            let column = batch
                .column_by_name(name)
                .ok_or(format!("no {name} column"))?
                .as_string::<i32>();
            values.extend((0..column.len()).map(|i| column.value(i).to_owned()));
        }
    }
    Ok(values)
}

fn write_records(path: &Path, ids: &[&str]) -> std::io::Result<()> {
    let records: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"eventVersion":"1.08","eventTime":"2024-07-01T12:00:00Z","eventName":"GetObject","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventID":"{id}"}}"#))
        .collect();
    std::fs::write(path, format!("{{\"Records\":[{}]}}", records.join(",")))
}

#[test]
fn ingest_is_idempotent_and_dedups_by_event_id() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    write_records(&logs.join("a.json"), &["e1", "e2", "e3"])?;
    // CloudTrail sometimes delivers an event twice, in another file.
    write_records(&logs.join("b.json"), &["e3", "e4", "e4"])?;
    let data = dir.path().join("data");
    let first = ingest(
        &data,
        vec![InputSpec::Path(logs.clone())],
        WriteOptions::default(),
    )?;
    assert_eq!(
        (first.events_read, first.events_new, first.duplicates),
        (6, 4, 2)
    );
    let again = ingest(
        &data,
        vec![InputSpec::Path(logs.clone())],
        WriteOptions::default(),
    )?;
    assert_eq!((again.events_new, again.duplicates), (0, 6));
    let mut ids = stored_ids(&data)?;
    ids.sort();
    assert_eq!(ids, ["e1", "e2", "e3", "e4"]);
    let lake = Lake::open(&data, Access::Read)?;
    let sources = lake.catalog().sources(false)?;
    assert_eq!(sources.len(), 2);
    assert!(
        sources
            .iter()
            .all(|s| s.outcome == SourceOutcome::Read && s.content_hash.is_some())
    );
    Ok(())
}

#[test]
fn bad_files_are_recorded_with_their_reason() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    write_records(&logs.join("good.json"), &["g1"])?;
    std::fs::write(logs.join("bad.json"), "{\"Records\": [ {\"eventID\": ")?;
    let data = dir.path().join("data");
    let report = ingest(&data, vec![InputSpec::Path(logs)], WriteOptions::default())?;
    assert_eq!(
        (report.objects, report.failed, report.events_new),
        (1, 1, 1)
    );
    let lake = Lake::open(&data, Access::Read)?;
    let failed = lake.catalog().sources(true)?;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].location.ends_with("bad.json"));
    assert!(
        failed[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("invalid JSON")),
        "{failed:?}"
    );
    Ok(())
}

#[test]
fn files_are_partitioned_sorted_and_readable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    std::fs::write(
        logs.join("mixed.ndjson"),
        concat!(
            r#"{"eventTime":"2024-07-02T10:00:00Z","awsRegion":"eu-west-1","recipientAccountId":"111122223333","eventID":"late","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},"requestParameters":{"bucketName":"b"}}"#,
            "\n",
            r#"{"eventTime":"2024-07-02T09:00:00Z","awsRegion":"eu-west-1","recipientAccountId":"111122223333","eventID":"early"}"#,
            "\n",
            r#"{"eventTime":"2024-07-03T09:00:00Z","awsRegion":"us-east-1","recipientAccountId":"444455556666","eventID":"other"}"#,
            "\n",
        ),
    )?;
    let data = dir.path().join("data");
    ingest(&data, vec![InputSpec::Path(logs)], WriteOptions::default())?;
    let lake = Lake::open(&data, Access::Read)?;
    let files = lake.catalog().lake_files(None)?;
    let dirs: HashSet<String> = files
        .iter()
        .map(|f| {
            f.path
                .rsplit_once('/')
                .map(|p| p.0.to_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        dirs,
        HashSet::from([
            "events/account=111122223333/region=eu-west-1/date=2024-07-02".to_owned(),
            "events/account=444455556666/region=us-east-1/date=2024-07-03".to_owned(),
        ])
    );
    for file in &files {
        assert!(
            data.join("lake").join(&file.path).is_file(),
            "{} not in place",
            file.path
        );
        assert!(file.staged_as.is_none());
    }
    assert_eq!(
        stored_ids(&data)?,
        ["early", "late", "other"],
        "sorted by eventTime within each file"
    );
    Ok(())
}

/// An organization trail's small ingest: one commit of many tiny partitions, more than there
/// are threads flushing files.
#[test]
fn one_commit_of_many_partitions_stores_every_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    let partitions = 150;
    let lines: String = (0..partitions)
        .map(|n| {
            format!(
                "{{\"eventTime\":\"2024-07-0{}T10:00:00Z\",\"awsRegion\":\"eu-west-1\",\"recipientAccountId\":\"{:012}\",\"eventID\":\"e{n}\"}}\n",
                1 + n % 3,
                n / 3
            )
        })
        .collect();
    std::fs::write(logs.join("org.ndjson"), lines)?;
    let data = dir.path().join("data");
    let report = ingest(&data, vec![InputSpec::Path(logs)], WriteOptions::default())?;
    assert_eq!((report.commits, report.files), (1, partitions));
    let lake = Lake::open(&data, Access::Read)?;
    let files = lake.catalog().lake_files(None)?;
    assert_eq!(files.len() as u64, partitions);
    for file in &files {
        assert!(
            lake.file_path(&file.path).is_file(),
            "{} missing",
            file.path
        );
    }
    let mut ids = stored_ids(&data)?;
    ids.sort();
    let mut expected: Vec<String> = (0..partitions).map(|n| format!("e{n}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    Ok(())
}

#[test]
fn event_files_list_the_oldest_events_first_and_prune_by_time() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    // Account names sort in the opposite order to the events' times.
    let record = |account: &str, day: &str, id: &str| {
        format!(
            r#"{{"eventTime":"2024-07-{day}T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"{account}","eventID":"{id}"}}"#
        )
    };
    std::fs::write(
        logs.join("accounts.ndjson"),
        [
            record("111122223333", "03", "newest"),
            record("555566667777", "02", "middle"),
            record("999900001111", "01", "oldest"),
        ]
        .join("\n"),
    )?;
    let data = dir.path().join("data");
    ingest(&data, vec![InputSpec::Path(logs)], WriteOptions::default())?;
    let lake = Lake::open(&data, Access::Read)?;
    let read_ids = |selection: &trailhound_source::Selection| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut ids = Vec::new();
        for path in lake.event_files(selection)? {
            trailhound_lake::for_each_record(&lake.listing(), &path, |record| {
                let id = record.split("\"eventID\":\"").nth(1).and_then(|r| r.split('"').next());
                ids.push(id.unwrap_or("?").to_owned());
            })?;
        }
        Ok(ids)
    };
    assert_eq!(
        read_ids(&trailhound_source::Selection::default())?,
        ["oldest", "middle", "newest"]
    );
    let since = trailhound_source::Selection {
        since: Some("2024-07-02T00:00:00Z".parse()?),
        ..Default::default()
    };
    assert_eq!(read_ids(&since)?, ["middle", "newest"]);
    Ok(())
}

/// Ingests one log file holding `records` (a `{"Records":[…]}` document) and opens the one
/// lake file it makes; the folder must outlive the reader.
fn only_lake_file(
    records: &str,
) -> Result<
    (
        tempfile::TempDir,
        parquet::file::reader::SerializedFileReader<std::fs::File>,
    ),
    Box<dyn std::error::Error>,
> {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    std::fs::write(logs.join("one.json"), records)?;
    let data = dir.path().join("data");
    ingest(&data, vec![InputSpec::Path(logs)], WriteOptions::default())?;
    let lake = Lake::open(&data, Access::Read)?;
    let file = lake
        .catalog()
        .lake_files(None)?
        .pop()
        .ok_or("no lake file")?;
    let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(
        data.join("lake").join(&file.path),
    )?)?;
    Ok((dir, reader))
}

#[test]
fn files_keep_statistics_only_where_they_can_prune() -> TestResult {
    let (_dir, reader) = only_lake_file(
        r#"{"Records":[{"eventTime":"2024-07-02T10:00:00Z","eventName":"GetObject","awsRegion":"eu-west-1","recipientAccountId":"111122223333","eventID":"e-1","sourceIPAddress":"203.0.113.7","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/r/s","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/r"}}}}]}"#,
    )?;
    let metadata = parquet::file::reader::FileReader::metadata(&reader);
    let group = metadata.row_group(0);
    let statistics = |path: &str| -> Result<bool, String> {
        (0..group.num_columns())
            .map(|i| group.column(i))
            .find(|column| column.column_path().string() == path)
            .map(|column| column.statistics().is_some())
            .ok_or_else(|| format!("no column {path}"))
    };
    for kept in ["eventTime", "eventName", "userIdentity.type"] {
        assert!(statistics(kept)?, "{kept} should keep its statistics");
    }
    for dropped in [
        "eventID",
        "sourceIPAddress",
        "userIdentity.arn",
        "userIdentity.sessionContext.sessionIssuer.arn",
        "eventJson",
    ] {
        assert!(!statistics(dropped)?, "{dropped} should have no statistics");
    }
    Ok(())
}

/// Version 2 data pages (cheaper to write), but version 1's value encodings: plain, and
/// dictionaries where enabled, which every engine the `ddl` command targets reads.
#[test]
fn files_have_version_2_pages_with_plain_or_dictionary_values() -> TestResult {
    use parquet::basic::{Encoding, PageType};
    use parquet::file::reader::FileReader;

    let (_dir, reader) = only_lake_file(
        r#"{"Records":[{"eventTime":"2024-07-02T10:00:00Z","eventName":"GetObject","awsRegion":"eu-west-1","recipientAccountId":"111122223333","eventID":"e-1","readOnly":true,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a"}},{"eventTime":"2024-07-02T10:00:01Z","eventName":"PutObject","awsRegion":"eu-west-1","recipientAccountId":"111122223333","eventID":"e-2","readOnly":false}]}"#,
    )?;
    let group = reader.get_row_group(0)?;
    let mut data_pages = 0;
    for column in 0..group.num_columns() {
        let path = group.metadata().column(column).column_path().string();
        for page in group.get_column_page_reader(column)? {
            let page = page?;
            match page.page_type() {
                PageType::DICTIONARY_PAGE => {
                    assert_eq!(page.encoding(), Encoding::PLAIN, "{path}'s dictionary")
                }
                PageType::DATA_PAGE_V2 => {
                    data_pages += 1;
                    assert!(
                        matches!(page.encoding(), Encoding::PLAIN | Encoding::RLE_DICTIONARY),
                        "{path} is encoded {:?}",
                        page.encoding()
                    );
                }
                other => panic!("{path} has a {other:?} page"),
            }
        }
    }
    assert_eq!(data_pages, group.num_columns(), "one data page per column");
    Ok(())
}

#[test]
fn opening_for_writing_repairs_what_a_crash_left() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs)?;
    write_records(&logs.join("a.json"), &["c1", "c2"])?;
    let data = dir.path().join("data");
    ingest(
        &data,
        vec![InputSpec::Path(logs.clone())],
        WriteOptions::default(),
    )?;
    let lake_dir = data.join("lake");
    let committed = Lake::open(&data, Access::Read)?
        .catalog()
        .lake_files(None)?;
    assert_eq!(committed.len(), 1);
    let in_place = lake_dir.join(&committed[0].path);

    // (a) An uncommitted staged file and (b) an unlisted file in the table folder: both go.
    std::fs::write(lake_dir.join(".staging/deadbeef.parquet"), "partial")?;
    let stray = in_place.with_file_name("part-stray.parquet");
    std::fs::copy(&in_place, &stray)?;
    drop(Lake::open(&data, Access::Write)?);
    assert!(!lake_dir.join(".staging/deadbeef.parquet").exists());
    assert!(!stray.exists());
    assert!(in_place.exists());
    assert_eq!(stored_ids(&data)?.len(), 2);
    Ok(())
}

#[test]
fn one_writer_at_a_time() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Reading a lake that does not exist is an error that says what to do, and creates nothing.
    let missing = Lake::open(&dir.path().join("nowhere"), Access::Read)
        .err()
        .map(|e| e.to_string());
    assert!(missing.is_some_and(|m| m.contains("trailhound ingest")));
    assert!(!dir.path().join("nowhere").exists());
    let _first = Lake::open(dir.path(), Access::Write)?;
    let second = Lake::open(dir.path(), Access::Write);
    assert!(matches!(second, Err(trailhound_lake::LakeError::Busy(_))));
    // Readers are never blocked.
    Lake::open(dir.path(), Access::Read)?;
    Ok(())
}

#[test]
fn compaction_merges_small_files_without_changing_the_data() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    for round in 0..5 {
        let logs = dir.path().join(format!("logs{round}"));
        std::fs::create_dir(&logs)?;
        let ids: Vec<String> = (0..10).map(|i| format!("r{round}-{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        write_records(&logs.join("f.json"), &ids)?;
        ingest(&data, vec![InputSpec::Path(logs)], WriteOptions::default())?;
    }
    let mut before = stored_ids(&data)?;
    assert_eq!(
        Lake::open(&data, Access::Read)?
            .catalog()
            .lake_files(None)?
            .len(),
        5
    );
    let report = Lake::open(&data, Access::Write)?.compact(CompactOptions::manual())?;
    assert_eq!(
        (report.files_before, report.files_after, report.rows),
        (5, 1, 50)
    );
    let files = Lake::open(&data, Access::Read)?
        .catalog()
        .lake_files(None)?;
    assert_eq!(files.len(), 1);
    let parquet_files = std::fs::read_dir(
        data.join("lake/events/account=111122223333/region=us-east-1/date=2024-07-01"),
    )?
    .count();
    assert_eq!(parquet_files, 1, "replaced files leave the folder");
    let retired = std::fs::read_dir(
        data.join("lake/.retired/events/account=111122223333/region=us-east-1/date=2024-07-01"),
    )?
    .count();
    assert_eq!(
        retired, 5,
        "and wait among the retired for readers that listed them"
    );
    let mut after = stored_ids(&data)?;
    before.sort();
    after.sort();
    assert_eq!(before, after);
    // Nothing more to do.
    let again = Lake::open(&data, Access::Write)?.compact(CompactOptions::manual())?;
    assert_eq!(again.files_before, 0);
    Ok(())
}

#[test]
fn small_commit_budgets_split_files_but_store_everything_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generate_day(&logs, 3000, 2, &["us-east-1", "eu-west-1"], 3)?;
    let data = dir.path().join("data");
    let report = ingest(
        &data,
        vec![InputSpec::Path(logs)],
        WriteOptions {
            commit_bytes: 256 << 10,
        },
    )?;
    assert!(report.commits > 3, "{report:?}");
    // Every commit's files are moved into place and marked so, several per commit.
    let files = Lake::open(&data, Access::Read)?
        .catalog()
        .lake_files(None)?;
    assert_eq!(files.len() as u64, report.files);
    assert!(report.files > report.commits, "{report:?}");
    for file in &files {
        assert!(
            data.join("lake").join(&file.path).is_file(),
            "{}",
            file.path
        );
        assert_eq!(file.staged_as, None, "{}", file.path);
    }
    assert_eq!(std::fs::read_dir(data.join("lake/.staging"))?.count(), 0);
    let ids = stored_ids(&data)?;
    assert_eq!(ids.len(), 3000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3000);
    Ok(())
}

/// Readers fetch a lake file's last `FOOTER_BYTES` to open it; a day's file must have its
/// footer and page index in them, or every query pays a second read per file.
#[test]
fn a_days_footer_and_page_index_fit_in_the_first_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, path) = one_generated_day(dir.path())?;
    let length = std::fs::metadata(&path)?.len();
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&std::fs::File::open(&path)?)?;
    let mut index_start = length;
    for group in metadata.row_groups() {
        for column in group.columns() {
            // Columns without page statistics have no column index; all have an offset index.
            let offset_index = column.offset_index_offset().ok_or("no offset index")?;
            let start = column
                .column_index_offset()
                .map_or(offset_index, |column_index| column_index.min(offset_index));
            index_start = index_start.min(u64::try_from(start)?);
        }
    }
    let tail = length - index_start;
    println!("footer and page index: {tail} bytes of {length}");
    assert!(
        tail <= trailhound_lake::FOOTER_BYTES as u64,
        "footer and page index take {tail} bytes of {length}"
    );
    Ok(())
}

/// A lake's data folder and the path of its one lake file.
type GeneratedDay = (std::path::PathBuf, std::path::PathBuf);

/// A day of one account's region, 20,000 generated events, ingested.
fn one_generated_day(dir: &Path) -> Result<GeneratedDay, Box<dyn std::error::Error>> {
    let logs = dir.join("logs");
    generate_day(&logs, 20_000, 1, &["us-east-1"], 5)?;
    let data = dir.join("data");
    ingest(&data, vec![InputSpec::Path(logs)], WriteOptions::default())?;
    let files = Lake::open(&data, Access::Read)?
        .catalog()
        .lake_files(None)?;
    assert_eq!(files.len(), 1, "one account, region and day");
    let path = data.join("lake").join(&files[0].path);
    Ok((data, path))
}

/// Looking up an event, or the calls of one name, skips a file by its bloom filters: every
/// stored `eventID` and `eventName` is in them, names the file lacks are not.
#[test]
fn a_days_bloom_filters_hold_its_event_ids_and_names() -> TestResult {
    use parquet::file::properties::ReaderProperties;
    use parquet::file::reader::FileReader;
    use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};

    let dir = tempfile::tempdir()?;
    let (data, path) = one_generated_day(dir.path())?;
    let ids = stored_ids(&data)?;
    let names: HashSet<String> = stored_values(&data, "eventName")?.into_iter().collect();
    assert!(ids.len() >= 20_000 && names.len() > 10, "{names:?}");

    let options = ReadOptionsBuilder::new()
        .with_reader_properties(
            ReaderProperties::builder()
                .set_read_bloom_filter(true)
                .build(),
        )
        .build();
    let file = SerializedFileReader::new_with_options(std::fs::File::open(&path)?, options)?;
    let group = file.get_row_group(0)?;
    let schema = file.metadata().file_metadata().schema_descr_ptr();
    let filter = |name: &str| -> Result<_, Box<dyn std::error::Error>> {
        let index = (0..schema.num_columns())
            .find(|i| schema.column(*i).path().string() == name)
            .ok_or(name.to_owned())?;
        Ok(group
            .get_column_bloom_filter(index)
            .ok_or(format!("no bloom filter on {name}"))?
            .clone())
    };
    let (by_id, by_name) = (filter("eventID")?, filter("eventName")?);
    assert!(ids.iter().all(|id| by_id.check(id.as_str())));
    assert!(names.iter().all(|name| by_name.check(name.as_str())));
    for absent in ["DeleteTrail", "StopLogging", "NoSuchCall"] {
        assert!(!names.contains(absent), "{absent} is in the day");
        assert!(!by_name.check(absent), "{absent} passes the filter");
    }
    assert!(!by_id.check("00000000-0000-0000-0000-000000000000"));
    Ok(())
}

#[test]
fn the_identity_index_is_the_same_counted_while_written_or_read_back_in_steps() -> TestResult {
    let dir = tempfile::tempdir()?;
    let logs = dir.path().join("logs");
    generate_day(&logs, 6000, 3, &["us-east-1", "eu-west-1"], 11)?;
    let input = || vec![InputSpec::Path(logs.clone())];
    // At once: every file counted from the rows the writer held, in one step.
    let whole = dir.path().join("whole");
    let mut lake = Lake::open(&whole, Access::Write)?;
    let counts = trailhound_pipeline::count_written_files(&mut lake);
    let settings = IngestSettings::default();
    trailhound_pipeline::ingest(
        &mut lake,
        input(),
        &ReadOptions::default(),
        &settings,
        |_| {},
    )?;
    let identity = trailhound_identity::Settings::default();
    let at_once = trailhound_pipeline::update_identity_index(&mut lake, &identity, Some(&counts))?;
    // In steps of about a thousand rows: half the files held while written (the rest beyond
    // the holding limit), the others read back.
    let stepped = dir.path().join("stepped");
    let mut lake_in_steps = Lake::open(&stepped, Access::Write)?;
    let held = std::sync::Arc::new(trailhound_identity::WrittenCounts::holding(3000));
    lake_in_steps.observe_written_files(Some(held.clone()));
    trailhound_pipeline::ingest(
        &mut lake_in_steps,
        input(),
        &ReadOptions::default(),
        &settings,
        |_| {},
    )?;
    let small_steps = trailhound_identity::Settings {
        rows_per_update: 1000,
        ..identity
    };
    let in_steps =
        trailhound_pipeline::update_identity_index(&mut lake_in_steps, &small_steps, Some(&held))?;
    assert!(at_once.files > 2, "several files: {at_once:?}");
    assert_eq!(at_once.calls, 6000);
    assert!(at_once.grants > 0, "the generated day hands out sessions");
    assert_eq!(
        (in_steps.files, in_steps.calls, in_steps.grants),
        (at_once.files, at_once.calls, at_once.grants)
    );
    assert!(lake_in_steps.catalog().identity_pending()?.is_empty());
    assert_eq!(
        trailhound_identity::sessions(lake_in_steps.catalog())?,
        trailhound_identity::sessions(lake.catalog())?
    );
    Ok(())
}
