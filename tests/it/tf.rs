//! Runs the real `terraform` CLI against the freshly built provider, each workspace in its own
//! temp dir with its own CLI config (`dev_overrides`), HOME and environment.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PROVIDER_BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-alicloud");

pub struct Tf {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.status.success()
    }
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
    /// Both streams, for assertions on what a user sees.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.ok(),
            "terraform failed ({}):\n{}",
            self.code(),
            self.all()
        );
        self
    }
    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert!(
            !self.ok(),
            "terraform unexpectedly succeeded:\n{}",
            self.all()
        );
        self
    }
}

impl Tf {
    /// A workspace holding `main.tf` = `hcl`.
    pub fn new(hcl: &str) -> Tf {
        let dir = tempfile::tempdir().unwrap();
        let plugin_dir = Path::new(PROVIDER_BIN).parent().unwrap();
        let cli_config = dir.path().join("terraform.rc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                tfprovider::PROVIDER_ADDRESS,
                plugin_dir.display()
            ),
        )
        .unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let tf = Tf {
            dir,
            env: vec![
                (
                    "TF_CLI_CONFIG_FILE".into(),
                    cli_config.display().to_string(),
                ),
                ("CHECKPOINT_DISABLE".into(), "1".into()),
                ("TF_IN_AUTOMATION".into(), "1".into()),
                ("HOME".into(), home.display().to_string()),
                // The provider's shared rate-limit bucket lives under the cache directory:
                // each test has its own, so tests never share a bucket by accident.
                (
                    "XDG_CACHE_HOME".into(),
                    home.join(".cache").display().to_string(),
                ),
            ],
        };
        tf.write("main.tf", hcl);
        tf
    }

    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.work_dir().join(name), content).unwrap();
    }

    pub fn set_env(&mut self, k: &str, v: &str) {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("terraform");
        cmd.args(args).current_dir(self.work_dir());
        // Nothing from the developer's own environment may leak into a test.
        for (k, _) in std::env::vars() {
            if k.starts_with("ALICLOUD_")
                || k.starts_with("ALIBABA_CLOUD_")
                || k.starts_with("ALIBABACLOUD_")
                || k.starts_with("TF_")
                || k == "VPC_ENDPOINT"
                || k.ends_with("_PROXY")
                || k.ends_with("_proxy")
            {
                cmd.env_remove(&k);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out: Output = self
            .command(args)
            .output()
            .expect("terraform must be on PATH");
        Run {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `terraform show -json` of a saved plan or of the state, parsed (stdout only).
    pub fn show_json(&self, plan_file: Option<&str>) -> serde_json::Value {
        let mut args = vec!["show", "-json", "-no-color"];
        if let Some(p) = plan_file {
            args.push(p);
        }
        let r = self.run(&args);
        r.assert_ok();
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", r.stdout))
    }

    pub fn state_file(&self) -> String {
        std::fs::read_to_string(self.work_dir().join("terraform.tfstate")).unwrap_or_default()
    }
}

/// A `terraform { required_providers }` header pointing at our provider.
pub fn header() -> String {
    let source = tfprovider::PROVIDER_ADDRESS.trim_start_matches("registry.terraform.io/");
    format!(
        "terraform {{\n  required_providers {{\n    alicloud = {{\n      source = \"{source}\"\n    }}\n  }}\n}}\n"
    )
}

/// How a test's provider signs its calls: by default (v1), or V3 chosen by the
/// `sign_version` block or by `ALICLOUD_SIGN_VERSION_VPC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    Default,
    V3Block,
    V3Env,
}

impl Sign {
    /// What goes inside the provider block.
    pub fn block(self) -> &'static str {
        match self {
            Sign::V3Block => "  sign_version {\n    vpc = \"v3\"\n  }\n",
            _ => "",
        }
    }

    /// The environment of the workspace.
    pub fn apply(self, tf: &mut Tf) {
        if self == Sign::V3Env {
            tf.set_env("ALICLOUD_SIGN_VERSION_VPC", "v3");
        }
    }

    /// The signature the emulator should see.
    pub fn name(self) -> &'static str {
        match self {
            Sign::Default => "v1",
            _ => "v3",
        }
    }
}
