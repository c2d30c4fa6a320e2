//! The account's IAM principals and policies, live: `GetAccountAuthorizationDetails` read page
//! by page into the same JSON `aws iam get-account-authorization-details` prints, so that
//! `trailhound policy --attached-from-aws` and `--attached FILE` read one shape.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::PostureError;
use crate::api::{Aws, IAM};

/// `<List><member>…</member>…</List>`.
#[derive(Debug, Deserialize)]
struct Members<T> {
    #[serde(default = "Vec::new")]
    member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members { member: Vec::new() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Inline {
    policy_name: String,
    policy_document: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Attached {
    policy_name: String,
    policy_arn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Principal {
    #[serde(alias = "RoleName", alias = "GroupName")]
    user_name: Option<String>,
    arn: String,
    #[serde(default, alias = "RolePolicyList", alias = "GroupPolicyList")]
    user_policy_list: Members<Inline>,
    #[serde(default)]
    group_list: Members<String>,
    #[serde(default)]
    attached_managed_policies: Members<Attached>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Version {
    document: String,
    version_id: String,
    #[serde(default)]
    is_default_version: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Managed {
    policy_name: String,
    arn: String,
    default_version_id: Option<String>,
    #[serde(default)]
    policy_version_list: Members<Version>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Page {
    #[serde(default)]
    is_truncated: bool,
    marker: Option<String>,
    #[serde(default)]
    user_detail_list: Members<Principal>,
    #[serde(default)]
    group_detail_list: Members<Principal>,
    #[serde(default)]
    role_detail_list: Members<Principal>,
    #[serde(default)]
    policies: Members<Managed>,
}

fn principal(p: &Principal, name_key: &str, list_key: &str) -> Value {
    json!({
        name_key: p.user_name,
        "Arn": p.arn,
        list_key: p.user_policy_list.member.iter().map(|i| json!({
            "PolicyName": i.policy_name,
            // URL-encoded, as the API returns it; readers decode it.
            "PolicyDocument": i.policy_document,
        })).collect::<Vec<_>>(),
        "GroupList": p.group_list.member,
        "AttachedManagedPolicies": p.attached_managed_policies.member.iter().map(|a| json!({
            "PolicyName": a.policy_name,
            "PolicyArn": a.policy_arn,
        })).collect::<Vec<_>>(),
    })
}

/// Every user, group, role and managed policy of the account the credentials reach, as
/// `aws iam get-account-authorization-details` prints them.
///
/// # Errors
///
/// When IAM refuses (`iam:GetAccountAuthorizationDetails` is needed) or cannot be reached.
pub fn account_authorization_details(aws: &Aws) -> Result<Value, PostureError> {
    let (mut users, mut groups, mut roles, mut policies) = (vec![], vec![], vec![], vec![]);
    let mut marker: Option<String> = None;
    loop {
        let current = marker.clone();
        let mut params = vec![("MaxItems", "1000")];
        if let Some(m) = &current {
            params.push(("Marker", m.as_str()));
        }
        let page: Page = aws.query(
            IAM,
            aws.default_region(),
            "GetAccountAuthorizationDetails",
            &params,
        )?;
        users.extend(
            page.user_detail_list
                .member
                .iter()
                .map(|p| principal(p, "UserName", "UserPolicyList")),
        );
        groups.extend(
            page.group_detail_list
                .member
                .iter()
                .map(|p| principal(p, "GroupName", "GroupPolicyList")),
        );
        roles.extend(
            page.role_detail_list
                .member
                .iter()
                .map(|p| principal(p, "RoleName", "RolePolicyList")),
        );
        policies.extend(page.policies.member.iter().map(|m| {
            json!({
                "PolicyName": m.policy_name,
                "Arn": m.arn,
                "DefaultVersionId": m.default_version_id,
                "PolicyVersionList": m.policy_version_list.member.iter().map(|v| json!({
                    "Document": v.document,
                    "VersionId": v.version_id,
                    "IsDefaultVersion": v.is_default_version,
                })).collect::<Vec<_>>(),
            })
        }));
        match (page.is_truncated, page.marker) {
            (true, Some(next)) if marker.as_deref() != Some(next.as_str()) => marker = Some(next),
            _ => break,
        }
    }
    Ok(json!({
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": roles,
        "Policies": policies,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_as_the_cli_prints_it() -> Result<(), quick_xml::DeError> {
        let xml = "<GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated>\
            <RoleDetailList><member><RoleName>deploy</RoleName><Arn>arn:aws:iam::1:role/deploy</Arn>\
            <RolePolicyList><member><PolicyName>p</PolicyName><PolicyDocument>%7B%7D</PolicyDocument></member></RolePolicyList>\
            <AttachedManagedPolicies><member><PolicyName>ro</PolicyName><PolicyArn>arn:aws:iam::aws:policy/ReadOnlyAccess</PolicyArn></member></AttachedManagedPolicies>\
            </member></RoleDetailList><UserDetailList/><GroupDetailList/>\
            <Policies><member><PolicyName>ro</PolicyName><Arn>arn:aws:iam::aws:policy/ReadOnlyAccess</Arn><DefaultVersionId>v2</DefaultVersionId>\
            <PolicyVersionList><member><Document>%7B%7D</Document><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion></member></PolicyVersionList>\
            </member></Policies></GetAccountAuthorizationDetailsResult>";
        let page: Page = quick_xml::de::from_str(xml)?;
        let role = principal(
            &page.role_detail_list.member[0],
            "RoleName",
            "RolePolicyList",
        );
        assert_eq!(role["RoleName"], "deploy");
        assert_eq!(role["RolePolicyList"][0]["PolicyDocument"], "%7B%7D");
        assert_eq!(
            role["AttachedManagedPolicies"][0]["PolicyArn"],
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        );
        assert!(page.policies.member[0].policy_version_list.member[0].is_default_version);
        Ok(())
    }
}
