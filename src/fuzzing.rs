//! Entry points for the coverage-guided fuzz targets in `fuzz/` (`cargo fuzz`), compiled only
//! with the `fuzzing` feature. Each is a thin wrapper that runs untrusted input down exactly
//! the path the provider runs it down; none changes what that path does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::alicloud::credentials::profile::{self, FileLookup, Plan};
use crate::alicloud::error::{CredentialsError, Error};
use crate::alicloud::rpc::{Answer, Product, answer_object, typed_answer};
use crate::alicloud::secret::Redactor;
use crate::alicloud::settings::Environment;
use crate::alicloud::sts::{self, Issued, STS};
use crate::alicloud::vpc::VPC;
use crate::alicloud::vpc::model::{ActionAnswer, ActionResponse, DescribeAnswer, FlowLogPage};
use crate::plugin::handshake::{self, HandshakeError, PluginEnv};
use crate::plugin::tls::{self, TlsError};
use crate::tfvalue::Type;

/// Deepest type [`type_from_bytes`] builds; values nest deeper through dynamic types.
const TYPE_DEPTH: usize = 6;
/// Object attribute names to pick from (a small set, so decoders meet names they know).
const ATTR_NAMES: &[&str] = &["a", "b", "id", "tags", "timeouts", "", "é"];

/// A cty type read from the front of `data` (one byte per choice, missing bytes read as 0),
/// and the bytes after it. Every kind is reachable: primitives, `dynamic`, lists, sets, maps,
/// objects and tuples, nested up to a few levels.
pub fn type_from_bytes(data: &[u8]) -> (Type, &[u8]) {
    let mut pos = 0;
    let t = build_type(data, &mut pos, 0);
    (t, &data[pos.min(data.len())..])
}

fn next(data: &[u8], pos: &mut usize) -> u8 {
    let b = data.get(*pos).copied().unwrap_or(0);
    *pos += 1;
    b
}

fn build_type(data: &[u8], pos: &mut usize, depth: usize) -> Type {
    let b = next(data, pos);
    let kinds = if depth >= TYPE_DEPTH { 4 } else { 9 };
    match b % kinds {
        0 => Type::String,
        1 => Type::Number,
        2 => Type::Bool,
        3 => Type::Dynamic,
        4 => Type::list(build_type(data, pos, depth + 1)),
        5 => Type::set(build_type(data, pos, depth + 1)),
        6 => Type::map(build_type(data, pos, depth + 1)),
        7 => {
            let n = next(data, pos) % 4;
            let mut attrs = std::collections::BTreeMap::new();
            for _ in 0..n {
                let name = ATTR_NAMES[usize::from(next(data, pos)) % ATTR_NAMES.len()];
                attrs.insert(name.to_owned(), build_type(data, pos, depth + 1));
            }
            Type::Object(attrs)
        }
        _ => {
            let n = next(data, pos) % 4;
            Type::Tuple((0..n).map(|_| build_type(data, pos, depth + 1)).collect())
        }
    }
}

/// Secrets the answer path is told were sent with the request (as the transport's redactor
/// is): no error may show them.
pub const SENT_SECRETS: &[&str] = &["fuzz-sent-secret-value", "CAIS/fuzz+token=="];

/// The answers the provider decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// `DescribeFlowLogs` (VPC): one page of a listing.
    DescribeFlowLogs,
    /// `ActiveFlowLog` / `DeactiveFlowLog` (VPC): success or not.
    ToggleFlowLog,
    /// `AssumeRole` (STS): new credentials.
    AssumeRole,
    /// `AssumeRoleWithOIDC` (STS): new credentials.
    AssumeRoleWithOidc,
}

/// A decoded answer.
#[derive(Debug)]
pub enum Decoded {
    Page(FlowLogPage),
    Action(ActionResponse),
    Issued(Issued),
}

impl AnswerKind {
    pub fn product(self) -> &'static Product {
        match self {
            AnswerKind::DescribeFlowLogs | AnswerKind::ToggleFlowLog => &VPC,
            AnswerKind::AssumeRole | AnswerKind::AssumeRoleWithOidc => &STS,
        }
    }
}

/// What the transport does with an HTTP answer, then what the operation does with the typed
/// answer.
fn answer<T: Answer>(
    product: &Product,
    action: &'static str,
    status: u16,
    body: &[u8],
) -> Result<T, Error> {
    let redactor = Redactor::new(SENT_SECRETS.iter().copied());
    let obj = answer_object(product, status, body, &redactor)?;
    typed_answer(product, action, status, body, &redactor, obj)
}

/// An HTTP answer (status and body) to the call `kind`, decoded as the provider decodes it:
/// the error envelope, a body that is not the expected JSON, the answer's shape.
pub fn api_answer(kind: AnswerKind, status: u16, body: &[u8]) -> Result<Decoded, Error> {
    let product = kind.product();
    match kind {
        AnswerKind::DescribeFlowLogs => {
            let a: DescribeAnswer = answer(product, "DescribeFlowLogs", status, body)?;
            Ok(Decoded::Page(
                a.into_page(crate::alicloud::vpc::MAX_PAGE_SIZE),
            ))
        }
        AnswerKind::ToggleFlowLog => {
            let a: ActionAnswer = answer(product, "ActiveFlowLog", status, body)?;
            Ok(Decoded::Action(ActionResponse {
                request_id: a.request_id,
            }))
        }
        AnswerKind::AssumeRole | AnswerKind::AssumeRoleWithOidc => {
            let action = if kind == AnswerKind::AssumeRole {
                "AssumeRole"
            } else {
                "AssumeRoleWithOIDC"
            };
            let raw: sts::RawAnswer = answer(product, action, status, body)?;
            sts::decode(action, raw).map(Decoded::Issued)
        }
    }
}

/// What a credentials file's profile resolves to without calling anything: how many links its
/// `source_profile` chain has and what its root asks for.
#[derive(Debug)]
pub enum ProfileOutcome {
    /// Nothing to use (and that is fine), and why.
    Nothing(String),
    Found {
        links: usize,
        plan: &'static str,
    },
}

/// A credentials file's `text` read as the profile source reads it, for the profile `wanted`
/// (else the file's current one, else `default`), with `home` for `~`; every check that needs
/// no call (the chain, the root's mode and fields, each link's role).
pub fn profile(
    text: &str,
    wanted: Option<&str>,
    home: Option<&Path>,
) -> Result<ProfileOutcome, CredentialsError> {
    let path = PathBuf::from("/fuzz/config.json");
    let env = Environment::from_map(HashMap::new(), home.map(Path::to_path_buf));
    let (path, found, all) = match profile::select_profile(text, path, wanted)? {
        FileLookup::Nothing(why) => return Ok(ProfileOutcome::Nothing(why)),
        FileLookup::Found { path, profile, all } => (path, profile, all),
    };
    let mut links = profile::chain(&path, *found, &all)?;
    let count = links.len();
    let root = links.pop().expect("a chain starts with its profile");
    let plan = match profile::plan(&path, &root, &env)? {
        Plan::Keys(_) => "keys",
        Plan::AssumeRole { .. } => "assume role",
        Plan::EcsRole(_) => "ECS role",
        Plan::Oidc(_) => "OIDC",
    };
    for link in links.iter().rev() {
        profile::role_of(&path, link, profile::CHAINABLE)?;
    }
    Ok(ProfileOutcome::Found { links: count, plan })
}

/// Why the plugin would not start.
#[derive(Debug)]
pub enum PluginEnvError {
    Handshake(HandshakeError),
    Tls(TlsError),
}

/// The plugin's start-up variables read as `main` reads them, and Terraform's certificate
/// parsed as the server parses it (when TLS is on, that is outside `--debug`).
pub fn plugin_env(
    vars: &HashMap<String, String>,
    debug: bool,
) -> Result<PluginEnv, PluginEnvError> {
    let env = handshake::read_env(vars, debug).map_err(PluginEnvError::Handshake)?;
    if let Some(pem) = env.client_cert_pem.as_deref().filter(|_| !debug) {
        tls::parse_client_cert(pem).map_err(PluginEnvError::Tls)?;
    }
    Ok(env)
}
