//! One module per subcommand; each turns parsed arguments into library calls.

pub(crate) mod alert;
pub(crate) mod cat;
pub(crate) mod catalog;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod export;
pub(crate) mod generate;
pub(crate) mod hunt;
pub(crate) mod ingest;
pub(crate) mod insights;
pub(crate) mod policy;
pub(crate) mod posture;
pub(crate) mod pull;
pub(crate) mod query;
pub(crate) mod report;
pub(crate) mod retention;
pub(crate) mod rules;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod trace;
pub(crate) mod validate;
pub(crate) mod watch;
