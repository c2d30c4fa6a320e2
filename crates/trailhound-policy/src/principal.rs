//! Whose policy: a role (its sessions count for it), a user, the root user, a name that may be
//! either, or everyone; matched against events in SQL (the lake) or in their JSON (files).

use serde_json::Value;

/// A principal as the user names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A role: `arn:aws:iam::ACCOUNT:role/NAME` (exact), or `role/NAME` (any account).
    Role {
        /// The role's ARN, when given.
        arn: Option<String>,
        /// Its name (the last part of the ARN's path).
        name: String,
        /// Its account, when known.
        account: Option<String>,
    },
    /// An IAM user: its ARN, or `user/NAME`.
    User {
        /// The user's ARN, when given.
        arn: Option<String>,
        /// Its name.
        name: String,
    },
    /// The root user of an account.
    Root {
        /// The account.
        account: String,
    },
    /// A role or a user of this name.
    Name(String),
    /// Every event.
    All,
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

const ISSUER: &str = "userIdentity.sessionContext.sessionIssuer";

impl Principal {
    /// Reads `text`: an ARN of a role, user, role session or root, `role/NAME`, `user/NAME`,
    /// a bare name, or `all`.
    ///
    /// # Errors
    ///
    /// An ARN of something else, with the forms that work.
    pub fn parse(text: &str) -> Result<Principal, String> {
        let text = text.trim();
        let wrong = || {
            format!(
                "{text}: give a role (arn:aws:iam::ACCOUNT:role/NAME or role/NAME), a user (arn:aws:iam::ACCOUNT:user/NAME or user/NAME), a role session (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION), a name, or all"
            )
        };
        if text == "all" {
            return Ok(Principal::All);
        }
        if let Some(rest) = text.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_, service, _, account, resource] = parts.as_slice() else {
                return Err(wrong());
            };
            return match (*service, resource.split_once('/')) {
                ("iam", Some(("role", path))) => Ok(Principal::Role {
                    arn: Some(text.to_owned()),
                    name: path.rsplit('/').next().unwrap_or(path).to_owned(),
                    account: Some((*account).to_owned()),
                }),
                ("sts", Some(("assumed-role", session))) => Ok(Principal::Role {
                    arn: None,
                    name: session.split('/').next().unwrap_or(session).to_owned(),
                    account: Some((*account).to_owned()),
                }),
                ("iam", Some(("user", path))) => Ok(Principal::User {
                    arn: Some(text.to_owned()),
                    name: path.rsplit('/').next().unwrap_or(path).to_owned(),
                }),
                ("iam", None) if *resource == "root" => Ok(Principal::Root {
                    account: (*account).to_owned(),
                }),
                _ => Err(wrong()),
            };
        }
        Ok(match text.split_once('/') {
            Some(("role", path)) => Principal::Role {
                arn: None,
                name: path.rsplit('/').next().unwrap_or(path).to_owned(),
                account: None,
            },
            Some(("user", path)) => Principal::User {
                arn: None,
                name: path.rsplit('/').next().unwrap_or(path).to_owned(),
            },
            _ => Principal::Name(text.to_owned()),
        })
    }

    /// How it reads in messages.
    pub fn describe(&self) -> String {
        match self {
            Principal::Role { arn: Some(arn), .. } => format!("role {arn}"),
            Principal::Role {
                name,
                account: Some(a),
                ..
            } => format!("role {name} of account {a}"),
            Principal::Role { name, .. } => format!("role {name}"),
            Principal::User { arn: Some(arn), .. } => format!("user {arn}"),
            Principal::User { name, .. } => format!("user {name}"),
            Principal::Root { account } => format!("the root user of {account}"),
            Principal::Name(name) => format!("{name} (a role or a user of that name)"),
            Principal::All => "every principal".to_owned(),
        }
    }

    /// The SQL condition on `events` selecting its events.
    pub fn sql(&self) -> String {
        match self {
            Principal::Role { arn: Some(arn), .. } => format!("{ISSUER}.arn = {}", sql_string(arn)),
            Principal::Role { name, account, .. } => {
                let mut sql = format!("{ISSUER}.userName = {}", sql_string(name));
                if let Some(account) = account {
                    sql.push_str(&format!(
                        " AND {ISSUER}.accountId = {}",
                        sql_string(account)
                    ));
                }
                sql
            }
            Principal::User { arn: Some(arn), .. } => format!(
                "userIdentity.arn = {} AND userIdentity.type = 'IAMUser'",
                sql_string(arn)
            ),
            Principal::User { name, .. } => format!(
                "userIdentity.userName = {} AND userIdentity.type = 'IAMUser'",
                sql_string(name)
            ),
            Principal::Root { account } => format!(
                "userIdentity.type = 'Root' AND userIdentity.accountId = {}",
                sql_string(account)
            ),
            Principal::Name(name) => format!(
                "({ISSUER}.userName = {name} OR (userIdentity.userName = {name} AND userIdentity.type = 'IAMUser'))",
                name = sql_string(name)
            ),
            Principal::All => "true".to_owned(),
        }
    }

    /// Whether the event (its JSON) is one of the principal's: the same test as
    /// [`Principal::sql`].
    pub fn matches(&self, event: &Value) -> bool {
        let identity = &event["userIdentity"];
        let issuer = &identity["sessionContext"]["sessionIssuer"];
        let is = |v: &Value, text: &str| v.as_str() == Some(text);
        let user = || is(&identity["type"], "IAMUser");
        match self {
            Principal::Role { arn: Some(arn), .. } => is(&issuer["arn"], arn),
            Principal::Role { name, account, .. } => {
                is(&issuer["userName"], name)
                    && account.as_ref().is_none_or(|a| is(&issuer["accountId"], a))
            }
            Principal::User { arn: Some(arn), .. } => is(&identity["arn"], arn) && user(),
            Principal::User { name, .. } => is(&identity["userName"], name) && user(),
            Principal::Root { account } => {
                is(&identity["type"], "Root") && is(&identity["accountId"], account)
            }
            Principal::Name(name) => {
                is(&issuer["userName"], name) || (is(&identity["userName"], name) && user())
            }
            Principal::All => true,
        }
    }

    /// The principal's ARN as an event names it (the role's, or the user's).
    pub fn arn_in(event: &Value) -> Option<&str> {
        event["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
            .as_str()
            .or_else(|| event["userIdentity"]["arn"].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_form_names_the_same_role_and_matches_its_sessions() -> Result<(), String> {
        let session = json!({"userIdentity": {"type": "AssumedRole",
            "arn": "arn:aws:sts::1:assumed-role/deploy/ci",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/ci/deploy", "userName": "deploy", "accountId": "1"}}}});
        for form in [
            "arn:aws:iam::1:role/ci/deploy",
            "arn:aws:sts::1:assumed-role/deploy/x",
            "role/deploy",
            "deploy",
            "all",
        ] {
            assert!(Principal::parse(form)?.matches(&session), "{form}");
        }
        for form in ["arn:aws:iam::2:role/deploy", "user/deploy", "role/other"] {
            assert!(!Principal::parse(form)?.matches(&session), "{form}");
        }
        assert!(Principal::parse("arn:aws:s3:::bucket").is_err());
        assert_eq!(
            Principal::arn_in(&session),
            Some("arn:aws:iam::1:role/ci/deploy")
        );
        Ok(())
    }
}
