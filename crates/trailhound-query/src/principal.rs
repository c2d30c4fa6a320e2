//! Who acted, in SQL: one expression for every place that names the principal of an event
//! over the lake, so that `stats`, `search`, the API and the dashboard show the same name and
//! `search --user` finds what `stats` lists.

/// [`trailhound_event::UserIdentity::principal`] over the `events` table: the identity's
/// `arn`, else `userName`, else `principalId`, else `invokedBy`, else `type`.
pub const PRINCIPAL_SQL: &str = "coalesce(userIdentity.arn, userIdentity.userName, \
     userIdentity.principalId, userIdentity.invokedBy, userIdentity.type)";
