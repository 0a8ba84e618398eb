//! The emulator's command line: hand-parsed so the binary stays free of a CLI framework.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::EmulatorError;
use super::sts;
use super::world::{World, is_project_name, is_resource_id, parse_logstore};

pub const USAGE: &str = "\
alicloud-vpc-emulator: a local stand-in for the Alibaba Cloud VPC flow-log API

USAGE:
    alicloud-vpc-emulator [OPTIONS]

OPTIONS:
    --listen ADDR               address to listen on [default: 127.0.0.1:0]
    --seed FILE                 JSON array of flow logs to start with [default: none]
    --access-key-id ID          accepted AccessKeyId [default: emulator-access-key-id]
    --access-key-secret SECRET  its secret [default: emulator-access-key-secret]
    --security-token TOKEN      require this SecurityToken [default: none required]
    --activation-delay DUR      time spent in Activating/Deactivating [default: 1s]
    --throttle-qps N            global request rate before Throttling.User [default: off]
    --outside-load N            requests per second of the --throttle-qps quota spent by
                                other clients of the account (a CI job, another tool), so
                                ours get only what is left [default: 0]
    --throttle-every N          answer every Nth call Throttling.User, whatever the rate
                                (refusals that slowing down does not reduce) [default: off]
    --fail-rate P               share of calls answered 503 ServiceUnavailable [default: 0]
    --fail-seed N               seed of the --fail-rate random sequence [default: 0]
    --latency DUR               delay before every API answer [default: 0]

Background faults (the change is accepted, then goes wrong; decided when it is accepted, from
the seed, the flow log ID and how many changes of it were accepted, so a seed repeats):
    --background-fail-rate P    share of ActiveFlowLog/DeactiveFlowLog that fail after the
                                activation delay: Activating settles to Inactive, Deactivating
                                back to Active [default: 0]
    --background-fail-id ID     a flow log whose every change fails so; repeat or
                                comma-separate [default: none]
    --background-delete-rate P  share of changes whose flow log is deleted once half the
                                activation delay has passed [default: 0]
    --background-delete-id ID   a flow log deleted so at its every change; repeat or
                                comma-separate [default: none]
    --background-seed N         seed of both background rates [default: 0]
    --refuse-listings           answer DescribeFlowLogs without a FlowLogId with 403
                                Forbidden.RAM, as a RAM policy that allows describes only by
                                FlowLogId does [default: off]

All faults can be changed at run time: GET/POST/DELETE /_emulator/faults (see the README).

What exists (CreateFlowLog checks it; each kind is open, every well-formed name existing,
until one is listed; change at run time with GET/POST /_emulator/world):
    --sls-project NAME          a Log Service project that exists; repeat or comma-separate
                                [default: every well-formed name]
    --sls-logstore PROJECT/NAME a logstore that exists (its project too); repeat or
                                comma-separate [default: every well-formed name]
    --vpc-resource ID           a VPC (vpc-), vSwitch (vsw-) or network interface (eni-)
                                that exists; repeat or comma-separate [default: every ID
                                with the prefix of its ResourceType]

Error codes no public source confirms for these operations, the emulator's guesses:
ProjectOrLogstoreNotExist (missing project or logstore), InvalidVpcId.NotFound,
InvalidVSwitchId.NotFound, InvalidEniId.NotFound (missing resource),
InvalidInstanceId.NotFound (unknown flow log), InvalidTagKey.Malformed,
InvalidTagValue.Malformed, QuotaExceeded.TagNum (tag rules), and the HTTP status of
IncorrectStatus.flowlog (400).

STS (Version 2015-04-01, same port):
    --sts-role-arn ARN          a role AssumeRole* may assume; repeat or comma-separate
                                [default: any well-formed role ARN]
    --sts-external-id ID        ExternalId AssumeRole must carry [default: none required]
    --sts-oidc-provider-arn ARN the only OIDCProviderArn accepted [default: any well-formed]
    --sts-oidc-token TOKEN      the only OIDCToken accepted [default: any]
    --sts-oidc-expired-token TOKEN
                                an OIDCToken answered as expired; repeatable
    --sts-credential-lifetime DUR
                                cap on the life of issued STS keys, e.g. 2s
                                [default: the requested DurationSeconds]
    -h, --help                  print this help

DUR is a number with a unit: 0, 250ms, 1s, 1.5s, 2m, 1h.
The first line on stdout is the base URL, e.g. http://127.0.0.1:40123.";

/// Everything the emulator needs to start.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub seed: Option<PathBuf>,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: Option<String>,
    pub activation_delay: Duration,
    pub throttle_qps: Option<f64>,
    /// Requests per second of the quota taken by clients outside the test.
    pub outside_load: f64,
    /// Every Nth call is throttled.
    pub throttle_every: Option<u64>,
    pub fail_rate: f64,
    pub fail_seed: u64,
    pub latency: Duration,
    pub background_fail_rate: f64,
    pub background_fail_ids: Vec<String>,
    pub background_delete_rate: f64,
    pub background_delete_ids: Vec<String>,
    pub background_seed: u64,
    pub refuse_listings: bool,
    /// Roles AssumeRole and AssumeRoleWithOIDC may assume; empty accepts any well-formed ARN.
    pub sts_role_arns: Vec<String>,
    pub sts_external_id: Option<String>,
    pub sts_oidc_provider_arn: Option<String>,
    pub sts_oidc_token: Option<String>,
    pub sts_oidc_expired_tokens: Vec<String>,
    pub sts_credential_lifetime: Option<Duration>,
    /// Which projects, logstores and VPC resources exist.
    pub world: World,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: None,
            access_key_id: "emulator-access-key-id".to_owned(),
            access_key_secret: "emulator-access-key-secret".to_owned(),
            security_token: None,
            activation_delay: Duration::from_secs(1),
            throttle_qps: None,
            outside_load: 0.0,
            throttle_every: None,
            fail_rate: 0.0,
            fail_seed: 0,
            latency: Duration::ZERO,
            background_fail_rate: 0.0,
            background_fail_ids: Vec::new(),
            background_delete_rate: 0.0,
            background_delete_ids: Vec::new(),
            background_seed: 0,
            refuse_listings: false,
            sts_role_arns: Vec::new(),
            sts_external_id: None,
            sts_oidc_provider_arn: None,
            sts_oidc_token: None,
            sts_oidc_expired_tokens: Vec::new(),
            sts_credential_lifetime: None,
            world: World::default(),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Command {
    // Boxed: the configuration is large and `Help` is not.
    Run(Box<EmulatorConfig>),
    Help,
}

/// Parses the arguments after the program name; `--flag value` and `--flag=value` both work,
/// and a repeated flag keeps its last value so wrappers can append overrides, except the list
/// flags (`--sts-role-arn`, `--sts-oidc-expired-token`, `--background-fail-id`,
/// `--background-delete-id`), which accumulate. `--refuse-listings` takes no value (or
/// `=true`/`=false`).
pub fn parse_args<I>(args: I) -> Result<Command, EmulatorError>
where
    I: IntoIterator<Item = OsString>,
{
    let usage = |msg: String| EmulatorError::Usage(msg);
    let mut config = EmulatorConfig::default();
    let mut args = args.into_iter();
    while let Some(raw) = args.next() {
        let arg = raw
            .into_string()
            .map_err(|a| usage(format!("argument is not valid UTF-8: {a:?}")))?;
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if !flag.starts_with("--") {
            return Err(usage(format!("unexpected argument '{arg}'")));
        }
        if flag == "--refuse-listings" {
            config.refuse_listings = match inline.as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(v) => {
                    return Err(usage(format!(
                        "--refuse-listings takes no value (or =true, =false), got '{v}'"
                    )));
                }
            };
            continue;
        }
        let known = [
            "--listen",
            "--seed",
            "--access-key-id",
            "--access-key-secret",
            "--security-token",
            "--activation-delay",
            "--throttle-qps",
            "--outside-load",
            "--throttle-every",
            "--fail-rate",
            "--fail-seed",
            "--latency",
            "--background-fail-rate",
            "--background-fail-id",
            "--background-delete-rate",
            "--background-delete-id",
            "--background-seed",
            "--sts-role-arn",
            "--sts-external-id",
            "--sts-oidc-provider-arn",
            "--sts-oidc-token",
            "--sts-oidc-expired-token",
            "--sts-credential-lifetime",
            "--sls-project",
            "--sls-logstore",
            "--vpc-resource",
        ];
        if !known.contains(&flag.as_str()) {
            return Err(usage(format!("unknown option '{flag}'")));
        }
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .ok_or_else(|| usage(format!("{flag} needs a value")))?
                .into_string()
                .map_err(|a| usage(format!("{flag}: value is not valid UTF-8: {a:?}")))?,
        };
        let bad = |what: &str| usage(format!("{flag}: {what}, got '{value}'"));
        match flag.as_str() {
            "--listen" => {
                config.listen = value
                    .parse()
                    .map_err(|_| bad("expected HOST:PORT such as 127.0.0.1:0"))?
            }
            "--seed" => config.seed = Some(PathBuf::from(&value)),
            "--access-key-id" if value.is_empty() => return Err(bad("must not be empty")),
            "--access-key-id" => config.access_key_id = value,
            "--access-key-secret" if value.is_empty() => return Err(bad("must not be empty")),
            "--access-key-secret" => config.access_key_secret = value,
            "--security-token" if value.is_empty() => return Err(bad("must not be empty")),
            "--security-token" => config.security_token = Some(value),
            "--activation-delay" => {
                config.activation_delay = parse_duration(&value).map_err(|e| bad(&e))?
            }
            "--latency" => config.latency = parse_duration(&value).map_err(|e| bad(&e))?,
            "--throttle-qps" => match value.parse::<f64>() {
                Ok(q) if q.is_finite() && q > 0.0 => config.throttle_qps = Some(q),
                _ => return Err(bad("expected a positive number")),
            },
            "--outside-load" => match value.parse::<f64>() {
                Ok(q) if q.is_finite() && q >= 0.0 => config.outside_load = q,
                _ => return Err(bad("expected a number of requests per second, 0 or more")),
            },
            "--throttle-every" => match value.parse::<u64>() {
                Ok(n) if n >= 2 => config.throttle_every = Some(n),
                _ => return Err(bad("expected a whole number, 2 or more")),
            },
            "--fail-rate" => match value.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => config.fail_rate = p,
                _ => return Err(bad("expected a number from 0 to 1")),
            },
            "--fail-seed" => {
                config.fail_seed = value
                    .parse()
                    .map_err(|_| bad("expected a non-negative integer"))?
            }
            "--background-fail-rate" | "--background-delete-rate" => {
                let p = match value.parse::<f64>() {
                    Ok(p) if (0.0..=1.0).contains(&p) => p,
                    _ => return Err(bad("expected a number from 0 to 1")),
                };
                if flag == "--background-fail-rate" {
                    config.background_fail_rate = p;
                } else {
                    config.background_delete_rate = p;
                }
            }
            "--background-fail-id" | "--background-delete-id" => {
                let ids: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect();
                if ids.is_empty() {
                    return Err(bad("expected one or more flow log IDs"));
                }
                if flag == "--background-fail-id" {
                    config.background_fail_ids.extend(ids);
                } else {
                    config.background_delete_ids.extend(ids);
                }
            }
            "--background-seed" => {
                config.background_seed = value
                    .parse()
                    .map_err(|_| bad("expected a non-negative integer"))?
            }
            "--sts-role-arn" => {
                for arn in value.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                    if sts::parse_role_arn(arn).is_none() {
                        return Err(bad("expected acs:ram::<account id>:role/<name>"));
                    }
                    config.sts_role_arns.push(arn.to_owned());
                }
            }
            "--sls-project" | "--sls-logstore" | "--vpc-resource"
                if list(&value).next().is_none() =>
            {
                return Err(bad("expected one or more names"));
            }
            "--sls-project" => {
                let set = config.world.projects.get_or_insert_with(Default::default);
                for name in list(&value) {
                    if !is_project_name(name) {
                        return Err(bad(
                            "expected 3-63 lowercase letters, digits and '-', starting and ending with a letter or digit",
                        ));
                    }
                    set.insert(name.to_owned());
                }
            }
            "--sls-logstore" => {
                let set = config.world.logstores.get_or_insert_with(Default::default);
                for text in list(&value) {
                    let pair = parse_logstore(text).ok_or_else(|| {
                        bad("expected PROJECT/LOGSTORE, both valid Log Service names")
                    })?;
                    set.insert(pair);
                }
            }
            "--vpc-resource" => {
                let set = config.world.resources.get_or_insert_with(Default::default);
                for id in list(&value) {
                    if !is_resource_id(id) {
                        return Err(bad(
                            "expected vpc-, vsw- or eni- followed by lowercase letters and digits",
                        ));
                    }
                    set.insert(id.to_owned());
                }
            }
            "--sts-external-id" if value.is_empty() => return Err(bad("must not be empty")),
            "--sts-external-id" => config.sts_external_id = Some(value),
            "--sts-oidc-provider-arn" if sts::parse_oidc_provider_arn(&value).is_none() => {
                return Err(bad("expected acs:ram::<account id>:oidc-provider/<name>"));
            }
            "--sts-oidc-provider-arn" => config.sts_oidc_provider_arn = Some(value),
            "--sts-oidc-token" if value.is_empty() => return Err(bad("must not be empty")),
            "--sts-oidc-token" => config.sts_oidc_token = Some(value),
            "--sts-oidc-expired-token" if value.is_empty() => {
                return Err(bad("must not be empty"));
            }
            "--sts-oidc-expired-token" => config.sts_oidc_expired_tokens.push(value),
            "--sts-credential-lifetime" => match parse_duration(&value) {
                Ok(d) if !d.is_zero() => config.sts_credential_lifetime = Some(d),
                Ok(_) => return Err(bad("must be longer than 0")),
                Err(e) => return Err(bad(&e)),
            },
            _ => return Err(usage(format!("unknown option '{flag}'"))),
        }
    }
    Ok(Command::Run(Box::new(config)))
}

/// The items of a comma-separated flag value, trimmed, empty ones dropped.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `0`, `250ms`, `1s`, `1.5s`, `2m`, `1h`. A bare number is only accepted for zero, where the
/// unit cannot matter; anything else without a unit is ambiguous.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.chars().all(|c| c == '0' || c == '.') && s.starts_with('0') {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| "a duration needs a unit (ms, s, m, h)".to_owned())?;
    let (num, unit) = s.split_at(split);
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown duration unit '{unit}' (use ms, s, m, h)")),
    };
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err("expected a number before the unit".to_owned());
    }
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a number before the unit".to_owned())?;
    Duration::try_from_secs_f64(n * scale).map_err(|_| "duration out of range".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, EmulatorError> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in ["", "5", "1x", "ms", "-1s", ".5s", "1.s", "1e9999h", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let Ok(Command::Run(c)) = parse(&[]) else {
            panic!("empty args rejected")
        };
        assert_eq!(c.access_key_id, "emulator-access-key-id");
        assert_eq!(c.activation_delay, Duration::from_secs(1));
        let Ok(Command::Run(c)) = parse(&[
            "--listen=127.0.0.1:9",
            "--activation-delay",
            "0",
            "--throttle-qps",
            "2.5",
            "--outside-load",
            "1.5",
            "--throttle-every=7",
            "--fail-rate",
            "0.5",
            "--fail-seed",
            "7",
            "--security-token",
            "tok",
            "--listen",
            "127.0.0.1:10",
        ]) else {
            panic!("valid args rejected")
        };
        assert_eq!(c.listen.port(), 10);
        assert_eq!(c.activation_delay, Duration::ZERO);
        assert_eq!(c.throttle_qps, Some(2.5));
        assert_eq!(c.outside_load, 1.5);
        assert_eq!(c.throttle_every, Some(7));
        assert_eq!(c.fail_seed, 7);
        assert_eq!(c.security_token.as_deref(), Some("tok"));
        assert!(matches!(parse(&["--help"]), Ok(Command::Help)));
    }

    #[test]
    fn sts_flags() {
        let Ok(Command::Run(c)) = parse(&[
            "--sts-role-arn",
            "acs:ram::123:role/a,acs:ram::123:role/b",
            "--sts-role-arn=acs:ram::456:role/c",
            "--sts-oidc-expired-token",
            "old1",
            "--sts-oidc-expired-token",
            "old2",
            "--sts-credential-lifetime",
            "2s",
            "--sts-oidc-provider-arn",
            "acs:ram::123:oidc-provider/gh",
        ]) else {
            panic!("valid STS args rejected")
        };
        assert_eq!(c.sts_role_arns.len(), 3);
        assert_eq!(c.sts_oidc_expired_tokens, ["old1", "old2"]);
        assert_eq!(c.sts_credential_lifetime, Some(Duration::from_secs(2)));
        for args in [
            &["--sts-role-arn", "arn:aws:iam::1:role/x"][..],
            &["--sts-oidc-provider-arn", "acs:ram::1:role/x"],
            &["--sts-credential-lifetime", "0"],
            &["--sts-external-id", ""],
        ] {
            assert!(parse(args).is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn fault_flags() {
        let Ok(Command::Run(c)) = parse(&[]) else {
            panic!("empty args rejected")
        };
        assert!(!c.refuse_listings);
        assert_eq!(
            (
                c.background_fail_rate,
                c.background_delete_rate,
                c.background_seed
            ),
            (0.0, 0.0, 0)
        );
        let Ok(Command::Run(c)) = parse(&[
            "--background-fail-rate",
            "0.25",
            "--background-delete-rate=1",
            "--background-seed",
            "9",
            "--background-fail-id",
            "fl-1,fl-2",
            "--background-fail-id=fl-3",
            "--background-delete-id",
            " fl-4 ",
            "--refuse-listings",
        ]) else {
            panic!("valid fault args rejected")
        };
        assert_eq!(c.background_fail_rate, 0.25);
        assert_eq!(c.background_delete_rate, 1.0);
        assert_eq!(c.background_seed, 9);
        assert_eq!(c.background_fail_ids, ["fl-1", "fl-2", "fl-3"]);
        assert_eq!(c.background_delete_ids, ["fl-4"]);
        assert!(c.refuse_listings);
        let Ok(Command::Run(c)) = parse(&["--refuse-listings", "--refuse-listings=false"]) else {
            panic!("--refuse-listings=false rejected")
        };
        assert!(!c.refuse_listings);
        for args in [
            &["--background-fail-rate", "1.5"][..],
            &["--background-delete-rate", "-0.1"],
            &["--background-seed", "x"],
            &["--background-fail-id", ","],
            &["--refuse-listings=yes"],
            &["--refuse-listings", "true"],
        ] {
            assert!(parse(args).is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn world_flags() {
        let Ok(Command::Run(c)) = parse(&[]) else {
            panic!("empty args rejected")
        };
        assert_eq!(c.world, World::default());
        let Ok(Command::Run(c)) = parse(&[
            "--sls-project",
            "proj-a,proj-b",
            "--sls-logstore=proj-c/store_1",
            "--vpc-resource",
            "vpc-one",
            "--vpc-resource",
            "vsw-two,eni-three",
        ]) else {
            panic!("valid world args rejected")
        };
        assert_eq!(c.world.projects.map(|s| s.len()), Some(2));
        assert!(c.world.logstores.is_some());
        assert_eq!(c.world.resources.map(|s| s.len()), Some(3));
        for args in [
            &["--sls-project", "BAD"][..],
            &["--sls-logstore", "proj-only"],
            &["--vpc-resource", "i-123"],
            &["--vpc-resource", "vpc-UPPER"],
            &["--sls-project", ","],
        ] {
            assert!(parse(args).is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &["--nope"][..],
            &["--listen"],
            &["--listen", "localhost"],
            &["--fail-rate", "2"],
            &["--throttle-qps", "0"],
            &["--outside-load", "-1"],
            &["--throttle-every", "1"],
            &["--throttle-every", "0.5"],
            &["--fail-seed", "-1"],
            &["stray"],
            &["--latency", "5"],
        ] {
            match parse(args) {
                Err(e @ EmulatorError::Usage(_)) => assert_eq!(e.exit_code(), 2),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }
}
