//! A profile of the Alibaba Cloud CLI's credentials file (`~/.aliyun/config.json`): which
//! file, which profile, which mode; also the profile's region for the provider's default.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;

use super::provider::{Credentials, ProvideCredentials};
use super::static_keys::{non_empty, non_empty_secret, pair};
use crate::alicloud::error::CredentialsError;
use crate::alicloud::secret::Secret;
use crate::alicloud::settings::{Environment, Settings};

pub const ENV_PROFILE: &[&str] = &["ALICLOUD_PROFILE", "ALIBABA_CLOUD_PROFILE"];
pub const ENV_CREDENTIALS_FILE: &[&str] = &[
    "ALICLOUD_SHARED_CREDENTIALS_FILE",
    "ALIBABA_CLOUD_CREDENTIALS_FILE",
];

/// `~/.aliyun/config.json` as the aliyun CLI writes it (only the fields we use).
#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Deserialize, Default)]
struct Profile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    access_key_id: Option<String>,
    #[serde(default)]
    access_key_secret: Option<Secret>,
    #[serde(default)]
    sts_token: Option<Secret>,
    #[serde(default)]
    region_id: Option<String>,
}

/// Where the profile file is, and whether the user named it (then it must exist).
fn profile_file_path(settings: &Settings, env: &Environment) -> Result<(PathBuf, bool), String> {
    if let Some(p) = settings
        .shared_credentials_file
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        return Ok((expand_home(p, env), true));
    }
    if let Some((_, p)) = env.first_var(ENV_CREDENTIALS_FILE) {
        return Ok((expand_home(Path::new(p), env), true));
    }
    match env.home() {
        Some(home) => Ok((home.join(".aliyun").join("config.json"), false)),
        None => Err(
            "the default credentials file ~/.aliyun/config.json (home directory unknown)"
                .to_owned(),
        ),
    }
}

/// `~/x` means the home directory, as users write it in HCL.
pub(super) fn expand_home(p: &Path, env: &Environment) -> PathBuf {
    match (p.strip_prefix("~"), env.home()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}

/// The profile name asked for by the user, if any.
fn wanted_profile<'a>(settings: &'a Settings, env: &'a Environment) -> Option<&'a str> {
    non_empty(&settings.profile).or_else(|| env.first_var(ENV_PROFILE).map(|(_, v)| v))
}

enum FileLookup {
    /// Nothing to use, and that is fine: why, for the "looked at" list.
    Nothing(String),
    Found {
        path: PathBuf,
        profile: Profile,
    },
}

fn lookup_profile(settings: &Settings, env: &Environment) -> Result<FileLookup, CredentialsError> {
    let (path, explicit) = match profile_file_path(settings, env) {
        Ok(p) => p,
        Err(why) => return Ok(FileLookup::Nothing(why)),
    };
    let wanted = wanted_profile(settings, env);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit && wanted.is_none() => {
            return Ok(FileLookup::Nothing(format!(
                "the credentials file {} (does not exist)",
                path.display()
            )));
        }
        Err(e) => {
            let reason = if e.kind() == std::io::ErrorKind::NotFound {
                match wanted {
                    Some(p) => format!("it does not exist, and profile \"{p}\" was asked for"),
                    None => "it does not exist".to_owned(),
                }
            } else {
                e.to_string()
            };
            return Err(CredentialsError::File { path, reason });
        }
    };
    let file: ConfigFile = serde_json::from_str(&text).map_err(|e| CredentialsError::File {
        path: path.clone(),
        // serde_json's message gives line and column, never the surrounding text.
        reason: format!("not valid JSON: {e}"),
    })?;
    let current = non_empty(&file.current).map(str::to_owned);
    let (name, must_exist) = match (wanted, current) {
        (Some(w), _) => (w.to_owned(), true),
        (None, Some(c)) => (c, true),
        (None, None) => ("default".to_owned(), false),
    };
    let ConfigFile { profiles, .. } = file;
    match profiles.into_iter().find(|p| p.name == name) {
        Some(profile) => Ok(FileLookup::Found { path, profile }),
        None if must_exist => Err(CredentialsError::ProfileNotFound {
            profile: name,
            path,
        }),
        None => Ok(FileLookup::Nothing(format!(
            "the credentials file {} (no current profile and no profile \"default\")",
            path.display()
        ))),
    }
}

fn from_profile(path: &Path, profile: Profile) -> Result<Credentials, CredentialsError> {
    let mode = profile
        .mode
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        // The CLI writes AK when no mode was chosen.
        .unwrap_or("AK")
        .to_owned();
    let source_name = format!("profile \"{}\" of {}", profile.name, path.display());
    let key = non_empty(&profile.access_key_id).map(|k| ("access_key_id", k.to_owned()));
    let secret =
        non_empty_secret(&profile.access_key_secret).map(|s| ("access_key_secret", s.clone()));
    let creds = match mode.as_str() {
        "AK" => pair(&source_name, key, secret, None)?,
        "StsToken" => {
            let token = non_empty_secret(&profile.sts_token).map(|t| ("sts_token", t.clone()));
            if token.is_none() {
                return Err(CredentialsError::Incomplete {
                    source_name,
                    present: "mode StsToken".to_owned(),
                    missing: "sts_token".to_owned(),
                });
            }
            pair(&source_name, key, secret, token)?
        }
        other => {
            return Err(CredentialsError::UnsupportedMode {
                mode: other.to_owned(),
                profile: profile.name,
                path: path.to_path_buf(),
            });
        }
    };
    creds.ok_or(CredentialsError::Incomplete {
        source_name,
        present: format!("mode {mode}"),
        missing: "access_key_id and access_key_secret".to_owned(),
    })
}

/// The profile's `region_id`, for the provider region when neither the block nor the
/// environment names one. Any problem with the file is left for the credential chain to
/// report, with its full context, at the first call.
pub fn profile_region(settings: &Settings, env: &Environment) -> Option<String> {
    match lookup_profile(settings, env) {
        Ok(FileLookup::Found { profile, .. }) => non_empty(&profile.region_id).map(str::to_owned),
        _ => None,
    }
}

/// The profile the user asked for (or the file's current one), read at each call.
#[derive(Debug)]
pub struct ProfileFile {
    settings: Settings,
    env: Environment,
}

impl ProfileFile {
    pub fn new(settings: &Settings, env: &Environment) -> Self {
        ProfileFile {
            settings: settings.clone(),
            env: env.clone(),
        }
    }
}

#[async_trait]
impl ProvideCredentials for ProfileFile {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        match lookup_profile(&self.settings, &self.env)? {
            FileLookup::Found { path, profile } => from_profile(&path, profile),
            FileLookup::Nothing(why) => Err(CredentialsError::NotLoaded(why)),
        }
    }
}
