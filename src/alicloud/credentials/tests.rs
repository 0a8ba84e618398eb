//! Tests of the credential sources, the chain's order and the cache.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use super::*;
use crate::alicloud::error::CredentialsError;
use crate::alicloud::secret::Secret;
use crate::alicloud::settings::{Environment, Settings};

/// What STS sources need, from the same settings (`sts_endpoint` points at a test server).
fn sts_access(settings: &Settings, env: &Environment) -> StsAccess {
    StsAccess {
        transport: Arc::new(
            crate::alicloud::rpc::Transport::new(settings, env, &[&crate::alicloud::sts::STS])
                .unwrap(),
        ),
        region: None,
    }
}

/// The cached chain every client uses, built the same way.
fn chain(settings: Settings, env: Environment) -> Result<Arc<Cached>, CredentialsError> {
    let sts = sts_access(&settings, &env);
    default_credentials(&settings, &env, &sts)
}

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
    chain(settings, env).unwrap().get().await
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
        expires: None,
        renew_before: None,
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
        {"name": "stsnotoken", "mode": "StsToken", "access_key_id": "a", "access_key_secret": "b"},
        {"name": "sso", "mode": "CloudSSO"},
        {"name": "ext", "mode": "External"}
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
    for (profile, mode) in [("sso", "CloudSSO"), ("ext", "External")] {
        let s = Settings {
            profile: Some(profile.into()),
            ..Settings::default()
        };
        let err = resolve(s, env(&[], Some(home.path())))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("mode {mode}, which is not supported"))
                && err
                    .contains("AK, StsToken, RamRoleArn, EcsRamRole, ChainableRamRoleArn and OIDC")
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
    let e = resolve(s, env(&[], None)).await.unwrap_err();
    // The parser's error stays reachable as the source, for code that walks the chain.
    let source = std::error::Error::source(&e).expect("a source");
    assert!(
        source.downcast_ref::<serde_json::Error>().is_some(),
        "{source:?}"
    );
    assert!(!source.to_string().contains("secret-ish-content"));
    let err = e.to_string();
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
    let e = resolve(Settings::default(), e).await.unwrap_err();
    let source = std::error::Error::source(&e).expect("a source");
    assert_eq!(
        source
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
    let err = e.to_string();
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
        e.expand_home(Path::new("~/x/c.json")),
        PathBuf::from("/home/u/x/c.json")
    );
    assert_eq!(e.expand_home(Path::new("/abs")), PathBuf::from("/abs"));
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
    let chain = chain(s, env(&[], None)).unwrap();
    assert_eq!(chain.get().await.unwrap().access_key_id, "ak-1");
    std::fs::remove_file(&f).unwrap();
    assert_eq!(chain.get().await.unwrap().access_key_id, "ak-1");
}

mod ecs {
    use super::*;
    use crate::alicloud::test_server::{Reply, Request, TestServer};

    fn role_answer(expires_in: time::Duration) -> String {
        let exp = (OffsetDateTime::now_utc() + expires_in)
            .replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        format!(
            r#"{{"Code":"Success","AccessKeyId":"STS.ak","AccessKeySecret":"sts-secret","SecurityToken":"sts-token","Expiration":"{exp}","LastUpdated":"x"}}"#
        )
    }

    fn metadata(
        expires_in: time::Duration,
        token_ok: bool,
    ) -> impl Fn(usize, &Request) -> Reply + Send + Sync {
        move |_, req: &Request| match (req.method.as_str(), req.target.as_str()) {
            ("PUT", "/latest/api/token") if token_ok => {
                assert_eq!(
                    req.header("X-aliyun-ecs-metadata-token-ttl-seconds"),
                    Some("21600")
                );
                Reply::json(200, "md-token")
            }
            ("PUT", _) => Reply::html(404, "no"),
            ("GET", "/latest/meta-data/ram/security-credentials/my-role") => {
                assert_eq!(
                    req.header("X-aliyun-ecs-metadata-token"),
                    token_ok.then_some("md-token")
                );
                Reply::json(200, &role_answer(expires_in))
            }
            _ => Reply::html(404, "not found"),
        }
    }

    fn settings_with_role() -> Settings {
        Settings {
            ecs_role_name: Some("my-role".into()),
            ..Settings::default()
        }
    }

    #[tokio::test]
    async fn role_credentials_with_session_token() {
        let server = TestServer::start(metadata(time::Duration::hours(1), true)).await;
        let e = env(&[], None).with_metadata_base_url(format!("{}/", server.url));
        let chain = chain(settings_with_role(), e).unwrap();
        let c = chain.get().await.unwrap();
        assert_eq!(c.access_key_id, "STS.ak");
        assert_eq!(c.access_key_secret.expose(), "sts-secret");
        assert_eq!(c.security_token.as_ref().unwrap().expose(), "sts-token");
        assert_eq!(server.count(), 2);
        // Cached while far from expiry.
        chain.get().await.unwrap();
        assert_eq!(server.count(), 2);
    }

    #[tokio::test]
    async fn older_metadata_service_without_tokens() {
        let server = TestServer::start(metadata(time::Duration::hours(1), false)).await;
        let e = env(&[("ALIBABA_CLOUD_ECS_METADATA", "my-role")], None)
            .with_metadata_base_url(&server.url);
        let c = resolve(Settings::default(), e).await.unwrap();
        assert_eq!(c.access_key_id, "STS.ak");
    }

    #[tokio::test]
    async fn refreshed_before_expiry() {
        let server = TestServer::start(metadata(time::Duration::minutes(2), true)).await;
        let e =
            env(&[("ALICLOUD_ECS_ROLE_NAME", "my-role")], None).with_metadata_base_url(&server.url);
        let chain = chain(Settings::default(), e).unwrap();
        chain.get().await.unwrap();
        chain.get().await.unwrap();
        assert_eq!(
            server.count(),
            4,
            "credentials expiring within the margin are fetched again"
        );
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_still_valid_credentials() {
        let server = TestServer::start(|i, req: &Request| match (i, req.method.as_str()) {
            (_, "PUT") => Reply::json(200, "t"),
            (1, _) => Reply::json(200, &role_answer(time::Duration::minutes(2))),
            _ => Reply::html(500, "down"),
        })
        .await;
        let e = env(&[], None).with_metadata_base_url(&server.url);
        let chain = chain(settings_with_role(), e).unwrap();
        assert_eq!(chain.get().await.unwrap().access_key_id, "STS.ak");
        assert_eq!(chain.get().await.unwrap().access_key_id, "STS.ak");
        assert_eq!(server.count(), 4);
    }

    #[tokio::test]
    async fn errors_name_the_role_and_never_the_body() {
        let server = TestServer::start(|_, req: &Request| {
            if req.method == "PUT" {
                Reply::json(200, "t")
            } else {
                Reply::html(404, "secret-looking-body")
            }
        })
        .await;
        let e = env(&[], None).with_metadata_base_url(&server.url);
        let err = resolve(settings_with_role(), e)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"my-role\"") && err.contains("HTTP 404") && err.contains("attached"),
            "{err}"
        );
        assert!(!err.contains("secret-looking-body"), "{err}");

        let server = TestServer::start(|_, req: &Request| {
            if req.method == "PUT" {
                Reply::json(200, "t")
            } else {
                Reply::json(200, r#"{"Code":"Failed","Message":"no"}"#)
            }
        })
        .await;
        let e = env(&[], None).with_metadata_base_url(&server.url);
        let err = resolve(settings_with_role(), e)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"Failed\""), "{err}");

        // Nobody listening: fails fast with the URL.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = env(&[], None).with_metadata_base_url(format!("http://127.0.0.1:{port}"));
        let err = resolve(settings_with_role(), e)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "127.0.0.1:{port}/latest/meta-data/ram/security-credentials/my-role"
            )),
            "{err}"
        );
    }

    #[tokio::test]
    async fn not_asked_for_means_not_contacted() {
        let server = TestServer::start(metadata(time::Duration::hours(1), true)).await;
        let e = env(&[], None).with_metadata_base_url(&server.url);
        assert!(matches!(
            resolve(Settings::default(), e).await,
            Err(CredentialsError::Missing { .. })
        ));
        assert_eq!(server.count(), 0);
    }
}

/// The STS sources against a local STS: the chain's order with them, one renewal for
/// concurrent callers, renewal before expiry, the token file read at each renewal, errors.
mod sts_sources {
    use super::*;
    use crate::alicloud::credentials::assume_role::role_from_settings;
    use crate::alicloud::settings::{AssumeRoleSettings, OidcSettings};
    use crate::alicloud::test_server::{Reply, Request, TestServer};

    const ROLE: &str = "acs:ram::1234567890123456:role/ci";
    const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/github";

    /// STS answering every AssumeRole* with a new key that lives `life`.
    async fn sts(life: time::Duration) -> TestServer {
        TestServer::start(move |i, req: &Request| {
            let form = req.form();
            if form.get("RoleArn").is_some_and(|r| r.contains("nobody")) {
                return Reply::json(
                    404,
                    r#"{"RequestId":"RID-404","Code":"EntityNotExist.Role","Message":"The role does not exist."}"#,
                );
            }
            let exp = (OffsetDateTime::now_utc() + life)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            Reply::json(
                200,
                &format!(
                    r#"{{"RequestId":"RID-{i}","AssumedRoleUser":{{"Arn":"x","AssumedRoleId":"y"}},"Credentials":{{"AccessKeyId":"STS.key-{i}","AccessKeySecret":"sts-secret-{i}","SecurityToken":"sts-token-{i}","Expiration":"{exp}"}}}}"#
                ),
            )
        })
        .await
    }

    fn with_sts(server: &TestServer, s: Settings) -> Settings {
        Settings {
            sts_endpoint: Some(server.url.clone()),
            ..s
        }
    }

    fn calls(server: &TestServer, action: &str) -> Vec<HashMap<String, String>> {
        server
            .requests()
            .iter()
            .map(Request::form)
            .filter(|f| f.get("Action").map(String::as_str) == Some(action))
            .collect()
    }

    fn role_block() -> Settings {
        Settings {
            assume_role: Some(AssumeRoleSettings {
                role_arn: Some(ROLE.into()),
                external_id: Some("ext-1".into()),
                ..AssumeRoleSettings::default()
            }),
            ..Settings::default()
        }
    }

    const ENV_KEYS: [(&str, &str); 2] = [
        ("ALICLOUD_ACCESS_KEY", "ak-env"),
        ("ALICLOUD_SECRET_KEY", "sk-env"),
    ];

    #[tokio::test]
    async fn assume_role_on_top_of_the_environment() {
        let server = sts(time::Duration::hours(1)).await;
        let c = resolve(with_sts(&server, role_block()), env(&ENV_KEYS, None))
            .await
            .unwrap();
        assert_eq!(c.access_key_id, "STS.key-0");
        assert_eq!(c.security_token.as_ref().unwrap().expose(), "sts-token-0");
        assert!(
            c.source.contains("base credentials from the environment"),
            "{}",
            c.source
        );
        let sent = calls(&server, "AssumeRole");
        assert_eq!(sent.len(), 1);
        let f = &sent[0];
        for (k, v) in [
            ("AccessKeyId", "ak-env"),
            ("RoleArn", ROLE),
            ("RoleSessionName", "terraform"),
            ("DurationSeconds", "3600"),
            ("ExternalId", "ext-1"),
            ("Version", "2015-04-01"),
        ] {
            assert_eq!(f.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(f.contains_key("Signature") && !f.contains_key("SecurityToken"));
    }

    #[tokio::test]
    async fn order_keys_then_oidc_then_uri_and_role_on_top_of_oidc() {
        let server = sts(time::Duration::hours(1)).await;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "oidc-token-1\n").unwrap();
        let uri = TestServer::start(|_, _: &Request| {
            Reply::json(
                200,
                r#"{"Code":"Success","AccessKeyId":"ak-uri","AccessKeySecret":"sk-uri","SecurityToken":"tok-uri","Expiration":"2099-01-01T00:00:00Z"}"#,
            )
        })
        .await;
        let rrsa = [
            ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
            ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token.to_str().unwrap()),
            ("ALIBABA_CLOUD_CREDENTIALS_URI", uri.url.as_str()),
        ];
        // Keys in the environment win over OIDC: no STS call.
        let all: Vec<_> = ENV_KEYS.iter().chain(rrsa.iter()).copied().collect();
        let c = resolve(with_sts(&server, Settings::default()), env(&all, None))
            .await
            .unwrap();
        assert_eq!(c.access_key_id, "ak-env");
        assert_eq!(server.count(), 0);
        // The RRSA variables alone: OIDC, before the credentials URI.
        let c = resolve(with_sts(&server, Settings::default()), env(&rrsa, None))
            .await
            .unwrap();
        assert_eq!(c.access_key_id, "STS.key-0");
        assert!(c.source.contains("RRSA"), "{}", c.source);
        let f = &calls(&server, "AssumeRoleWithOIDC")[0];
        assert_eq!(f["OIDCToken"], "oidc-token-1");
        assert_eq!(f["OIDCProviderArn"], PROVIDER);
        assert!(!f.contains_key("AccessKeyId") && !f.contains_key("Signature"));
        assert_eq!(uri.count(), 0);
        // The credentials URI last.
        let c = resolve(
            with_sts(&server, Settings::default()),
            env(&rrsa[3..], None),
        )
        .await
        .unwrap();
        assert_eq!(c.access_key_id, "ak-uri");
        assert_eq!(c.security_token.as_ref().unwrap().expose(), "tok-uri");
        // assume_role on top of OIDC credentials: signed with the OIDC key and its token.
        let c = resolve(with_sts(&server, role_block()), env(&rrsa, None))
            .await
            .unwrap();
        assert_eq!(c.access_key_id, "STS.key-2");
        let f = &calls(&server, "AssumeRole")[0];
        assert_eq!(f["AccessKeyId"], "STS.key-1");
        assert_eq!(f["SecurityToken"], "sts-token-1");
        assert!(c.source.contains("assume_role_with_oidc"), "{}", c.source);
    }

    #[tokio::test]
    async fn nothing_lists_six_places() {
        let home = tempfile::tempdir().unwrap();
        let err = resolve(Settings::default(), env(&[], Some(home.path())))
            .await
            .unwrap_err();
        let CredentialsError::Missing { looked_at } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(looked_at.len(), 6, "{looked_at:?}");
        let text = err.to_string();
        for needle in [
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "credentials_uri",
            "ALICLOUD_CREDENTIALS_URI",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_sts_call() {
        let server = sts(time::Duration::hours(1)).await;
        let cache = chain(with_sts(&server, role_block()), env(&ENV_KEYS, None)).unwrap();
        let all = futures_util::future::join_all((0..20).map(|_| cache.get())).await;
        assert!(
            all.iter()
                .all(|c| c.as_ref().unwrap().access_key_id == "STS.key-0")
        );
        assert_eq!(calls(&server, "AssumeRole").len(), 1);
    }

    #[tokio::test]
    async fn renewed_before_expiry_and_token_file_read_each_time() {
        let server = sts(time::Duration::seconds(3)).await;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "first-token").unwrap();
        let s = Settings {
            assume_role_with_oidc: Some(OidcSettings {
                role_arn: Some(ROLE.into()),
                oidc_provider_arn: Some(PROVIDER.into()),
                oidc_token_file: Some(token.clone()),
                role_session_name: Some("ci-run".into()),
                ..OidcSettings::default()
            }),
            ..Settings::default()
        };
        let cache = chain(with_sts(&server, s), env(&[], None)).unwrap();
        let first = cache.get().await.unwrap();
        assert_eq!(
            cache.get().await.unwrap().access_key_id,
            first.access_key_id
        );
        // The runner rotates the token; past half the session's life, a new session with it.
        std::fs::write(&token, "second-token").unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
        let second = cache.get().await.unwrap();
        assert_ne!(second.access_key_id, first.access_key_id);
        assert!(second.expires.unwrap() > OffsetDateTime::now_utc());
        let tokens: Vec<String> = calls(&server, "AssumeRoleWithOIDC")
            .iter()
            .map(|f| f["OIDCToken"].clone())
            .collect();
        assert_eq!(tokens, ["first-token", "second-token"]);
        assert_eq!(
            calls(&server, "AssumeRoleWithOIDC")[0]["RoleSessionName"],
            "ci-run"
        );
    }

    #[tokio::test]
    async fn sts_errors_name_code_request_id_and_source() {
        let server = sts(time::Duration::hours(1)).await;
        let s = Settings {
            assume_role: Some(AssumeRoleSettings {
                role_arn: Some("acs:ram::1:role/nobody".into()),
                ..AssumeRoleSettings::default()
            }),
            ..Settings::default()
        };
        let err = resolve(with_sts(&server, s), env(&ENV_KEYS, None))
            .await
            .unwrap_err();
        assert!(matches!(err, CredentialsError::Sts { .. }));
        assert!(std::error::Error::source(&err).is_some());
        let text = err.to_string();
        for needle in [
            "assume_role acs:ram::1:role/nobody with base credentials from the environment",
            "EntityNotExist.Role",
            "RID-404",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("sk-env"));
    }

    #[tokio::test]
    async fn settings_that_cannot_work_fail_when_built() {
        let e = env(&[], None);
        let build = |s: Settings| chain(s, e.clone()).map(drop).unwrap_err().to_string();
        let err = build(Settings {
            assume_role: Some(AssumeRoleSettings::default()),
            ..Settings::default()
        });
        assert!(err.contains("role_arn is required"), "{err}");
        let err = build(Settings {
            assume_role_with_oidc: Some(OidcSettings {
                role_arn: Some(ROLE.into()),
                oidc_provider_arn: Some(PROVIDER.into()),
                oidc_token_file: Some("/t".into()),
                oidc_token: Some(Secret::new("inline-token")),
                ..OidcSettings::default()
            }),
            ..Settings::default()
        });
        assert!(
            err.contains("not both") && !err.contains("inline-token"),
            "{err}"
        );
        let err = chain(
            Settings::default(),
            env(
                &[("ALICLOUD_ASSUME_ROLE_ARN", "arn:aws:iam::1:role/x")],
                None,
            ),
        )
        .map(drop)
        .unwrap_err()
        .to_string();
        assert!(err.contains("ALICLOUD_ASSUME_ROLE_ARN"), "{err}");
        // ALIBABA_CLOUD_ROLE_ARN alone is an RRSA variable, not a request to assume a role.
        assert!(
            role_from_settings(
                &Settings::default(),
                &env(&[("ALIBABA_CLOUD_ROLE_ARN", ROLE)], None)
            )
            .unwrap()
            .is_none()
        );
        let r = role_from_settings(
            &Settings {
                assume_role: Some(AssumeRoleSettings::default()),
                ..Settings::default()
            },
            &env(
                &[
                    ("ALIBABA_CLOUD_ROLE_ARN", ROLE),
                    ("ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION", "900"),
                    ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "from-env"),
                ],
                None,
            ),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (
                r.role_arn.as_str(),
                r.duration_seconds,
                r.session_name.as_str()
            ),
            (ROLE, 900, "from-env")
        );
    }

    #[tokio::test]
    async fn role_profiles() {
        let server = sts(time::Duration::hours(1)).await;
        let home = tempfile::tempdir().unwrap();
        let token = home.path().join("oidc-token");
        std::fs::write(&token, "profile-token").unwrap();
        write_config(
            home.path(),
            &format!(
                r#"{{"current":"role","profiles":[
                {{"name":"base","mode":"AK","access_key_id":"ak-base","access_key_secret":"sk-base"}},
                {{"name":"role","mode":"RamRoleArn","access_key_id":"ak-p","access_key_secret":"sk-p","ram_role_arn":"{ROLE}","ram_session_name":"cli","expired_seconds":900}},
                {{"name":"chained","mode":"ChainableRamRoleArn","source_profile":"role","ram_role_arn":"acs:ram::1:role/second"}},
                {{"name":"loop1","mode":"ChainableRamRoleArn","source_profile":"loop2","ram_role_arn":"{ROLE}"}},
                {{"name":"loop2","mode":"ChainableRamRoleArn","source_profile":"loop1","ram_role_arn":"{ROLE}"}},
                {{"name":"oidc","mode":"OIDC","ram_role_arn":"{ROLE}","oidc_provider_arn":"{PROVIDER}","oidc_token_file":"~/oidc-token"}}
            ]}}"#
            ),
        );
        let profile = |name: &str| {
            with_sts(
                &server,
                Settings {
                    profile: Some(name.into()),
                    ..Settings::default()
                },
            )
        };
        let e = env(&[], Some(home.path()));
        let c = resolve(profile("role"), e.clone()).await.unwrap();
        assert_eq!(c.access_key_id, "STS.key-0");
        let f = &calls(&server, "AssumeRole")[0];
        assert_eq!(
            (
                f["AccessKeyId"].as_str(),
                f["RoleSessionName"].as_str(),
                f["DurationSeconds"].as_str()
            ),
            ("ak-p", "cli", "900")
        );
        let c = resolve(profile("chained"), e.clone()).await.unwrap();
        assert_eq!(c.access_key_id, "STS.key-2");
        let f = &calls(&server, "AssumeRole")[2];
        assert_eq!(
            (f["AccessKeyId"].as_str(), f["SecurityToken"].as_str()),
            ("STS.key-1", "sts-token-1")
        );
        assert_eq!(f["RoleArn"], "acs:ram::1:role/second");
        let err = resolve(profile("loop1"), e.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("loops back"), "{err}");
        let c = resolve(profile("oidc"), e.clone()).await.unwrap();
        assert_eq!(c.access_key_id, "STS.key-3");
        assert_eq!(
            calls(&server, "AssumeRoleWithOIDC")[0]["OIDCToken"],
            "profile-token"
        );
    }
}
