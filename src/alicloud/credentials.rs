//! Credentials: the redacted [`Secret`], and the chain that finds an access key the way the
//! official provider and CLI do (provider block, environment, profile file, ECS instance role).
//!
//! The chain runs at the first API call, not when the provider is configured, so `terraform
//! validate` and plans without API calls work without credentials; its answer is cached for
//! the life of the client (ECS role credentials until shortly before they expire).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::error::{CredentialsError, Redactor};
use super::settings::{Environment, Settings};

/// A value that must never be printed: `Debug` and `Display` show `** redacted **`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for signing; never for messages or logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(super::error::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(super::error::REDACTED)
    }
}

/// A usable access key, with the STS token that goes with it when temporary.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
    /// Where they came from, for debug logs ("environment", "profile \"x\"", ...).
    pub source: String,
}

impl Credentials {
    /// Scrubs these credentials' secrets from text that came back from the network.
    pub(crate) fn redactor(&self) -> Redactor {
        Redactor::new(
            std::iter::once(self.access_key_secret.expose())
                .chain(self.security_token.as_ref().map(Secret::expose)),
        )
    }
}

/// Environment variables, first set wins (the official provider's order).
pub const ENV_ACCESS_KEY: &[&str] = &[
    "ALICLOUD_ACCESS_KEY",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABACLOUD_ACCESS_KEY_ID",
];
pub const ENV_SECRET_KEY: &[&str] = &[
    "ALICLOUD_SECRET_KEY",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABACLOUD_ACCESS_KEY_SECRET",
];
pub const ENV_SECURITY_TOKEN: &[&str] = &[
    "ALICLOUD_SECURITY_TOKEN",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABACLOUD_SECURITY_TOKEN",
];
pub const ENV_PROFILE: &[&str] = &["ALICLOUD_PROFILE", "ALIBABA_CLOUD_PROFILE"];
pub const ENV_CREDENTIALS_FILE: &[&str] = &[
    "ALICLOUD_SHARED_CREDENTIALS_FILE",
    "ALIBABA_CLOUD_CREDENTIALS_FILE",
];
pub const ENV_ECS_ROLE: &[&str] = &["ALICLOUD_ECS_ROLE_NAME", "ALIBABA_CLOUD_ECS_METADATA"];

/// Refresh ECS role credentials this long before they expire, so a call never signs with a
/// key that dies in flight.
const ECS_REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn non_empty_secret(s: &Option<Secret>) -> Option<&Secret> {
    s.as_ref().filter(|s| !s.expose().is_empty())
}

/// One source's parts: `Ok(None)` when it has nothing at all, an error when it is half set.
fn pair(
    source_name: &str,
    key: Option<(&str, String)>,
    secret: Option<(&str, Secret)>,
    token: Option<(&str, Secret)>,
) -> Result<Option<Credentials>, CredentialsError> {
    match (key, secret) {
        (Some((_, key)), Some((_, secret))) => Ok(Some(Credentials {
            access_key_id: key,
            access_key_secret: secret,
            security_token: token.map(|(_, t)| t),
            source: source_name.to_owned(),
        })),
        (None, None) => match token {
            None => Ok(None),
            Some((token_name, _)) => Err(CredentialsError::Incomplete {
                source_name: source_name.to_owned(),
                present: token_name.to_owned(),
                missing: "an access key and its secret".to_owned(),
            }),
        },
        (Some((key_name, _)), None) => Err(CredentialsError::Incomplete {
            source_name: source_name.to_owned(),
            present: key_name.to_owned(),
            missing: "the secret key".to_owned(),
        }),
        (None, Some((secret_name, _))) => Err(CredentialsError::Incomplete {
            source_name: source_name.to_owned(),
            present: secret_name.to_owned(),
            missing: "the access key".to_owned(),
        }),
    }
}

fn from_settings(settings: &Settings) -> Result<Option<Credentials>, CredentialsError> {
    pair(
        "the provider block",
        non_empty(&settings.access_key).map(|k| ("access_key", k.to_owned())),
        non_empty_secret(&settings.secret_key).map(|s| ("secret_key", s.clone())),
        non_empty_secret(&settings.security_token).map(|t| ("security_token", t.clone())),
    )
}

fn from_env(env: &Environment) -> Result<Option<Credentials>, CredentialsError> {
    pair(
        "the environment",
        env.first_var(ENV_ACCESS_KEY)
            .map(|(n, v)| (n, v.trim().to_owned())),
        env.first_var(ENV_SECRET_KEY)
            .map(|(n, v)| (n, Secret::new(v))),
        env.first_var(ENV_SECURITY_TOKEN)
            .map(|(n, v)| (n, Secret::new(v))),
    )
}

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
fn expand_home(p: &Path, env: &Environment) -> PathBuf {
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
pub(crate) fn profile_region(settings: &Settings, env: &Environment) -> Option<String> {
    match lookup_profile(settings, env) {
        Ok(FileLookup::Found { profile, .. }) => non_empty(&profile.region_id).map(str::to_owned),
        _ => None,
    }
}

/// The ECS role name, when the user asked for the instance role.
fn ecs_role(settings: &Settings, env: &Environment) -> Option<String> {
    non_empty(&settings.ecs_role_name)
        .or_else(|| env.first_var(ENV_ECS_ROLE).map(|(_, v)| v.trim()))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// The metadata service's answer for a role.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials {
    #[serde(default)]
    code: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: Option<Secret>,
    #[serde(default)]
    security_token: Option<Secret>,
    #[serde(default)]
    expiration: String,
}

/// Fetches the instance role's temporary credentials from the ECS metadata service.
async fn fetch_ecs(
    http: &reqwest::Client,
    base: &str,
    role: &str,
) -> Result<(Credentials, Option<OffsetDateTime>), CredentialsError> {
    let fail = |url: &str, reason: String| CredentialsError::Metadata {
        role: role.to_owned(),
        url: url.to_owned(),
        reason,
    };
    // IMDSv2-style session token; older metadata services do not have it, so a failure here
    // falls back to plain GETs rather than failing.
    let token_url = format!("{base}/latest/api/token");
    let token = match http
        .put(&token_url)
        .header("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.text().await.ok().filter(|t| !t.is_empty()),
        Ok(r) => {
            tracing::debug!(
                status = r.status().as_u16(),
                "ECS metadata token not available; continuing without it"
            );
            None
        }
        Err(e) => {
            tracing::debug!(error = %e, "ECS metadata token request failed; continuing without it");
            None
        }
    };
    let url = format!("{base}/latest/meta-data/ram/security-credentials/{role}");
    let mut req = http.get(&url);
    if let Some(t) = &token {
        req = req.header("X-aliyun-ecs-metadata-token", t);
    }
    let resp = req.send().await.map_err(|e| fail(&url, error_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        // The body is not shown: on success it would hold the secret, and on failure it adds
        // nothing the status does not say.
        let hint = if status.as_u16() == 404 {
            " (is this role attached to the instance?)"
        } else {
            ""
        };
        return Err(fail(&url, format!("HTTP {}{hint}", status.as_u16())));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| fail(&url, error_chain(&e)))?;
    let rc: RoleCredentials = serde_json::from_slice(&body)
        .map_err(|e| fail(&url, format!("the answer is not the expected JSON ({e})")))?;
    if rc.code != "Success" {
        return Err(fail(
            &url,
            format!("the answer's Code is {:?}, not \"Success\"", rc.code),
        ));
    }
    let secret = rc
        .access_key_secret
        .filter(|s| !s.expose().is_empty())
        .ok_or_else(|| fail(&url, "the answer has no AccessKeySecret".to_owned()))?;
    if rc.access_key_id.is_empty() {
        return Err(fail(&url, "the answer has no AccessKeyId".to_owned()));
    }
    let expires = if rc.expiration.is_empty() {
        None
    } else {
        Some(
            OffsetDateTime::parse(
                &rc.expiration,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|e| {
                fail(
                    &url,
                    format!("Expiration {:?} is not a valid time ({e})", rc.expiration),
                )
            })?,
        )
    };
    Ok((
        Credentials {
            access_key_id: rc.access_key_id,
            access_key_secret: secret,
            security_token: rc.security_token.filter(|t| !t.expose().is_empty()),
            source: format!("ECS RAM role \"{role}\""),
        },
        expires,
    ))
}

/// A reqwest error and its causes on one line.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

struct Cached {
    creds: Arc<Credentials>,
    /// Only for credentials that expire (ECS role).
    expires: Option<OffsetDateTime>,
}

/// Finds credentials once per client and hands out the cached answer.
pub(crate) struct CredentialChain {
    settings: Settings,
    env: Environment,
    metadata_http: reqwest::Client,
    cache: Mutex<Option<Cached>>,
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain").finish_non_exhaustive()
    }
}

impl CredentialChain {
    pub(crate) fn new(settings: Settings, env: Environment) -> Result<Self, reqwest::Error> {
        // The metadata service is link-local: no proxy, and short timeouts so a machine that
        // is not on ECS fails fast.
        let metadata_http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            settings,
            env,
            metadata_http,
            cache: Mutex::new(None),
        })
    }

    /// The credentials to sign with, found at the first call and cached.
    pub(crate) async fn get(&self) -> Result<Arc<Credentials>, CredentialsError> {
        // Held across the lookup so parallel first calls look once.
        let mut cache = self.cache.lock().await;
        let now = self.env.clock().now_utc();
        if let Some(c) = cache.as_ref() {
            match c.expires {
                None => return Ok(c.creds.clone()),
                Some(exp) if exp - ECS_REFRESH_MARGIN > now => return Ok(c.creds.clone()),
                Some(_) => {}
            }
        }
        match self.resolve().await {
            Ok((creds, expires)) => {
                tracing::debug!(source = %creds.source, access_key_id = %creds.access_key_id, "using Alibaba Cloud credentials");
                let creds = Arc::new(creds);
                *cache = Some(Cached {
                    creds: creds.clone(),
                    expires,
                });
                Ok(creds)
            }
            // A refresh that fails while the old role credentials are still valid is not
            // fatal: use them and try again at the next call.
            Err(e) => match cache.as_ref() {
                Some(Cached {
                    creds,
                    expires: Some(exp),
                }) if *exp > now => {
                    tracing::warn!(error = %e, "refreshing ECS role credentials failed; using the current ones until they expire");
                    Ok(creds.clone())
                }
                _ => Err(e),
            },
        }
    }

    async fn resolve(&self) -> Result<(Credentials, Option<OffsetDateTime>), CredentialsError> {
        let (settings, env) = (&self.settings, &self.env);
        let mut looked_at = Vec::new();
        if let Some(c) = from_settings(settings)? {
            return Ok((c, None));
        }
        looked_at.push("the provider block (access_key, secret_key)".to_owned());
        if let Some(c) = from_env(env)? {
            return Ok((c, None));
        }
        looked_at.push(format!(
            "the environment ({} / {})",
            ENV_ACCESS_KEY.join(", "),
            ENV_SECRET_KEY.join(", ")
        ));
        match lookup_profile(settings, env)? {
            FileLookup::Found { path, profile } => {
                return Ok((from_profile(&path, profile)?, None));
            }
            FileLookup::Nothing(why) => looked_at.push(why),
        }
        match ecs_role(settings, env) {
            Some(role) => {
                let (c, exp) =
                    fetch_ecs(&self.metadata_http, env.metadata_base_url(), &role).await?;
                Ok((c, exp))
            }
            None => {
                looked_at.push(format!(
                    "the ECS instance role (not asked for: ecs_role_name, {} are not set)",
                    ENV_ECS_ROLE.join(", ")
                ));
                Err(CredentialsError::Missing { looked_at })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)], home: Option<&Path>) -> Environment {
        Environment::from_map(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            home.map(Path::to_path_buf),
        )
    }

    async fn resolve(
        settings: Settings,
        env: Environment,
    ) -> Result<Arc<Credentials>, CredentialsError> {
        CredentialChain::new(settings, env).unwrap().get().await
    }

    #[test]
    fn secret_is_redacted() {
        let s = Secret::new("hunter2-long");
        assert_eq!(format!("{s:?}"), "** redacted **");
        assert_eq!(format!("{s}"), "** redacted **");
        assert_eq!(s.expose(), "hunter2-long");
        let c = Credentials {
            access_key_id: "AK".into(),
            access_key_secret: s,
            security_token: Some(Secret::new("tok-secret")),
            source: "test".into(),
        };
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("hunter2") && !dbg.contains("tok-secret"),
            "{dbg}"
        );
    }

    #[tokio::test]
    async fn settings_win_over_everything() {
        let s = Settings {
            access_key: Some("ak-settings".into()),
            secret_key: Some("sk-settings".into()),
            ..Settings::default()
        };
        let e = env(
            &[
                ("ALICLOUD_ACCESS_KEY", "ak-env"),
                ("ALICLOUD_SECRET_KEY", "sk-env"),
            ],
            None,
        );
        let c = resolve(s, e).await.unwrap();
        assert_eq!(c.access_key_id, "ak-settings");
        assert_eq!(c.access_key_secret.expose(), "sk-settings");
        assert!(c.security_token.is_none());
    }

    #[tokio::test]
    async fn settings_half_set_names_what_is_missing() {
        let s = Settings {
            access_key: Some("ak".into()),
            ..Settings::default()
        };
        let err = resolve(s, env(&[], None)).await.unwrap_err().to_string();
        assert!(
            err.contains("provider block")
                && err.contains("access_key is set")
                && err.contains("secret key"),
            "{err}"
        );
        let s = Settings {
            security_token: Some("tok".into()),
            ..Settings::default()
        };
        let err = resolve(s, env(&[], None)).await.unwrap_err().to_string();
        assert!(err.contains("security_token is set"), "{err}");
    }

    #[tokio::test]
    async fn environment_in_documented_order() {
        let e = env(
            &[
                ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ak-2"),
                ("ALIBABACLOUD_ACCESS_KEY_ID", "ak-3"),
                ("ALIBABACLOUD_ACCESS_KEY_SECRET", "sk-3"),
                ("ALIBABA_CLOUD_SECURITY_TOKEN", "tok-2"),
                ("ALICLOUD_ACCESS_KEY", ""),
            ],
            None,
        );
        let c = resolve(Settings::default(), e).await.unwrap();
        assert_eq!(c.access_key_id, "ak-2");
        assert_eq!(c.access_key_secret.expose(), "sk-3");
        assert_eq!(c.security_token.as_ref().unwrap().expose(), "tok-2");
        assert_eq!(c.source, "the environment");
    }

    #[tokio::test]
    async fn environment_half_set() {
        let e = env(&[("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sk")], None);
        let err = resolve(Settings::default(), e)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET is set but the access key is not"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn nothing_found_lists_every_place() {
        let home = tempfile::tempdir().unwrap();
        let err = resolve(Settings::default(), env(&[], Some(home.path())))
            .await
            .unwrap_err();
        assert!(matches!(err, CredentialsError::Missing { .. }));
        let text = err.to_string();
        for needle in [
            "provider block",
            "ALICLOUD_ACCESS_KEY",
            "ALIBABACLOUD_ACCESS_KEY_SECRET",
            ".aliyun/config.json (does not exist)",
            "ECS instance role",
            "ALICLOUD_ECS_ROLE_NAME",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
        let err = resolve(Settings::default(), env(&[], None))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("home directory unknown"), "{err}");
    }

    fn write_config(dir: &Path, json: &str) -> PathBuf {
        let p = dir.join(".aliyun");
        std::fs::create_dir_all(&p).unwrap();
        let f = p.join("config.json");
        std::fs::write(&f, json).unwrap();
        f
    }

    const CONFIG: &str = r#"{
        "current": "dev",
        "profiles": [
            {"name": "dev", "mode": "AK", "access_key_id": "ak-dev", "access_key_secret": "sk-dev", "region_id": "cn-beijing"},
            {"name": "sts", "mode": "StsToken", "access_key_id": "ak-sts", "access_key_secret": "sk-sts", "sts_token": "tok-sts", "region_id": "eu-central-1"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "a", "access_key_secret": "b", "ram_role_arn": "acs:ram::1:role/x"},
            {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "r"},
            {"name": "half", "mode": "AK", "access_key_id": "ak-half"},
            {"name": "stsnotoken", "mode": "StsToken", "access_key_id": "a", "access_key_secret": "b"}
        ]
    }"#;

    #[tokio::test]
    async fn profile_file_current_and_named() {
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), CONFIG);
        let c = resolve(Settings::default(), env(&[], Some(home.path())))
            .await
            .unwrap();
        assert_eq!(c.access_key_id, "ak-dev");
        assert!(c.source.contains("profile \"dev\""));

        let s = Settings {
            profile: Some("sts".into()),
            ..Settings::default()
        };
        let c = resolve(s, env(&[], Some(home.path()))).await.unwrap();
        assert_eq!(c.access_key_id, "ak-sts");
        assert_eq!(c.security_token.as_ref().unwrap().expose(), "tok-sts");

        let c = resolve(
            Settings::default(),
            env(&[("ALIBABA_CLOUD_PROFILE", "sts")], Some(home.path())),
        )
        .await
        .unwrap();
        assert_eq!(c.access_key_id, "ak-sts");
    }

    #[tokio::test]
    async fn environment_beats_profile() {
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), CONFIG);
        let e = env(
            &[
                ("ALICLOUD_ACCESS_KEY", "ak-env"),
                ("ALICLOUD_SECRET_KEY", "sk-env"),
            ],
            Some(home.path()),
        );
        assert_eq!(
            resolve(Settings::default(), e).await.unwrap().access_key_id,
            "ak-env"
        );
    }

    #[tokio::test]
    async fn unsupported_modes_are_named() {
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), CONFIG);
        for (profile, mode) in [("role", "RamRoleArn"), ("ecs", "EcsRamRole")] {
            let s = Settings {
                profile: Some(profile.into()),
                ..Settings::default()
            };
            let err = resolve(s, env(&[], Some(home.path())))
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("mode {mode}, which is not supported yet"))
                    && err.contains(&format!("profile \"{profile}\"")),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn broken_profiles() {
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), CONFIG);
        let with = |p: &str| Settings {
            profile: Some(p.into()),
            ..Settings::default()
        };
        let err = resolve(with("half"), env(&[], Some(home.path())))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("access_key_id is set but the secret key is not"),
            "{err}"
        );
        let err = resolve(with("stsnotoken"), env(&[], Some(home.path())))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("sts_token"), "{err}");
        let err = resolve(with("nope"), env(&[], Some(home.path())))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("profile \"nope\" not found"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{ not json, secret-ish-content").unwrap();
        let s = Settings {
            shared_credentials_file: Some(bad.clone()),
            ..Settings::default()
        };
        let err = resolve(s, env(&[], None)).await.unwrap_err().to_string();
        assert!(
            err.contains("not valid JSON") && err.contains("bad.json"),
            "{err}"
        );
        assert!(!err.contains("secret-ish-content"), "{err}");

        // A file the user named must exist.
        let e = env(
            &[(
                "ALICLOUD_SHARED_CREDENTIALS_FILE",
                dir.path().join("missing.json").to_str().unwrap(),
            )],
            None,
        );
        let err = resolve(Settings::default(), e)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing.json") && err.contains("does not exist"),
            "{err}"
        );

        // A profile asked for with no file at all.
        let empty_home = tempfile::tempdir().unwrap();
        let err = resolve(with("dev"), env(&[], Some(empty_home.path())))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("profile \"dev\" was asked for"), "{err}");
    }

    #[tokio::test]
    async fn file_from_env_and_settings_and_default_profile() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("creds.json");
        std::fs::write(
            &f,
            r#"{"profiles":[{"name":"default","access_key_id":"ak-def","access_key_secret":"sk-def"}]}"#,
        )
        .unwrap();
        let e = env(
            &[("ALIBABA_CLOUD_CREDENTIALS_FILE", f.to_str().unwrap())],
            None,
        );
        assert_eq!(
            resolve(Settings::default(), e).await.unwrap().access_key_id,
            "ak-def"
        );
        let s = Settings {
            shared_credentials_file: Some(f.clone()),
            ..Settings::default()
        };
        assert_eq!(
            resolve(s, env(&[], None)).await.unwrap().access_key_id,
            "ak-def"
        );

        // No current and no "default": nothing from the file, and the list says why.
        std::fs::write(
            &f,
            r#"{"profiles":[{"name":"other","access_key_id":"a","access_key_secret":"b"}]}"#,
        )
        .unwrap();
        let e = env(
            &[("ALIBABA_CLOUD_CREDENTIALS_FILE", f.to_str().unwrap())],
            None,
        );
        let err = resolve(Settings::default(), e)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("no profile \"default\""), "{err}");
    }

    #[test]
    fn region_from_profile() {
        let home = tempfile::tempdir().unwrap();
        write_config(home.path(), CONFIG);
        assert_eq!(
            profile_region(&Settings::default(), &env(&[], Some(home.path()))).as_deref(),
            Some("cn-beijing")
        );
        let s = Settings {
            profile: Some("sts".into()),
            ..Settings::default()
        };
        assert_eq!(
            profile_region(&s, &env(&[], Some(home.path()))).as_deref(),
            Some("eu-central-1")
        );
        assert_eq!(profile_region(&Settings::default(), &env(&[], None)), None);
    }

    #[test]
    fn tilde_expands_to_home() {
        let e = env(&[], Some(Path::new("/home/u")));
        assert_eq!(
            expand_home(Path::new("~/x/c.json"), &e),
            PathBuf::from("/home/u/x/c.json")
        );
        assert_eq!(expand_home(Path::new("/abs"), &e), PathBuf::from("/abs"));
    }

    #[tokio::test]
    async fn resolved_once_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.json");
        std::fs::write(&f, r#"{"current":"a","profiles":[{"name":"a","access_key_id":"ak-1","access_key_secret":"sk"}]}"#).unwrap();
        let s = Settings {
            shared_credentials_file: Some(f.clone()),
            ..Settings::default()
        };
        let chain = CredentialChain::new(s, env(&[], None)).unwrap();
        assert_eq!(chain.get().await.unwrap().access_key_id, "ak-1");
        std::fs::remove_file(&f).unwrap();
        assert_eq!(chain.get().await.unwrap().access_key_id, "ak-1");
    }
}
