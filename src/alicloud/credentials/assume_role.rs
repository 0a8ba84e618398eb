//! `assume_role`: temporary credentials of a RAM role, asked of STS with base credentials
//! (whatever the chain found, OIDC ones included), renewed through the client's cache.

use std::sync::Arc;

use async_trait::async_trait;

use super::provider::{Cached, Credentials, ProvideCredentials};
use super::static_keys::non_empty;
use crate::alicloud::clock::Clock;
use crate::alicloud::error::{CredentialsError, Error};
use crate::alicloud::rpc::Transport;
use crate::alicloud::settings::{Environment, Settings};
use crate::alicloud::sts::{self, AssumeRoleInput};

/// `role_arn`: the first names the official provider's own variable, which alone (without a
/// block) turns `assume_role` on; the second is Alibaba's common one, only a default for a
/// written block (it is also an RRSA variable, and must not trigger a second role by itself).
pub const ENV_ASSUME_ROLE_ARN: &[&str] = &["ALICLOUD_ASSUME_ROLE_ARN", "ALIBABA_CLOUD_ROLE_ARN"];
pub const ENV_ASSUME_ROLE_SESSION_NAME: &[&str] = &[
    "ALICLOUD_ASSUME_ROLE_SESSION_NAME",
    "ALIBABA_CLOUD_ROLE_SESSION_NAME",
];
pub const ENV_ASSUME_ROLE_SESSION_EXPIRATION: &[&str] =
    &["ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION"];

/// What every STS-backed source needs: the process's shared transport and the region whose
/// STS endpoint serves it.
#[derive(Clone, Debug)]
pub struct StsAccess {
    pub transport: Arc<Transport>,
    pub region: Option<String>,
}

/// A duration from a variable: whole seconds in STS's range.
pub(super) fn env_seconds(
    env: &Environment,
    names: &[&str],
) -> Result<Option<i64>, CredentialsError> {
    match env.first_var(names) {
        None => Ok(None),
        Some((name, v)) => v
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{v:?} is not a whole number of seconds"))
            .and_then(|n| sts::check_session_expiration(n).map(|()| n))
            .map(Some)
            .map_err(|reason| CredentialsError::Invalid {
                setting: name.to_owned(),
                reason,
            }),
    }
}

/// Checks one resolved value, naming where it came from when it is wrong.
pub(super) fn checked(
    setting: &str,
    value: String,
    rule: fn(&str) -> Result<(), String>,
) -> Result<String, CredentialsError> {
    rule(&value).map_err(|reason| CredentialsError::Invalid {
        setting: setting.to_owned(),
        reason,
    })?;
    Ok(value)
}

/// The role to assume on top of the chain, if any: the block (each value falling back to its
/// variables), or `ALICLOUD_ASSUME_ROLE_ARN` alone as the official provider does.
pub fn role_from_settings(
    settings: &Settings,
    env: &Environment,
) -> Result<Option<AssumeRoleInput>, CredentialsError> {
    let block = settings.assume_role.clone();
    let (role_arn, origin) = match &block {
        Some(b) => match non_empty(&b.role_arn) {
            Some(arn) => (arn.to_owned(), "assume_role.role_arn".to_owned()),
            None => match env.first_var(ENV_ASSUME_ROLE_ARN) {
                Some((n, v)) => (v.trim().to_owned(), n.to_owned()),
                None => {
                    return Err(CredentialsError::Invalid {
                        setting: "assume_role".to_owned(),
                        reason: format!(
                            "role_arn is required (in the block, or {})",
                            ENV_ASSUME_ROLE_ARN.join(" or ")
                        ),
                    });
                }
            },
        },
        None => match env.first_var(&ENV_ASSUME_ROLE_ARN[..1]) {
            Some((n, v)) => (v.trim().to_owned(), n.to_owned()),
            None => return Ok(None),
        },
    };
    let role_arn = checked(&origin, role_arn, sts::check_role_arn)?;
    let b = block.unwrap_or_default();
    let session_name = match non_empty(&b.session_name) {
        Some(s) => checked(
            "assume_role.session_name",
            s.to_owned(),
            sts::check_session_name,
        )?,
        None => match env.first_var(ENV_ASSUME_ROLE_SESSION_NAME) {
            Some((n, v)) => checked(n, v.trim().to_owned(), sts::check_session_name)?,
            None => sts::DEFAULT_SESSION_NAME.to_owned(),
        },
    };
    let duration_seconds = match b.session_expiration {
        Some(n) => {
            sts::check_session_expiration(n).map_err(|reason| CredentialsError::Invalid {
                setting: "assume_role.session_expiration".to_owned(),
                reason,
            })?;
            n
        }
        None => env_seconds(env, ENV_ASSUME_ROLE_SESSION_EXPIRATION)?
            .unwrap_or(sts::DEFAULT_SESSION_SECONDS),
    };
    Ok(Some(AssumeRoleInput {
        role_arn,
        session_name,
        duration_seconds,
        policy: non_empty(&b.policy).map(str::to_owned),
        external_id: non_empty(&b.external_id).map(str::to_owned),
    }))
}

/// Credentials of a role, asked of STS with `base`'s credentials at each renewal.
#[derive(Debug)]
pub struct AssumeRole {
    input: AssumeRoleInput,
    base: Arc<Cached>,
    sts: StsAccess,
}

impl AssumeRole {
    pub fn new(input: AssumeRoleInput, base: Arc<Cached>, sts: StsAccess) -> Self {
        AssumeRole { input, base, sts }
    }
}

#[async_trait]
impl ProvideCredentials for AssumeRole {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        // The base first, on its own: its failure (no credentials anywhere) is reported as
        // such, and its source names what the role was asked with.
        let base = self.base.get().await?;
        let role = &self.input.role_arn;
        let issued = sts::assume_role(
            &self.sts.transport,
            &self.base,
            self.sts.region.as_deref(),
            &self.input,
        )
        .await
        .map_err(|e| match e {
            Error::Credentials(e) => e,
            e => CredentialsError::Sts {
                what: format!(
                    "assume_role {role} with base credentials from {}",
                    base.source
                ),
                source: Box::new(e),
            },
        })?;
        tracing::debug!(
            role_arn = %role,
            assumed = issued.assumed_role_arn.as_deref().unwrap_or(""),
            request_id = %issued.request_id,
            expires = %issued.expires,
            "assumed RAM role"
        );
        Ok(Credentials {
            access_key_id: issued.access_key_id,
            access_key_secret: issued.access_key_secret,
            security_token: Some(issued.security_token),
            source: format!("assume_role {role} (base credentials from {})", base.source),
            expires: Some(issued.expires),
            renew_before: None,
        })
    }
}

/// Credentials already in hand, as a source: the base of a role a profile chains to.
#[derive(Debug)]
pub(super) struct Given(pub Credentials);

#[async_trait]
impl ProvideCredentials for Given {
    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        Ok(self.0.clone())
    }
}

/// Assumes `input` once with `base` (a profile's keys or the previous link of its chain).
pub(super) async fn assume_with(
    base: Credentials,
    input: AssumeRoleInput,
    sts: &StsAccess,
    clock: Arc<dyn Clock>,
) -> Result<Credentials, CredentialsError> {
    let base = Arc::new(Cached::new(Box::new(Given(base)), clock));
    AssumeRole::new(input, base, sts.clone()).provide().await
}
