//! What translating a Logs Insights query into SQL costs, in-process: the five reference
//! queries of `scripts/bench-dialects` in Logs Insights, each translated many times. Prints
//! the mean per translation. `cargo bench -p trailhound-query --bench translation`.

use std::time::Instant;

const QUERIES: [&str; 5] = [
    "stats count(*) as n by userIdentity.arn | sort n desc | limit 20",
    "filter eventName like /^Delete/ | fields eventTime, eventName, userIdentity.arn | sort eventTime asc",
    "filter eventName = 'ConsoleLogin' and errorMessage = 'Failed authentication' | stats count(*) as n by sourceIPAddress | sort n desc",
    "filter ispresent(errorCode) | stats count(*) as n by bin(1h)",
    "filter eventID = '5b0a3c1e-0000-4000-8000-000000000001' | fields @message",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const ROUNDS: u32 = 20_000;
    for query in QUERIES {
        // Warm up, and fail loudly on a query that does not translate.
        trailhound_query::logs_insights_to_sql(query)?;
        let started = Instant::now();
        for _ in 0..ROUNDS {
            std::hint::black_box(trailhound_query::logs_insights_to_sql(
                std::hint::black_box(query),
            )?);
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
        println!("{micros:8.1} µs  {query}");
    }
    Ok(())
}
