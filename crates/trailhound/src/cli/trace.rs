//! `trailhound trace`'s arguments.

use clap::{Args, ValueEnum};
use trailhound_query::{TimeBound, parse_time_bound};

/// `trailhound trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// What to trace: an access key id (`ASIA…`, `AKIA…`), a session ARN
    /// (`arn:aws:sts::111122223333:assumed-role/deploy/alice`), a user, root or role ARN (a
    /// role: its most recent sessions), or the eventID of any event (its caller).
    pub(crate) what: String,
    /// Only sessions handed out or active since then: an age (7d), a date or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_bound, value_name = "TIME")]
    pub(crate) since: Option<TimeBound>,
    /// tree: the chain for people; json: all of it, for tooling; dot: a Graphviz digraph
    /// (`| dot -Tsvg > trace.svg`).
    #[arg(long, value_enum, default_value_t = TraceFormat::Tree)]
    pub(crate) format: TraceFormat,
    /// Most sessions in one trace.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub(crate) max_sessions: usize,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TraceFormat {
    /// An indented tree.
    Tree,
    /// JSON.
    Json,
    /// Graphviz.
    Dot,
}
