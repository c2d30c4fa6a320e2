//! `trailhound policy`: a principal's known activity (S3, Lambda with a role, EC2 with an
//! instance profile, KMS, API Gateway, STS, and calls refused) becomes the policy allowing
//! exactly it; every action exists in the Service Authorization Reference; the document
//! parses as IAM's grammar.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::{TestResult, lake_run, path_str};

const ACCOUNT: &str = "111122223333";

/// The `deploy` role's sessions doing one of each kind of call, and another role's call.
fn activity() -> Value {
    let session = |role: &str| {
        json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:ci",
               "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/ci"), "accountId": ACCOUNT,
               "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                   "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"), "accountId": ACCOUNT, "userName": role}}})
    };
    let mut n = 0;
    let mut event = |role: &str, source: &str, name: &str, request: Value, extra: Value| {
        n += 1;
        let mut e = json!({
            "eventVersion": "1.09", "userIdentity": session(role),
            "eventTime": format!("2024-07-01T10:{:02}:00Z", n), "eventSource": source,
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.1",
            "userAgent": "aws-cli/2", "requestParameters": request,
            "eventID": format!("policy-{n:03}"), "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT
        });
        if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
            e.extend(extra.clone());
        }
        e
    };
    let object = |key: &str| {
        json!({"resources": [
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::artifacts/{key}")},
            {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::artifacts", "accountId": ACCOUNT}]})
    };
    let s3 = "s3.amazonaws.com";
    json!({"Records": [
        event("deploy", s3, "GetObject", json!({"bucketName": "artifacts", "key": "app.zip"}), object("app.zip")),
        event("deploy", s3, "HeadObject", json!({"bucketName": "artifacts", "key": "app.zip"}), object("app.zip")),
        event("deploy", s3, "ListObjects", json!({"bucketName": "artifacts", "prefix": "builds/"}), json!({})),
        event("deploy", s3, "CopyObject", json!({"bucketName": "artifacts", "key": "release/app.zip",
            "x-amz-copy-source": "artifacts/app.zip"}), object("release/app.zip")),
        event("deploy", s3, "UploadPart", json!({"bucketName": "artifacts", "key": "big.bin", "partNumber": "1"}), object("big.bin")),
        event("deploy", s3, "CompleteMultipartUpload", json!({"bucketName": "artifacts", "key": "big.bin"}), object("big.bin")),
        event("deploy", "lambda.amazonaws.com", "CreateFunction20150331", json!({"functionName": "api",
            "role": format!("arn:aws:iam::{ACCOUNT}:role/api-exec"), "runtime": "python3.12"}), json!({})),
        event("deploy", "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", json!({"functionName": "api"}), json!({})),
        event("deploy", "ec2.amazonaws.com", "RunInstances", json!({"instanceType": "t3.micro",
            "iamInstanceProfile": {"arn": format!("arn:aws:iam::{ACCOUNT}:instance-profile/web-server")}}), json!({})),
        event("deploy", "kms.amazonaws.com", "Decrypt", json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            json!({"resources": [{"ARN": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"), "type": "AWS::KMS::Key"}]})),
        event("deploy", "kms.amazonaws.com", "ReEncrypt", json!({"sourceKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
            "destinationKeyId": "0987dcba-09fe-87dc-65ba-ab0987654321"}), json!({})),
        event("deploy", "apigateway.amazonaws.com", "GetRestApis", json!({"limit": 25}), json!({})),
        event("deploy", "sts.amazonaws.com", "GetCallerIdentity", Value::Null, json!({})),
        // Refused: attempted, not granted.
        event("deploy", s3, "DeleteBucket", json!({"bucketName": "artifacts"}),
            json!({"errorCode": "AccessDenied", "errorMessage": "Access Denied"})),
        event("deploy", "iam.amazonaws.com", "CreateUser", json!({"userName": "backdoor"}),
            json!({"errorCode": "AccessDenied"})),
        // Another role's call: not in deploy's policy.
        event("reader", s3, "PutObject", json!({"bucketName": "artifacts", "key": "x"}), object("x")),
    ]})
}

fn lake(dir: &Path) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let file = dir.join("activity.json");
    std::fs::write(&file, serde_json::to_vec(&activity())?)?;
    let data = dir.join("data");
    let out = lake_run(&data, &["ingest", &path_str(&file)])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(data)
}

/// `policy` over the fixture's day, with `args`.
fn policy_run(data: &Path, args: &[&str]) -> std::io::Result<crate::support::Run> {
    let mut all = vec!["policy", "--since", "2024-07-01", "--until", "2024-07-02"];
    all.extend_from_slice(args);
    lake_run(data, &all)
}

/// The JSON `policy` prints over the fixture's day.
fn policy(data: &Path, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    let out = policy_run(data, args)?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(serde_json::from_str(&out.stdout)?)
}

/// Every (action, resource) pair a policy allows.
pub(crate) fn allowed(document: &Value) -> BTreeSet<(String, String)> {
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut pairs = BTreeSet::new();
    for statement in document["Statement"].as_array().into_iter().flatten() {
        assert_eq!(statement["Effect"], "Allow");
        for action in list(&statement["Action"]) {
            for resource in list(&statement["Resource"]) {
                pairs.insert((action.clone(), resource));
            }
        }
    }
    pairs
}

/// What `--attached` says of `action`.
fn granted(full: &Value, action: &str) -> Value {
    full["granted"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["action"] == action)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_roles_policy_allows_what_its_sessions_did_and_nothing_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = lake(dir.path())?;
    let role = format!("arn:aws:iam::{ACCOUNT}:role/deploy");
    let document = policy(&data, &[&role])?;
    assert_eq!(document["Version"], "2012-10-17");
    let pairs = allowed(&document);
    let pair = |a: &str, r: &str| (a.to_owned(), r.to_owned());
    let expected = [
        pair("s3:GetObject", "arn:aws:s3:::artifacts/app.zip"),
        pair("s3:ListBucket", "arn:aws:s3:::artifacts"),
        pair("s3:PutObject", "arn:aws:s3:::artifacts/big.bin"),
        pair("s3:PutObject", "arn:aws:s3:::artifacts/release/app.zip"),
        // CopyObject reads its source.
        pair("s3:GetObject", "arn:aws:s3:::artifacts/app.zip"),
        pair("s3:GetObjectTagging", "arn:aws:s3:::artifacts/app.zip"),
        pair(
            "lambda:CreateFunction",
            &format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:api"),
        ),
        pair(
            "lambda:UpdateFunctionCode",
            &format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:api"),
        ),
        pair(
            "iam:PassRole",
            &format!("arn:aws:iam::{ACCOUNT}:role/api-exec"),
        ),
        pair(
            "iam:PassRole",
            &format!("arn:aws:iam::{ACCOUNT}:role/web-server"),
        ),
        pair(
            "kms:Decrypt",
            &format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ),
        pair(
            "kms:ReEncryptFrom",
            &format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ),
        pair(
            "kms:ReEncryptTo",
            &format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321"),
        ),
        pair("apigateway:GET", "arn:aws:apigateway:us-east-1::/restapis"),
        pair("ec2:RunInstances", "*"),
    ];
    for p in &expected {
        assert!(pairs.contains(p), "{p:?} missing from {pairs:#?}");
    }
    let actions: BTreeSet<&str> = pairs.iter().map(|(a, _)| a.as_str()).collect();
    // The S3 renames: no ListObjects, HeadObject, UploadPart or CompleteMultipartUpload action.
    for wrong in [
        "s3:ListObjects",
        "s3:HeadObject",
        "s3:UploadPart",
        "s3:CompleteMultipartUpload",
        "lambda:CreateFunction20150331",
        "sts:GetCallerIdentity",
    ] {
        assert!(!actions.contains(wrong), "{wrong} is not an action");
    }
    // Refused calls and the other role's are not granted.
    for refused in ["s3:DeleteBucket", "iam:CreateUser"] {
        assert!(
            !actions.contains(refused),
            "{refused} was refused, not granted"
        );
    }
    assert!(!pairs.contains(&pair("s3:PutObject", "arn:aws:s3:::artifacts/x")));
    // The JSON view: the refused calls apart, with the actions they would have needed.
    let full = policy(&data, &[&role, "--format", "json"])?;
    let denied: Vec<(String, String)> = full["denied"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["eventName"].as_str().unwrap_or_default().to_owned(),
                d["errorCode"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        denied,
        [
            ("DeleteBucket".to_owned(), "AccessDenied".to_owned()),
            ("CreateUser".to_owned(), "AccessDenied".to_owned())
        ]
    );
    assert_eq!(full["denied"][0]["actions"], json!(["s3:DeleteBucket"]));
    assert_eq!(full["noPermission"][0]["eventName"], "GetCallerIdentity");
    assert_eq!(full["unknown"], json!([]));
    let passrole = full["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["action"] == "iam:PassRole")
        .cloned()
        .unwrap_or_default();
    assert!(
        passrole["inferred"][0]
            .as_str()
            .is_some_and(|i| i.contains("instance profile web-server")),
        "{passrole}"
    );
    // The session's own ARN names the same role; a bare name too.
    let by_session = policy(
        &data,
        &[&format!("arn:aws:sts::{ACCOUNT}:assumed-role/deploy/ci")],
    )?;
    assert_eq!(allowed(&by_session), pairs);
    // The same files read directly, without a lake.
    let file = path_str(&dir.path().join("activity.json"));
    let direct = lake_run(&data, &["policy", &role, &file])?;
    assert_eq!(direct.code, 0, "{}", direct.stderr);
    assert_eq!(allowed(&serde_json::from_str(&direct.stdout)?), pairs);
    // Wildcard: actions only.
    let wildcard = allowed(&policy(&data, &["deploy", "--resources", "wildcard"])?);
    assert!(wildcard.iter().all(|(_, r)| r == "*"));
    assert_eq!(
        wildcard
            .iter()
            .map(|(a, _)| a.as_str())
            .collect::<BTreeSet<_>>(),
        actions
    );
    Ok(())
}

#[test]
fn every_action_produced_exists_and_the_document_is_iam_grammar() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = lake(dir.path())?;
    let full = policy(&data, &["deploy", "--format", "json"])?;
    let document: trailhound_policy::PolicyDocument =
        serde_json::from_value(full["policy"].clone())?;
    document.validate()?;
    assert_eq!(full["policySize"], document.size());
    let mut checked = 0;
    for action in full["actions"].as_array().into_iter().flatten() {
        let name = action["action"].as_str().unwrap_or_default();
        assert_eq!(
            trailhound_policy::known_action(name),
            Some(name),
            "{name} is not in the Service Authorization Reference as written"
        );
        checked += 1;
    }
    assert!(checked >= 12);
    Ok(())
}

#[test]
fn an_unknown_principal_says_how_to_find_one() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = lake(dir.path())?;
    let out = lake_run(&data, &["policy", "nobody", "--since", "2024-07-01"])?;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no events of nobody"), "{}", out.stderr);
    let out = lake_run(&data, &["policy", "arn:aws:s3:::bucket"])?;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("give a role"), "{}", out.stderr);
    Ok(())
}

#[test]
fn attached_policies_are_marked_used_unused_or_not_visible() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = lake(dir.path())?;
    let role = format!("arn:aws:iam::{ACCOUNT}:role/deploy");
    let details = json!({
        "UserDetailList": [], "GroupDetailList": [],
        "RoleDetailList": [{"RoleName": "deploy", "Arn": role,
            "RolePolicyList": [{"PolicyName": "artifacts", "PolicyDocument": {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteBucket", "dynamodb:GetItem"], "Resource": "*"}]}}],
            "AttachedManagedPolicies": [{"PolicyName": "ec2-read", "PolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/ec2-read")}]}],
        "Policies": [{"PolicyName": "ec2-read", "Arn": format!("arn:aws:iam::{ACCOUNT}:policy/ec2-read"), "DefaultVersionId": "v1",
            "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true,
                "Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}}]}]
    });
    let file = dir.path().join("details.json");
    std::fs::write(&file, serde_json::to_vec(&details)?)?;
    let full = policy(
        &data,
        &[&role, "--format", "json", "--attached", &path_str(&file)],
    )?;
    let verdict = |action: &str| {
        let g = granted(&full, action);
        (g["verdict"].clone(), g["by"][0].clone())
    };
    assert_eq!(
        verdict("s3:GetObject"),
        (json!("used"), json!("inline:artifacts"))
    );
    assert_eq!(
        verdict("s3:DeleteBucket").0,
        "unused",
        "refused calls do not count as use"
    );
    assert_eq!(
        verdict("dynamodb:GetItem").0,
        "not-visible",
        "no DynamoDB data events in the lake"
    );
    assert_eq!(
        verdict("ec2:DescribeInstances"),
        (
            json!("unused"),
            json!(format!("managed:arn:aws:iam::{ACCOUNT}:policy/ec2-read"))
        )
    );
    let table = policy_run(
        &data,
        &[&role, "--format", "table", "--attached", &path_str(&file)],
    )?;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("granted by the attached policies:"),
        "{}",
        table.stdout
    );
    assert!(
        table.stderr.contains("used,") && table.stderr.contains("not visible in CloudTrail"),
        "{}",
        table.stderr
    );
    // A file of something else, a principal it does not hold.
    std::fs::write(&file, b"{\"Roles\": []}")?;
    let wrong = policy_run(&data, &[&role, "--attached", &path_str(&file)])?;
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("get-account-authorization-details"),
        "{}",
        wrong.stderr
    );
    Ok(())
}

#[test]
fn several_principals_get_one_policy_each_and_a_big_policy_can_be_made_to_fit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = lake(dir.path())?;
    let grouped = policy(&data, &["all", "--group-by", "principal"])?;
    let deploy = format!("arn:aws:iam::{ACCOUNT}:role/deploy");
    let reader = format!("arn:aws:iam::{ACCOUNT}:role/reader");
    assert_eq!(
        grouped
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec![deploy.clone(), reader.clone()])
    );
    assert_eq!(
        allowed(&grouped[&reader]),
        BTreeSet::from([(
            "s3:PutObject".to_owned(),
            "arn:aws:s3:::artifacts/x".to_owned()
        )])
    );
    assert_eq!(
        allowed(&grouped[&deploy]),
        allowed(&policy(&data, &[&deploy])?)
    );
    // Too big for 400 characters: widened in steps, each said.
    let out = policy_run(&data, &[&deploy, "--max-size", "400", "--fit"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let fitted: Value = serde_json::from_str(&out.stdout)?;
    assert!(out.stderr.contains("every resource is *"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("s3:Get* stands for s3:GetObject, s3:GetObjectTagging"),
        "{}",
        out.stderr
    );
    assert!(allowed(&fitted).contains(&("s3:Get*".to_owned(), "*".to_owned())));
    // Without --fit it only warns.
    let out = policy_run(&data, &[&deploy, "--max-size", "400"])?;
    assert!(
        out.stderr.contains("more than --max-size 400"),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn attached_policies_are_read_live_from_iam() -> TestResult {
    let server = crate::s3_server::S3Server::start()?;
    let role = server.python_output(&["role", "deploy"])?;
    let account = role.split(':').nth(4).unwrap_or_default().to_owned();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("calls.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&json!({"Records": [{
            "eventVersion": "1.09", "eventTime": "2024-07-01T10:00:00Z",
            "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
            "eventID": "live-1", "recipientAccountId": account,
            "requestParameters": {"bucketName": "artifacts", "key": "app.zip"},
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::{account}:assumed-role/deploy/ci"),
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "userName": "deploy", "accountId": account}}}
        }]}))?,
    )?;
    let out = server.run(&[
        "policy",
        &role,
        &path_str(&file),
        "--format",
        "json",
        "--attached-from-aws",
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let full: Value = serde_json::from_str(&out.stdout)?;
    let verdict = |action: &str| granted(&full, action)["verdict"].clone();
    assert_eq!(verdict("s3:GetObject"), "used", "{}", full["granted"]);
    assert_eq!(verdict("s3:DeleteBucket"), "unused");
    assert_eq!(
        verdict("ec2:DescribeInstances"),
        "unused",
        "the attached managed policy"
    );
    Ok(())
}
