//! The built-in queries: the investigations people run first on CloudTrail, ready to run by
//! name (`trailhound query --run root-activity`) beside the ones they save themselves.
//!
//! They are written the way their users would paste them (CloudTrail Lake's and Athena's
//! SQL, Logs Insights), so that they also show that those run as written.

use crate::Dialect;

/// The language a query is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// SQL in a dialect.
    Sql(Dialect),
    /// CloudWatch Logs Insights' query language.
    LogsInsights,
}

impl Language {
    /// The name the catalog and `--list` give it: `sql` or `logs-insights`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Language::Sql(_) => "sql",
            Language::LogsInsights => "logs-insights",
        }
    }

    /// The dialect's name for SQL (`auto`, `lake`, `athena`, `datafusion`), `""` otherwise.
    #[must_use]
    pub fn dialect_name(self) -> &'static str {
        match self {
            Language::Sql(dialect) => dialect.name(),
            Language::LogsInsights => "",
        }
    }

    /// The language of a saved query, from the names [`Language::name`] and
    /// [`Language::dialect_name`] gave it.
    ///
    /// # Errors
    ///
    /// A message naming the language or dialect that is not known.
    pub fn from_names(language: &str, dialect: &str) -> Result<Language, String> {
        match language {
            "sql" => Ok(Language::Sql(if dialect.is_empty() {
                Dialect::Auto
            } else {
                dialect.parse()?
            })),
            "logs-insights" => Ok(Language::LogsInsights),
            other => Err(format!(
                "unknown query language {other:?}: use sql or logs-insights"
            )),
        }
    }
}

/// A query that comes with Trailhound.
#[derive(Debug, Clone, Copy)]
pub struct BuiltInQuery {
    /// The name it is run by.
    pub name: &'static str,
    /// What it answers.
    pub description: &'static str,
    /// Its language.
    pub language: Language,
    /// The query.
    pub text: &'static str,
}

/// The built-in queries, by name.
pub const BUILT_IN_QUERIES: &[BuiltInQuery] = &[
    BuiltInQuery {
        name: "access-denied",
        description: "Calls refused for lack of permission, by principal and API",
        language: Language::Sql(Dialect::Athena),
        text: "SELECT useridentity.arn AS principal, eventsource, eventname, errorcode, \
               count(*) AS attempts, min(eventtime) AS first, max(eventtime) AS last
FROM cloudtrail_logs
WHERE errorcode IN ('AccessDenied', 'Client.UnauthorizedOperation', 'UnauthorizedOperation', 'AccessDeniedException')
GROUP BY 1, 2, 3, 4
ORDER BY attempts DESC",
    },
    BuiltInQuery {
        name: "activity-per-user",
        description: "Calls, failures, first and last activity of every principal",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT userIdentity.arn AS principal, userIdentity.type AS type, count(*) AS calls,
       count_if(errorCode IS NOT NULL) AS failed, count(DISTINCT sourceIPAddress) AS source_ips,
       min(eventTime) AS first_seen, max(eventTime) AS last_seen
FROM $EDS_ID
WHERE userIdentity.arn IS NOT NULL
GROUP BY userIdentity.arn, userIdentity.type
ORDER BY calls DESC",
    },
    BuiltInQuery {
        name: "assumed-roles",
        description: "Which principals assumed which roles, and how often",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT userIdentity.arn AS principal, element_at(requestParameters, 'roleArn') AS role,
       count(*) AS times, max(eventTime) AS last
FROM $EDS_ID
WHERE eventSource = 'sts.amazonaws.com' AND eventName = 'AssumeRole' AND errorCode IS NULL
GROUP BY 1, 2
ORDER BY times DESC",
    },
    BuiltInQuery {
        name: "bucket-exposure-changes",
        description: "Changes to S3 bucket policies, ACLs and public access blocks",
        language: Language::Sql(Dialect::Athena),
        text: "SELECT eventtime, useridentity.arn AS principal, eventname,
       json_extract_scalar(requestparameters, '$.bucketName') AS bucket, sourceipaddress, errorcode
FROM cloudtrail_logs
WHERE eventsource = 's3.amazonaws.com'
  AND eventname IN ('PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketAcl', 'PutObjectAcl',
                    'PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock',
                    'PutAccountPublicAccessBlock', 'DeleteAccountPublicAccessBlock')
ORDER BY eventtime DESC",
    },
    BuiltInQuery {
        name: "console-logins-without-mfa",
        description: "Successful console sign-ins made without MFA",
        language: Language::Sql(Dialect::Athena),
        text: "SELECT eventtime, useridentity.type, useridentity.arn, sourceipaddress, useragent
FROM cloudtrail_logs
WHERE eventname = 'ConsoleLogin'
  AND json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No'
  AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
ORDER BY eventtime DESC",
    },
    BuiltInQuery {
        name: "delete-actions",
        description: "Every Delete* call: who deleted what, from where, newest first",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT eventTime, eventSource, eventName, userIdentity.arn AS principal,
       sourceIPAddress, errorCode, requestParameters
FROM $EDS_ID
WHERE eventName LIKE 'Delete%'
ORDER BY eventTime DESC",
    },
    BuiltInQuery {
        name: "errors-by-principal",
        description: "Failed calls by principal and error code",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT userIdentity.arn AS principal, errorCode, count(*) AS failures,
       approx_distinct(eventName) AS apis
FROM $EDS_ID
WHERE errorCode IS NOT NULL
GROUP BY 1, 2
ORDER BY failures DESC",
    },
    BuiltInQuery {
        name: "errors-over-time",
        description: "Failed calls per hour and error code",
        language: Language::LogsInsights,
        text: "filter ispresent(errorCode)
| stats count(*) as failures by bin(1h), errorCode
| sort failures desc",
    },
    BuiltInQuery {
        name: "iam-changes",
        description: "Every change to IAM users, roles, groups, policies and keys",
        language: Language::Sql(Dialect::Athena),
        text: "SELECT eventtime, useridentity.arn AS principal, eventname, sourceipaddress,
       requestparameters, errorcode
FROM cloudtrail_logs
WHERE eventsource = 'iam.amazonaws.com' AND readonly = 'false'
ORDER BY eventtime DESC",
    },
    BuiltInQuery {
        name: "kms-key-deletion",
        description: "KMS keys disabled or scheduled for deletion",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT eventTime, userIdentity.arn AS principal, eventName,
       element_at(requestParameters, 'keyId') AS key_id,
       element_at(requestParameters, 'pendingWindowInDays') AS pending_days, errorCode
FROM $EDS_ID
WHERE eventSource = 'kms.amazonaws.com' AND eventName IN ('ScheduleKeyDeletion', 'DisableKey')
ORDER BY eventTime DESC",
    },
    BuiltInQuery {
        name: "logging-tampering",
        description: "Trails stopped, deleted or changed, event selectors replaced",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT eventTime, userIdentity.arn AS principal, eventName,
       element_at(requestParameters, 'name') AS trail, sourceIPAddress, errorCode
FROM $EDS_ID
WHERE eventSource = 'cloudtrail.amazonaws.com'
  AND eventName IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors',
                    'PutInsightSelectors', 'DeleteEventDataStore', 'StopEventDataStoreIngestion')
ORDER BY eventTime DESC",
    },
    BuiltInQuery {
        name: "new-access-keys",
        description: "Access keys created: by whom, for whom",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT eventTime, userIdentity.arn AS creator,
       element_at(requestParameters, 'userName') AS for_user,
       responseElements.accessKey.accessKeyId AS access_key, sourceIPAddress, errorCode
FROM $EDS_ID
WHERE eventSource = 'iam.amazonaws.com' AND eventName = 'CreateAccessKey'
ORDER BY eventTime DESC",
    },
    BuiltInQuery {
        name: "root-activity",
        description: "Calls made by the root user (not by AWS services on its behalf)",
        language: Language::Sql(Dialect::Athena),
        text: "SELECT eventtime, recipientaccountid, eventsource, eventname, sourceipaddress,
       useragent, errorcode
FROM cloudtrail_logs
WHERE useridentity.type = 'Root' AND useridentity.invokedby IS NULL
  AND eventtype <> 'AwsServiceEvent'
ORDER BY eventtime DESC",
    },
    BuiltInQuery {
        name: "security-group-changes",
        description: "Security group rules opened, closed or groups created and deleted",
        language: Language::Sql(Dialect::Lake),
        text: "SELECT eventTime, userIdentity.arn AS principal, eventName,
       element_at(requestParameters, 'groupId') AS group_id, sourceIPAddress, errorCode
FROM $EDS_ID
WHERE eventSource = 'ec2.amazonaws.com'
  AND eventName IN ('AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress',
                    'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress',
                    'CreateSecurityGroup', 'DeleteSecurityGroup', 'ModifySecurityGroupRules')
ORDER BY eventTime DESC",
    },
    BuiltInQuery {
        name: "source-ips-per-user",
        description: "From how many and which addresses each principal called",
        language: Language::Sql(Dialect::Athena),
        text: "SELECT useridentity.arn AS principal, count(DISTINCT sourceipaddress) AS addresses,
       array_agg(DISTINCT sourceipaddress) AS ips
FROM cloudtrail_logs
WHERE useridentity.arn IS NOT NULL
GROUP BY 1
ORDER BY addresses DESC",
    },
    BuiltInQuery {
        name: "top-apis",
        description: "The most called APIs",
        language: Language::LogsInsights,
        text: "stats count(*) as calls by eventSource, eventName
| sort calls desc
| limit 25",
    },
];

/// The built-in query called `name`.
#[must_use]
pub fn built_in_query(name: &str) -> Option<&'static BuiltInQuery> {
    BUILT_IN_QUERIES.iter().find(|query| query.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_are_unique_and_sorted() {
        let names: Vec<_> = BUILT_IN_QUERIES.iter().map(|q| q.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }

    #[test]
    fn languages_round_trip_through_their_names() {
        for language in [
            Language::LogsInsights,
            Language::Sql(Dialect::Auto),
            Language::Sql(Dialect::Lake),
            Language::Sql(Dialect::Athena),
            Language::Sql(Dialect::DataFusion),
        ] {
            assert_eq!(
                Language::from_names(language.name(), language.dialect_name()),
                Ok(language)
            );
        }
        assert!(Language::from_names("kql", "").is_err());
    }
}
