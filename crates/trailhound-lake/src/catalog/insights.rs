//! The Insights events Trailhound computed, replaced stretch by stretch as they are
//! computed again.

use crate::{Catalog, LakeError};

/// An Insights event Trailhound computed, as the catalog holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredInsight {
    /// The record's `eventID`.
    pub event_id: String,
    /// Shared by the Start and End records of one insight.
    pub shared_event_id: String,
    /// `Start` or `End`.
    pub state: String,
    /// The record's `eventTime`.
    pub event_time: String,
    /// The insight's first minute, in microseconds since the epoch.
    pub start_us: i64,
    /// `recipientAccountId`.
    pub account: String,
    /// `awsRegion`.
    pub region: String,
    /// The API's service.
    pub event_source: String,
    /// The API.
    pub event_name: String,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: String,
    /// For error-rate insights.
    pub error_code: Option<String>,
    /// Calls (or errors) per minute in the baseline.
    pub baseline_average: f64,
    /// Calls (or errors) per minute during the insight.
    pub insight_average: f64,
    /// Minutes, once known.
    pub insight_duration: Option<i64>,
    /// Minutes of baseline.
    pub baseline_duration: i64,
    /// The whole record as CloudTrail writes it.
    pub record: String,
}

impl Catalog {
    /// Replaces the computed insights that start in `[from_us, to_us)` with `insights`, in one
    /// transaction, so that recomputing a stretch of history never leaves it half done.
    pub fn replace_insights(
        &mut self,
        from_us: i64,
        to_us: i64,
        insights: &[StoredInsight],
    ) -> Result<(), LakeError> {
        let now = chrono::Utc::now().to_rfc3339();
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "DELETE FROM insights WHERE start_us >= ?1 AND start_us < ?2",
            [from_us, to_us],
        )?;
        {
            let mut insert = transaction.prepare(
                "INSERT OR REPLACE INTO insights (event_id, shared_event_id, state, event_time, start_us, account,
                    region, event_source, event_name, insight_type, error_code, baseline_average,
                    insight_average, insight_duration, baseline_duration, record, computed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?;
            for insight in insights {
                insert.execute(rusqlite::params![
                    insight.event_id,
                    insight.shared_event_id,
                    insight.state,
                    insight.event_time,
                    insight.start_us,
                    insight.account,
                    insight.region,
                    insight.event_source,
                    insight.event_name,
                    insight.insight_type,
                    insight.error_code,
                    insight.baseline_average,
                    insight.insight_average,
                    insight.insight_duration,
                    insight.baseline_duration,
                    insight.record,
                    now,
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Every computed insight record, by time.
    pub fn insights(&self) -> Result<Vec<StoredInsight>, LakeError> {
        let mut statement = self.connection.prepare(
            "SELECT event_id, shared_event_id, state, event_time, start_us, account, region, event_source,
                    event_name, insight_type, error_code, baseline_average, insight_average,
                    insight_duration, baseline_duration, record
             FROM insights ORDER BY start_us, shared_event_id, state DESC",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(record_from_row!(
                row,
                StoredInsight {
                    event_id,
                    shared_event_id,
                    state,
                    event_time,
                    start_us,
                    account,
                    region,
                    event_source,
                    event_name,
                    insight_type,
                    error_code,
                    baseline_average,
                    insight_average,
                    insight_duration,
                    baseline_duration,
                    record,
                }
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The first minute of insights that have started but not ended (their End needs data
    /// that had not arrived), so that the next computation starts early enough to end them.
    pub fn earliest_open_insight_us(&self) -> Result<Option<i64>, LakeError> {
        Ok(self.connection.query_row(
            "SELECT min(start_us) FROM insights s WHERE state = 'Start' AND NOT EXISTS
                (SELECT 1 FROM insights e WHERE e.shared_event_id = s.shared_event_id AND e.state = 'End')",
            [],
            |row| row.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insight(shared: &str, state: &str, start_us: i64) -> StoredInsight {
        StoredInsight {
            event_id: format!("{shared}-{state}"),
            shared_event_id: shared.to_owned(),
            state: state.to_owned(),
            event_time: "2024-07-01T00:00:00Z".to_owned(),
            start_us,
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            event_source: "ec2.amazonaws.com".to_owned(),
            event_name: "RunInstances".to_owned(),
            insight_type: "ApiCallRateInsight".to_owned(),
            error_code: None,
            baseline_average: 0.5,
            insight_average: 12.0,
            insight_duration: None,
            baseline_duration: 10080,
            record: "{}".to_owned(),
        }
    }

    #[test]
    fn insights_are_replaced_by_stretch_and_open_ones_are_remembered()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut catalog = Catalog::open(&dir.path().join("catalog.sqlite"))?;
        catalog.replace_insights(
            0,
            100,
            &[
                insight("a", "Start", 10),
                insight("a", "End", 10),
                insight("b", "Start", 50),
            ],
        )?;
        assert_eq!(catalog.insights()?.len(), 3);
        // "b" has no End yet: the next computation must start at its start.
        assert_eq!(catalog.earliest_open_insight_us()?, Some(50));
        // Recomputing [40, 100) replaces "b" (now ended) and leaves "a" alone.
        catalog.replace_insights(
            40,
            100,
            &[insight("b", "Start", 50), insight("b", "End", 50)],
        )?;
        assert_eq!(catalog.insights()?.len(), 4);
        assert_eq!(catalog.earliest_open_insight_us()?, None);
        // Recomputing a stretch that now holds nothing unusual empties it.
        catalog.replace_insights(0, 40, &[])?;
        let left: Vec<String> = catalog
            .insights()?
            .into_iter()
            .map(|i| i.event_id)
            .collect();
        assert_eq!(left, vec!["b-Start", "b-End"]);
        Ok(())
    }
}
