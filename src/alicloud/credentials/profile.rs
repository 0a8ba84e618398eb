//! A profile of the Alibaba Cloud CLI's credentials file (`~/.aliyun/config.json`): which
//! file, which profile, which mode (`AK`, `StsToken`, `RamRoleArn`, `EcsRamRole`,
//! `ChainableRamRoleArn`, `OIDC`); also the profile's region for the provider's default.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;

use super::assume_role::{StsAccess, assume_with, checked};
use super::ecs_role::EcsRole;
use super::oidc::{OidcSpec, OidcToken, assume_with_oidc};
use super::provider::{Credentials, ProvideCredentials};
use super::static_keys::{non_empty, non_empty_secret, pair};
use crate::alicloud::error::CredentialsError;
use crate::alicloud::secret::Secret;
use crate::alicloud::settings::{Environment, Settings};
use crate::alicloud::sts::{self, AssumeRoleInput};

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

#[derive(Deserialize, Default, Clone)]
pub(crate) struct Profile {
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
    #[serde(default)]
    ram_role_arn: Option<String>,
    #[serde(default)]
    ram_session_name: Option<String>,
    /// The CLI writes a number; older files have a string.
    #[serde(default)]
    expired_seconds: Option<serde_json::Value>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    ram_role_name: Option<String>,
    #[serde(default)]
    source_profile: Option<String>,
    #[serde(default)]
    oidc_provider_arn: Option<String>,
    #[serde(default)]
    oidc_token_file: Option<String>,
}

/// Modes this provider can use, for the error naming an unsupported one.
pub(crate) const CHAINABLE: &str = "ChainableRamRoleArn";
/// A chain of `source_profile`s longer than this is a mistake (the CLI stops far earlier).
const MAX_CHAIN: usize = 8;

/// Where the profile file is, and whether the user named it (then it must exist).
fn profile_file_path(settings: &Settings, env: &Environment) -> Result<(PathBuf, bool), String> {
    if let Some(p) = settings
        .shared_credentials_file
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        return Ok((env.expand_home(p), true));
    }
    if let Some((_, p)) = env.first_var(ENV_CREDENTIALS_FILE) {
        return Ok((env.expand_home(Path::new(p)), true));
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
/// The profile name asked for by the user, if any.
fn wanted_profile<'a>(settings: &'a Settings, env: &'a Environment) -> Option<&'a str> {
    non_empty(&settings.profile).or_else(|| env.first_var(ENV_PROFILE).map(|(_, v)| v))
}

pub(crate) enum FileLookup {
    /// Nothing to use, and that is fine: why, for the "looked at" list.
    Nothing(String),
    Found {
        path: PathBuf,
        /// Boxed: a profile is large next to the other variant.
        profile: Box<Profile>,
        /// Every profile of the file, for `source_profile`.
        all: Vec<Profile>,
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
            return Err(CredentialsError::File {
                path,
                reason,
                source: Some(Box::new(e)),
            });
        }
    };
    select_profile(&text, path, wanted)
}

/// The profile of a credentials file's `text` that is asked for (`wanted`), else the file's
/// current one, else `default` (which may be missing).
pub(crate) fn select_profile(
    text: &str,
    path: PathBuf,
    wanted: Option<&str>,
) -> Result<FileLookup, CredentialsError> {
    let file: ConfigFile = serde_json::from_str(text).map_err(|e| CredentialsError::File {
        path: path.clone(),
        // serde_json's message gives line and column, never the surrounding text.
        reason: format!("not valid JSON: {e}"),
        source: Some(Box::new(e)),
    })?;
    let current = non_empty(&file.current).map(str::to_owned);
    let (name, must_exist) = match (wanted, current) {
        (Some(w), _) => (w.to_owned(), true),
        (None, Some(c)) => (c, true),
        (None, None) => ("default".to_owned(), false),
    };
    let ConfigFile { profiles, .. } = file;
    match profiles.iter().find(|p| p.name == name).cloned() {
        Some(profile) => Ok(FileLookup::Found {
            path,
            profile: Box::new(profile),
            all: profiles,
        }),
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

fn mode_of(profile: &Profile) -> String {
    profile
        .mode
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        // The CLI writes AK when no mode was chosen.
        .unwrap_or("AK")
        .to_owned()
}

fn source_name(path: &Path, profile: &Profile) -> String {
    format!("profile \"{}\" of {}", profile.name, path.display())
}

/// The role a `RamRoleArn` or `ChainableRamRoleArn` profile assumes.
pub(crate) fn role_of(
    path: &Path,
    profile: &Profile,
    mode: &str,
) -> Result<AssumeRoleInput, CredentialsError> {
    let setting = |field: &str| {
        format!(
            "{field} of profile \"{}\" in {}",
            profile.name,
            path.display()
        )
    };
    let role_arn =
        non_empty(&profile.ram_role_arn).ok_or_else(|| CredentialsError::Incomplete {
            source_name: source_name(path, profile),
            present: format!("mode {mode}"),
            missing: "ram_role_arn".to_owned(),
        })?;
    let role_arn = checked(
        &setting("ram_role_arn"),
        role_arn.to_owned(),
        sts::check_role_arn,
    )?;
    let session_name = match non_empty(&profile.ram_session_name) {
        Some(s) => checked(
            &setting("ram_session_name"),
            s.to_owned(),
            sts::check_session_name,
        )?,
        None => sts::DEFAULT_SESSION_NAME.to_owned(),
    };
    let duration_seconds = match &profile.expired_seconds {
        None | Some(serde_json::Value::Null) => sts::DEFAULT_SESSION_SECONDS,
        // 0 is what the CLI writes when the user gave none.
        Some(v) if v.as_i64() == Some(0) || v.as_str() == Some("0") || v.as_str() == Some("") => {
            sts::DEFAULT_SESSION_SECONDS
        }
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| CredentialsError::Invalid {
                    setting: setting("expired_seconds"),
                    reason: format!("{v} is not a whole number of seconds"),
                })?;
            sts::check_session_expiration(n).map_err(|reason| CredentialsError::Invalid {
                setting: setting("expired_seconds"),
                reason,
            })?;
            n
        }
    };
    Ok(AssumeRoleInput {
        role_arn,
        session_name,
        duration_seconds,
        policy: None,
        external_id: non_empty(&profile.external_id).map(str::to_owned),
    })
}

/// What a profile that does not chain to another asks for, decided from the file alone.
pub(crate) enum Plan {
    /// Its own keys (and token).
    Keys(Credentials),
    /// A role assumed with its own keys.
    AssumeRole {
        base: Credentials,
        role: AssumeRoleInput,
    },
    /// The ECS instance's role of this name.
    EcsRole(String),
    /// A role assumed with an OIDC token read from a file.
    Oidc(Box<OidcSpec>),
}

/// The plan of a profile that does not chain to another: every check that needs no call.
pub(crate) fn plan(
    path: &Path,
    profile: &Profile,
    env: &Environment,
) -> Result<Plan, CredentialsError> {
    let mode = mode_of(profile);
    let source_name = source_name(path, profile);
    let key = non_empty(&profile.access_key_id).map(|k| ("access_key_id", k.to_owned()));
    let secret =
        non_empty_secret(&profile.access_key_secret).map(|s| ("access_key_secret", s.clone()));
    let incomplete = |missing: &str| CredentialsError::Incomplete {
        source_name: source_name.clone(),
        present: format!("mode {mode}"),
        missing: missing.to_owned(),
    };
    let keys = |token| -> Result<Credentials, CredentialsError> {
        pair(&source_name, key.clone(), secret.clone(), token)?
            .ok_or_else(|| incomplete("access_key_id and access_key_secret"))
    };
    match mode.as_str() {
        "AK" => keys(None).map(Plan::Keys),
        "StsToken" => {
            let token = non_empty_secret(&profile.sts_token).map(|t| ("sts_token", t.clone()));
            if token.is_none() {
                return Err(incomplete("sts_token"));
            }
            keys(token).map(Plan::Keys)
        }
        "RamRoleArn" => {
            let role = role_of(path, profile, &mode)?;
            Ok(Plan::AssumeRole {
                base: keys(None)?,
                role,
            })
        }
        "EcsRamRole" => {
            let role =
                non_empty(&profile.ram_role_name).ok_or_else(|| incomplete("ram_role_name"))?;
            Ok(Plan::EcsRole(role.to_owned()))
        }
        "OIDC" => {
            let role_arn =
                non_empty(&profile.ram_role_arn).ok_or_else(|| incomplete("ram_role_arn"))?;
            let provider = non_empty(&profile.oidc_provider_arn)
                .ok_or_else(|| incomplete("oidc_provider_arn"))?;
            let file =
                non_empty(&profile.oidc_token_file).ok_or_else(|| incomplete("oidc_token_file"))?;
            let role = role_of(path, profile, &mode)?;
            Ok(Plan::Oidc(Box::new(OidcSpec {
                role_arn: role_arn.to_owned(),
                oidc_provider_arn: checked(
                    &format!(
                        "oidc_provider_arn of profile \"{}\" in {}",
                        profile.name,
                        path.display()
                    ),
                    provider.to_owned(),
                    sts::check_oidc_provider_arn,
                )?,
                token: OidcToken::File(env.expand_home(Path::new(file))),
                session_name: role.session_name,
                duration_seconds: role.duration_seconds,
                policy: None,
                origin: source_name.clone(),
            })))
        }
        other => Err(CredentialsError::UnsupportedMode {
            mode: other.to_owned(),
            profile: profile.name.clone(),
            path: path.to_path_buf(),
        }),
    }
}

/// Credentials of a profile that does not chain to another.
async fn from_profile(
    path: &Path,
    profile: &Profile,
    env: &Environment,
    sts: &StsAccess,
) -> Result<Credentials, CredentialsError> {
    match plan(path, profile, env)? {
        Plan::Keys(creds) => Ok(creds),
        Plan::AssumeRole { base, role } => assume_with(base, role, sts, env.clock().clone()).await,
        Plan::EcsRole(role) => EcsRole::with_role(Some(role), env)?.provide().await,
        Plan::Oidc(spec) => assume_with_oidc(&spec, sts).await,
    }
}

/// The `source_profile` links of `profile`, itself first, down to the one that does not chain
/// (last): a loop, a missing link or a chain too long is an error.
pub(crate) fn chain(
    path: &Path,
    profile: Profile,
    all: &[Profile],
) -> Result<Vec<Profile>, CredentialsError> {
    let mut links = vec![profile];
    while let Some(last) = links.last().filter(|p| mode_of(p) == CHAINABLE) {
        let chain_error = |reason: String| CredentialsError::ProfileChain {
            profile: links[0].name.clone(),
            path: path.to_path_buf(),
            reason,
        };
        let Some(src) = non_empty(&last.source_profile) else {
            return Err(CredentialsError::Incomplete {
                source_name: source_name(path, last),
                present: format!("mode {CHAINABLE}"),
                missing: "source_profile".to_owned(),
            });
        };
        if links.iter().any(|p| p.name == src) {
            return Err(chain_error(format!("source_profile \"{src}\" loops back")));
        }
        if links.len() > MAX_CHAIN {
            return Err(chain_error(format!(
                "more than {MAX_CHAIN} source_profile links"
            )));
        }
        let Some(next) = all.iter().find(|p| p.name == src) else {
            return Err(CredentialsError::ProfileNotFound {
                profile: src.to_owned(),
                path: path.to_path_buf(),
            });
        };
        links.push(next.clone());
    }
    Ok(links)
}

/// A profile's credentials, following `source_profile` links of `ChainableRamRoleArn`
/// profiles down to one that has its own, then assuming each role back up.
async fn resolve_profile(
    path: &Path,
    profile: Profile,
    all: &[Profile],
    env: &Environment,
    sts: &StsAccess,
) -> Result<Credentials, CredentialsError> {
    let mut links = chain(path, profile, all)?;
    let root = links.pop().expect("links starts with one profile");
    let mut creds = from_profile(path, &root, env, sts).await?;
    while let Some(link) = links.pop() {
        let role = role_of(path, &link, CHAINABLE)?;
        creds = assume_with(creds, role, sts, env.clock().clone()).await?;
    }
    Ok(creds)
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
    sts: StsAccess,
}

impl ProfileFile {
    pub fn new(settings: &Settings, env: &Environment, sts: StsAccess) -> Self {
        ProfileFile {
            settings: settings.clone(),
            env: env.clone(),
            sts,
        }
    }
}

#[async_trait]
impl ProvideCredentials for ProfileFile {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        match lookup_profile(&self.settings, &self.env)? {
            FileLookup::Found { path, profile, all } => {
                resolve_profile(&path, *profile, &all, &self.env, &self.sts).await
            }
            FileLookup::Nothing(why) => Err(CredentialsError::NotLoaded(why)),
        }
    }
}
