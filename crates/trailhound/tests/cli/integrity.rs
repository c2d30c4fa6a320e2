use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::{Compression, read::MultiGzDecoder, write::GzEncoder};

use crate::s3_server::S3Server;
use crate::support::{Run, TestResult, path_str, run};

type Error = Box<dyn std::error::Error>;

/// An RSA key made by openssl, an implementation independent of ours.
pub fn openssl_key(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let path = dir.join(name);
    let status = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .stderr(std::process::Stdio::null())
        .status()?;
    assert!(status.success(), "openssl genpkey failed");
    Ok(path)
}

/// One account, one region, one day: 26 hourly digests over 288 log files.
fn signed_tree(dir: &Path, key: &Path) -> Result<PathBuf, Error> {
    let logs = dir.join("bucket");
    let stderr = signed_day(&logs, key, &[])?;
    assert!(stderr.contains("signed 26 digest files"), "{stderr}");
    Ok(logs)
}

/// `generate` of one signed day of one account and region into `logs`, with `extra`
/// arguments (`--scenarios`); returns what it reported.
pub fn signed_day(logs: &Path, key: &Path, extra: &[&str]) -> Result<String, Error> {
    let key = path_str(key);
    let logs = path_str(logs);
    let mut args = vec![
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "1",
        "--accounts",
        "1",
        "--regions",
        "us-east-1",
        "--events",
        "3000",
        "--sign",
        &key,
        &logs,
    ];
    args.extend_from_slice(extra);
    let out = run(&args)?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(out.stderr)
}

fn validate(logs: &Path, extra: &[&str]) -> Result<Run, Error> {
    let keys = path_str(&logs.join(".trailhound/public-keys.json"));
    let logs = path_str(logs);
    let mut args = vec!["validate", &logs, "--public-keys", &keys];
    args.extend_from_slice(extra);
    Ok(run(&args)?)
}

/// Files under `logs` whose path contains `part`, in name order.
fn files(logs: &Path, part: &str, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![logs.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path_str(&path).contains(part) && path_str(&path).ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn digests(logs: &Path) -> Vec<PathBuf> {
    files(logs, "/CloudTrail-Digest/", ".json.gz")
}

fn log_files(logs: &Path) -> Vec<PathBuf> {
    files(logs, "/CloudTrail/", ".json.gz")
}

fn read_gz(path: &Path) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    MultiGzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut out)?;
    Ok(out)
}

fn write_gz(path: &Path, content: &[u8]) -> Result<(), Error> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(content)?;
    std::fs::write(path, encoder.finish()?)?;
    Ok(())
}

fn edit_digest(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> Result<(), Error> {
    let mut digest: serde_json::Value = serde_json::from_slice(&read_gz(path)?)?;
    edit(&mut digest);
    write_gz(path, &serde_json::to_vec(&digest)?)
}

/// The problem lines validate printed (they go to stderr, as validate-logs prints them).
fn problems(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.contains("INVALID") || l.contains("UNSIGNED"))
        .collect()
}

fn assert_line(run: &Run, path: &Path, verdict: &str) {
    let line = format!("{}\t{verdict}", path_str(path));
    assert!(
        run.stderr.lines().any(|l| l.ends_with(&line)),
        "no line ending {line:?} in:\n{}",
        run.stderr
    );
}

#[test]
fn a_signed_tree_is_valid_line_for_line_as_validate_logs_prints_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = signed_tree(dir.path(), &key)?;
    let logs_count = log_files(&logs).len();
    assert_eq!(logs_count, 288);

    let out = validate(&logs, &["--verbose"])?;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(problems(&out).is_empty(), "{}", out.stderr);
    assert!(out.stdout.starts_with(&format!(
        "Validating log files in {} between the first digest and ",
        path_str(&logs)
    )));
    assert!(
        out.stdout
            .contains("\n26/26 digest files valid\n288/288 log files valid\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Results found for 2024-06-30T"),
        "{}",
        out.stdout
    );
    let first_digest = &digests(&logs)[0];
    assert!(
        out.stdout
            .contains(&format!("Digest file\t{}\tvalid\n", path_str(first_digest)))
    );
    let first_log = &log_files(&logs)[0];
    assert!(
        out.stdout
            .contains(&format!("Log file\t{}\tvalid\n", path_str(first_log)))
    );

    // Without --verbose only the summary; JSON carries every outcome.
    let quiet = validate(&logs, &[])?;
    assert!(!quiet.stdout.contains("\tvalid"), "{}", quiet.stdout);
    let json = validate(&logs, &["--format", "json"])?;
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout)?;
    assert_eq!(parsed["counts"]["valid_digests"], 26);
    assert_eq!(parsed["counts"]["valid_logs"], 288);
    assert_eq!(parsed["outcomes"].as_array().map(Vec::len), Some(26 + 288));

    // A folder inside the tree validates that part, with keys still from AWSLogs/ on.
    let account = std::fs::read_dir(logs.join("AWSLogs"))?
        .next()
        .ok_or("no account")??
        .path();
    let keys = path_str(&logs.join(".trailhound/public-keys.json"));
    let part = run(&["validate", &path_str(&account), "--public-keys", &keys])?;
    assert_eq!(part.code, 0, "{}", part.stderr);
    assert!(
        part.stdout.contains("26/26 digest files valid"),
        "{}",
        part.stdout
    );

    // Filters: another account or region has nothing to validate.
    let none = validate(&logs, &["--region", "eu-west-1"])?;
    assert_eq!(none.code, 0);
    assert!(none.stdout.contains("No digests found"), "{}", none.stdout);
    // A time range validates the digests of that span only.
    let span = validate(
        &logs,
        &[
            "--start-time",
            "2024-07-01T10:00:00Z",
            "--end-time",
            "2024-07-01T12:00:00Z",
            "--format",
            "json",
        ],
    )?;
    let parsed: serde_json::Value = serde_json::from_str(&span.stdout)?;
    let digests_in_span = parsed["counts"]["valid_digests"].as_u64().unwrap_or(0);
    assert!((2..=4).contains(&digests_in_span), "{digests_in_span}");
    assert_eq!(parsed["counts"]["invalid_digests"], 0);
    assert_eq!(parsed["counts"]["invalid_logs"], 0);
    Ok(())
}

#[test]
fn tampered_logs_are_reported_changed_missing_or_added() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = signed_tree(dir.path(), &key)?;
    let all = log_files(&logs);

    // One byte changed in the uncompressed content.
    let changed = &all[10];
    let mut content = read_gz(changed)?;
    let at = content.iter().position(|&b| b == b'.').unwrap_or(0);
    content[at] = b',';
    write_gz(changed, &content)?;
    // Recompressing alone changes nothing that matters: the hash is of the content.
    let recompressed = &all[11];
    write_gz(recompressed, &read_gz(recompressed)?)?;
    // Deleted.
    let deleted = &all[20];
    std::fs::remove_file(deleted)?;
    // Added: a copy under another name, in the same hour.
    let added = PathBuf::from(path_str(&all[30]).replace(".json.gz", "X.json.gz"));
    std::fs::copy(&all[30], &added)?;

    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_line(&out, changed, "INVALID: hash value doesn't match");
    assert_line(&out, deleted, "INVALID: not found");
    assert_line(
        &out,
        &added,
        "INVALID: not listed in any digest (added after delivery?)",
    );
    assert_eq!(problems(&out).len(), 3, "{}", out.stderr);
    assert!(
        out.stdout.contains("26/26 digest files valid"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("286/289 log files valid, 3/289 log files INVALID"),
        "{}",
        out.stdout
    );
    Ok(())
}

#[test]
fn deleted_and_moved_digests_are_found_missing_even_two_in_a_row() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = signed_tree(dir.path(), &key)?;
    let all = digests(&logs);

    std::fs::remove_file(&all[5])?;
    std::fs::remove_file(&all[12])?;
    std::fs::remove_file(&all[13])?;
    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 1);
    for gone in [&all[5], &all[12], &all[13]] {
        assert_line(&out, gone, "INVALID: not found");
    }
    assert_eq!(problems(&out).len(), 3, "{}", out.stderr);
    // The digests before the gaps still validate with their own signatures (sidecars).
    assert!(
        out.stdout
            .contains("23/26 digest files valid, 3/26 digest files INVALID"),
        "{}",
        out.stdout
    );

    // A digest moved to another hour's place.
    let dir = tempfile::tempdir()?;
    let logs = signed_tree(dir.path(), &key)?;
    let all = digests(&logs);
    let moved_to = PathBuf::from(path_str(&all[8]).replace("/2024/07/01/", "/2024/07/09/"));
    std::fs::create_dir_all(moved_to.parent().ok_or("no folder")?)?;
    std::fs::rename(&all[8], &moved_to)?;
    std::fs::rename(
        format!("{}.sig", path_str(&all[8])),
        format!("{}.sig", path_str(&moved_to)),
    )?;
    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 1);
    assert_line(&out, &all[8], "INVALID: not found");
    assert!(
        out.stderr.lines().any(|l| l.starts_with(&format!(
            "Digest file\t{}\tINVALID: has been moved from its original location",
            path_str(&moved_to)
        ))),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn edited_digests_forged_signatures_and_broken_chains_are_invalid() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let other_key = openssl_key(dir.path(), "other.pem")?;

    // Edited JSON: a log's hash swapped for the hash of a forged log.
    let logs = signed_tree(dir.path(), &key)?;
    let all = digests(&logs);
    edit_digest(&all[9], |d| {
        d["logFiles"][0]["hashValue"] = serde_json::json!("0".repeat(64));
    })?;
    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "Digest file\t{}\tINVALID: hash value doesn't match the previousDigestHashValue in the next digest {}",
            path_str(&all[9]),
            path_str(&all[10])
        )),
        "{}",
        out.stderr
    );
    assert_eq!(problems(&out).len(), 1, "{}", out.stderr);

    // The newest digest rewritten and signed with another key under the real fingerprint:
    // nothing vouches for it but its own signature, which does not verify.
    let dir2 = tempfile::tempdir()?;
    let logs = signed_tree(dir2.path(), &key)?;
    let tip = digests(&logs).pop().ok_or("no digest")?;
    let forger = trailhound_integrity::DigestSigner::from_pem_file(&other_key)?;
    edit_digest(&tip, |d| {
        d["logFiles"] = serde_json::json!([]);
    })?;
    let content = read_gz(&tip)?;
    let forged: trailhound_integrity::DigestFile = serde_json::from_slice(&content)?;
    let message =
        trailhound_integrity::string_to_sign(&forged, &trailhound_integrity::sha256_hex(&content));
    std::fs::write(
        format!("{}.sig", path_str(&tip)),
        trailhound_integrity::sidecar_content(&forger.sign_hex(message.as_bytes())?),
    )?;
    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 1);
    assert_line(&out, &tip, "INVALID: signature verification failed");

    // The chain broken: a digest's previousDigestHashValue edited. Its own signature no
    // longer verifies, and the digest it names no longer matches it.
    let dir3 = tempfile::tempdir()?;
    let logs = signed_tree(dir3.path(), &key)?;
    let all = digests(&logs);
    edit_digest(&all[15], |d| {
        d["previousDigestHashValue"] = serde_json::json!("f".repeat(64));
    })?;
    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!(
            "Digest file\t{}\tINVALID: hash value doesn't match the previousDigestHashValue",
            path_str(&all[14])
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("Digest file\t{}\tINVALID: ", path_str(&all[15]))),
        "{}",
        out.stderr
    );

    // A digest signed by a key we were not given.
    let dir4 = tempfile::tempdir()?;
    let logs = signed_tree(dir4.path(), &other_key)?;
    let keys_of_first_tree = path_str(&dir.path().join("bucket/.trailhound/public-keys.json"));
    let out = run(&[
        "validate",
        &path_str(&logs),
        "--public-keys",
        &keys_of_first_tree,
    ])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("INVALID: public key not found in region us-east-1 for fingerprint "),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn the_newest_digest_without_its_signature_is_an_unsigned_tip_and_expired_keys_are_reported()
-> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = signed_tree(dir.path(), &key)?;
    let all = digests(&logs);
    // Downloaded with `aws s3 cp`: no metadata at all. Every digest but the newest is still
    // proven by the next one.
    for digest in &all {
        std::fs::remove_file(format!("{}.sig", path_str(digest)))?;
    }
    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tip = all.last().ok_or("no digest")?;
    assert_line(
        &out,
        tip,
        "UNSIGNED: unsigned tip: the newest digest is signed only by its x-amz-meta-signature metadata; save it as a .sig sidecar (trailhound pull does) to prove it",
    );
    assert_eq!(problems(&out).len(), 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("25/26 digest files valid, 1/26 digest files UNSIGNED"),
        "{}",
        out.stdout
    );

    // A key used outside its validity window.
    let keys_path = logs.join(".trailhound/public-keys.json");
    let mut keys: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&keys_path)?)?;
    keys["PublicKeyList"][0]["ValidityEndTime"] = serde_json::json!("2024-07-01T06:00:00Z");
    std::fs::write(&keys_path, keys.to_string())?;
    let out = validate(&logs, &[])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("was not valid at 2024-07-01T"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("(valid from 2024-06-30T00:00:00Z to 2024-07-01T06:00:00Z)"),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn bad_keys_and_paths_are_usage_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = run(&["validate", &path_str(dir.path())])?;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--public-keys"), "{}", out.stderr);
    let bad = dir.path().join("keys.json");
    std::fs::write(&bad, "{\"Keys\": 1}")?;
    let out = run(&[
        "validate",
        &path_str(dir.path()),
        "--public-keys",
        &path_str(&bad),
    ])?;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("not the JSON of `aws cloudtrail list-public-keys`"),
        "{}",
        out.stderr
    );
    let out = run(&[
        "validate",
        &path_str(&dir.path().join("missing")),
        "--public-keys",
        &path_str(&bad),
    ])?;
    assert_eq!(out.code, 2);
    let out = run(&[
        "generate",
        &path_str(&dir.path().join("g")),
        "--sign",
        &path_str(&bad),
    ])?;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cannot use the private key in"),
        "{}",
        out.stderr
    );
    Ok(())
}

/// Python's `cryptography` (an implementation independent of ours) verifies what we sign,
/// and signs a tree that we then validate.
#[test]
fn signatures_agree_with_an_independent_implementation() -> TestResult {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/integrity/independent.py");
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = signed_tree(dir.path(), &key)?;
    let verified = Command::new("python3")
        .arg(&script)
        .arg("verify")
        .arg(&logs)
        .arg(logs.join(".trailhound/public-keys.json"))
        .output()?;
    assert!(
        verified.status.success(),
        "python verify failed (is PyPI `cryptography` installed? scripts/setup-test-env installs it):\n{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        String::from_utf8_lossy(&verified.stdout)
            .contains("26 digests verified, 288 log files verified")
    );

    let python_tree = dir.path().join("python");
    let signed = Command::new("python3")
        .arg(&script)
        .arg("sign")
        .arg(&python_tree)
        .output()?;
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let out = validate(&python_tree, &["--verbose"])?;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // Three chained digests and a backfill digest for a log delivered late.
    assert!(
        out.stdout.contains("4/4 digest files valid"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("3/3 log files valid"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("_20240701T030030Z_backfill.json.gz\tvalid"),
        "{}",
        out.stdout
    );

    // And its tip signature, from the sidecar alone, is what makes the tip valid.
    let tip = digests(&python_tree)
        .into_iter()
        .find(|d| path_str(d).ends_with("T040030Z.json.gz"))
        .ok_or("no tip")?;
    let sidecar = format!("{}.sig", path_str(&tip));
    std::fs::write(&sidecar, "00".repeat(256))?;
    let out = validate(&python_tree, &[])?;
    assert_eq!(out.code, 1);
    assert_line(&out, &tip, "INVALID: signature verification failed");
    Ok(())
}

/// `validate` against the bucket, with the endpoint given as a flag.
fn validate_s3(server: &S3Server, url: &str, keys: &Path) -> Result<Run, Error> {
    server.run(&[
        "validate",
        url,
        "--public-keys",
        &path_str(keys),
        "--endpoint-url",
        &server.endpoint,
    ])
}

#[test]
fn validates_in_the_bucket_with_signatures_from_object_metadata() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = signed_tree(dir.path(), &key)?;
    let keys = logs.join(".trailhound/public-keys.json");
    let server = S3Server::start()?;
    // The generated tree names bucket trailhound-generated-logs; CloudTrail's own layout.
    server.python(&["upload", "trailhound-generated-logs", &path_str(&logs)])?;

    let out = validate_s3(&server, "s3://trailhound-generated-logs", &keys)?;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // The newest digest is proven by its x-amz-meta-signature: nothing is unsigned.
    assert!(
        out.stdout
            .contains("26/26 digest files valid\n288/288 log files valid"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(problems(&out).is_empty(), "{}", out.stderr);

    // Tampering in the bucket: a log overwritten, a digest deleted.
    let log = log_files(&logs)[100].clone();
    let log_key = path_str(log.strip_prefix(&logs)?);
    let mut content = read_gz(&log)?;
    content.extend_from_slice(b" ");
    let forged = dir.path().join("forged.json.gz");
    write_gz(&forged, &content)?;
    server.python(&[
        "put",
        "trailhound-generated-logs",
        &log_key,
        &path_str(&forged),
    ])?;
    let digest = digests(&logs)[3].clone();
    let digest_key = path_str(digest.strip_prefix(&logs)?);
    server.python(&["delete", "trailhound-generated-logs", &digest_key])?;

    let out = validate_s3(&server, "s3://trailhound-generated-logs/AWSLogs", &keys)?;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "Log file\ts3://trailhound-generated-logs/{log_key}\tINVALID: hash value doesn't match"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "Digest file\ts3://trailhound-generated-logs/{digest_key}\tINVALID: not found"
        )),
        "{}",
        out.stderr
    );

    // A copy of the bucket under another name: every digest has been moved.
    server.python(&["upload", "copied-bucket", &path_str(&logs)])?;
    let out = validate_s3(&server, "s3://copied-bucket", &keys)?;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("INVALID: has been moved from its original location (it names itself trailhound-generated-logs/AWSLogs/"), "{}", out.stderr);

    // Unreachable endpoint: a clear error, exit 2.
    let out = server.run(&[
        "validate",
        "s3://trailhound-generated-logs",
        "--public-keys",
        &path_str(&keys),
        "--endpoint-url",
        "http://127.0.0.1:9",
    ])?;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot read s3://trailhound-generated-logs"),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn organization_trails_validate_per_member_account() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = dir.path().join("org");
    let out = run(&[
        "generate",
        "--start",
        "2024-07-01",
        "--days",
        "1",
        "--accounts",
        "2",
        "--regions",
        "us-east-1",
        "--events",
        "2000",
        "--org",
        "o-exampleorg1",
        "--sign",
        &path_str(&key),
        &path_str(&logs),
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(logs.join("AWSLogs/o-exampleorg1").is_dir());
    let all = validate(&logs, &["--format", "json"])?;
    assert_eq!(all.code, 0, "{}", all.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&all.stdout)?;
    assert_eq!(parsed["counts"]["valid_digests"], 52);
    assert_eq!(parsed["chains"].as_array().map(Vec::len), Some(2));
    assert!(
        parsed["chains"][0]
            .as_str()
            .unwrap_or_default()
            .contains(" in o-exampleorg1")
    );
    let member = parsed["outcomes"][0]["location"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let account = member
        .split("/o-exampleorg1/")
        .nth(1)
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let one = validate(&logs, &["--account", &account, "--format", "json"])?;
    let parsed: serde_json::Value = serde_json::from_str(&one.stdout)?;
    assert_eq!(parsed["counts"]["valid_digests"], 26);
    Ok(())
}

#[test]
fn pem_and_der_public_keys_work_like_list_public_keys_output() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = openssl_key(dir.path(), "key.pem")?;
    let logs = signed_tree(dir.path(), &key)?;
    // The same public key written by openssl as SubjectPublicKeyInfo PEM, PKCS#1 PEM and DER.
    let forms: [(&str, &[&str]); 3] = [
        ("spki.pem", &["pkey", "-pubout"]),
        ("pkcs1.pem", &["rsa", "-RSAPublicKey_out"]),
        ("spki.der", &["pkey", "-pubout", "-outform", "DER"]),
    ];
    for (name, args) in forms {
        let path = dir.path().join(name);
        let status = Command::new("openssl")
            .args(args)
            .arg("-in")
            .arg(&key)
            .arg("-out")
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()?;
        assert!(status.success(), "openssl {args:?}");
        let out = run(&[
            "validate",
            &path_str(&logs),
            "--public-keys",
            &path_str(&path),
        ])?;
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert!(
            out.stdout.contains("26/26 digest files valid"),
            "{name}: {}",
            out.stdout
        );
    }
    Ok(())
}
