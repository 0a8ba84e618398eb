//! Alibaba Cloud signature V3 (`ACS3-HMAC-SHA256`): a pure function of its inputs.
//!
//! - canonical request = method, path (`/` for RPC), canonical query, canonical headers,
//!   signed-header list and hex SHA-256 of the body, each on its own line (the canonical
//!   headers end with their own newline);
//! - canonical query: `name=value` sorted by name, both RFC 3986 encoded, joined by `&`;
//! - canonical headers: `name:value` lines, names lower-cased and sorted, values trimmed (a
//!   name given twice: its values sorted and joined by `,`);
//! - string to sign = `ACS3-HMAC-SHA256` + newline + hex SHA-256 of the canonical request;
//! - signature = hex HMAC-SHA256 of the string to sign, keyed with the secret;
//! - `Authorization: ACS3-HMAC-SHA256 Credential=<key id>,SignedHeaders=<list>,Signature=<hex>`.
//!
//! Nothing here reads the clock, the environment or a random source.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::scheme::{Body, Call, FORM_CONTENT_TYPE, Key, Scheme, Signed, Stamp, encode_pairs, hex};
use crate::alicloud::clock::format_timestamp;

/// The only algorithm this signer speaks.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// A request as V3 signs it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The encoded path; empty means `/`.
    pub path: &'a str,
    /// Query parameters, decoded.
    pub query: &'a [(&'a str, &'a str)],
    /// The headers to sign, names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// Lower-case hex SHA-256 of the body, as sent in `x-acs-content-sha256`.
    pub payload_hash: &'a str,
}

/// Lower-case hex SHA-256 of `bytes`: the payload hash of a body.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Sorted (by name, then value) `name=value` pairs, RFC 3986 encoded, joined by `&`. An
/// empty value stays `name=`.
pub fn canonical_query(pairs: &[(&str, &str)]) -> String {
    let mut sorted = pairs.to_vec();
    sorted.sort_unstable();
    encode_pairs(sorted)
}

/// The canonical header block (each `name:value` line ends with a newline) and the
/// signed-header list (`a;b;c`).
pub fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut lowered: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim()))
        .collect();
    lowered.sort_unstable();
    let mut block = String::new();
    let mut names = String::new();
    let mut i = 0;
    while i < lowered.len() {
        let name = &lowered[i].0;
        let mut j = i;
        let mut values = Vec::new();
        while j < lowered.len() && lowered[j].0 == *name {
            values.push(lowered[j].1);
            j += 1;
        }
        if !names.is_empty() {
            names.push(';');
        }
        names.push_str(name);
        block.push_str(name);
        block.push(':');
        block.push_str(&values.join(","));
        block.push('\n');
        i = j;
    }
    (block, names)
}

/// The canonical request of `req`.
pub fn canonical_request(req: &Request<'_>) -> String {
    let (headers, signed) = canonical_headers(req.headers);
    let path = if req.path.is_empty() { "/" } else { req.path };
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        path,
        canonical_query(req.query),
        headers,
        signed,
        req.payload_hash
    )
}

/// `ACS3-HMAC-SHA256` + newline + hex SHA-256 of the canonical request.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", hash_hex(canonical_request.as_bytes()))
}

/// Hex HMAC-SHA256 of `string_to_sign` keyed with `secret`.
pub fn signature(string_to_sign: &str, secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The `Authorization` header of `req` signed with this key.
pub fn authorization(req: &Request<'_>, access_key_id: &str, secret: &str) -> String {
    let (_, signed) = canonical_headers(req.headers);
    let sig = signature(&string_to_sign(&canonical_request(req)), secret);
    format!("{ALGORITHM} Credential={access_key_id},SignedHeaders={signed},Signature={sig}")
}

/// The V3 layout of an RPC call: the call's parameters in a form body (in the query for
/// `GET`), and the headers `x-acs-action`, `x-acs-version`, `x-acs-date`,
/// `x-acs-signature-nonce`, `x-acs-content-sha256`, with a token `x-acs-security-token`, and
/// `Authorization`, which signs them with `host` and `content-type`. Without a key: the same
/// headers, no `Authorization`.
///
/// A form body, not the query the Tea SDK uses by default: both are valid RPC requests, and
/// a body keeps tokens and policies out of URLs, as the v1 layout does.
pub fn sign_call(call: &Call<'_>, key: Option<&Key<'_>>, stamp: &Stamp<'_>) -> Signed {
    let in_query = call.method.eq_ignore_ascii_case("GET") || call.params.is_empty();
    let (query, body) = if in_query {
        (canonical_query(call.params), None)
    } else {
        let body = Body {
            content_type: FORM_CONTENT_TYPE,
            bytes: encode_pairs(call.params.iter().copied()).into_bytes(),
        };
        (String::new(), Some(body))
    };
    let payload_hash = hash_hex(body.as_ref().map_or(&[][..], |b| &b.bytes));
    let mut headers: Vec<(&'static str, String)> = vec![
        ("x-acs-action", call.action.to_owned()),
        ("x-acs-version", call.version.to_owned()),
        ("x-acs-date", format_timestamp(stamp.time)),
        ("x-acs-signature-nonce", stamp.nonce.to_owned()),
        ("x-acs-content-sha256", payload_hash.clone()),
    ];
    if let Some(token) = key.and_then(|k| k.security_token) {
        headers.push(("x-acs-security-token", token.to_owned()));
    }
    if let Some(k) = key {
        let mut signed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        signed.push(("host", call.host));
        if let Some(b) = &body {
            signed.push(("content-type", b.content_type));
        }
        let query_pairs: Vec<(&str, &str)> = if in_query {
            call.params.to_vec()
        } else {
            Vec::new()
        };
        let req = Request {
            method: call.method,
            path: "/",
            query: &query_pairs,
            headers: &signed,
            payload_hash: &payload_hash,
        };
        let value = authorization(&req, k.access_key_id, k.secret);
        headers.push(("authorization", value));
    }
    Signed {
        query,
        body,
        headers,
    }
}

/// Signature V3, chosen as `v3`.
pub const SCHEME: Scheme = Scheme {
    name: "v3",
    algorithm: ALGORITHM,
    sign: sign_call,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(method: &'a str, params: &'a [(&'a str, &'a str)]) -> Call<'a> {
        Call {
            method,
            host: "127.0.0.1:8080",
            action: "DescribeFlowLogs",
            version: "2016-04-28",
            params,
        }
    }

    const STAMP: Stamp<'static> = Stamp {
        time: time::macros::datetime!(2024-05-01 08:00:00 UTC),
        nonce: "nonce-1",
    };

    fn header<'a>(s: &'a Signed, name: &str) -> Option<&'a str> {
        s.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_post_puts_parameters_in_a_signed_form_body() {
        let key = Key {
            access_key_id: "testid",
            secret: "testsecret",
            security_token: Some("CAIS token"),
        };
        let params = [("Format", "JSON"), ("RegionId", "cn-hangzhou")];
        let s = sign_call(&call("POST", &params), Some(&key), &STAMP);
        assert!(s.query.is_empty());
        let body = s.body.clone().expect("a body");
        assert_eq!(body.bytes, b"Format=JSON&RegionId=cn-hangzhou");
        assert_eq!(
            header(&s, "x-acs-content-sha256"),
            Some(hash_hex(&body.bytes).as_str())
        );
        assert_eq!(header(&s, "x-acs-date"), Some("2024-05-01T08:00:00Z"));
        assert_eq!(header(&s, "x-acs-security-token"), Some("CAIS token"));
        let auth = header(&s, "authorization").unwrap_or_default();
        assert!(
            auth.starts_with(
                "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,Signature="
            ),
            "{auth}"
        );
        // The same inputs give the same signature; another nonce another one.
        assert_eq!(s, sign_call(&call("POST", &params), Some(&key), &STAMP));
        let other = Stamp {
            nonce: "nonce-2",
            ..STAMP
        };
        assert_ne!(
            header(&s, "authorization"),
            header(
                &sign_call(&call("POST", &params), Some(&key), &other),
                "authorization"
            )
        );
    }

    #[test]
    fn a_get_and_an_anonymous_call() {
        let params = [("RegionId", "cn-hangzhou"), ("FlowLogName", "a b")];
        let s = sign_call(&call("GET", &params), None, &STAMP);
        assert_eq!(s.query, "FlowLogName=a%20b&RegionId=cn-hangzhou");
        assert!(s.body.is_none());
        assert!(header(&s, "authorization").is_none());
        assert_eq!(
            header(&s, "x-acs-content-sha256"),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn repeated_headers_are_joined_sorted() {
        let (block, names) =
            canonical_headers(&[("X-Acs-B", " 2 "), ("x-acs-b", "1"), ("Host", "h")]);
        assert_eq!(block, "host:h\nx-acs-b:1,2\n");
        assert_eq!(names, "host;x-acs-b");
    }
}
