//! Building the identity index: the lake files it does not count yet are read (a few small
//! columns; the request and response only of the rare events that hand out credentials), each
//! file's calls summed per access key, principal, account, service and source address, the
//! credentials handed out collected, the chain signals concluded, and all of it recorded with
//! the files marked, in one catalog transaction.
//!
//! Files are read on every core, each on its own: the counts are kept per file so that a file
//! a compaction or retention later retires takes its counts with it.

use std::collections::HashMap;
use std::fs::File;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, AsArray, RecordBatch, StringArray, StructArray};
use arrow::datatypes::TimestampMicrosecondType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::file::metadata::PageIndexPolicy;
use trailhound_lake::{
    CredentialGrant, CredentialUsage, IdentityChanges, Lake, WrittenFiles, file_schema,
};

use crate::IdentityError;
use crate::grant::{Call, Exchange, grant_of, may_grant};
use crate::signals::{Settings, Signals, UseFromOutside};

/// What one update of the index did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexUpdate {
    /// Lake files read.
    pub files: usize,
    /// Calls counted.
    pub calls: u64,
    /// Credentials handed out, found in them.
    pub grants: usize,
    /// Chain signals concluded.
    pub findings: usize,
    /// Findings recorded for the first time.
    pub new_findings: u64,
    /// Files that could not be read (path, reason); they stay pending and are tried again.
    pub unreadable: Vec<(String, String)>,
}

/// What one lake file holds for the index.
#[derive(Default)]
struct FileIndex {
    path: String,
    calls: u64,
    usage: Vec<CredentialUsage>,
    grants: Vec<CredentialGrant>,
    outside: Vec<UseFromOutside>,
}

/// Counts each lake file an ingest writes from its rows while the writer holds them (a
/// [`WrittenFiles`] observer for [`Lake::observe_written_files`]), so that
/// [`update_index_counted`] need not read those files back.
///
/// It keeps the counts of a bounded number of rows; files written beyond are read back by the
/// update, so a huge ingest does not hold its whole index in memory.
pub struct WrittenCounts {
    files: Mutex<HeldCounts>,
    limit: u64,
}

#[derive(Default)]
struct HeldCounts {
    files: HashMap<String, Result<FileIndex, String>>,
    rows: u64,
}

/// Rows whose counts and grants one update holds and records in one transaction (about
/// 300 MB of counts and grants at the generated estate's share of grants): the update of a
/// lake larger than this goes in steps, memory bounded whatever the lake's size.
pub const ROWS_PER_UPDATE: u64 = 4_000_000;

impl WrittenCounts {
    /// Nothing counted yet; keeps the counts of up to [`ROWS_PER_UPDATE`] rows.
    #[must_use]
    pub fn new() -> WrittenCounts {
        WrittenCounts::holding(ROWS_PER_UPDATE)
    }

    /// Nothing counted yet; keeps the counts of up to `rows` rows.
    #[must_use]
    pub fn holding(rows: u64) -> WrittenCounts {
        WrittenCounts {
            files: Mutex::new(HeldCounts::default()),
            limit: rows,
        }
    }
}

impl Default for WrittenCounts {
    fn default() -> Self {
        WrittenCounts::new()
    }
}

impl WrittenFiles for WrittenCounts {
    fn file_written(&self, path: &str, batches: &[RecordBatch]) {
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        let has_room = |held: &HeldCounts| held.rows + rows <= self.limit;
        if !self.files.lock().is_ok_and(|held| has_room(&held)) {
            return;
        }
        let index = index_rows(path, batches);
        if let Ok(mut held) = self.files.lock()
            && has_room(&held)
        {
            held.rows += rows;
            held.files.insert(path.to_owned(), index);
        }
    }
}

/// Brings the identity index up to date: reads the lake files it does not count yet and
/// records what they hold, with the chain signals as findings.
///
/// # Errors
///
/// When the catalog cannot be read or written. A lake file that cannot be read is reported in
/// [`IndexUpdate::unreadable`] and stays pending.
pub fn update_index(lake: &mut Lake, settings: &Settings) -> Result<IndexUpdate, IdentityError> {
    update_index_counted(lake, settings, None)
}

/// [`update_index`], taking the files `counted` while they were written as they are, and
/// reading only the others.
///
/// # Errors
///
/// As [`update_index`].
pub fn update_index_counted(
    lake: &mut Lake,
    settings: &Settings,
    counted: Option<&WrittenCounts>,
) -> Result<IndexUpdate, IdentityError> {
    let pending = lake.catalog().identity_pending()?;
    let mut counted = counted
        .and_then(|counts| counts.files.lock().ok())
        .map(|mut held| std::mem::take(&mut *held).files)
        .unwrap_or_default();
    let mut update = IndexUpdate::default();
    let mut step = Vec::new();
    let mut step_rows = 0;
    for (path, rows) in pending {
        if !step.is_empty() && step_rows + rows > settings.rows_per_update {
            update_step(
                lake,
                settings,
                std::mem::take(&mut step),
                &mut counted,
                &mut update,
            )?;
            step_rows = 0;
        }
        step_rows += rows;
        step.push(path);
    }
    if !step.is_empty() {
        update_step(lake, settings, step, &mut counted, &mut update)?;
    }
    Ok(update)
}

/// Indexes the files `pending` (taking those `counted` holds as they are, reading the
/// others) and records them in one transaction, adding to `update`.
fn update_step(
    lake: &mut Lake,
    settings: &Settings,
    pending: Vec<String>,
    counted: &mut HashMap<String, Result<FileIndex, String>>,
    update: &mut IndexUpdate,
) -> Result<(), IdentityError> {
    let started = std::time::Instant::now();
    let mut read: Vec<Result<FileIndex, (String, String)>> = Vec::new();
    let mut to_read = Vec::new();
    for path in pending {
        match counted.remove(&path) {
            Some(Ok(index)) => read.push(Ok(index)),
            Some(Err(reason)) => {
                tracing::debug!(file = %path, "not counted while written ({reason}); read back");
                to_read.push(path);
            }
            None => to_read.push(path),
        }
    }
    let counted_files = read.len();
    let listing = lake.listing();
    let next = AtomicUsize::new(0);
    let read = Mutex::new(read);
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(to_read.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = to_read.get(at) else { break };
                    let result = listing
                        .open(path)
                        .map_err(|err| err.to_string())
                        .and_then(|file| index_file(path, file))
                        .map_err(|reason| (path.clone(), reason));
                    if let Ok(mut read) = read.lock() {
                        read.push(result);
                    }
                }
            });
        }
    });
    let read = read
        .into_inner()
        .map_err(|_| IdentityError::Internal("a reader of the lake panicked".to_owned()))?;
    let (files_before, calls_before) = (update.files, update.calls);
    let (mut usage, mut grants, mut outside, mut folded) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for result in read {
        match result {
            Ok(file) => {
                update.files += 1;
                update.calls += file.calls;
                folded.push(file.path);
                usage.extend(file.usage);
                grants.extend(file.grants);
                outside.extend(file.outside);
            }
            Err((path, reason)) => {
                tracing::warn!(file = %path, "the identity index cannot read this lake file: {reason}; it is tried again next time");
                update.unreadable.push((path, reason));
            }
        }
    }
    // The same call recorded twice (its copies in two accounts share no eventID, but one file
    // never holds an eventID twice) is handed out once per event; sorting puts chains in order.
    grants.sort_by(|a, b| (a.issued_us, &a.event_id).cmp(&(b.issued_us, &b.event_id)));
    grants.dedup_by(|a, b| a.event_id == b.event_id);
    let read_in = started.elapsed();
    let findings = Signals::new(lake.catalog(), settings).conclude(&grants, outside)?;
    let concluded_in = started.elapsed() - read_in;
    update.grants += grants.len();
    update.findings += findings.len();
    update.new_findings += lake.catalog_mut()?.record_identity(&IdentityChanges {
        grants: &grants,
        usage: &usage,
        folded: &folded,
        findings: &findings,
    })?;
    tracing::info!(
        read_ms = read_in.as_millis(),
        signals_ms = concluded_in.as_millis(),
        recorded_ms = (started.elapsed() - read_in - concluded_in).as_millis(),
        files = update.files - files_before,
        counted_while_written = counted_files,
        calls = update.calls - calls_before,
        grants = grants.len(),
        findings = findings.len(),
        "identity index updated"
    );
    Ok(())
}

/// The text columns of the first read (besides `eventTime` and `userIdentity`), in order.
const TEXT_COLUMNS: [&str; 9] = [
    "eventSource",
    "eventName",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "eventID",
    "recipientAccountId",
    "sharedEventID",
    "awsRegion",
];

/// The columns read for the events that may hand out credentials.
const EXCHANGE: [&str; 3] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
];

fn mask(
    builder_schema: &parquet::schema::types::SchemaDescriptor,
    names: &[&str],
) -> Result<ProjectionMask, String> {
    let schema = file_schema();
    let roots = names
        .iter()
        .map(|name| schema.index_of(name).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProjectionMask::roots(builder_schema, roots))
}

fn text<'b>(batch: &'b RecordBatch, name: &str) -> Result<&'b StringArray, String> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_string_opt::<i32>())
        .ok_or_else(|| format!("its {name} column is not the text Trailhound writes"))
}

fn child<'b>(parent: &'b StructArray, name: &str) -> Option<&'b StringArray> {
    parent
        .column_by_name(name)
        .and_then(|column| column.as_string_opt::<i32>())
}

/// A field of `userIdentity`, absent where the whole structure is null.
fn of(structure_null: bool, column: Option<&StringArray>) -> Option<&StringArray> {
    column.filter(|_| !structure_null)
}

fn get(column: Option<&StringArray>, row: usize) -> Option<&str> {
    column
        .filter(|c| !c.is_null(row))
        .map(|c| c.value(row))
        .filter(|v| !v.is_empty())
}

/// One lake file's calls, grants and uses from outside AWS, read back from the lake.
fn index_file(path: &str, file: File) -> Result<FileIndex, String> {
    let reopen = file.try_clone().map_err(|e| e.to_string())?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let columns: Vec<&str> = ["eventTime", "userIdentity"]
        .into_iter()
        .chain(TEXT_COLUMNS)
        .collect();
    let projection = mask(builder.parquet_schema(), &columns)?;
    let reader = builder
        .with_projection(projection)
        .with_batch_size(8192)
        .build()
        .map_err(|e| e.to_string())?;
    let mut counter = FileCounter::new(path);
    for batch in reader {
        counter.add(&batch.map_err(|e| e.to_string())?)?;
    }
    let (mut index, granting) = counter.finish();
    if !granting.is_empty() {
        index.grants = grants_of(reopen, &granting)?;
    }
    Ok(index)
}

/// One lake file's index, from its rows as an ingest wrote them (all columns at hand).
fn index_rows(path: &str, batches: &[RecordBatch]) -> Result<FileIndex, String> {
    let mut counter = FileCounter::new(path);
    for batch in batches {
        counter.add(batch)?;
    }
    let (index, granting) = counter.finish();
    if granting.is_empty() {
        Ok(index)
    } else {
        Err("its rows came without their requests and responses".to_owned())
    }
}

/// Sums a file's rows batch by batch.
struct FileCounter {
    index: FileIndex,
    usage: HashMap<u128, CredentialUsage>,
    scratch: Vec<u8>,
    outside: HashMap<(String, String), UseFromOutside>,
    /// Rows (in the file) of events that may hand out credentials, with their calls'
    /// columns, when the batches lack the requests and responses (read later, for these rows
    /// only).
    granting: Vec<(usize, OwnedCall)>,
    rows: usize,
}

impl FileCounter {
    fn new(path: &str) -> FileCounter {
        FileCounter {
            index: FileIndex {
                path: path.to_owned(),
                ..FileIndex::default()
            },
            usage: HashMap::new(),
            scratch: Vec::new(),
            outside: HashMap::new(),
            granting: Vec::new(),
            rows: 0,
        }
    }

    fn add(&mut self, batch: &RecordBatch) -> Result<(), String> {
        let times = batch
            .column_by_name("eventTime")
            .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
            .ok_or("its eventTime column is not the timestamp Trailhound writes")?;
        let identity = batch
            .column_by_name("userIdentity")
            .and_then(|c| c.as_struct_opt())
            .ok_or("its userIdentity column is not the structure Trailhound writes")?;
        let session = identity
            .column_by_name("sessionContext")
            .and_then(|c| c.as_struct_opt());
        let issuer = session
            .and_then(|s| s.column_by_name("sessionIssuer"))
            .and_then(|c| c.as_struct_opt());
        let [
            kind,
            arn,
            key,
            principal_id,
            identity_account,
            user_name,
            invoked_by,
            provider,
        ] = [
            "type",
            "arn",
            "accessKeyId",
            "principalId",
            "accountId",
            "userName",
            "invokedBy",
            "identityProvider",
        ]
        .map(|name| child(identity, name));
        let issuer_arn = issuer.and_then(|i| child(i, "arn"));
        let source_identity = session.and_then(|s| child(s, "sourceIdentity"));
        let [
            source,
            name,
            ip,
            agent,
            error,
            event_id,
            account,
            shared,
            region,
        ] = TEXT_COLUMNS.map(|name| text(batch, name).ok());
        // An ingest's rows carry the requests and responses: grants are made right away.
        let exchange = match EXCHANGE.map(|name| text(batch, name).ok()) {
            [Some(request), Some(response), Some(additional)] => {
                Some((request, response, additional))
            }
            _ => None,
        };
        for row in 0..batch.num_rows() {
            if times.is_null(row) {
                continue;
            }
            let identity_null = identity.is_null(row);
            let call = Call {
                time_us: times.value(row),
                event_id: get(event_id, row),
                event_source: get(source, row),
                event_name: get(name, row),
                account: get(account, row)
                    .or_else(|| get(of(identity_null, identity_account), row)),
                kind: get(of(identity_null, kind), row),
                arn: get(of(identity_null, arn), row),
                access_key_id: get(of(identity_null, key), row),
                principal_id: get(of(identity_null, principal_id), row),
                identity_account: get(of(identity_null, identity_account), row),
                user_name: get(of(identity_null, user_name), row),
                invoked_by: get(of(identity_null, invoked_by), row),
                identity_provider: get(of(identity_null, provider), row),
                issuer_arn: get(of(identity_null, issuer_arn), row),
                source_identity: get(of(identity_null, source_identity), row),
                source_ip: get(ip, row),
                user_agent: get(agent, row),
                error_code: get(error, row),
                shared_event_id: get(shared, row),
            };
            self.index.calls += 1;
            count(&mut self.usage, &mut self.scratch, &call);
            if let (Some(key), Some(ip)) = (call.access_key_id, call.source_ip)
                && key.starts_with("ASIA")
                && crate::network::origin_of(ip) == crate::network::Origin::Outside
            {
                let first = UseFromOutside::of(&call, get(region, row));
                self.outside
                    .entry((key.to_owned(), ip.to_owned()))
                    .and_modify(|kept| {
                        if (first.time_us, &first.event_id) < (kept.time_us, &kept.event_id) {
                            *kept = first.clone();
                        }
                    })
                    .or_insert(first);
            }
            if call.error_code.is_none() && may_grant(call.event_source, call.event_name) {
                match exchange {
                    Some((request, response, additional)) => {
                        let exchange = Exchange {
                            request: get(Some(request), row),
                            response: get(Some(response), row),
                            additional: get(Some(additional), row),
                        };
                        self.index.grants.extend(grant_of(&call, &exchange));
                    }
                    None => self.granting.push((self.rows + row, OwnedCall::of(&call))),
                }
            }
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    /// The file's index, and the rows whose grants are still to be read.
    fn finish(self) -> (FileIndex, Vec<(usize, OwnedCall)>) {
        let FileCounter {
            mut index,
            usage,
            outside,
            granting,
            ..
        } = self;
        index.usage = usage
            .into_values()
            .map(|mut u| {
                index.path.clone_into(&mut u.file);
                u
            })
            .collect();
        index.outside = outside.into_values().collect();
        (index, granting)
    }
}

/// Adds `call` to the file's usage. Groups are found by a 128-bit hash of their parts,
/// assembled in `scratch`, so a call of a group already there allocates nothing.
fn count(usage: &mut HashMap<u128, CredentialUsage>, scratch: &mut Vec<u8>, call: &Call<'_>) {
    let parts = [
        call.access_key_id.unwrap_or_default(),
        call.principal(),
        call.account.unwrap_or_default(),
        call.event_source.unwrap_or_default(),
        call.source_ip.unwrap_or_default(),
    ];
    scratch.clear();
    for part in parts {
        scratch.extend_from_slice(part.as_bytes());
        scratch.push(0);
    }
    let entry = usage
        .entry(xxhash_rust::xxh3::xxh3_128(scratch))
        .or_insert_with(|| CredentialUsage {
            access_key_id: parts[0].to_owned(),
            arn: parts[1].to_owned(),
            kind: call.kind.map(str::to_owned),
            issuer_arn: call.issuer_arn.map(str::to_owned),
            source_identity: call.source_identity.map(str::to_owned),
            account: parts[2].to_owned(),
            event_source: parts[3].to_owned(),
            source_ip: parts[4].to_owned(),
            first_us: call.time_us,
            last_us: call.time_us,
            first_event_id: call.event_id.map(str::to_owned),
            ..CredentialUsage::default()
        });
    entry.calls += 1;
    entry.errors += u64::from(call.error_code.is_some());
    if (call.time_us, call.event_id) < (entry.first_us, entry.first_event_id.as_deref()) {
        entry.first_us = call.time_us;
        entry.first_event_id = call.event_id.map(str::to_owned);
    }
    entry.last_us = entry.last_us.max(call.time_us);
    if entry.source_identity.is_none() && call.source_identity.is_some() {
        entry.source_identity = call.source_identity.map(str::to_owned);
    }
}

/// A [`Call`] kept past its batch.
#[derive(Debug, Default, Clone)]
struct OwnedCall {
    fields: [Option<String>; 18],
    time_us: i64,
}

impl OwnedCall {
    fn of(call: &Call<'_>) -> OwnedCall {
        let own = |v: Option<&str>| v.map(str::to_owned);
        OwnedCall {
            time_us: call.time_us,
            fields: [
                own(call.event_id),
                own(call.event_source),
                own(call.event_name),
                own(call.account),
                own(call.kind),
                own(call.arn),
                own(call.access_key_id),
                own(call.principal_id),
                own(call.identity_account),
                own(call.user_name),
                own(call.invoked_by),
                own(call.identity_provider),
                own(call.issuer_arn),
                own(call.source_identity),
                own(call.source_ip),
                own(call.user_agent),
                own(call.error_code),
                own(call.shared_event_id),
            ],
        }
    }

    fn call(&self) -> Call<'_> {
        let f = |i: usize| self.fields[i].as_deref();
        Call {
            time_us: self.time_us,
            event_id: f(0),
            event_source: f(1),
            event_name: f(2),
            account: f(3),
            kind: f(4),
            arn: f(5),
            access_key_id: f(6),
            principal_id: f(7),
            identity_account: f(8),
            user_name: f(9),
            invoked_by: f(10),
            identity_provider: f(11),
            issuer_arn: f(12),
            source_identity: f(13),
            source_ip: f(14),
            user_agent: f(15),
            error_code: f(16),
            shared_event_id: f(17),
        }
    }
}

/// Reads the request and response of the rows in `granting` (ascending) and makes their
/// grants. Only the pages holding those rows are decoded.
fn grants_of(file: File, granting: &[(usize, OwnedCall)]) -> Result<Vec<CredentialGrant>, String> {
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .map_err(|e| e.to_string())?;
    let projection = mask(builder.parquet_schema(), &EXCHANGE)?;
    let mut selectors = Vec::new();
    let mut at = 0;
    for (row, _) in granting {
        if *row > at {
            selectors.push(RowSelector::skip(row - at));
        }
        selectors.push(RowSelector::select(1));
        at = row + 1;
    }
    let reader = builder
        .with_projection(projection)
        .with_row_selection(RowSelection::from(selectors))
        .with_batch_size(1024)
        .build()
        .map_err(|e| e.to_string())?;
    let mut grants = Vec::new();
    let mut calls = granting.iter();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let [request, response, additional] = EXCHANGE.map(|name| text(&batch, name).ok());
        for row in 0..batch.num_rows() {
            let Some((_, call)) = calls.next() else {
                return Err("the file gave more rows than were asked for".to_owned());
            };
            let exchange = Exchange {
                request: get(request, row),
                response: get(response, row),
                additional: get(additional, row),
            };
            grants.extend(grant_of(&call.call(), &exchange));
        }
    }
    Ok(grants)
}
