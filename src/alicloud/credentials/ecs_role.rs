//! The ECS instance RAM role: temporary credentials from the instance metadata service
//! (session token first where the service has it, then the role's credentials).

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use time::OffsetDateTime;

use super::provider::{Credentials, ProvideCredentials};
use super::static_keys::non_empty;
use crate::alicloud::error::{Cause, CredentialsError, error_chain};
use crate::alicloud::rpc::http::{client_builder, lazy_client};
use crate::alicloud::secret::Secret;
use crate::alicloud::settings::{Environment, Settings};

/// Renew ECS role credentials this long before they expire.
pub const ECS_REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

pub const ENV_ECS_ROLE: &[&str] = &["ALICLOUD_ECS_ROLE_NAME", "ALIBABA_CLOUD_ECS_METADATA"];

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
    let fail = |url: &str, reason: String, source: Option<Cause>| CredentialsError::Metadata {
        role: role.to_owned(),
        url: url.to_owned(),
        reason,
        source,
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
    let resp = req
        .send()
        .await
        .map_err(|e| fail(&url, error_chain(&e), Some(Box::new(e))))?;
    let status = resp.status();
    if !status.is_success() {
        // The body is not shown: on success it would hold the secret, and on failure it adds
        // nothing the status does not say.
        let hint = if status.as_u16() == 404 {
            " (is this role attached to the instance?)"
        } else {
            ""
        };
        return Err(fail(&url, format!("HTTP {}{hint}", status.as_u16()), None));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| fail(&url, error_chain(&e), Some(Box::new(e))))?;
    let mut creds = decode_answer(&body, format!("ECS RAM role \"{role}\""))
        .map_err(|reason| fail(&url, reason, None))?;
    // The metadata service rotates role credentials well ahead of expiry: asking early is
    // cheap, and a key never dies in flight.
    creds.renew_before = Some(ECS_REFRESH_MARGIN);
    let expires = creds.expires;
    Ok((creds, expires))
}

/// The `{"Code":"Success","AccessKeyId",...,"Expiration"}` answer the metadata service and
/// `credentials_uri` servers give. Errors never quote the body: it holds the secret.
pub(super) fn decode_answer(body: &[u8], source: String) -> Result<Credentials, String> {
    let rc: RoleCredentials = serde_json::from_slice(body)
        .map_err(|e| format!("the answer is not the expected JSON ({e})"))?;
    if rc.code != "Success" {
        return Err(format!(
            "the answer's Code is {:?}, not \"Success\"",
            rc.code
        ));
    }
    let secret = rc
        .access_key_secret
        .filter(|s| !s.expose().is_empty())
        .ok_or_else(|| "the answer has no AccessKeySecret".to_owned())?;
    if rc.access_key_id.is_empty() {
        return Err("the answer has no AccessKeyId".to_owned());
    }
    let expires = if rc.expiration.is_empty() {
        None
    } else {
        Some(
            OffsetDateTime::parse(
                &rc.expiration,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|e| format!("Expiration {:?} is not a valid time ({e})", rc.expiration))?,
        )
    };
    Ok(Credentials {
        access_key_id: rc.access_key_id,
        access_key_secret: secret,
        security_token: rc.security_token.filter(|t| !t.expose().is_empty()),
        source,
        expires,
        renew_before: None,
    })
}

/// The instance role named by `ecs_role_name` or the environment; nothing when not asked for.
#[derive(Debug)]
pub struct EcsRole {
    role: Option<String>,
    base_url: String,
    /// Built when the role is first asked for: most runs never need it.
    http: std::sync::OnceLock<reqwest::Client>,
}

impl EcsRole {
    pub fn new(settings: &Settings, env: &Environment) -> Result<Self, CredentialsError> {
        Self::with_role(ecs_role(settings, env), env)
    }

    /// The instance role `role` (a profile's `ram_role_name`), or none.
    pub fn with_role(role: Option<String>, env: &Environment) -> Result<Self, CredentialsError> {
        Ok(EcsRole {
            role,
            base_url: env.metadata_base_url().to_owned(),
            http: std::sync::OnceLock::new(),
        })
    }

    fn http(&self) -> Result<&reqwest::Client, CredentialsError> {
        lazy_client(&self.http, || {
            // The metadata service is link-local: no proxy, and short timeouts so a machine
            // that is not on ECS fails fast.
            client_builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(1))
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| CredentialsError::Client {
                    reason: error_chain(&e),
                    source: Box::new(e),
                })
        })
    }
}

#[async_trait]
impl ProvideCredentials for EcsRole {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        match &self.role {
            Some(role) => Ok(fetch_ecs(self.http()?, &self.base_url, role).await?.0),
            None => Err(CredentialsError::NotLoaded(format!(
                "the ECS instance role (not asked for: ecs_role_name, {} are not set)",
                ENV_ECS_ROLE.join(", ")
            ))),
        }
    }
}
