//! Functions of Trino (CloudTrail Lake's and Athena's engine) that DataFusion has not, or has
//! with other meanings, provided as DataFusion functions with Trino's semantics; and the
//! address tests of Logs Insights.

/// The name and signature accessors every function of ours has alike.
macro_rules! udf_boilerplate {
    ($name:literal) => {
        fn name(&self) -> &str {
            $name
        }

        fn signature(&self) -> &Signature {
            &self.signature
        }
    };
}

mod ip;
mod json;
mod time;

use datafusion::execution::context::SessionContext;

/// Registers the functions with `context`, over DataFusion's own of the same names.
pub(crate) fn register(context: &SessionContext) {
    for udf in json::udfs()
        .into_iter()
        .chain(time::udfs())
        .chain(ip::udfs())
    {
        context.register_udf(udf);
    }
}
