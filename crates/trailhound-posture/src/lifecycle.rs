//! The lifecycle rule that moves a trail bucket's logs to an archive class and later
//! expires them: the seed's `put-bucket-lifecycle-configuration` step, as JSON for the CLI
//! and as the XML S3 takes.

use serde_json::{Value, json};

/// One archive-then-expire rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRule {
    /// The rule's ID.
    pub id: String,
    /// The key prefix it applies to (`AWSLogs/`); empty for the whole bucket.
    pub prefix: String,
    /// Days before objects move to `storage_class`.
    pub archive_after_days: Option<u32>,
    /// The archive class (`GLACIER`, `DEEP_ARCHIVE`, `GLACIER_IR`).
    pub storage_class: String,
    /// Days before objects expire.
    pub expire_after_days: Option<u32>,
}

impl ArchiveRule {
    /// The rule as `aws s3api put-bucket-lifecycle-configuration --lifecycle-configuration`
    /// takes it.
    pub fn to_json(&self) -> Value {
        let mut rule = json!({
            "ID": self.id,
            "Filter": {"Prefix": self.prefix},
            "Status": "Enabled",
            // Versioned trail buckets keep old versions: expire those too.
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        });
        if let Some(days) = self.archive_after_days {
            rule["Transitions"] = json!([{"Days": days, "StorageClass": self.storage_class}]);
        }
        if let Some(days) = self.expire_after_days {
            rule["Expiration"] = json!({"Days": days});
        }
        json!({"Rules": [rule]})
    }

    /// The `<Rule>` element of a `LifecycleConfiguration`.
    pub fn to_xml(&self) -> String {
        let mut xml = format!(
            "<Rule><ID>{}</ID><Filter><Prefix>{}</Prefix></Filter><Status>Enabled</Status>",
            escape(&self.id),
            escape(&self.prefix)
        );
        if let Some(days) = self.archive_after_days {
            xml.push_str(&format!(
                "<Transition><Days>{days}</Days><StorageClass>{}</StorageClass></Transition>",
                escape(&self.storage_class)
            ));
        }
        if let Some(days) = self.expire_after_days {
            xml.push_str(&format!("<Expiration><Days>{days}</Days></Expiration>"));
        }
        xml.push_str("<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule>");
        xml
    }

    /// Refuses rules S3 would refuse, with the reason.
    ///
    /// # Errors
    ///
    /// A sentence saying what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.archive_after_days.is_none() && self.expire_after_days.is_none() {
            return Err("give --archive-after, --expire-after or both".to_owned());
        }
        if let (Some(archive), Some(expire)) = (self.archive_after_days, self.expire_after_days)
            && expire <= archive
        {
            return Err(format!(
                "logs would expire ({expire} days) before or when they are archived ({archive} days): expire later"
            ));
        }
        Ok(())
    }
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Whole days in a length of time, for S3 (which counts in days), refusing less than one.
///
/// # Errors
///
/// A sentence when the length is under a day.
pub fn days(length: std::time::Duration) -> Result<u32, String> {
    let days = length.as_secs() / 86_400;
    if days == 0 {
        return Err("S3 lifecycle rules count in whole days: give at least 1d".to_owned());
    }
    u32::try_from(days).map_err(|_| "too many days".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> ArchiveRule {
        ArchiveRule {
            id: "trailhound-archive".to_owned(),
            prefix: "AWSLogs/".to_owned(),
            archive_after_days: Some(90),
            storage_class: "GLACIER".to_owned(),
            expire_after_days: Some(730),
        }
    }

    #[test]
    fn the_rule_reads_as_aws_documents_it() {
        let json = rule().to_json();
        assert_eq!(json["Rules"][0]["Transitions"][0]["Days"], 90);
        assert_eq!(json["Rules"][0]["Expiration"]["Days"], 730);
        assert!(rule().to_xml().contains(
            "<Transition><Days>90</Days><StorageClass>GLACIER</StorageClass></Transition>"
        ));
    }

    #[test]
    fn rules_that_expire_before_archiving_are_refused() {
        let mut bad = rule();
        bad.expire_after_days = Some(60);
        assert!(bad.validate().is_err());
        assert!(days(std::time::Duration::from_secs(3600)).is_err());
        assert_eq!(days(std::time::Duration::from_secs(90 * 86_400)), Ok(90));
    }
}
