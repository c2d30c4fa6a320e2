//! An open CloudTrail Insights engine.
//!
//! AWS CloudTrail Insights watches the per-minute rate of each API's calls and errors in an
//! account and region, compares it with a baseline of the preceding days, and writes a Start
//! and an End *Insights event* around anything unusual. This crate does the same over the
//! lake, openly and over any stretch of history at once:
//!
//! ```text
//! lake ──one scan──► History ──► Series ──detect──► Anomaly ──► InsightRecord (AWS JSON)
//!                  (history.rs)  (series.rs)  (detect.rs)         (record.rs) ──► catalog,
//!                        │                                                       export.rs
//!                        └──► first events ──► first-seen findings (first_seen.rs)
//! ```
//!
//! - [`History`]: one streamed pass gathers both the per-minute counts (from the baseline of
//!   the stretch asked for on) and the first event of every combination the first-seen
//!   detections compare, in the lake files not yet folded into the catalog's first-seen
//!   tables. The counts of older files are read by a second scan, limited to the baseline.
//!
//! - [`series`]: what is counted. `ApiCallRateInsight` per account, region, `eventSource`
//!   and `eventName` (all management API calls by default, writes only with
//!   [`Settings::write_only`] as AWS does); `ApiErrorRateInsight` per API *and* error code.
//! - [`detect()`]: the rule that starts and ends an insight, documented in [`detect`] and
//!   tuned by [`Settings`].
//! - [`record`]: Start/End records in CloudTrail's exact format and field order, with stable
//!   ids so recomputing never duplicates.
//! - [`compute`]: the lake side (counts, coverage, attributions), shared by a backfill and by
//!   each ingest; [`export()`] writes `CloudTrail-Insight` files; [`chart`] explains one.
//! - [`first_seen()`]: beyond Insights, a principal, access key or account doing something
//!   for the first time in its history (region, network, client, API), as findings. The
//!   catalog remembers every entity's and pair's first event, so an ingest reads only the
//!   files it added, however large the lake has grown.
#![deny(missing_docs)]

pub mod chart;
mod columns;
pub mod detect;
mod error;
pub mod explain;
pub mod export;
mod first_seen;
mod history;
mod lake;
mod poisson;
pub mod record;
pub mod series;

pub use detect::{Anomaly, Coverage, Settings, detect};
pub use error::InsightsError;
pub use explain::{
    INSIGHT_RECORDS_SQL, InsightEvent, RecordedInsight, find_insight, group_insights,
    insight_events, insight_minutes,
};
pub use export::export;
pub use first_seen::{FirstSeen, first_seen};
pub use history::History;
pub use lake::{
    Computation, Insight, compute, coverage_of, series_between, series_from, series_sql,
};
pub use record::{Attribution, InsightRecord, State};
pub use series::{InsightType, Minute, Series, SeriesKey};
