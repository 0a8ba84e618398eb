//! The emulator's command line: hand-parsed so the binary stays free of a CLI framework.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::EmulatorError;

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
    --fail-rate P               share of calls answered 503 ServiceUnavailable [default: 0]
    --fail-seed N               seed of the --fail-rate random sequence [default: 0]
    --latency DUR               delay before every API answer [default: 0]
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
    pub fail_rate: f64,
    pub fail_seed: u64,
    pub latency: Duration,
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
            fail_rate: 0.0,
            fail_seed: 0,
            latency: Duration::ZERO,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Command {
    Run(EmulatorConfig),
    Help,
}

/// Parses the arguments after the program name; `--flag value` and `--flag=value` both work,
/// and a repeated flag keeps its last value so wrappers can append overrides.
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
        let known = [
            "--listen",
            "--seed",
            "--access-key-id",
            "--access-key-secret",
            "--security-token",
            "--activation-delay",
            "--throttle-qps",
            "--fail-rate",
            "--fail-seed",
            "--latency",
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
            "--fail-rate" => match value.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => config.fail_rate = p,
                _ => return Err(bad("expected a number from 0 to 1")),
            },
            "--fail-seed" => {
                config.fail_seed = value
                    .parse()
                    .map_err(|_| bad("expected a non-negative integer"))?
            }
            _ => return Err(usage(format!("unknown option '{flag}'"))),
        }
    }
    Ok(Command::Run(config))
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
        assert_eq!(c.fail_seed, 7);
        assert_eq!(c.security_token.as_deref(), Some("tok"));
        assert!(matches!(parse(&["--help"]), Ok(Command::Help)));
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for args in [
            &["--nope"][..],
            &["--listen"],
            &["--listen", "localhost"],
            &["--fail-rate", "2"],
            &["--throttle-qps", "0"],
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
