//! Named profiles from the AWS shared configuration files (`~/.aws/credentials` and
//! `~/.aws/config`), the part of the standard credential chain `object_store` leaves out.
//!
//! Only what a profile can say directly is used: static keys, a session token, the region and
//! an `endpoint_url`. Profiles that need a service call to produce credentials (assumed roles,
//! SSO, `credential_process`) are reported with a way around, never silently ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::SourceError;

/// What one profile says, merged from both files (the credentials file wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) name: String,
    pub(crate) access_key_id: Option<String>,
    pub(crate) secret_access_key: Option<String>,
    pub(crate) session_token: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) endpoint_url: Option<String>,
    /// A setting that makes the profile's credentials come from a service Trailhound does
    /// not call (`sso_session`, `credential_process`, …).
    pub(crate) indirect: Option<String>,
    /// A role to assume with the source profile's (or the environment's) credentials.
    pub(crate) role: Option<Role>,
}

/// `role_arn` and what goes with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Role {
    pub(crate) arn: String,
    pub(crate) source_profile: Option<String>,
    /// `credential_source = Environment`.
    pub(crate) from_environment: bool,
    pub(crate) external_id: Option<String>,
    pub(crate) session_name: Option<String>,
}

impl Profile {
    /// Static keys, when the profile has them.
    pub(crate) fn keys(&self) -> Result<Option<(&str, &str)>, SourceError> {
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => Ok(Some((id, secret))),
            (None, None) => match &self.indirect {
                Some(setting) => Err(SourceError::S3Config(format!(
                    "AWS profile {:?} gets its credentials through {setting}, which Trailhound \
                     does not call; export them first: eval \"$(aws configure export-credentials \
                     --profile {} --format env)\"",
                    self.name, self.name
                ))),
                None => Ok(None),
            },
            _ => Err(SourceError::S3Config(format!(
                "AWS profile {:?} has only one of aws_access_key_id and aws_secret_access_key",
                self.name
            ))),
        }
    }
}

/// The profile `name` (else `AWS_PROFILE`, else `default`). `Ok(None)` when the default
/// profile is wanted and there is none; a profile asked for by name must exist.
pub(crate) fn load(name: Option<&str>) -> Result<Option<Profile>, SourceError> {
    let env_name = std::env::var("AWS_PROFILE").ok().filter(|n| !n.is_empty());
    let asked = name.map(str::to_owned).or(env_name);
    load_named(asked)
}

/// The profile `asked` (else `default`), as [`load`] finds it.
pub(crate) fn load_named(asked: Option<String>) -> Result<Option<Profile>, SourceError> {
    let wanted = asked.clone().unwrap_or_else(|| "default".to_owned());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config = file("AWS_CONFIG_FILE", "config");
    let found = find(&wanted, credentials.as_deref(), config.as_deref())?;
    match (found, asked) {
        (Some(profile), _) => Ok(Some(profile)),
        (None, None) => Ok(None),
        (None, Some(name)) => Err(SourceError::S3Config(format!(
            "AWS profile {name:?} is in neither {} nor {}",
            shown(credentials.as_deref()),
            shown(config.as_deref())
        ))),
    }
}

fn shown(path: Option<&Path>) -> String {
    path.map_or_else(
        || "~/.aws/credentials".to_owned(),
        |p| p.display().to_string(),
    )
}

/// Looks `name` up in both files; `Ok(None)` when neither has it.
fn find(
    name: &str,
    credentials: Option<&Path>,
    config: Option<&Path>,
) -> Result<Option<Profile>, SourceError> {
    let read = |path: Option<&Path>| -> Result<String, SourceError> {
        match path.map(std::fs::read_to_string) {
            None => Ok(String::new()),
            Some(Ok(text)) => Ok(text),
            Some(Err(err)) if err.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Some(Err(err)) => Err(SourceError::S3Config(format!(
                "cannot read {}: {err}",
                shown(path)
            ))),
        }
    };
    // The config file names sections `[profile x]` (except `[default]`); the credentials
    // file names them `[x]`.
    let config_section = if name == "default" {
        "default".to_owned()
    } else {
        format!("profile {name}")
    };
    let from_config = sections(&read(config)?).remove(&config_section);
    let from_credentials = sections(&read(credentials)?).remove(name);
    if from_config.is_none() && from_credentials.is_none() {
        return Ok(None);
    }
    let mut settings = from_config.unwrap_or_default();
    settings.extend(from_credentials.unwrap_or_default());
    let mut take = |key: &str| settings.remove(key).filter(|v| !v.is_empty());
    let mut profile = Profile {
        name: name.to_owned(),
        access_key_id: take("aws_access_key_id"),
        secret_access_key: take("aws_secret_access_key"),
        session_token: take("aws_session_token"),
        region: take("region"),
        endpoint_url: take("endpoint_url"),
        indirect: None,
        role: None,
    };
    if let Some(arn) = take("role_arn") {
        profile.role = Some(Role {
            arn,
            source_profile: take("source_profile"),
            from_environment: take("credential_source").is_some_and(|s| s == "Environment"),
            external_id: take("external_id"),
            session_name: take("role_session_name"),
        });
    }
    profile.indirect = [
        "sso_session",
        "sso_start_url",
        "credential_process",
        "web_identity_token_file",
    ]
    .into_iter()
    .find(|key| settings.contains_key(*key))
    .map(str::to_owned);
    Ok(Some(profile))
}

/// INI sections as the AWS files write them: `[name]`, `key = value`, `#` and `;` comments.
/// Indented lines continue a nested setting (`s3 =\n  addressing_style = path`) and are not
/// top-level keys.
fn sections(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut all: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            all.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            all.entry(section.clone())
                .or_default()
                .insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    }

    #[test]
    fn merges_both_files_with_the_credentials_file_winning()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let credentials = write(
            dir.path(),
            "credentials",
            "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n\
             [audit]\n# read-only keys\naws_access_key_id=AKIAAUDIT\naws_secret_access_key=s2\n",
        )?;
        let config = write(
            dir.path(),
            "config",
            "[default]\nregion = us-east-1\n\n[profile  audit]\nregion = eu-west-1\n\
             endpoint_url = http://127.0.0.1:9000\ns3 =\n  addressing_style = path\n\
             aws_access_key_id = AKIAFROMCONFIG\n",
        )?;
        let audit = find("audit", Some(&credentials), Some(&config))?.ok_or("no profile")?;
        assert_eq!(audit.access_key_id.as_deref(), Some("AKIAAUDIT"));
        assert_eq!(audit.keys()?, Some(("AKIAAUDIT", "s2")));
        assert_eq!(audit.region.as_deref(), Some("eu-west-1"));
        assert_eq!(audit.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        let default = find("default", Some(&credentials), Some(&config))?.ok_or("no default")?;
        assert_eq!(default.region.as_deref(), Some("us-east-1"));
        assert_eq!(find("missing", Some(&credentials), Some(&config))?, None);
        assert_eq!(
            find("default", None, Some(&dir.path().join("absent")))?,
            None
        );
        Ok(())
    }

    #[test]
    fn roles_are_read_and_other_services_refused_with_a_way_around()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let config = write(
            dir.path(),
            "config",
            "[profile sso]\nsso_session = corp\nregion = us-east-1\n[profile half]\naws_access_key_id = AKIA\n",
        )?;
        let sso = find("sso", None, Some(&config))?.ok_or("no profile")?;
        let err = sso.keys().err().ok_or("accepted")?.to_string();
        assert!(err.contains("sso_session"), "{err}");
        assert!(
            err.contains("aws configure export-credentials --profile sso"),
            "{err}"
        );
        let half = find("half", None, Some(&config))?.ok_or("no profile")?;
        assert!(half.keys().is_err());
        let roles = write(
            dir.path(),
            "roles",
            "[profile auditor]\nrole_arn = arn:aws:iam::111122223333:role/auditor\nsource_profile = base\nexternal_id = x-1\n",
        )?;
        let auditor = find("auditor", None, Some(&roles))?.ok_or("no profile")?;
        assert_eq!(auditor.keys()?, None);
        let role = auditor.role.ok_or("no role")?;
        assert_eq!(role.arn, "arn:aws:iam::111122223333:role/auditor");
        assert_eq!(role.source_profile.as_deref(), Some("base"));
        assert_eq!(role.external_id.as_deref(), Some("x-1"));
        Ok(())
    }
}
