//! The synthetic AWS estate: accounts and the principals that act in them.

use fastrand::Rng;

/// What kind of actor a principal is; decides which APIs it calls and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    /// A person, through the console or the CLI.
    Human,
    /// Automation: CI users, Terraform, application roles.
    Machine,
    /// An AWS service acting for the account.
    Service,
}

/// How the principal appears in `userIdentity`.
#[derive(Debug, Clone)]
pub(crate) enum IdentityShape {
    IamUser {
        user_name: String,
    },
    AssumedRole {
        role_name: String,
        session_name: String,
    },
    AwsService {
        invoked_by: &'static str,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub(crate) shape: IdentityShape,
    pub(crate) actor: Actor,
    /// Relative share of the account's activity.
    pub(crate) weight: u32,
    pub(crate) principal_id: String,
    pub(crate) access_key_id: String,
    pub(crate) ips: Vec<String>,
    pub(crate) user_agents: Vec<&'static str>,
    /// Signs in to the console (humans only).
    pub(crate) console: bool,
    pub(crate) mfa: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) principals: Vec<Principal>,
    /// Cumulative principal weights, for weighted choice.
    cumulative: Vec<u32>,
}

impl Account {
    pub(crate) fn pick_principal(&self, rng: &mut Rng) -> &Principal {
        let total = self.cumulative.last().copied().unwrap_or(1).max(1);
        let roll = rng.u32(0..total);
        let index = self.cumulative.partition_point(|&c| c <= roll);
        &self.principals[index.min(self.principals.len() - 1)]
    }

    pub(crate) fn principal(&self, user_name: &str) -> Option<&Principal> {
        self.principals.iter().find(|p| match &p.shape {
            IdentityShape::IamUser { user_name: name } => name == user_name,
            _ => false,
        })
    }
}

const CLI_AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ec2.describe-instances",
    "aws-cli/2.17.4 Python/3.11.9 Linux/6.8.0-1009-aws exe/x86_64.ubuntu.24 prompt/off",
    "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.84",
];
const CONSOLE_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "AWS Internal",
];
const MACHINE_AGENTS: &[&str] = &[
    "APN/1.0 HashiCorp/1.0 Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.47.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.156.0",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.6",
    "aws-sdk-java/2.25.35 Linux/5.10.214-202.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. md/internal io/sync http/Apache cfg/retry-mode/legacy",
    "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.214-202.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.84",
];

/// Builds `count` accounts with a stable set of principals each.
pub(crate) fn build_accounts(count: usize, rng: &mut Rng) -> Vec<Account> {
    (0..count)
        .map(|index| {
            let id = format!("{:012}", 100_000_000_000u64 + rng.u64(0..899_999_999_999));
            let node_session = format!("i-0{:016x}", rng.u64(..));
            let mut principals = vec![
                human(rng, "alice", 12, true),
                human(rng, "bob", 10, true),
                human(rng, "carol", 5, true),
                iam_machine(rng, "ci-deploy", 20),
                role(
                    rng,
                    "AWSReservedSSO_AdministratorAccess_4f0bd1e9a2c3d5e7",
                    "alice@example.com",
                    Actor::Human,
                    8,
                    CONSOLE_AGENTS,
                ),
                role(
                    rng,
                    "AWSReservedSSO_ReadOnlyAccess_9e8d7c6b5a4f3e2d",
                    "carol@example.com",
                    Actor::Human,
                    5,
                    CONSOLE_AGENTS,
                ),
                role(
                    rng,
                    "terraform-apply",
                    "terraform-run",
                    Actor::Machine,
                    14,
                    MACHINE_AGENTS,
                ),
                role(
                    rng,
                    "orders-api-lambda-role",
                    "orders-api",
                    Actor::Machine,
                    40,
                    MACHINE_AGENTS,
                ),
                role(
                    rng,
                    "eks-node-group-role",
                    &node_session,
                    Actor::Machine,
                    35,
                    MACHINE_AGENTS,
                ),
                role(
                    rng,
                    "AWSServiceRoleForAutoScaling",
                    "AutoScaling",
                    Actor::Service,
                    12,
                    &["autoscaling.amazonaws.com"],
                ),
                service("ec2.amazonaws.com", 20),
                service("lambda.amazonaws.com", 15),
                service("cloudformation.amazonaws.com", 6),
                service("config.amazonaws.com", 10),
            ];
            if index == 0 {
                // The first account is the busy production one.
                principals.push(role(
                    rng,
                    "payments-service-role",
                    "payments",
                    Actor::Machine,
                    30,
                    MACHINE_AGENTS,
                ));
            }
            let cumulative = principals
                .iter()
                .scan(0u32, |sum, p| {
                    *sum += p.weight;
                    Some(*sum)
                })
                .collect();
            Account {
                id,
                principals,
                cumulative,
            }
        })
        .collect()
}

fn human(rng: &mut Rng, name: &str, weight: u32, mfa: bool) -> Principal {
    let mut agents = CLI_AGENTS.to_vec();
    agents.extend_from_slice(CONSOLE_AGENTS);
    Principal {
        shape: IdentityShape::IamUser {
            user_name: name.to_owned(),
        },
        actor: Actor::Human,
        weight,
        principal_id: format!("AIDA{}", key_chars(rng, 17)),
        access_key_id: format!("AKIA{}", key_chars(rng, 16)),
        ips: vec![
            format!("203.0.113.{}", rng.u8(10..250)),
            format!("192.0.2.{}", rng.u8(10..250)),
        ],
        user_agents: agents,
        console: true,
        mfa,
    }
}

fn iam_machine(rng: &mut Rng, name: &str, weight: u32) -> Principal {
    Principal {
        shape: IdentityShape::IamUser {
            user_name: name.to_owned(),
        },
        actor: Actor::Machine,
        weight,
        principal_id: format!("AIDA{}", key_chars(rng, 17)),
        access_key_id: format!("AKIA{}", key_chars(rng, 16)),
        ips: vec![format!("52.94.{}.{}", rng.u8(0..255), rng.u8(1..255))],
        user_agents: MACHINE_AGENTS[..2].to_vec(),
        console: false,
        mfa: false,
    }
}

fn role(
    rng: &mut Rng,
    role_name: &str,
    session: &str,
    actor: Actor,
    weight: u32,
    agents: &[&'static str],
) -> Principal {
    let ips = match actor {
        Actor::Human => vec![format!("203.0.113.{}", rng.u8(10..250))],
        Actor::Service => vec![
            agents
                .first()
                .copied()
                .unwrap_or("amazonaws.com")
                .to_owned(),
        ],
        Actor::Machine => (0..3)
            .map(|_| {
                // EC2 addresses (3.208.0.0/12 is one of AWS's published ranges): machines
                // run inside AWS.
                format!(
                    "3.{}.{}.{}",
                    rng.u8(208..224),
                    rng.u8(0..255),
                    rng.u8(1..255)
                )
            })
            .collect(),
    };
    Principal {
        shape: IdentityShape::AssumedRole {
            role_name: role_name.to_owned(),
            session_name: session.to_owned(),
        },
        actor,
        weight,
        principal_id: format!("AROA{}", key_chars(rng, 17)),
        access_key_id: format!("ASIA{}", key_chars(rng, 16)),
        ips,
        user_agents: agents.to_vec(),
        console: false,
        mfa: actor == Actor::Human,
    }
}

fn service(invoked_by: &'static str, weight: u32) -> Principal {
    Principal {
        shape: IdentityShape::AwsService { invoked_by },
        actor: Actor::Service,
        weight,
        principal_id: String::new(),
        access_key_id: String::new(),
        ips: vec![invoked_by.to_owned()],
        user_agents: vec![invoked_by],
        console: false,
        mfa: false,
    }
}

/// Upper-case letters and digits, as AWS key ids use.
pub(crate) fn key_chars(rng: &mut Rng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..len)
        .map(|_| CHARS[rng.usize(..CHARS.len())] as char)
        .collect()
}
