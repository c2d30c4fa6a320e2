//! Following a trail folder: the objects delivered since the newest one taken.
//!
//! Keys in a trail folder (`…/<account>/CloudTrail/<region>/`) sort by delivery time, so one
//! LIST with a start-after key returns only what is new. Two details keep that exact: objects
//! delivered in the same minute sort by a random suffix, and S3 may show an object in a
//! listing after later ones. So each poll lists again from [`RELIST_MARGIN`] before the
//! newest object taken; the consumer skips what it already has (the catalog knows) without
//! downloading it.

use chrono::Duration;

use super::{ListedObject, S3Bucket};
use crate::{LogKey, LogKind, SourceError};

/// How far before the newest object taken each poll lists again.
pub const RELIST_MARGIN: Duration = Duration::minutes(15);

impl S3Bucket {
    /// The objects of `folder` (a trail folder, ending in `/`) from [`RELIST_MARGIN`] before
    /// `position` (the key of the newest object taken; everything when `None`), in key order.
    ///
    /// # Errors
    ///
    /// [`SourceError::Remote`] when the store cannot be listed.
    pub fn list_since(
        &self,
        folder: &str,
        position: Option<&str>,
    ) -> Result<Vec<ListedObject>, SourceError> {
        let start_after = position.map(|p| relist_from(folder, p));
        let objects = self.list_after(folder.trim_end_matches('/'), start_after.as_deref())?;
        Ok(objects
            .into_iter()
            .filter(|o| !o.key.ends_with('/'))
            .collect())
    }
}

/// A start-after key [`RELIST_MARGIN`] earlier than `position`: the bare
/// `<account>_<kind>_<region>_<YYYYMMDDTHHmm>Z` name of that minute, which sorts before every
/// object delivered in it. Positions that are not CloudTrail keys are used as they are.
fn relist_from(folder: &str, position: &str) -> String {
    let key = LogKey::parse(position);
    let folder_key = LogKey::parse(folder);
    let (Some(delivered), Some(account), Some(region), Some(kind)) =
        (key.delivered, &key.account, &key.region, key.kind)
    else {
        return position.to_owned();
    };
    // Only a folder above the date folders can hold the rewound key's date folder.
    if folder_key.region.is_none() || folder_key.year.is_some() {
        return position.to_owned();
    }
    let kind = match kind {
        LogKind::Events => "CloudTrail",
        LogKind::Insight => "CloudTrail-Insight",
        LogKind::Digest => "CloudTrail-Digest",
    };
    let earlier = delivered - RELIST_MARGIN;
    format!(
        "{folder}{}/{account}_{kind}_{region}_{}",
        earlier.format("%Y/%m/%d"),
        earlier.format("%Y%m%dT%H%MZ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relists_from_a_margin_before_the_position_across_day_folders() {
        let folder = "AWSLogs/o-aa111bb222/111122223333/CloudTrail/us-east-1/";
        let position = format!(
            "{folder}2024/07/02/111122223333_CloudTrail_us-east-1_20240702T0005Z_zzzz.json.gz"
        );
        let from = relist_from(folder, &position);
        assert_eq!(
            from,
            format!("{folder}2024/07/01/111122223333_CloudTrail_us-east-1_20240701T2350Z")
        );
        // Everything delivered from 23:50 on sorts after it, whatever its suffix.
        let same_minute = format!(
            "{folder}2024/07/01/111122223333_CloudTrail_us-east-1_20240701T2350Z_0000.json.gz"
        );
        assert!(same_minute > from);
        assert!(position > from);
        // Keys outside the layout are a plain start-after.
        assert_eq!(relist_from("logs/", "logs/a.json"), "logs/a.json");
    }
}
