//! Planted attack sequences with ground truth, for testing detections against known answers.

use chrono::{DateTime, Duration, Utc};
use fastrand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::background::console_login_from;
use crate::estate::Account;
use crate::record::{
    Identity, Record, SessionAttributes, SessionContext, SessionIssuer, SignIn, identity,
    role_path, timestamp, tls, uuid,
};

/// An attack sequence `generate --scenarios` can plant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// A console sign-in without MFA, from an unfamiliar address.
    ConsoleLoginWithoutMfa,
    /// The root user signs in and creates an access key.
    RootUsage,
    /// CloudTrail logging stopped, then the trail deleted.
    StopLogging,
    /// A new user given AdministratorAccess.
    AdminPolicyAttached,
    /// An access key created for a different user.
    AccessKeyForOtherUser,
    /// SSH opened to the whole internet.
    SecurityGroupOpen,
    /// A bucket's public-access block removed and a public policy put.
    PublicBucketPolicy,
    /// The GuardDuty detector deleted.
    GuardDutyDisabled,
    /// A KMS key disabled and scheduled for deletion.
    KmsKeyDeletion,
    /// A burst of AccessDenied while enumerating the account.
    AccessDeniedRecon,
    /// Many secrets read within a couple of minutes.
    BulkSecretReads,
    /// GPU instances launched in regions the estate never uses.
    UnusualRegionInstances,
}

impl Scenario {
    /// Every scenario, in a fixed order.
    pub const ALL: [Scenario; 12] = [
        Scenario::ConsoleLoginWithoutMfa,
        Scenario::RootUsage,
        Scenario::StopLogging,
        Scenario::AdminPolicyAttached,
        Scenario::AccessKeyForOtherUser,
        Scenario::SecurityGroupOpen,
        Scenario::PublicBucketPolicy,
        Scenario::GuardDutyDisabled,
        Scenario::KmsKeyDeletion,
        Scenario::AccessDeniedRecon,
        Scenario::BulkSecretReads,
        Scenario::UnusualRegionInstances,
    ];

    /// The name used on the command line and in the ground truth.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::ConsoleLoginWithoutMfa => "console-login-without-mfa",
            Scenario::RootUsage => "root-usage",
            Scenario::StopLogging => "stop-logging",
            Scenario::AdminPolicyAttached => "admin-policy-attached",
            Scenario::AccessKeyForOtherUser => "access-key-for-other-user",
            Scenario::SecurityGroupOpen => "security-group-open",
            Scenario::PublicBucketPolicy => "public-bucket-policy",
            Scenario::GuardDutyDisabled => "guardduty-disabled",
            Scenario::KmsKeyDeletion => "kms-key-deletion",
            Scenario::AccessDeniedRecon => "access-denied-recon",
            Scenario::BulkSecretReads => "bulk-secret-reads",
            Scenario::UnusualRegionInstances => "unusual-region-instances",
        }
    }

    /// The MITRE ATT&CK technique id and name.
    pub fn technique(self) -> (&'static str, &'static str) {
        match self {
            Scenario::ConsoleLoginWithoutMfa | Scenario::RootUsage => {
                ("T1078.004", "Valid Accounts: Cloud Accounts")
            }
            Scenario::StopLogging => ("T1562.008", "Impair Defenses: Disable or Modify Cloud Logs"),
            Scenario::AdminPolicyAttached => {
                ("T1098.003", "Account Manipulation: Additional Cloud Roles")
            }
            Scenario::AccessKeyForOtherUser => (
                "T1098.001",
                "Account Manipulation: Additional Cloud Credentials",
            ),
            Scenario::SecurityGroupOpen => (
                "T1562.007",
                "Impair Defenses: Disable or Modify Cloud Firewall",
            ),
            Scenario::PublicBucketPolicy => ("T1530", "Data from Cloud Storage"),
            Scenario::GuardDutyDisabled => {
                ("T1562.001", "Impair Defenses: Disable or Modify Tools")
            }
            Scenario::KmsKeyDeletion => ("T1485", "Data Destruction"),
            Scenario::AccessDeniedRecon => ("T1580", "Cloud Infrastructure Discovery"),
            Scenario::BulkSecretReads => (
                "T1555.006",
                "Credentials from Password Stores: Cloud Secrets Management Stores",
            ),
            Scenario::UnusualRegionInstances => ("T1535", "Unused/Unsupported Cloud Regions"),
        }
    }

    /// Looks a scenario up by name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One planted event and its label.
#[derive(Debug, Clone)]
pub(crate) struct Planted {
    pub(crate) account: usize,
    pub(crate) region: String,
    pub(crate) time: DateTime<Utc>,
    pub(crate) json: String,
    pub(crate) truth: GroundTruth,
}

/// A line of `ground-truth.jsonl`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroundTruth {
    /// The planted event's `eventID`.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// Its `eventTime`.
    pub event_time: String,
    /// Its `eventSource`.
    pub event_source: String,
    /// Its `eventName`.
    pub event_name: String,
    /// The account it was written for.
    pub recipient_account_id: String,
    /// Its `awsRegion`.
    pub aws_region: String,
    /// The scenario name.
    pub scenario: &'static str,
    /// MITRE ATT&CK technique id.
    pub technique: &'static str,
    /// MITRE ATT&CK technique name.
    pub technique_name: &'static str,
}

const ATTACKER_AGENT: &str =
    "aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-kali2-amd64 exe/x86_64.kali.2023 prompt/off";
const ATTACKER_BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";

/// What one planted call sent and got back.
struct Exchange {
    request: Value,
    response: Value,
    error: Option<(&'static str, String)>,
}

impl Exchange {
    fn ok(request: Value, response: Value) -> Exchange {
        Exchange {
            request,
            response,
            error: None,
        }
    }
}

/// Everything a scenario needs to write its events.
pub(crate) struct Stage<'a> {
    pub(crate) accounts: &'a [Account],
    pub(crate) regions: &'a [String],
    /// Regions the estate does not use, for the unusual-region scenario.
    pub(crate) unused_regions: &'a [String],
    pub(crate) start: DateTime<Utc>,
    pub(crate) span: Duration,
}

/// Writes the events of `scenarios`, spread over the covered time, one account after another.
pub(crate) fn plant(scenarios: &[Scenario], stage: &Stage<'_>, rng: &mut Rng) -> Vec<Planted> {
    let mut planted = Vec::new();
    let count = scenarios.len() as i64;
    for (index, scenario) in scenarios.iter().enumerate() {
        let fraction = (index as i64 * 2 + 1) * stage.span.num_seconds() / (count * 2).max(1);
        let jitter = rng.i64(-900..900);
        let latest = (stage.span.num_seconds() - 1200).max(0);
        let at = stage.start + Duration::seconds((fraction + jitter).clamp(0, latest));
        let account_index = index % stage.accounts.len().max(1);
        let mut writer = ScenarioWriter {
            scenario: *scenario,
            account_index,
            account: &stage.accounts[account_index],
            time: at,
            ip: format!("198.51.100.{}", rng.u8(20..240)),
            rng: &mut *rng,
            out: &mut planted,
        };
        let home = stage.regions.first().map_or("us-east-1", String::as_str);
        let region = stage.regions.get(1).map_or(home, String::as_str);
        writer.write(home, region, stage.unused_regions);
    }
    planted
}

struct ScenarioWriter<'a> {
    scenario: Scenario,
    account_index: usize,
    account: &'a Account,
    time: DateTime<Utc>,
    ip: String,
    rng: &'a mut Rng,
    out: &'a mut Vec<Planted>,
}

impl ScenarioWriter<'_> {
    fn write(&mut self, home: &str, region: &str, unused_regions: &[String]) {
        let account = self.account.id.clone();
        match self.scenario {
            Scenario::ConsoleLoginWithoutMfa => {
                if let Some(bob) = self.account.principal("bob") {
                    let json = console_login_from(
                        bob,
                        &account,
                        self.time,
                        self.rng,
                        true,
                        Some((&self.ip, ATTACKER_BROWSER)),
                    );
                    self.push(home, "signin.amazonaws.com", "ConsoleLogin", json);
                }
            }
            Scenario::RootUsage => {
                let owner = self.account;
                let login = console_root_login(&owner.id, self.time, &self.ip, self.rng);
                self.push(home, "signin.amazonaws.com", "ConsoleLogin", login);
                self.call(
                    home,
                    root_identity(&owner.id),
                    ("iam.amazonaws.com", "GetAccountSummary"),
                    Exchange::ok(json!(null), json!(null)),
                );
                self.call(
                    home,
                    root_identity(&owner.id),
                    ("iam.amazonaws.com", "ListUsers"),
                    Exchange::ok(json!(null), json!(null)),
                );
                let key = format!("AKIA{}", crate::estate::key_chars(self.rng, 16));
                self.call(home, root_identity(&owner.id), ("iam.amazonaws.com", "CreateAccessKey"), Exchange::ok(json!(null),
                    json!({"accessKey": {"accessKeyId": key, "status": "Active", "createDate": "Jan 1, 2024, 12:00:00 AM"}})));
            }
            Scenario::StopLogging => {
                let trail = format!("arn:aws:cloudtrail:{home}:{account}:trail/management-events");
                self.as_bob(
                    home,
                    "cloudtrail.amazonaws.com",
                    "StopLogging",
                    json!({"name": trail}),
                    json!(null),
                );
                self.as_bob(
                    home,
                    "cloudtrail.amazonaws.com",
                    "DeleteTrail",
                    json!({"name": trail}),
                    json!(null),
                );
            }
            Scenario::AdminPolicyAttached => {
                let user_id = format!("AIDA{}", crate::estate::key_chars(self.rng, 17));
                self.as_bob(home, "iam.amazonaws.com", "CreateUser", json!({"userName": "svc-backup"}),
                    json!({"user": {"path": "/", "userName": "svc-backup", "userId": user_id, "arn": format!("arn:aws:iam::{account}:user/svc-backup"), "createDate": "Jan 1, 2024, 12:00:00 AM"}}));
                self.as_bob(home, "iam.amazonaws.com", "AttachUserPolicy",
                    json!({"userName": "svc-backup", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), json!(null));
            }
            Scenario::AccessKeyForOtherUser => {
                let key = format!("AKIA{}", crate::estate::key_chars(self.rng, 16));
                self.as_bob(home, "iam.amazonaws.com", "CreateAccessKey", json!({"userName": "alice"}),
                    json!({"accessKey": {"userName": "alice", "accessKeyId": key, "status": "Active", "createDate": "Jan 1, 2024, 12:00:00 AM"}}));
            }
            Scenario::SecurityGroupOpen => {
                let group = format!("sg-0{:016x}", self.rng.u64(..));
                let request_id = uuid(self.rng);
                self.as_bob(region, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
                    json!({"groupId": group, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}}),
                    json!({"requestId": request_id, "_return": true}));
            }
            Scenario::PublicBucketPolicy => {
                let bucket = format!("orders-data-{account}");
                self.as_bob(region, "s3.amazonaws.com", "DeleteBucketPublicAccessBlock",
                    json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "publicAccessBlock": ""}), json!(null));
                let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
                self.as_bob(region, "s3.amazonaws.com", "PutBucketPolicy",
                    json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "bucketPolicy": policy, "policy": ""}), json!(null));
            }
            Scenario::GuardDutyDisabled => {
                let detector = format!("{:032x}", self.rng.u128(..));
                self.as_bob(
                    region,
                    "guardduty.amazonaws.com",
                    "DeleteDetector",
                    json!({"detectorId": detector}),
                    json!(null),
                );
            }
            Scenario::KmsKeyDeletion => {
                let key = format!("arn:aws:kms:{region}:{account}:key/{}", uuid(self.rng));
                self.as_bob(
                    region,
                    "kms.amazonaws.com",
                    "DisableKey",
                    json!({"keyId": key}),
                    json!(null),
                );
                self.as_bob(region, "kms.amazonaws.com", "ScheduleKeyDeletion", json!({"keyId": key, "pendingWindowInDays": 7}),
                    json!({"keyId": key, "deletionDate": "Jan 8, 2024, 12:00:00 AM", "keyState": "PendingDeletion", "pendingWindowInDays": 7}));
            }
            Scenario::AccessDeniedRecon => {
                const PROBES: [(&str, &str); 10] = [
                    ("iam.amazonaws.com", "ListUsers"),
                    ("iam.amazonaws.com", "ListRoles"),
                    ("iam.amazonaws.com", "GetAccountAuthorizationDetails"),
                    ("s3.amazonaws.com", "ListBuckets"),
                    ("ec2.amazonaws.com", "DescribeInstances"),
                    ("secretsmanager.amazonaws.com", "ListSecrets"),
                    ("lambda.amazonaws.com", "ListFunctions20150331"),
                    ("rds.amazonaws.com", "DescribeDBInstances"),
                    ("organizations.amazonaws.com", "DescribeOrganization"),
                    ("ssm.amazonaws.com", "DescribeParameters"),
                ];
                // A scripted sweep, as enumeration tools make: every probe a dozen times in
                // about a minute, each refused.
                for _round in 0..12 {
                    for (source, name) in PROBES {
                        let place = if source == "iam.amazonaws.com" || name == "ListBuckets" {
                            home
                        } else {
                            region
                        };
                        let role = compromised_role(self.account, self.time);
                        let arn = role.arn.clone().unwrap_or_default();
                        let action = format!(
                            "{}:{}",
                            source.trim_end_matches(".amazonaws.com"),
                            name.trim_end_matches("20150331")
                        );
                        let message = format!(
                            "User: {arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
                        );
                        self.call(
                            place,
                            role,
                            (source, name),
                            Exchange {
                                request: json!(null),
                                response: json!(null),
                                error: Some(("AccessDenied", message)),
                            },
                        );
                    }
                }
            }
            Scenario::BulkSecretReads => {
                for index in 0..25 {
                    let role = compromised_role(self.account, self.time);
                    let secret = format!(
                        "arn:aws:secretsmanager:{region}:{account}:secret:prod/service-{index:02}/db-AbCdEf"
                    );
                    self.time += Duration::seconds(self.rng.i64(1..4));
                    self.call(
                        region,
                        role,
                        ("secretsmanager.amazonaws.com", "GetSecretValue"),
                        Exchange::ok(json!({"secretId": secret}), json!(null)),
                    );
                }
                let role = compromised_role(self.account, self.time);
                self.call(region, role, ("secretsmanager.amazonaws.com", "BatchGetSecretValue"), Exchange::ok(json!({"filters": [{"key": "name", "values": ["prod/"]}], "maxResults": 20}), json!(null)));
            }
            Scenario::UnusualRegionInstances => {
                for unused in unused_regions.iter().take(2) {
                    let instance = format!("i-0{:016x}", self.rng.u64(..));
                    let request_id = uuid(self.rng);
                    let reservation = format!("r-0{:016x}", self.rng.u64(..));
                    self.as_bob(unused, "ec2.amazonaws.com", "RunInstances",
                        json!({"instancesSet": {"items": [{"imageId": "ami-0a1b2c3d4e5f60718", "minCount": 8, "maxCount": 8}]}, "instanceType": "p3.16xlarge", "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false}),
                        json!({"requestId": request_id, "reservationId": reservation, "ownerId": account, "instancesSet": {"items": [{"instanceId": instance, "instanceType": "p3.16xlarge", "currentState": {"code": 0, "name": "pending"}}]}}));
                }
            }
        }
    }

    fn as_bob(&mut self, region: &str, source: &str, name: &str, request: Value, response: Value) {
        let owner = self.account;
        let Some(bob) = owner.principal("bob") else {
            return;
        };
        let user_identity = identity(bob, &owner.id, self.time);
        self.call(
            region,
            user_identity,
            (source, name),
            Exchange::ok(request, response),
        );
    }

    fn call(
        &mut self,
        region: &str,
        user_identity: Identity<'_>,
        (source, name): (&str, &str),
        exchange: Exchange,
    ) {
        let Exchange {
            request,
            response,
            error,
        } = exchange;
        // People pause between calls; scripts (enumeration, bulk reads) do not.
        let pause = if matches!(
            self.scenario,
            Scenario::AccessDeniedRecon | Scenario::BulkSecretReads
        ) {
            self.rng.i64(0..2)
        } else {
            self.rng.i64(2..20)
        };
        self.time += Duration::seconds(pause);
        let service = source.trim_end_matches(".amazonaws.com");
        let read_only = ["Get", "List", "Describe", "BatchGet"]
            .iter()
            .any(|p| name.starts_with(p));
        let record = Record {
            event_version: "1.11",
            user_identity,
            event_time: timestamp(self.time),
            event_source: source,
            event_name: name,
            aws_region: region,
            source_ip_address: &self.ip,
            user_agent: ATTACKER_AGENT,
            error_code: error.as_ref().map(|e| e.0),
            error_message: error.as_ref().map(|e| e.1.clone()),
            request_parameters: request,
            response_elements: if error.is_some() {
                Value::Null
            } else {
                response
            },
            additional_event_data: None,
            request_id: Some(uuid(self.rng)),
            event_id: uuid(self.rng),
            read_only,
            resources: None,
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: &self.account.id,
            service_event_details: None,
            event_category: "Management",
            tls_details: Some(tls(service, region)),
            session_credential_from_console: None,
        };
        let json = serde_json::to_string(&record).unwrap_or_default();
        self.push(region, source, name, json);
    }

    fn push(&mut self, region: &str, source: &str, name: &str, json: String) {
        let (technique, technique_name) = self.scenario.technique();
        let event_id = event_id_of(&json);
        self.out.push(Planted {
            account: self.account_index,
            region: region.to_owned(),
            time: self.time,
            json,
            truth: GroundTruth {
                event_id,
                event_time: timestamp(self.time),
                event_source: source.to_owned(),
                event_name: name.to_owned(),
                recipient_account_id: self.account.id.clone(),
                aws_region: region.to_owned(),
                scenario: self.scenario.name(),
                technique,
                technique_name,
            },
        });
    }
}

/// A stolen role session: the EKS node role's credentials, used from off the instance.
fn compromised_role(account: &Account, time: DateTime<Utc>) -> Identity<'_> {
    const ROLE: &str = "eks-node-group-role";
    Identity {
        kind: "AssumedRole",
        principal_id: Some("AROAEKSNODEROLEEXAMPLE:i-0a1b2c3d4e5f67890".to_owned()),
        arn: Some(format!(
            "arn:aws:sts::{}:assumed-role/eks-node-group-role/i-0a1b2c3d4e5f67890",
            account.id
        )),
        account_id: Some(&account.id),
        access_key_id: Some("ASIAEKSNODESTOLEN123"),
        user_name: None,
        session_context: Some(SessionContext {
            session_issuer: Some(SessionIssuer {
                kind: "Role",
                principal_id: "AROAEKSNODEROLEEXAMPLE",
                arn: format!("arn:aws:iam::{}:role/{}", account.id, role_path(ROLE)),
                account_id: &account.id,
                user_name: ROLE,
            }),
            web_id_federation_data: Value::Object(Default::default()),
            attributes: SessionAttributes {
                creation_date: timestamp(time - Duration::minutes(40)),
                mfa_authenticated: "false",
            },
        }),
        invoked_by: None,
    }
}

fn root_identity(account: &str) -> Identity<'_> {
    Identity {
        kind: "Root",
        principal_id: Some(account.to_owned()),
        arn: Some(format!("arn:aws:iam::{account}:root")),
        account_id: Some(account),
        access_key_id: Some("ASIAROOTCONSOLESESSION"),
        user_name: None,
        session_context: None,
        invoked_by: None,
    }
}

fn console_root_login(account: &str, time: DateTime<Utc>, ip: &str, rng: &mut Rng) -> String {
    SignIn {
        identity: root_identity(account),
        account,
        time,
        ip,
        user_agent: ATTACKER_BROWSER,
        success: true,
        mfa: false,
    }
    .render(rng)
}

fn event_id_of(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| v.get("eventID").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}
