//! `trailhound trace`, the identity index and the chain signals: on the project's fixture of
//! seven chains (tests/fixtures/identity, written by its make.py) and on the real public
//! samples in ../shared/corpus, the trace from the last event of each chain names the true
//! origin; the chain rules fire on the planted cases and not on the benign chains; the index
//! counts every call exactly once through re-ingests and compaction.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{TestResult, fixture, lake_run, path_str};

/// A lake holding the identity fixture.
fn fixture_lake() -> Result<(tempfile::TempDir, PathBuf), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let out = lake_run(&data, &["ingest", &fixture("identity/logs")])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok((dir, data))
}

/// The fixture's eventID of the event `make.py` named `name` (its names.json).
fn event_id(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let names: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(fixture("identity/names.json"))?)?;
    names
        .get(name)
        .cloned()
        .ok_or_else(|| format!("no event {name} in the fixture").into())
}

fn trace_json(data: &Path, what: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let out = lake_run(data, &["trace", what, "--format", "json"])?;
    assert_eq!(out.code, 0, "trace {what}: {}", out.stderr);
    Ok(serde_json::from_str(&out.stdout)?)
}

/// The origins (kind, who) of a trace's chains.
fn origins(trace: &Value) -> Vec<(String, String)> {
    trace["chains"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["origin"]["kind"].as_str().unwrap_or_default().to_owned(),
                c["origin"]["who"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Every node of a trace, depth first, with its depth.
fn nodes(trace: &Value) -> Vec<(usize, Value)> {
    fn walk(node: &Value, depth: usize, out: &mut Vec<(usize, Value)>) {
        out.push((depth, node.clone()));
        for child in node["children"].as_array().into_iter().flatten() {
            walk(child, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    for chain in trace["chains"].as_array().into_iter().flatten() {
        walk(&chain["root"], 0, &mut out);
    }
    out
}

#[test]
fn the_trace_from_the_last_event_of_each_chain_names_its_origin() -> TestResult {
    let (_dir, data) = fixture_lake()?;
    let cases = [
        (
            "chain/audit-roles",
            "iam-user-key",
            "arn:aws:iam::111122223333:user/alice",
        ),
        ("saml/attach", "saml-federation", "bob@example.com"),
        (
            "instance/admin-key",
            "instance-profile",
            "i-0abc1234def567890",
        ),
        (
            "loop/list",
            "iam-user-key",
            "arn:aws:iam::111122223333:user/carol",
        ),
        (
            "long/end",
            "iam-user-key",
            "arn:aws:iam::111122223333:user/dave",
        ),
        (
            "ci/use",
            "iam-user-key",
            "arn:aws:iam::111122223333:user/ci-bot",
        ),
        (
            "console/describe",
            "console-sign-in",
            "arn:aws:iam::111122223333:user/erin",
        ),
    ];
    for (name, kind, who) in cases {
        let trace = trace_json(&data, &event_id(name)?)?;
        assert_eq!(
            origins(&trace),
            vec![(kind.to_owned(), who.to_owned())],
            "{name}: {trace:#}"
        );
    }
    Ok(())
}

#[test]
fn a_cross_account_chain_is_drawn_hop_by_hop_with_what_each_session_did() -> TestResult {
    let (_dir, data) = fixture_lake()?;
    let trace = trace_json(&data, "ASIAAUDITEXAMPLE0001")?;
    let all = nodes(&trace);
    let path: Vec<(usize, &str)> = all
        .iter()
        .map(|(depth, n)| (*depth, n["principal"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        path,
        vec![
            (0, "arn:aws:iam::111122223333:user/alice"),
            (1, "arn:aws:sts::111122223333:assumed-role/deploy/alice"),
            (
                2,
                "arn:aws:sts::444455556666:assumed-role/audit/alice-audit"
            ),
        ],
        "{trace:#}"
    );
    let (_, audit) = &all[2];
    assert_eq!(audit["traced"], true);
    assert_eq!(audit["granted"]["method"], "AssumeRole");
    assert_eq!(audit["granted"]["source_ip"], "203.0.113.10");
    assert_eq!(audit["usage"]["calls"], 3, "{audit:#}");
    assert_eq!(audit["usage"]["errors"], 1);
    assert_eq!(
        audit["usage"]["source_ips"],
        serde_json::json!(["198.51.100.77", "203.0.113.10"])
    );
    let services: BTreeMap<String, u64> = audit["usage"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["service"].as_str().unwrap_or_default().to_owned(),
                s["calls"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        services,
        BTreeMap::from([
            ("iam.amazonaws.com".to_owned(), 2),
            ("s3.amazonaws.com".to_owned(), 1)
        ])
    );
    // The deploy session: its own calls (two) and the AssumeRole it made.
    assert_eq!(all[1].1["usage"]["calls"], 3);

    // The tree for people says the same, and the address change.
    let out = lake_run(&data, &["trace", "ASIAAUDITEXAMPLE0001"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("origin: long-term access key AKIAIOSFODNN7ALICE01 of arn:aws:iam::111122223333:user/alice\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("◀ traced"), "{}", out.stdout);
    assert!(
        out.stdout.contains("(changed within the session)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("iam 2, s3 1 (1 err)"), "{}", out.stdout);

    // Graphviz: one node per session plus the origin, one edge per hop.
    let out = lake_run(&data, &["trace", "ASIAAUDITEXAMPLE0001", "--format", "dot"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("digraph trace {"), "{}", out.stdout);
    assert_eq!(out.stdout.matches(" -> ").count(), 3, "{}", out.stdout);
    assert!(out.stdout.contains("AssumeRole 2024-07-10T10:05:00Z"));
    Ok(())
}

#[test]
fn forward_from_a_session_shows_everything_minted_from_it() -> TestResult {
    let (_dir, data) = fixture_lake()?;
    // dave's key: four hops below it.
    let trace = trace_json(&data, "AKIADAVEEXAMPLE00001")?;
    let depths: Vec<(usize, String)> = nodes(&trace)
        .into_iter()
        .map(|(d, n)| (d, n["principal"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(depths.len(), 5, "{trace:#}");
    assert_eq!(
        depths[4],
        (
            4,
            "arn:aws:sts::111122223333:assumed-role/hop4/dave".to_owned()
        )
    );
    // The instance profile's session: the admin session it minted hangs below it.
    let trace = trace_json(
        &data,
        "arn:aws:sts::111122223333:assumed-role/web/i-0abc1234def567890",
    )?;
    let principals: Vec<String> = nodes(&trace)
        .into_iter()
        .map(|(_, n)| n["principal"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        principals,
        vec![
            "arn:aws:sts::111122223333:assumed-role/web/i-0abc1234def567890",
            "arn:aws:sts::111122223333:assumed-role/admin/pwn"
        ]
    );
    // A role ARN: its sessions.
    let trace = trace_json(&data, "arn:aws:iam::111122223333:role/ci")?;
    let keys: BTreeSet<String> = nodes(&trace)
        .into_iter()
        .filter_map(|(_, n)| n["access_key_id"].as_str().map(str::to_owned))
        .filter(|k| k.starts_with("ASIA"))
        .collect();
    assert!(keys.contains("ASIACIEXAMPLE0000043"), "{keys:?}");
    Ok(())
}

/// Findings by rule (the chain rules by id, the pack's Sigma rules by title): the eventIDs
/// each fired on.
fn fired(data: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, Box<dyn std::error::Error>> {
    let out = lake_run(
        data,
        &[
            "query",
            "--format",
            "json",
            "SELECT CASE WHEN ruleId LIKE 'trailhound-%' THEN ruleId ELSE ruleTitle END AS ruleId, \
             eventIds FROM findings",
        ],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<Value> = serde_json::from_str(&out.stdout)?;
    let mut by_rule: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        let rule = row["ruleId"].as_str().unwrap_or_default().to_owned();
        let ids: Vec<String> = match &row["eventIds"] {
            Value::Array(ids) => ids
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            Value::String(text) => serde_json::from_str(text).unwrap_or_default(),
            _ => Vec::new(),
        };
        by_rule.entry(rule).or_default().extend(ids);
    }
    Ok(by_rule)
}

#[test]
fn the_chain_rules_fire_on_the_planted_cases_and_not_on_the_benign_chains() -> TestResult {
    let (_dir, data) = fixture_lake()?;
    let fired = fired(&data)?;
    let ids = |names: &[&str]| -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        names.iter().map(|n| event_id(n)).collect()
    };
    let expect = [
        (
            "trailhound-chain-instance-credentials-outside-aws",
            ids(&["instance/outside"])?,
        ),
        ("trailhound-chain-too-long", ids(&["long/hop4"])?),
        // The audit session's key from a second address (the instance session's is the
        // instance rule's).
        (
            "trailhound-chain-session-address-changed",
            ids(&["chain/audit-roles"])?,
        ),
        (
            "trailhound-chain-source-identity-missing",
            ids(&["ci/without"])?,
        ),
        // New role-to-role edges: the instance role reaching admin, the loop, dave's hops
        // (deploy -> audit was walked on 2024-07-01, the lake's first day).
        (
            "trailhound-chain-new-role-edge",
            ids(&[
                "instance/escalate",
                "loop/again",
                "long/hop2",
                "long/hop3",
                "long/hop4",
            ])?,
        ),
    ];
    for (rule, planted) in &expect {
        assert_eq!(fired.get(*rule), Some(planted), "{rule}: {fired:#?}");
    }
    // The self-assume rule (the pack's Sigma rule).
    assert_eq!(
        fired.get("Role assumed itself"),
        Some(&ids(&["loop/again"])?),
        "{fired:#?}"
    );
    // Nothing of the chain family on the benign chains: alice's deploy/audit hops, the SAML
    // session, the console switch, ci's sessions with their source identity.
    let benign = ids(&[
        "chain/alice-deploy",
        "chain/deploy-audit",
        "chain/deploy-audit-copy",
        "chain/deploy-s3",
        "saml/assume",
        "saml/create-user",
        "console/switch",
        "console/describe",
        "instance/inside",
        "loop/first",
        "long/hop1",
    ])?;
    for (rule, ids) in &fired {
        if rule.starts_with("trailhound-chain-") {
            let wrong: Vec<&String> = ids.intersection(&benign).collect();
            assert!(wrong.is_empty(), "{rule} fired on benign events {wrong:?}");
        }
    }
    Ok(())
}

#[test]
fn the_sessions_table_answers_the_join_recipes_in_one_line() -> TestResult {
    let (_dir, data) = fixture_lake()?;
    let out = lake_run(
        &data,
        &[
            "query",
            "--format",
            "csv",
            "SELECT accessKeyId, originType, origin, depth, calls, errors, cardinality(sourceIPs) AS ips \
             FROM sessions WHERE accessKeyId IN ('ASIAAUDITEXAMPLE0001', 'ASIAHOP4EXAMPLE0001', 'ASIASAMLEXAMPLE00001') \
             ORDER BY accessKeyId",
        ],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "accessKeyId,originType,origin,depth,calls,errors,ips\n\
         ASIAAUDITEXAMPLE0001,iam-user-key,arn:aws:iam::111122223333:user/alice,2,3,1,2\n\
         ASIAHOP4EXAMPLE0001,iam-user-key,arn:aws:iam::111122223333:user/dave,4,1,0,1\n\
         ASIASAMLEXAMPLE00001,saml-federation,bob@example.com,1,2,0,1\n"
    );
    Ok(())
}

#[test]
fn the_index_counts_each_call_once_through_reingests_and_compaction() -> TestResult {
    let (_dir, data) = fixture_lake()?;
    let sql = "SELECT sum(calls) AS calls, count(*) AS sessions FROM sessions";
    let before = lake_run(&data, &["query", "--format", "csv", sql])?;
    assert_eq!(before.code, 0, "{}", before.stderr);
    // Every event of the fixture is counted once.
    assert!(
        before.stdout.starts_with("calls,sessions\n34,"),
        "{}",
        before.stdout
    );
    let again = lake_run(&data, &["ingest", "--force", &fixture("identity/logs")])?;
    assert_eq!(again.code, 0, "{}", again.stderr);
    let compact = lake_run(&data, &["compact"])?;
    assert_eq!(compact.code, 0, "{}", compact.stderr);
    // compact retires files (their counts go with them) and counts the merged ones.
    let after = lake_run(&data, &["query", "--format", "csv", sql])?;
    assert_eq!(after.stdout, before.stdout);
    Ok(())
}

#[test]
fn counting_the_rows_an_ingest_writes_matches_reading_the_files_back() -> TestResult {
    // An ingest counts its files from the rows it holds; `trace` on a lake ingested without
    // the index reads the same files back. Both must index the same sessions and signals.
    let (dir, counted) = fixture_lake()?;
    let read_back = dir.path().join("read-back");
    let out = lake_run(
        &read_back,
        &["ingest", "--no-identity", &fixture("identity/logs")],
    )?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = lake_run(
        &read_back,
        &[
            "query",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM sessions",
        ],
    )?;
    assert_eq!(before.stdout, "n\n0\n", "{}", before.stderr);
    let trace = lake_run(&read_back, &["trace", "ASIAHOP4EXAMPLE0001"])?;
    assert_eq!(trace.code, 0, "{}", trace.stderr);
    let sql = "SELECT * FROM sessions ORDER BY session, accessKeyId";
    let [counted_sessions, read_sessions] = [&counted, &read_back]
        .map(|data| lake_run(data, &["query", "--format", "json", sql]).map(|out| out.stdout));
    let counted_sessions = counted_sessions?;
    assert!(counted_sessions.contains("ASIAHOP4EXAMPLE0001"));
    assert_eq!(counted_sessions, read_sessions?);
    let chain = |fired: BTreeMap<String, BTreeSet<String>>| {
        fired
            .into_iter()
            .filter(|(rule, _)| rule.starts_with("trailhound-chain-"))
            .collect::<BTreeMap<_, _>>()
    };
    let counted_signals = chain(fired(&counted)?);
    assert!(!counted_signals.is_empty());
    assert_eq!(counted_signals, chain(fired(&read_back)?));
    Ok(())
}

#[test]
fn wrong_input_gets_a_message_and_exit_code_2() -> TestResult {
    let (_dir, data) = fixture_lake()?;
    for (what, says) in [
        ("ASIANOTINTHELAKE0000", "knows no calls or credentials"),
        (
            "arn:aws:sts::111122223333:assumed-role/nobody/x",
            "knows no calls or credentials",
        ),
        ("not-an-event-id", "no event of the lake has it as eventID"),
    ] {
        let out = lake_run(&data, &["trace", what])?;
        assert_eq!(out.code, 2, "{what}: {}", out.stdout);
        assert!(out.stderr.contains(says), "{what}: {}", out.stderr);
    }
    // An empty lake: nothing to trace, said plainly.
    let empty = tempfile::tempdir()?;
    let out = lake_run(
        &empty.path().join("data"),
        &["trace", "ASIAAUDITEXAMPLE0001"],
    )?;
    assert_eq!(out.code, 2, "{}", out.stderr);
    Ok(())
}

/// The real samples with whole chains: the last event made with temporary credentials, traced,
/// names the origin the sample itself records (the long-term key that asked for those
/// credentials, or the instance whose profile they came from).
#[test]
fn real_samples_trace_to_their_recorded_origin() -> TestResult {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/data/DataDog+stratus-red-team");
    let samples = [
        "aws.defense-evasion.organizations-leave.json",
        "aws.discovery.ec2-download-user-data.json",
        "aws.credential-access.ec2-get-password-data.json",
        "aws.execution.ec2-launch-unusual-instances.json",
        "aws.persistence.sts-federation-token.json",
        "aws.credential-access.ec2-steal-instance-credentials.json",
    ];
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let paths: Vec<String> = samples.iter().map(|s| path_str(&corpus.join(s))).collect();
    let mut args = vec!["ingest"];
    args.extend(paths.iter().map(String::as_str));
    let out = lake_run(&data, &args)?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for sample in samples {
        let file: Value = serde_json::from_slice(&std::fs::read(corpus.join(sample))?)?;
        // Stratus Red Team writes a bare array of records.
        let records: Vec<&Value> = file
            .as_array()
            .or_else(|| file["Records"].as_array())
            .into_iter()
            .flatten()
            .collect();
        let last = records
            .iter()
            .filter(|r| {
                r["userIdentity"]["accessKeyId"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("ASIA"))
            })
            .max_by_key(|r| r["eventTime"].as_str().unwrap_or_default().to_owned())
            .ok_or(format!("{sample}: no event with temporary credentials"))?;
        let key = last["userIdentity"]["accessKeyId"]
            .as_str()
            .unwrap_or_default();
        // What the sample records as the key's origin: the caller of the call that handed it out.
        let granted_by = records
            .iter()
            .find(|r| r["responseElements"]["credentials"]["accessKeyId"].as_str() == Some(key));
        let expected = match granted_by {
            Some(grant) => (
                "iam-user-key".to_owned(),
                grant["userIdentity"]["arn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            None => {
                let principal = last["userIdentity"]["principalId"]
                    .as_str()
                    .unwrap_or_default();
                let instance = principal.rsplit(':').next().unwrap_or_default();
                assert!(instance.starts_with("i-"), "{sample}: {principal}");
                ("instance-profile".to_owned(), instance.to_owned())
            }
        };
        let event = last["eventID"].as_str().unwrap_or_default();
        let trace = trace_json(&data, event)?;
        assert_eq!(origins(&trace), vec![expected], "{sample}: {trace:#}");
    }
    // The instance credentials were used from an EC2 address of us-west-2: inside AWS, so
    // not a finding of the outside-AWS rule.
    let fired = fired(&data)?;
    assert!(
        !fired.contains_key("trailhound-chain-instance-credentials-outside-aws"),
        "{fired:#?}"
    );
    Ok(())
}
