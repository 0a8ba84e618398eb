//! `assume_role_with_oidc` and RRSA: a role's temporary credentials for an OIDC token (a CI
//! job's, an ACK pod's), asked of STS anonymously. A token file is read again at each renewal,
//! because runners and ACK rotate it.

use std::path::PathBuf;

use async_trait::async_trait;

use super::assume_role::{StsAccess, checked};
use super::provider::{Credentials, ProvideCredentials};
use super::static_keys::{non_empty, non_empty_secret};
use crate::alicloud::error::{Cause, CredentialsError, Error};
use crate::alicloud::secret::Secret;
use crate::alicloud::settings::{Environment, Settings};
use crate::alicloud::sts::{self, OidcInput};

pub const ENV_ROLE_ARN: &[&str] = &["ALIBABA_CLOUD_ROLE_ARN"];
pub const ENV_OIDC_PROVIDER_ARN: &[&str] = &["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"];
pub const ENV_OIDC_TOKEN_FILE: &[&str] = &["ALIBABA_CLOUD_OIDC_TOKEN_FILE"];
pub const ENV_OIDC_TOKEN: &[&str] = &["ALIBABA_CLOUD_OIDC_TOKEN"];
pub const ENV_ROLE_SESSION_NAME: &[&str] = &["ALIBABA_CLOUD_ROLE_SESSION_NAME"];

/// Where the token comes from.
#[derive(Debug, Clone)]
pub enum OidcToken {
    /// Read at each renewal.
    File(PathBuf),
    Value(Secret),
}

/// A resolved `AssumeRoleWithOIDC` request, and where its settings came from.
#[derive(Debug, Clone)]
pub struct OidcSpec {
    pub role_arn: String,
    pub oidc_provider_arn: String,
    pub token: OidcToken,
    pub session_name: String,
    pub duration_seconds: i64,
    pub policy: Option<String>,
    /// For messages: "the assume_role_with_oidc block", "the RRSA environment", a profile.
    pub origin: String,
}

/// From the block (each value falling back to the RRSA variables), or from the RRSA variables
/// alone as Alibaba's SDK chain does. `Ok(Err(why))`: nothing asked for, and why, for the
/// "looked at" list.
pub fn oidc_from_settings(
    settings: &Settings,
    env: &Environment,
) -> Result<Result<OidcSpec, String>, CredentialsError> {
    let from_env =
        |names: &[&'static str]| env.first_var(names).map(|(n, v)| (n, v.trim().to_owned()));
    let Some(b) = settings.assume_role_with_oidc.clone() else {
        let role = from_env(ENV_ROLE_ARN);
        let provider = from_env(ENV_OIDC_PROVIDER_ARN);
        let file = from_env(ENV_OIDC_TOKEN_FILE);
        let token = env.first_var(ENV_OIDC_TOKEN);
        let (Some(role), Some(provider), true) =
            (&role, &provider, file.is_some() || token.is_some())
        else {
            let unset: Vec<&str> = [
                (role.is_none(), ENV_ROLE_ARN[0]),
                (provider.is_none(), ENV_OIDC_PROVIDER_ARN[0]),
                (file.is_none() && token.is_none(), ENV_OIDC_TOKEN_FILE[0]),
            ]
            .into_iter()
            .filter_map(|(missing, n)| missing.then_some(n))
            .collect();
            return Ok(Err(format!(
                "OIDC: no assume_role_with_oidc block, and the RRSA environment is incomplete ({} not set)",
                unset.join(", ")
            )));
        };
        let token = match (file, token) {
            (Some((_, f)), _) => OidcToken::File(env.expand_home(f.as_ref())),
            (None, Some((_, t))) => OidcToken::Value(Secret::new(t.trim())),
            (None, None) => unreachable!("checked above"),
        };
        let session_name = match from_env(ENV_ROLE_SESSION_NAME) {
            Some((n, v)) => checked(n, v, sts::check_session_name)?,
            None => sts::DEFAULT_SESSION_NAME.to_owned(),
        };
        return Ok(Ok(OidcSpec {
            role_arn: checked(role.0, role.1.clone(), sts::check_role_arn)?,
            oidc_provider_arn: checked(
                provider.0,
                provider.1.clone(),
                sts::check_oidc_provider_arn,
            )?,
            token,
            session_name,
            duration_seconds: sts::DEFAULT_SESSION_SECONDS,
            policy: None,
            origin: "the RRSA environment".to_owned(),
        }));
    };
    // One value: the block's, else the first variable set; missing required ones are errors.
    let pick =
        |value: &Option<String>, attr: &str, names: &[&'static str]| -> Option<(String, String)> {
            non_empty(value)
                .map(|v| (format!("assume_role_with_oidc.{attr}"), v.to_owned()))
                .or_else(|| from_env(names).map(|(n, v)| (n.to_owned(), v)))
        };
    let required = |found: Option<(String, String)>, attr: &str, names: &[&str]| {
        found.ok_or_else(|| CredentialsError::Invalid {
            setting: "assume_role_with_oidc".to_owned(),
            reason: format!(
                "{attr} is required (in the block, or {})",
                names.join(" or ")
            ),
        })
    };
    let (n, role) = required(
        pick(&b.role_arn, "role_arn", ENV_ROLE_ARN),
        "role_arn",
        ENV_ROLE_ARN,
    )?;
    let role_arn = checked(&n, role, sts::check_role_arn)?;
    let (n, provider) = required(
        pick(
            &b.oidc_provider_arn,
            "oidc_provider_arn",
            ENV_OIDC_PROVIDER_ARN,
        ),
        "oidc_provider_arn",
        ENV_OIDC_PROVIDER_ARN,
    )?;
    let oidc_provider_arn = checked(&n, provider, sts::check_oidc_provider_arn)?;
    let block_file = b
        .oidc_token_file
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty());
    let token = match (block_file, non_empty_secret(&b.oidc_token)) {
        (Some(_), Some(_)) => {
            return Err(CredentialsError::Invalid {
                setting: "assume_role_with_oidc".to_owned(),
                reason: "set oidc_token or oidc_token_file, not both".to_owned(),
            });
        }
        (Some(f), None) => OidcToken::File(env.expand_home(f)),
        (None, Some(t)) => OidcToken::Value(t.clone()),
        (None, None) => match (from_env(ENV_OIDC_TOKEN_FILE), env.first_var(ENV_OIDC_TOKEN)) {
            (Some((_, f)), _) => OidcToken::File(env.expand_home(f.as_ref())),
            (None, Some((_, t))) => OidcToken::Value(Secret::new(t.trim())),
            (None, None) => {
                return Err(CredentialsError::Invalid {
                    setting: "assume_role_with_oidc".to_owned(),
                    reason: format!(
                        "oidc_token_file or oidc_token is required (in the block, or {} or {})",
                        ENV_OIDC_TOKEN_FILE[0], ENV_OIDC_TOKEN[0]
                    ),
                });
            }
        },
    };
    let session_name = match pick(
        &b.role_session_name,
        "role_session_name",
        ENV_ROLE_SESSION_NAME,
    ) {
        Some((n, v)) => checked(&n, v, sts::check_session_name)?,
        None => sts::DEFAULT_SESSION_NAME.to_owned(),
    };
    let duration_seconds = match b.session_expiration {
        Some(n) => {
            sts::check_session_expiration(n).map_err(|reason| CredentialsError::Invalid {
                setting: "assume_role_with_oidc.session_expiration".to_owned(),
                reason,
            })?;
            n
        }
        None => sts::DEFAULT_SESSION_SECONDS,
    };
    Ok(Ok(OidcSpec {
        role_arn,
        oidc_provider_arn,
        token,
        session_name,
        duration_seconds,
        policy: non_empty(&b.policy).map(str::to_owned),
        origin: "the assume_role_with_oidc block".to_owned(),
    }))
}

/// The OIDC source of the chain; `spec` is `Err(why)` when nothing asked for it.
#[derive(Debug)]
pub struct OidcRole {
    spec: Result<OidcSpec, String>,
    sts: StsAccess,
}

impl OidcRole {
    pub fn new(spec: Result<OidcSpec, String>, sts: StsAccess) -> Self {
        OidcRole { spec, sts }
    }
}

/// The token, read now when it is in a file.
fn read_token(spec: &OidcSpec) -> Result<(Secret, String), CredentialsError> {
    match &spec.token {
        OidcToken::Value(t) => Ok((t.clone(), "an inline token".to_owned())),
        OidcToken::File(path) => {
            let fail = |reason: String, source: Option<Cause>| CredentialsError::OidcTokenFile {
                path: path.clone(),
                origin: spec.origin.clone(),
                reason,
                source,
            };
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(e.to_string(), Some(Box::new(e))))?;
            let token = text.trim();
            if token.is_empty() {
                return Err(fail("the file is empty".to_owned(), None));
            }
            Ok((
                Secret::new(token),
                format!("the token file {}", path.display()),
            ))
        }
    }
}

/// One `AssumeRoleWithOIDC` for `spec`, the token read just before.
pub(super) async fn assume_with_oidc(
    spec: &OidcSpec,
    sts: &StsAccess,
) -> Result<Credentials, CredentialsError> {
    let (token, token_from) = read_token(spec)?;
    let issued = sts::assume_role_with_oidc(
        &sts.transport,
        sts.region.as_deref(),
        &OidcInput {
            role_arn: &spec.role_arn,
            oidc_provider_arn: &spec.oidc_provider_arn,
            oidc_token: &token,
            session_name: &spec.session_name,
            duration_seconds: spec.duration_seconds,
            policy: spec.policy.as_deref(),
        },
    )
    .await
    .map_err(|e| match e {
        Error::Credentials(e) => e,
        e => CredentialsError::Sts {
            what: format!(
                "assume_role_with_oidc {} (OIDC provider {}, {token_from}, from {})",
                spec.role_arn, spec.oidc_provider_arn, spec.origin
            ),
            source: Box::new(e),
        },
    })?;
    tracing::debug!(
        role_arn = %spec.role_arn,
        request_id = %issued.request_id,
        expires = %issued.expires,
        "assumed RAM role with an OIDC token"
    );
    Ok(Credentials {
        access_key_id: issued.access_key_id,
        access_key_secret: issued.access_key_secret,
        security_token: Some(issued.security_token),
        source: format!("assume_role_with_oidc {} ({})", spec.role_arn, spec.origin),
        expires: Some(issued.expires),
        renew_before: None,
    })
}

#[async_trait]
impl ProvideCredentials for OidcRole {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        match &self.spec {
            Ok(spec) => assume_with_oidc(spec, &self.sts).await,
            Err(why) => Err(CredentialsError::NotLoaded(why.clone())),
        }
    }
}
