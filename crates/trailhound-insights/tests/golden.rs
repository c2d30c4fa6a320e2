//! Golden tests: our Insights records against CloudTrail's documented examples, byte for byte
//! once the examples' indentation is removed (field order included).

use trailhound_insights::{Attribution, InsightRecord, InsightType, SeriesKey, State};

/// The documented example with its whitespace removed (none of its strings hold spaces that
/// matter outside quotes).
fn compact(json: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn minute(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp() / 60)
        .unwrap_or_default()
}

#[test]
fn call_rate_start_matches_the_documented_example() {
    let role = |n: u8| format!("arn:aws:sts::012345678901:assumed-role/CodeDeployRole{n}");
    let record = InsightRecord {
        event_id: "abcd00b0-ccfe-422d-961c-98a2198a408x".into(),
        shared_event_id: "7bb000gg-22b3-4c03-94af-c74tj0c8m7c0".into(),
        state: State::Start,
        event_time: minute("2020-07-21T20:56:00Z"),
        key: SeriesKey {
            account: "838185438692".into(),
            region: "us-east-1".into(),
            event_source: "autoscaling.amazonaws.com".into(),
            event_name: "CompleteLifecycleAction".into(),
            insight_type: InsightType::ApiCallRate,
            error_code: None,
        },
        baseline_average: 0.0000882145,
        insight_average: 0.6,
        insight_duration: Some(5),
        baseline_duration: 11336,
        attributions: vec![
            Attribution {
                attribute: "userIdentityArn",
                insight: (1..=3).map(|n| (role(n), 0.2)).collect(),
                baseline: vec![(role(1), 0.0000882145)],
            },
            Attribution {
                attribute: "userAgent",
                insight: vec![("codedeploy.amazonaws.com".into(), 0.6)],
                baseline: vec![("codedeploy.amazonaws.com".into(), 0.0000882145)],
            },
            Attribution {
                attribute: "errorCode",
                insight: vec![("null".into(), 0.6)],
                baseline: vec![("null".into(), 0.0000882145)],
            },
        ],
    };
    let expected = compact(include_str!("golden/call-rate-start.json"));
    assert_eq!(record.to_json(), expected);
}

#[test]
fn error_rate_end_carries_the_error_code() {
    let record = InsightRecord {
        event_id: "EXAMPLEc-28be-486c-8928-49ce6EXAMPLE".into(),
        shared_event_id: "EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE".into(),
        state: State::End,
        event_time: minute("2019-11-14T00:52:00Z"),
        key: SeriesKey {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            event_source: "ssm.amazonaws.com".into(),
            event_name: "UpdateInstanceInformation".into(),
            insight_type: InsightType::ApiErrorRate,
            error_code: Some("ThrottlingException".into()),
        },
        baseline_average: 85.420_238_095_2,
        insight_average: 664.0,
        insight_duration: Some(1),
        baseline_duration: 10080,
        attributions: Vec::new(),
    };
    let expected = compact(include_str!("golden/error-rate-end.json"));
    assert_eq!(record.to_json(), expected);
    // And it is valid JSON that CloudTrail readers accept.
    let parsed: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap_or_default();
    assert_eq!(parsed["insightDetails"]["errorCode"], "ThrottlingException");
}
