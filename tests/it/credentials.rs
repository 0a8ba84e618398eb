//! The credential chain through the client's public API, in a made-up environment and home
//! directory (never the real process environment or `~/.aliyun`).

use std::collections::HashMap;
use std::path::Path;

use tfprovider::alicloud::{Client, CredentialsError, Environment, Error, Secret, Settings};

fn env(vars: &[(&str, &str)], home: Option<&Path>) -> Environment {
    Environment::from_map(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        home.map(Path::to_path_buf),
    )
}

fn write_profiles(home: &Path, json: &str) {
    std::fs::create_dir_all(home.join(".aliyun")).unwrap();
    std::fs::write(home.join(".aliyun/config.json"), json).unwrap();
}

const PROFILES: &str = r#"{
  "current": "main",
  "profiles": [
    {"name": "main", "mode": "AK", "access_key_id": "ak-main", "access_key_secret": "sk-main-secret", "region_id": "cn-shenzhen"},
    {"name": "temp", "mode": "StsToken", "access_key_id": "ak-temp", "access_key_secret": "sk-temp-secret", "sts_token": "tok-temp-secret", "region_id": "ap-southeast-5"},
    {"name": "sso", "mode": "CloudSSO", "access_key_id": "ak-sso"}
  ]
}"#;

#[tokio::test]
async fn first_source_found_wins() {
    let home = tempfile::tempdir().unwrap();
    write_profiles(home.path(), PROFILES);
    let vars = [
        ("ALICLOUD_ACCESS_KEY", "ak-env"),
        ("ALICLOUD_SECRET_KEY", "sk-env-secret"),
    ];

    let from_block = Settings {
        access_key: Some("ak-block".into()),
        secret_key: Some(Secret::new("sk-block-secret")),
        security_token: Some(Secret::new("tok-block-secret")),
        ..Settings::default()
    };
    let c = Client::new(from_block, env(&vars, Some(home.path()))).unwrap();
    let creds = c.credentials().await.unwrap();
    assert_eq!(creds.access_key_id, "ak-block");
    assert_eq!(
        creds.security_token.as_ref().map(Secret::expose),
        Some("tok-block-secret")
    );

    let c = Client::new(Settings::default(), env(&vars, Some(home.path()))).unwrap();
    assert_eq!(c.credentials().await.unwrap().access_key_id, "ak-env");

    let c = Client::new(Settings::default(), env(&[], Some(home.path()))).unwrap();
    let creds = c.credentials().await.unwrap();
    assert_eq!(creds.access_key_id, "ak-main");
    assert_eq!(c.region(), Some("cn-shenzhen"));

    let c = Client::new(
        Settings::default(),
        env(&[("ALICLOUD_PROFILE", "temp")], Some(home.path())),
    )
    .unwrap();
    let creds = c.credentials().await.unwrap();
    assert_eq!(creds.access_key_id, "ak-temp");
    assert_eq!(
        creds.security_token.as_ref().map(Secret::expose),
        Some("tok-temp-secret")
    );
    assert_eq!(c.region(), Some("ap-southeast-5"));
    // Printing credentials never shows a secret.
    let shown = format!("{creds:?}");
    assert!(
        !shown.contains("sk-temp-secret") && !shown.contains("tok-temp-secret"),
        "{shown}"
    );
}

#[tokio::test]
async fn no_credentials_is_one_error_at_the_first_call() {
    let home = tempfile::tempdir().unwrap();
    // Building the client needs nothing.
    let c = Client::new(Settings::default(), env(&[], Some(home.path()))).unwrap();
    let err = c
        .describe_flow_log("cn-hangzhou", "fl-1", &Default::default())
        .await
        .unwrap_err();
    let Error::Credentials(CredentialsError::Missing { looked_at }) = &err else {
        panic!("expected missing credentials, got {err:?}");
    };
    assert_eq!(looked_at.len(), 6, "{looked_at:?}");
    let text = err.to_string();
    for place in [
        "provider block",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "config.json",
        "ECS instance role",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        "credentials_uri",
    ] {
        assert!(text.contains(place), "{place} missing from: {text}");
    }
}

#[tokio::test]
async fn unsupported_profile_mode_is_named() {
    let home = tempfile::tempdir().unwrap();
    write_profiles(home.path(), PROFILES);
    let s = Settings {
        profile: Some("sso".into()),
        ..Settings::default()
    };
    let c = Client::new(s, env(&[], Some(home.path()))).unwrap();
    let err = c.credentials().await.unwrap_err().to_string();
    assert!(
        err.contains("mode CloudSSO, which is not supported")
            && err.contains("supported modes are AK, StsToken, RamRoleArn, EcsRamRole, ChainableRamRoleArn and OIDC")
            && err.contains("\"sso\""),
        "{err}"
    );
}

#[tokio::test]
async fn half_a_pair_says_what_is_missing() {
    let c = Client::new(
        Settings {
            secret_key: Some(Secret::new("only-the-secret")),
            ..Settings::default()
        },
        env(&[], None),
    )
    .unwrap();
    let err = c.credentials().await.unwrap_err().to_string();
    assert!(
        err.contains("secret_key is set but the access key is not"),
        "{err}"
    );
    assert!(!err.contains("only-the-secret"));

    let c = Client::new(
        Settings::default(),
        env(&[("ALIBABACLOUD_ACCESS_KEY_ID", "ak")], None),
    )
    .unwrap();
    let err = c.credentials().await.unwrap_err().to_string();
    assert!(
        err.contains("ALIBABACLOUD_ACCESS_KEY_ID is set but the secret key is not"),
        "{err}"
    );
}

#[tokio::test]
async fn named_credentials_file_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ci-credentials.json");
    std::fs::write(&file, PROFILES).unwrap();
    let c = Client::new(
        Settings::default(),
        env(
            &[
                ("ALICLOUD_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
                ("ALIBABA_CLOUD_PROFILE", "temp"),
            ],
            None,
        ),
    )
    .unwrap();
    assert_eq!(c.credentials().await.unwrap().access_key_id, "ak-temp");
}
