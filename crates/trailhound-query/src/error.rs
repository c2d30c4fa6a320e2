use thiserror::Error;

/// What can go wrong with a query, sorted by who is at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The statement is not a read-only query (DDL, DML, COPY, SET, …).
    #[error(
        "only read-only queries are allowed: {0}. Use SELECT (with WITH, JOIN, UNION, …) over \
         the events table; ingest changes the lake"
    )]
    NotReadOnly(String),
    /// The SQL is malformed, or names a table, column or function that does not exist.
    #[error("{0}")]
    Plan(String),
    /// The query needed more memory than its engine may use.
    #[error(
        "the query needs more memory than this server allows ({0}); narrow it with WHERE on \
         eventTime, account or region, or aggregate instead of returning rows"
    )]
    Exhausted(String),
    /// The query failed while running.
    #[error("query failed: {0}")]
    Execution(String),
    /// The lake could not be opened.
    #[error(transparent)]
    Lake(#[from] trailhound_lake::LakeError),
    /// Writing results failed.
    #[error("writing results: {0}")]
    Output(String),
    /// Whoever read the results stopped reading (`trailhound query … | head`): not a failure,
    /// the caller should stop quietly.
    #[error("the output was closed before all results were written")]
    OutputClosed,
    /// A broken invariant: a bug in Trailhound.
    #[error("internal error, please report it as a bug: {0}")]
    Internal(String),
}

impl From<datafusion::error::DataFusionError> for QueryError {
    fn from(err: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError as E;
        match err.find_root() {
            E::SQL(..) | E::Plan(..) | E::SchemaError(..) | E::NotImplemented(..) => {
                QueryError::Plan(without_settings_advice(&err.find_root().to_string()))
            }
            E::Internal(message) => QueryError::Internal(message.clone()),
            E::ResourcesExhausted(message) => QueryError::Exhausted(message.clone()),
            _ => QueryError::Execution(err.to_string()),
        }
    }
}

/// DataFusion follows a wrongly cased column name with advice to quote it or to switch off
/// `datafusion.sql_parser.enable_ident_normalization`: advice for a DataFusion user. Here names
/// are already case-sensitive and settings cannot be changed (`SET` is refused), so that
/// sentence becomes one about CloudTrail's names; its "Did you mean …?" before it stays.
fn without_settings_advice(message: &str) -> String {
    const ADVICE_STARTS: &str = "Column names are case sensitive.";
    const ADVICE_ENDS: &str = "enable_ident_normalization configuration.";
    let Some(start) = message.find(ADVICE_STARTS) else {
        return message.to_owned();
    };
    let Some(end) = message[start..].find(ADVICE_ENDS) else {
        return message.to_owned();
    };
    format!(
        "{}Column names are case-sensitive and spelled as CloudTrail writes them \
         (eventName, userIdentity.arn).{}",
        &message[..start],
        &message[start + end + ADVICE_ENDS.len()..]
    )
}
