//! The `alicloud` provider block: its schema (drop-in names from the official provider), the
//! validation of known values, `Configure`, which builds the one client every call of this
//! process shares, and the registration of every resource and data source.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::alicloud::settings::{AssumeRoleSettings, OidcSettings};
use crate::alicloud::sts;
use crate::alicloud::{Client, Environment, Protocol, Secret, Settings};
use crate::diag::{AttrPath, Diagnostics};
use crate::resource::{DataSourceFactory, Provider, ProviderData, ResourceFactory};
use crate::resources::batching::Batched;
use crate::resources::configured::Configured;
use crate::resources::flow_log_activation::FlowLogActivation;
use crate::resources::ids;
use crate::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use crate::tfvalue::{Type, Value};

pub struct AlicloudProvider {
    schema: Schema,
}

impl Default for AlicloudProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl AlicloudProvider {
    pub fn new() -> Self {
        AlicloudProvider {
            schema: provider_schema(),
        }
    }
}

pub const PROTOCOLS: [&str; 2] = ["HTTPS", "HTTP"];

fn provider_schema() -> Schema {
    let s = |name, desc: &str| Attribute::optional(name, Type::String, desc);
    let n = |name, desc: &str| Attribute::optional(name, Type::Number, desc);
    Schema {
        version: 0,
        block: Block {
            description: "Manages Alibaba Cloud VPC flow logs. Every argument is optional: credentials and region also come from the environment or the Alibaba Cloud CLI profile file.".into(),
            attributes: vec![
                s("access_key", "Alibaba Cloud AccessKey ID. Also `ALICLOUD_ACCESS_KEY`, `ALIBABA_CLOUD_ACCESS_KEY_ID` or `ALIBABACLOUD_ACCESS_KEY_ID`."),
                s("secret_key", "Alibaba Cloud AccessKey secret. Also `ALICLOUD_SECRET_KEY`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` or `ALIBABACLOUD_ACCESS_KEY_SECRET`.").sensitive(),
                s("security_token", "STS security token, for temporary credentials. Also `ALICLOUD_SECURITY_TOKEN`, `ALIBABA_CLOUD_SECURITY_TOKEN` or `ALIBABACLOUD_SECURITY_TOKEN`.").sensitive(),
                s("region", "Default region for resources that do not set `region_id`, e.g. `cn-hangzhou`. Also `ALICLOUD_REGION`, `ALIBABA_CLOUD_REGION` or `ALIBABA_CLOUD_REGION_ID`, then the profile's `region_id`."),
                s("profile", "Profile to use from the shared credentials file (the Alibaba Cloud CLI's `~/.aliyun/config.json`). Also `ALICLOUD_PROFILE` or `ALIBABA_CLOUD_PROFILE`; defaults to the file's `current` profile."),
                s("shared_credentials_file", "Path of the shared credentials file. Also `ALICLOUD_SHARED_CREDENTIALS_FILE` or `ALIBABA_CLOUD_CREDENTIALS_FILE`; defaults to `~/.aliyun/config.json`."),
                s("ecs_role_name", "RAM role attached to the ECS instance Terraform runs on; credentials then come from the instance metadata service. Also `ALICLOUD_ECS_ROLE_NAME`."),
                s("protocol", "Scheme for API endpoints that do not include one: `HTTPS` (default) or `HTTP`."),
                n("client_read_timeout", "Time to wait for an API answer, in milliseconds (default 60000)."),
                n("client_connect_timeout", "Time to wait for a connection to the API, in milliseconds (default 60000)."),
                n("max_retry_timeout", "Longest time spent retrying throttled or failed API calls, in seconds from a call's first attempt (default 60)."),
                s("configuration_source", "Free text appended to the User-Agent of every API call, to tell where calls come from (e.g. a repository name)."),
                Attribute::optional("share_rate_limit", Type::Bool, "Share the API rate limit (and what it learnt of the quota), and recent listings of flow logs, with the other provider processes of the same account and region on this machine, such as the units of a Terragrunt stack, through small files under the user's cache directory (default true). Also `ALICLOUD_SHARE_RATE_LIMIT`."),
                s("credentials_uri", "URL answering a plain GET with `{\"Code\":\"Success\",\"AccessKeyId\",\"AccessKeySecret\",\"SecurityToken\",\"Expiration\"}`, used when no other source has credentials. Also `ALICLOUD_CREDENTIALS_URI` or `ALIBABA_CLOUD_CREDENTIALS_URI`."),
            ],
            blocks: vec![
                NestedBlock {
                    name: "endpoints",
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: 1,
                    block: Block {
                        description: "Custom API endpoints.".into(),
                        attributes: vec![
                            s(
                                "vpc",
                                "VPC API endpoint: a host (`vpc.aliyuncs.com`), `host:port`, or a full URL (`http://127.0.0.1:8080` for the emulator). Also `ALIBABA_CLOUD_ENDPOINT_VPC` or `VPC_ENDPOINT`.",
                            ),
                            s(
                                "sts",
                                "STS endpoint, used by `assume_role`, `assume_role_with_oidc` and role profiles: a host, `host:port` or URL. Also `ALICLOUD_STS_ENDPOINT` or `ALIBABA_CLOUD_STS_ENDPOINT`; defaults to `sts.<region>.aliyuncs.com`, or `sts.aliyuncs.com` without a region.",
                            ),
                        ],
                        blocks: Vec::new(),
                    },
                },
                NestedBlock {
                    name: "sign_version",
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: 1,
                    block: Block {
                        description: "Signature versions of API calls, per product, as in the official provider's block of the same name.".into(),
                        attributes: vec![s(
                            "vpc",
                            "Signature of this provider's API calls: VPC, and the STS calls that get its credentials. `v1` (HMAC-SHA1, the default) or `v3` (`ACS3-HMAC-SHA256`). Also `ALICLOUD_SIGN_VERSION_VPC`.",
                        )],
                        blocks: Vec::new(),
                    },
                },
                NestedBlock {
                    name: "assume_role",
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: 1,
                    block: Block {
                        description: "Assume a RAM role with STS `AssumeRole`, signed with the credentials found otherwise (keys, profile, ECS role, OIDC, credentials URI). Renewed before it expires.".into(),
                        attributes: vec![
                            s("role_arn", "ARN of the role, `acs:ram::<account id>:role/<name>`. Required, here or in `ALICLOUD_ASSUME_ROLE_ARN` / `ALIBABA_CLOUD_ROLE_ARN`."),
                            s("session_name", "Session name, 2-64 of letters, digits and `.@_-`. Also `ALICLOUD_ASSUME_ROLE_SESSION_NAME` or `ALIBABA_CLOUD_ROLE_SESSION_NAME`; default `terraform`."),
                            s("policy", "A RAM policy (JSON text) further restricting the session."),
                            n("session_expiration", "Session lifetime in seconds, 900 to 43200. Also `ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION`; default 3600."),
                            s("external_id", "External ID the role's trust policy requires."),
                        ],
                        blocks: Vec::new(),
                    },
                },
                NestedBlock {
                    name: "assume_role_with_oidc",
                    nesting: Nesting::List,
                    min_items: 0,
                    max_items: 1,
                    block: Block {
                        description: "Assume a RAM role with an OIDC token (STS `AssumeRoleWithOIDC`): CI jobs, ACK RRSA. The token file is read again at each renewal.".into(),
                        attributes: vec![
                            s("oidc_provider_arn", "ARN of the RAM OIDC provider, `acs:ram::<account id>:oidc-provider/<name>`. Required, here or in `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`."),
                            s("role_arn", "ARN of the role to assume. Required, here or in `ALIBABA_CLOUD_ROLE_ARN`."),
                            s("oidc_token_file", "File holding the OIDC token, read at each renewal. Also `ALIBABA_CLOUD_OIDC_TOKEN_FILE`. Set this or `oidc_token`."),
                            s("oidc_token", "The OIDC token itself. Also `ALIBABA_CLOUD_OIDC_TOKEN`.").sensitive(),
                            s("role_session_name", "Session name, 2-64 of letters, digits and `.@_-`. Also `ALIBABA_CLOUD_ROLE_SESSION_NAME`; default `terraform`."),
                            s("policy", "A RAM policy (JSON text) further restricting the session."),
                            n("session_expiration", "Session lifetime in seconds, 900 to 43200; default 3600."),
                        ],
                        blocks: Vec::new(),
                    },
                },
            ],
        },
    }
}

/// A known, non-null string attribute of the provider block.
fn known_str<'a>(config: &'a Value, name: &str) -> Option<&'a str> {
    config.get(name).and_then(Value::as_str)
}

/// The single object of a `max_items = 1` block, when written.
fn single_block<'a>(config: &'a Value, name: &str) -> Option<&'a Value> {
    match config.get(name)? {
        Value::List(items) => items.first(),
        _ => None,
    }
}

/// The client settings the provider block gives; unknown values count as unset.
fn settings(config: &Value, terraform_version: &str) -> Settings {
    let text = |name: &str| known_str(config, name).map(str::to_owned);
    let millis = |name: &str, default: Duration| {
        config
            .get(name)
            .and_then(Value::as_i64)
            .map_or(default, |n| Duration::from_millis(n.max(0) as u64))
    };
    let defaults = Settings::default();
    Settings {
        access_key: text("access_key"),
        secret_key: text("secret_key").map(Secret::new),
        security_token: text("security_token").map(Secret::new),
        region: text("region"),
        profile: text("profile"),
        shared_credentials_file: text("shared_credentials_file").map(Into::into),
        protocol: match known_str(config, "protocol") {
            Some("HTTP") => Protocol::Http,
            _ => Protocol::Https,
        },
        vpc_endpoint: single_block(config, "endpoints")
            .and_then(|b| known_str(b, "vpc"))
            .map(str::to_owned),
        sts_endpoint: single_block(config, "endpoints")
            .and_then(|b| known_str(b, "sts"))
            .map(str::to_owned),
        sign_version: single_block(config, "sign_version")
            .and_then(|b| known_str(b, "vpc"))
            .map(str::to_owned),
        assume_role: single_block(config, "assume_role").map(|b| {
            let t = |name: &str| known_str(b, name).map(str::to_owned);
            AssumeRoleSettings {
                role_arn: t("role_arn"),
                session_name: t("session_name"),
                policy: t("policy"),
                session_expiration: b.get("session_expiration").and_then(Value::as_i64),
                external_id: t("external_id"),
            }
        }),
        assume_role_with_oidc: single_block(config, "assume_role_with_oidc").map(|b| {
            let t = |name: &str| known_str(b, name).map(str::to_owned);
            OidcSettings {
                oidc_provider_arn: t("oidc_provider_arn"),
                role_arn: t("role_arn"),
                oidc_token_file: t("oidc_token_file").map(Into::into),
                oidc_token: t("oidc_token").map(Secret::new),
                role_session_name: t("role_session_name"),
                policy: t("policy"),
                session_expiration: b.get("session_expiration").and_then(Value::as_i64),
            }
        }),
        credentials_uri: text("credentials_uri"),
        client_connect_timeout: millis("client_connect_timeout", defaults.client_connect_timeout),
        client_read_timeout: millis("client_read_timeout", defaults.client_read_timeout),
        max_retry_timeout: config
            .get("max_retry_timeout")
            .and_then(Value::as_i64)
            .map_or(defaults.max_retry_timeout, |n| {
                Duration::from_secs(n.max(0) as u64)
            }),
        configuration_source: text("configuration_source"),
        terraform_version: Some(terraform_version.to_owned()).filter(|v| !v.is_empty()),
        ecs_role_name: text("ecs_role_name"),
        max_requests_per_second: None,
        share_rate_limit: config.get("share_rate_limit").and_then(Value::as_bool),
    }
}

/// The `assume_role` and `assume_role_with_oidc` blocks' known values, checked with STS's own
/// rules so a typo fails `terraform validate`, not an apply half way.
fn validate_role_blocks(config: &Value, diags: &mut Diagnostics) {
    type Rule = fn(&str) -> Result<(), String>;
    let blocks: [(&str, &[(&str, Rule)]); 2] = [
        (
            "assume_role",
            &[
                ("role_arn", sts::check_role_arn),
                ("session_name", sts::check_session_name),
            ],
        ),
        (
            "assume_role_with_oidc",
            &[
                ("role_arn", sts::check_role_arn),
                ("oidc_provider_arn", sts::check_oidc_provider_arn),
                ("role_session_name", sts::check_session_name),
            ],
        ),
    ];
    for (name, rules) in blocks {
        let Some(Value::List(items)) = config.get(name) else {
            continue;
        };
        for (i, block) in items.iter().enumerate() {
            let path = |attr: &str| AttrPath::attr(name).then_index(i as i64).then_attr(attr);
            for (attr, rule) in rules {
                if let Some(v) = known_str(block, attr)
                    && let Err(reason) = rule(v)
                {
                    diags.attr_error(path(attr), format!("Invalid {attr}"), format!("{reason}."));
                }
            }
            if let Some(v) = block.get("session_expiration")
                && !v.is_null()
                && !v.is_unknown()
            {
                let problem = match v.as_i64() {
                    Some(n) => sts::check_session_expiration(n).err(),
                    None => Some("must be a whole number of seconds".to_owned()),
                };
                if let Some(reason) = problem {
                    diags.attr_error(
                        path("session_expiration"),
                        "Invalid session_expiration",
                        format!("{reason}."),
                    );
                }
            }
            if name == "assume_role_with_oidc" {
                let set = |attr: &str| block.get(attr).is_some_and(|v| !v.is_null());
                if set("oidc_token") && set("oidc_token_file") {
                    diags.attr_error(
                        path("oidc_token"),
                        "Conflicting OIDC token settings",
                        "Set oidc_token or oidc_token_file, not both.",
                    );
                }
                if let Some(t) = known_str(block, "oidc_token")
                    && !(4..=20_000).contains(&t.len())
                {
                    // The token's length only: never its text.
                    diags.attr_error(
                        path("oidc_token"),
                        "Invalid oidc_token",
                        format!(
                            "An OIDC token is 4 to 20000 characters; this one has {}.",
                            t.len()
                        ),
                    );
                }
            }
        }
    }
}

#[async_trait]
impl Provider for AlicloudProvider {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(p) = known_str(config, "protocol")
            && !PROTOCOLS.contains(&p)
        {
            diags.attr_error(
                AttrPath::attr("protocol"),
                "Invalid protocol",
                format!("protocol must be \"HTTPS\" or \"HTTP\", not {p:?}."),
            );
        }
        for name in [
            "client_read_timeout",
            "client_connect_timeout",
            "max_retry_timeout",
        ] {
            if let Some(v) = config.get(name)
                && !v.is_null()
                && !v.is_unknown()
                && v.as_i64().is_none_or(|n| n < 0)
            {
                diags.attr_error(
                    AttrPath::attr(name),
                    format!("Invalid {name}"),
                    format!("{name} must be a whole, non-negative number."),
                );
            }
        }
        if let Some(Value::List(items)) = config.get("endpoints") {
            for (i, block) in items.iter().enumerate() {
                for (key, product) in [("vpc", "VPC"), ("sts", "STS")] {
                    if let Some(value) = known_str(block, key)
                        && let Err(reason) = crate::alicloud::rpc::endpoint::check_endpoint(value)
                    {
                        diags.attr_error(
                            AttrPath::attr("endpoints")
                                .then_index(i as i64)
                                .then_attr(key),
                            format!("Invalid {product} endpoint"),
                            format!("{value:?}: {reason}."),
                        );
                    }
                }
            }
        }
        if let Some(Value::List(items)) = config.get("sign_version") {
            for (i, block) in items.iter().enumerate() {
                if let Some(value) = known_str(block, "vpc")
                    && crate::alicloud::sign::by_name(value).is_none()
                {
                    diags.attr_error(
                        AttrPath::attr("sign_version")
                            .then_index(i as i64)
                            .then_attr("vpc"),
                        "Invalid signature version",
                        format!(
                            "{}.",
                            crate::alicloud::rpc::bad_sign_version("sign_version.vpc", value)
                        ),
                    );
                }
            }
        }
        validate_role_blocks(config, diags);
        if let Some(uri) = known_str(config, "credentials_uri") {
            let problem = match url::Url::parse(uri.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => None,
                Ok(u) => Some(format!(
                    "scheme {:?} is not supported; use http or https",
                    u.scheme()
                )),
                Err(e) => Some(format!("not a URL ({e})")),
            };
            if let Some(reason) = problem {
                diags.attr_error(
                    AttrPath::attr("credentials_uri"),
                    "Invalid credentials_uri",
                    format!("{reason}."),
                );
            }
        }
        if let Some(r) = known_str(config, "region")
            && !ids::looks_like_region(r)
        {
            diags.attr_error(
                AttrPath::attr("region"),
                "Invalid region",
                format!("{r:?} is not a region ID; region IDs look like \"cn-hangzhou\" or \"ap-southeast-1\"."),
            );
        }
    }

    async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<ProviderData> {
        self.validate(config, diags);
        if diags.has_errors() {
            return None;
        }
        let started = std::time::Instant::now();
        match Client::new(
            settings(config, terraform_version),
            Environment::from_process(),
        ) {
            Ok(client) => {
                tracing::debug!(
                    elapsed_us = started.elapsed().as_micros() as u64,
                    ?client,
                    "provider configured"
                );
                Some(Arc::new(Configured {
                    region: client.region().map(str::to_owned),
                    region_pending: config.get("region").is_some_and(Value::is_unknown),
                    // Operations of this process share listings instead of each describing.
                    flow_logs: Arc::new(Batched::new(Arc::new(client))),
                }))
            }
            Err(e) => {
                diags.error("Invalid provider configuration", e.to_string());
                None
            }
        }
    }

    fn resources(&self) -> Vec<ResourceFactory> {
        vec![
            FlowLogActivation::factory,
            crate::resources::vpc_flow_log::VpcFlowLog::factory,
        ]
    }

    fn data_sources(&self) -> Vec<DataSourceFactory> {
        vec![crate::resources::vpc_flow_logs::VpcFlowLogs::factory]
    }
}
