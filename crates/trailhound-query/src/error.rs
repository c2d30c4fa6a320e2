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
        // The optimizer folds the query's constants: what fails there is a value the query
        // wrote ('yesterday' as a time), not the run.
        let folding_constants = err.to_string().starts_with("Optimizer rule");
        match err.find_root() {
            E::SQL(..) | E::Plan(..) | E::SchemaError(..) | E::NotImplemented(..) => {
                QueryError::Plan(crate::messages::plain(&err.find_root().to_string()))
            }
            E::ArrowError(..) | E::Execution(..) if folding_constants => {
                QueryError::Plan(crate::messages::plain(&err.find_root().to_string()))
            }
            E::Internal(message) => QueryError::Internal(crate::messages::plain(message)),
            E::ResourcesExhausted(message) => QueryError::Exhausted(message.clone()),
            root => QueryError::Execution(crate::messages::plain(&root.to_string())),
        }
    }
}
