//! The API mix of background activity: which calls, how often, by whom, with what parameters.

use fastrand::Rng;
use serde_json::{Value, json};

use crate::estate::Actor;

/// One API as CloudTrail logs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Api {
    pub(crate) source: &'static str,
    pub(crate) name: &'static str,
    pub(crate) read_only: bool,
    /// A data event (S3 objects, Lambda invocations) rather than a management event.
    pub(crate) data: bool,
    /// Logged in the home region whatever region the caller used (IAM, STS global, sign-in).
    pub(crate) global: bool,
    pub(crate) weight: u32,
    pub(crate) actors: &'static [Actor],
}

const H: &[Actor] = &[Actor::Human];
const M: &[Actor] = &[Actor::Machine];
const S: &[Actor] = &[Actor::Service];
const HM: &[Actor] = &[Actor::Human, Actor::Machine];
const MS: &[Actor] = &[Actor::Machine, Actor::Service];
const ALL: &[Actor] = &[Actor::Human, Actor::Machine, Actor::Service];

const fn api(
    source: &'static str,
    name: &'static str,
    read_only: bool,
    weight: u32,
    actors: &'static [Actor],
) -> Api {
    Api {
        source,
        name,
        read_only,
        data: false,
        global: false,
        weight,
        actors,
    }
}
const fn global(
    source: &'static str,
    name: &'static str,
    read_only: bool,
    weight: u32,
    actors: &'static [Actor],
) -> Api {
    Api {
        global: true,
        ..api(source, name, read_only, weight, actors)
    }
}
const fn data(
    source: &'static str,
    name: &'static str,
    read_only: bool,
    weight: u32,
    actors: &'static [Actor],
) -> Api {
    Api {
        data: true,
        ..api(source, name, read_only, weight, actors)
    }
}

pub(crate) const APIS: &[Api] = &[
    api("sts.amazonaws.com", "AssumeRole", true, 60, MS),
    api("sts.amazonaws.com", "GetCallerIdentity", true, 25, HM),
    api("kms.amazonaws.com", "Decrypt", true, 90, MS),
    api("kms.amazonaws.com", "GenerateDataKey", true, 45, MS),
    api("kms.amazonaws.com", "Encrypt", true, 10, M),
    api("ec2.amazonaws.com", "DescribeInstances", true, 45, ALL),
    api("ec2.amazonaws.com", "DescribeSecurityGroups", true, 20, HM),
    api("ec2.amazonaws.com", "DescribeVolumes", true, 12, MS),
    api(
        "ec2.amazonaws.com",
        "DescribeNetworkInterfaces",
        true,
        20,
        S,
    ),
    api("ec2.amazonaws.com", "CreateTags", false, 6, MS),
    api("ec2.amazonaws.com", "RunInstances", false, 3, MS),
    api("ec2.amazonaws.com", "TerminateInstances", false, 2, MS),
    api("ec2.amazonaws.com", "CreateNetworkInterface", false, 4, S),
    // Lambda removes the interfaces it created; backup jobs rotate snapshots. Real trails have
    // a steady trickle of such deletions, which a search for `Delete*` must find.
    api("ec2.amazonaws.com", "DeleteNetworkInterface", false, 4, S),
    api("ec2.amazonaws.com", "DeleteSnapshot", false, 1, M),
    api("s3.amazonaws.com", "GetBucketAcl", true, 15, MS),
    api("s3.amazonaws.com", "GetBucketPolicy", true, 8, HM),
    api("s3.amazonaws.com", "GetBucketVersioning", true, 6, S),
    global("s3.amazonaws.com", "ListBuckets", true, 12, HM),
    data("s3.amazonaws.com", "GetObject", true, 80, M),
    data("s3.amazonaws.com", "PutObject", false, 35, M),
    data("lambda.amazonaws.com", "Invoke", false, 30, MS),
    api("lambda.amazonaws.com", "ListFunctions20150331", true, 8, HM),
    api("lambda.amazonaws.com", "GetFunction20150331v2", true, 6, HM),
    api(
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        false,
        2,
        M,
    ),
    global("iam.amazonaws.com", "ListRoles", true, 10, HM),
    global("iam.amazonaws.com", "GetRole", true, 14, MS),
    global("iam.amazonaws.com", "ListUsers", true, 5, H),
    global("iam.amazonaws.com", "GetUser", true, 4, H),
    global("iam.amazonaws.com", "ListAttachedRolePolicies", true, 8, HM),
    global("iam.amazonaws.com", "GetPolicyVersion", true, 6, M),
    global("iam.amazonaws.com", "CreateRole", false, 1, M),
    global("iam.amazonaws.com", "PutRolePolicy", false, 1, M),
    global("iam.amazonaws.com", "TagRole", false, 1, M),
    api("logs.amazonaws.com", "CreateLogStream", false, 25, MS),
    api("logs.amazonaws.com", "DescribeLogGroups", true, 10, HM),
    api("logs.amazonaws.com", "PutRetentionPolicy", false, 1, M),
    api("monitoring.amazonaws.com", "GetMetricData", true, 20, HM),
    api("monitoring.amazonaws.com", "PutMetricAlarm", false, 2, M),
    api("monitoring.amazonaws.com", "DescribeAlarms", true, 10, MS),
    api(
        "cloudformation.amazonaws.com",
        "DescribeStacks",
        true,
        12,
        HM,
    ),
    api(
        "cloudformation.amazonaws.com",
        "DescribeStackEvents",
        true,
        6,
        HM,
    ),
    api("ssm.amazonaws.com", "GetParameter", true, 25, M),
    api("ssm.amazonaws.com", "GetParameters", true, 10, M),
    api(
        "ssm.amazonaws.com",
        "UpdateInstanceInformation",
        false,
        20,
        M,
    ),
    api(
        "ssm.amazonaws.com",
        "DescribeInstanceInformation",
        true,
        5,
        H,
    ),
    api(
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        true,
        12,
        M,
    ),
    api(
        "secretsmanager.amazonaws.com",
        "DescribeSecret",
        true,
        4,
        HM,
    ),
    api("dynamodb.amazonaws.com", "DescribeTable", true, 14, M),
    api("dynamodb.amazonaws.com", "ListTables", true, 4, HM),
    api("ecr.amazonaws.com", "GetAuthorizationToken", true, 10, M),
    api("ecr.amazonaws.com", "BatchGetImage", true, 10, M),
    api(
        "elasticloadbalancing.amazonaws.com",
        "DescribeLoadBalancers",
        true,
        8,
        HM,
    ),
    api(
        "elasticloadbalancing.amazonaws.com",
        "DescribeTargetHealth",
        true,
        15,
        S,
    ),
    api("rds.amazonaws.com", "DescribeDBInstances", true, 8, HM),
    api(
        "autoscaling.amazonaws.com",
        "DescribeAutoScalingGroups",
        true,
        12,
        MS,
    ),
    api("config.amazonaws.com", "PutEvaluations", false, 8, S),
    api("cloudtrail.amazonaws.com", "LookupEvents", true, 3, H),
    api("cloudtrail.amazonaws.com", "DescribeTrails", true, 3, HM),
    api("guardduty.amazonaws.com", "ListDetectors", true, 3, HM),
];

/// Weighted API tables per actor, split by whether global APIs may be chosen.
pub(crate) struct ApiTable {
    entries: Vec<(u32, usize)>,
}

impl ApiTable {
    pub(crate) fn new(actor: Actor, home_region: bool) -> ApiTable {
        let mut total = 0;
        let entries = APIS
            .iter()
            .enumerate()
            .filter(|(_, api)| api.actors.contains(&actor) && (home_region || !api.global))
            .map(|(index, api)| {
                total += api.weight;
                (total, index)
            })
            .collect();
        ApiTable { entries }
    }

    pub(crate) fn pick(&self, rng: &mut Rng) -> &'static Api {
        let total = self.entries.last().map_or(1, |e| e.0).max(1);
        let roll = rng.u32(0..total);
        let at = self.entries.partition_point(|e| e.0 <= roll);
        let index = self.entries.get(at).map_or(0, |e| e.1);
        &APIS[index]
    }
}

/// The context a parameter builder needs.
pub(crate) struct CallContext<'a> {
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    pub(crate) caller: &'a str,
    /// The role of the caller's session, when it is one.
    pub(crate) caller_role: Option<&'a str>,
}

/// `requestParameters`, `responseElements` and `resources` for a successful call.
pub(crate) fn call_details(
    api: &Api,
    ctx: &CallContext<'_>,
    rng: &mut Rng,
) -> (Value, Value, Option<Value>) {
    let account = ctx.account;
    let region = ctx.region;
    let bucket = [
        "orders-data",
        "app-artifacts",
        "terraform-state",
        "analytics-raw",
    ][rng.usize(..4)];
    let bucket = format!("{bucket}-{account}");
    let roles = [
        "orders-api-lambda-role",
        "eks-node-group-role",
        "terraform-apply",
        "payments-service-role",
    ];
    let mut role = roles[rng.usize(..4)];
    // A role's session assuming the same role is the self-assume loop the pack detects: the
    // background chains to another role.
    if ctx.caller_role == Some(role) {
        role = roles[(roles.iter().position(|r| *r == role).unwrap_or_default() + 1) % 4];
    }
    let instance = format!("i-0{:016x}", rng.u64(..));
    let key_id = format!(
        "arn:aws:kms:{region}:{account}:key/{}",
        crate::record::uuid(rng)
    );
    let function = ["orders-api", "thumbnailer", "nightly-report"][rng.usize(..3)];
    let null = Value::Null;
    match api.name {
        "AssumeRole" => {
            let session = format!("session-{}", rng.u32(1000..9999));
            (
                json!({"roleArn": format!("arn:aws:iam::{account}:role/{role}"), "roleSessionName": session, "durationSeconds": 3600}),
                json!({"credentials": {"accessKeyId": format!("ASIA{}", crate::estate::key_chars(rng, 16)), "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Jan 1, 2030, 12:00:00 AM"}, "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", crate::estate::key_chars(rng, 17)), "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")}}),
                Some(
                    json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{account}:role/{role}")}]),
                ),
            )
        }
        "Decrypt" | "GenerateDataKey" | "Encrypt" => (
            json!({"keyId": key_id, "encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{account}:function:{function}")}}),
            null,
            Some(json!([{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_id}])),
        ),
        "DescribeInstances" => (json!({"instancesSet": {}, "filterSet": {}}), null, None),
        "DescribeSecurityGroups" | "DescribeVolumes" | "DescribeNetworkInterfaces" => {
            (json!({"filterSet": {}, "maxResults": 1000}), null, None)
        }
        "CreateTags" => (
            json!({"resourcesSet": {"items": [{"resourceId": instance}]}, "tagSet": {"items": [{"key": "team", "value": "platform"}]}}),
            json!({"requestId": crate::record::uuid(rng), "_return": true}),
            None,
        ),
        "RunInstances" => (
            json!({"instancesSet": {"items": [{"imageId": "ami-0c55b159cbfafe1f0", "minCount": 1, "maxCount": 1}]}, "instanceType": "t3.medium", "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false}),
            json!({"requestId": crate::record::uuid(rng), "reservationId": format!("r-0{:016x}", rng.u64(..)), "ownerId": account, "instancesSet": {"items": [{"instanceId": instance, "instanceType": "t3.medium", "currentState": {"code": 0, "name": "pending"}}]}}),
            None,
        ),
        "TerminateInstances" => (
            json!({"instancesSet": {"items": [{"instanceId": instance}]}}),
            json!({"requestId": crate::record::uuid(rng), "instancesSet": {"items": [{"instanceId": instance, "currentState": {"code": 32, "name": "shutting-down"}, "previousState": {"code": 16, "name": "running"}}]}}),
            None,
        ),
        "CreateNetworkInterface" => (
            json!({"subnetId": format!("subnet-0{:016x}", rng.u64(..)), "description": "AWS Lambda VPC ENI"}),
            json!({"networkInterface": {"networkInterfaceId": format!("eni-0{:016x}", rng.u64(..))}}),
            None,
        ),
        "DeleteNetworkInterface" => (
            json!({"networkInterfaceId": format!("eni-0{:016x}", rng.u64(..))}),
            json!({"requestId": crate::record::uuid(rng), "_return": true}),
            None,
        ),
        "DeleteSnapshot" => (
            json!({"snapshotId": format!("snap-0{:016x}", rng.u64(..))}),
            json!({"requestId": crate::record::uuid(rng), "_return": true}),
            None,
        ),
        "GetBucketAcl" | "GetBucketPolicy" | "GetBucketVersioning" => (
            json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "acl": ""}),
            null,
            Some(
                json!([{"accountId": account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]),
            ),
        ),
        "ListBuckets" => (json!({"Host": "s3.amazonaws.com"}), null, None),
        "GetObject" | "PutObject" => {
            let key = format!(
                "{}/{:08x}.json",
                ["orders", "reports", "uploads"][rng.usize(..3)],
                rng.u32(..)
            );
            (
                json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": key}),
                null,
                Some(json!([
                    {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
                    {"accountId": account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}
                ])),
            )
        }
        "Invoke" => (
            json!({"functionName": format!("arn:aws:lambda:{region}:{account}:function:{function}"), "invocationType": "RequestResponse"}),
            null,
            Some(
                json!([{"accountId": account, "type": "AWS::Lambda::Function", "ARN": format!("arn:aws:lambda:{region}:{account}:function:{function}")}]),
            ),
        ),
        "GetFunction20150331v2" | "UpdateFunctionCode20150331v2" => {
            (json!({"functionName": function}), null, None)
        }
        "GetRole" | "ListAttachedRolePolicies" | "TagRole" => {
            (json!({"roleName": role}), null, None)
        }
        "CreateRole" => (
            json!({"roleName": format!("app-role-{}", rng.u16(100..999)), "assumeRolePolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"}),
            json!({"role": {"path": "/", "roleName": "app-role", "arn": format!("arn:aws:iam::{account}:role/app-role")}}),
            None,
        ),
        "PutRolePolicy" => (
            json!({"roleName": role, "policyName": "inline-s3-read", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"}),
            null,
            None,
        ),
        "GetUser" => (json!({"userName": ctx.caller}), null, None),
        "GetPolicyVersion" => (
            json!({"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "versionId": "v112"}),
            null,
            None,
        ),
        "CreateLogStream" => (
            json!({"logGroupName": format!("/aws/lambda/{function}"), "logStreamName": format!("2024/01/01/[$LATEST]{:032x}", rng.u128(..))}),
            null,
            None,
        ),
        "PutRetentionPolicy" => (
            json!({"logGroupName": format!("/aws/lambda/{function}"), "retentionInDays": 30}),
            null,
            None,
        ),
        "PutMetricAlarm" => (
            json!({"alarmName": format!("{function}-errors"), "metricName": "Errors", "namespace": "AWS/Lambda", "threshold": 1.0}),
            null,
            None,
        ),
        "GetParameter" | "GetParameters" => (
            json!({"name": format!("/app/{function}/config"), "withDecryption": false}),
            null,
            None,
        ),
        "UpdateInstanceInformation" => (
            json!({"instanceId": instance, "agentVersion": "3.3.40.0", "platformType": "Linux"}),
            null,
            None,
        ),
        "GetSecretValue" | "DescribeSecret" => (
            json!({"secretId": format!("prod/{function}/db")}),
            null,
            None,
        ),
        "DescribeTable" => (json!({"tableName": "orders"}), null, None),
        "BatchGetImage" => (
            json!({"repositoryName": function, "imageIds": [{"imageTag": "latest"}], "acceptedMediaTypes": ["application/vnd.docker.distribution.manifest.v2+json"]}),
            null,
            Some(
                json!([{"accountId": account, "ARN": format!("arn:aws:ecr:{region}:{account}:repository/{function}")}]),
            ),
        ),
        "DescribeTargetHealth" => (
            json!({"targetGroupArn": format!("arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/web/{:016x}", rng.u64(..))}),
            null,
            None,
        ),
        "PutEvaluations" => (
            json!({"evaluations": [{"complianceResourceType": "AWS::EC2::Instance", "complianceResourceId": instance, "complianceType": "COMPLIANT"}], "resultToken": "****"}),
            null,
            None,
        ),
        "LookupEvents" => (
            json!({"maxResults": 50, "lookupAttributes": [{"attributeKey": "ReadOnly", "attributeValue": "false"}]}),
            null,
            None,
        ),
        _ => (null.clone(), null, None),
    }
}

/// An error a call of this API might fail with, and the message CloudTrail records.
pub(crate) fn failure(api: &Api, arn: &str, rng: &mut Rng) -> (&'static str, String) {
    let action = trailhound_action(api);
    match (api.source, rng.u8(..4)) {
        ("ec2.amazonaws.com", 0) => (
            "Client.RequestLimitExceeded",
            "Request limit exceeded.".to_owned(),
        ),
        ("ec2.amazonaws.com", _) => (
            "Client.UnauthorizedOperation",
            format!(
                "You are not authorized to perform this operation. User: {arn} is not authorized to perform: {action}"
            ),
        ),
        ("iam.amazonaws.com", 0) => (
            "NoSuchEntityException",
            "The role with name app-role cannot be found.".to_owned(),
        ),
        ("kms.amazonaws.com" | "dynamodb.amazonaws.com" | "ssm.amazonaws.com", 0) => {
            ("ThrottlingException", "Rate exceeded".to_owned())
        }
        ("secretsmanager.amazonaws.com" | "lambda.amazonaws.com", 0) => (
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.".to_owned(),
        ),
        _ => (
            "AccessDenied",
            format!(
                "User: {arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
            ),
        ),
    }
}

fn trailhound_action(api: &Api) -> String {
    let service = api.source.trim_end_matches(".amazonaws.com");
    let service = if service == "monitoring" {
        "cloudwatch"
    } else {
        service
    };
    let name = api
        .name
        .trim_end_matches("20150331v2")
        .trim_end_matches("20150331");
    format!("{service}:{name}")
}
