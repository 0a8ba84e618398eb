//! The emulator's signature checks: pure functions over the request's parts, built on the
//! same signers the client uses, so both sides can only disagree when the request does. v1
//! checks the `Signature` parameter; V3 the `Authorization` header (its algorithm, the
//! headers it must sign, the body hash, the signature).

use tfprovider::alicloud::sign::v1 as signer;
use tfprovider::alicloud::sign::{signatures_equal, v3};

/// A request whose `Signature` is not what the server computes. Carries the server's string to
/// sign because the real gateway puts it in the error message, and it is what a user needs to
/// find an encoding difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub server_string_to_sign: String,
}

/// Checks `Signature` against every other parameter signed with `secret` for `method`.
/// A missing `Signature` is a mismatch; the gateway reports it earlier as `MissingParameter`.
pub fn verify<'a, I>(method: &str, params: I, secret: &str) -> Result<(), Mismatch>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let params: Vec<(&str, &str)> = params.into_iter().collect();
    let given = params
        .iter()
        .find(|(k, _)| *k == "Signature")
        .map(|(_, v)| *v);
    let server_string_to_sign = signer::string_to_sign(method, params.iter().copied());
    let expected = signer::sign_string(&server_string_to_sign, secret);
    match given {
        Some(sig) if signatures_equal(sig, &expected) => Ok(()),
        _ => Err(Mismatch {
            server_string_to_sign,
        }),
    }
}

/// A V3 `Authorization` header, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub algorithm: &'a str,
    pub access_key_id: &'a str,
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

/// Why a V3 request is refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V3Refusal {
    /// The header is not `ALGORITHM Credential=...,SignedHeaders=...,Signature=...`.
    Malformed(String),
    /// An algorithm other than `ACS3-HMAC-SHA256`.
    Algorithm(String),
    /// A header that must be signed is not in `SignedHeaders`, or one listed was not sent.
    Unsigned(String),
    /// `x-acs-content-sha256` is not the SHA-256 of the body received.
    ContentHash { sent: String, computed: String },
    /// The signature is not what the server computes.
    Mismatch {
        server_string_to_sign: String,
        server_canonical_request: String,
    },
}

/// Splits an `Authorization` header. Only the shape is checked here.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, V3Refusal> {
    let malformed = |why: &str| {
        V3Refusal::Malformed(format!(
            "{why}; expected \"{} Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex>\"",
            v3::ALGORITHM
        ))
    };
    let (algorithm, rest) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| malformed("the Authorization header has no algorithm"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed(&format!("{:?} is not name=value", part.trim())))?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => return Err(malformed(&format!("unknown field {other:?}"))),
        };
        if slot.replace(v.trim()).is_some() {
            return Err(malformed(&format!("{k} given twice")));
        }
    }
    fn need<'v>(
        v: Option<&'v str>,
        name: &str,
        malformed: &dyn Fn(&str) -> V3Refusal,
    ) -> Result<&'v str, V3Refusal> {
        v.filter(|v| !v.is_empty())
            .ok_or_else(|| malformed(&format!("{name} is missing")))
    }
    let need = |v, name| need(v, name, &malformed);
    Ok(Authorization {
        algorithm,
        access_key_id: need(credential, "Credential")?,
        signed_headers: need(signed, "SignedHeaders")?,
        signature: need(signature, "Signature")?,
    })
}

/// A V3 request as received: header names in lower case, query pairs decoded.
#[derive(Debug, Clone, Copy)]
pub struct V3Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl V3Request<'_> {
    fn sent(&self, name: &str) -> bool {
        self.headers.iter().any(|(k, _)| k == name)
    }
}

/// Checks a V3 request against `auth` signed with `secret`: the algorithm, that `host`,
/// `content-type` (when sent) and every `x-acs-*` header sent are signed and every signed one
/// was sent, the body hash, then the signature.
pub fn verify_v3(
    req: &V3Request<'_>,
    auth: &Authorization<'_>,
    secret: &str,
) -> Result<(), V3Refusal> {
    if auth.algorithm != v3::ALGORITHM {
        return Err(V3Refusal::Algorithm(auth.algorithm.to_owned()));
    }
    let listed: Vec<String> = auth
        .signed_headers
        .split(';')
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    for name in &listed {
        if !req.sent(name) {
            return Err(V3Refusal::Unsigned(format!(
                "header {name:?} is in SignedHeaders but was not sent"
            )));
        }
    }
    let must_sign = req
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k == "host" || *k == "content-type" || k.starts_with("x-acs-"));
    for name in must_sign.chain(std::iter::once("host")) {
        if !listed.iter().any(|l| l == name) {
            return Err(V3Refusal::Unsigned(format!(
                "header {name:?} must be signed but is not in SignedHeaders"
            )));
        }
    }
    let signed: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(k, _)| listed.contains(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let sent_hash = req
        .headers
        .iter()
        .find(|(k, _)| k == "x-acs-content-sha256")
        .map_or("", |(_, v)| v.as_str());
    let query: Vec<(&str, &str)> = req
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let canonical = v3::canonical_request(&v3::Request {
        method: req.method,
        path: req.path,
        query: &query,
        headers: &signed,
        payload_hash: sent_hash,
    });
    let string_to_sign = v3::string_to_sign(&canonical);
    if !signatures_equal(auth.signature, &v3::signature(&string_to_sign, secret)) {
        return Err(V3Refusal::Mismatch {
            server_string_to_sign: string_to_sign,
            server_canonical_request: canonical,
        });
    }
    let computed = v3::hash_hex(req.body);
    if !sent_hash.eq_ignore_ascii_case(&computed) {
        return Err(V3Refusal::ContentHash {
            sent: sent_hash.to_owned(),
            computed,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/signature-v1.json"
        );
        let text = std::fs::read_to_string(path).expect("vector file readable");
        let doc: Value = serde_json::from_str(&text).expect("vector file is JSON");
        doc["vectors"].as_array().cloned().unwrap_or_default()
    }

    fn params_with(v: &Value, signature: &str) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = v["params"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        p.push(("Signature".to_owned(), signature.to_owned()));
        p
    }

    #[test]
    fn vectors_verify_and_the_wrong_one_is_refused() {
        let vectors = vectors();
        let (mut positive, mut negative) = (0, 0);
        for v in &vectors {
            let name = v["name"].as_str().unwrap_or("?");
            let method = v["method"].as_str().unwrap_or("GET");
            let secret = v["secret"].as_str().unwrap_or_default();
            if let Some(sig) = v["signature"].as_str() {
                let p = params_with(v, sig);
                let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                assert_eq!(verify(method, it, secret), Ok(()), "{name}");
                positive += 1;
            }
            if let Some(wrong) = v["wrong_signature"].as_str() {
                let p = params_with(v, wrong);
                let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                let err = verify(method, it, secret).expect_err(name);
                if let Some(s) = v["string_to_sign"].as_str() {
                    assert_eq!(err.server_string_to_sign, s, "{name}");
                }
                negative += 1;
            }
        }
        assert!(positive >= 6, "too few positive vectors: {positive}");
        assert!(negative >= 1, "no negative vector");
    }

    #[test]
    fn mismatch_carries_the_string_to_sign() {
        let v = vectors()
            .into_iter()
            .find(|v| v["string_to_sign"].is_string());
        let v = v.expect("a vector with a string to sign");
        let p = params_with(&v, "bogus=");
        let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let err = verify(v["method"].as_str().unwrap_or("GET"), it, "testsecret")
            .expect_err("bogus signature accepted");
        assert_eq!(
            err.server_string_to_sign,
            v["string_to_sign"].as_str().unwrap_or("")
        );
        // The method is part of what is signed.
        let ok = v["signature"].as_str().unwrap_or_default();
        let p = params_with(&v, ok);
        let other = if v["method"] == "GET" { "POST" } else { "GET" };
        let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        assert!(verify(other, it, "testsecret").is_err());
    }

    #[test]
    fn missing_signature_is_a_mismatch() {
        assert!(verify("GET", [("Action", "DescribeFlowLogs")], "s").is_err());
    }

    fn v3_vectors() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/signature-v3.json"
        );
        let text = std::fs::read_to_string(path).expect("vector file readable");
        let doc: Value = serde_json::from_str(&text).expect("vector file is JSON");
        doc["vectors"].as_array().cloned().unwrap_or_default()
    }

    fn owned_pairs(v: &Value) -> Vec<(String, String)> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p[0].as_str().unwrap_or_default().to_owned(),
                    p[1].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Every vector with a body (so a request can be rebuilt) verifies, and a wrong secret,
    /// a changed body and a changed query value are each refused.
    #[test]
    fn v3_vectors_verify_and_changes_are_refused() {
        let mut checked = 0;
        for v in v3_vectors() {
            let (Some(body), Some(auth)) = (v["body"].as_str(), v["authorization"].as_str()) else {
                continue;
            };
            let name = v["name"].as_str().unwrap_or("?");
            let headers: Vec<(String, String)> = owned_pairs(&v["headers"])
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
            let query = owned_pairs(&v["query"]);
            let req = V3Request {
                method: v["method"].as_str().unwrap_or_default(),
                path: "/",
                query: &query,
                headers: &headers,
                body: body.as_bytes(),
            };
            let parsed = parse_authorization(auth).expect(name);
            let secret = v["secret"].as_str().unwrap_or_default();
            assert_eq!(verify_v3(&req, &parsed, secret), Ok(()), "{name}");
            assert!(
                matches!(
                    verify_v3(&req, &parsed, "other"),
                    Err(V3Refusal::Mismatch { .. })
                ),
                "{name}"
            );
            let changed = format!("{body}x");
            let req2 = V3Request {
                body: changed.as_bytes(),
                ..req
            };
            assert!(
                matches!(
                    verify_v3(&req2, &parsed, secret),
                    Err(V3Refusal::ContentHash { .. })
                ),
                "{name}"
            );
            if !query.is_empty() {
                let mut q = query.clone();
                q[0].1.push('x');
                let req3 = V3Request { query: &q, ..req };
                assert!(
                    matches!(
                        verify_v3(&req3, &parsed, secret),
                        Err(V3Refusal::Mismatch { .. })
                    ),
                    "{name}"
                );
            }
            checked += 1;
        }
        assert!(checked >= 6, "only {checked} V3 vectors checked");
    }

    #[test]
    fn authorization_shapes() {
        let ok = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-date,Signature=ab",
        );
        assert_eq!(
            ok,
            Ok(Authorization {
                algorithm: "ACS3-HMAC-SHA256",
                access_key_id: "id",
                signed_headers: "host;x-acs-date",
                signature: "ab",
            })
        );
        for bad in [
            "ACS3-HMAC-SHA256",
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host",
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=",
            "ACS3-HMAC-SHA256 Credential=id,Credential=x,SignedHeaders=host,Signature=a",
            "ACS3-HMAC-SHA256 Credential=id,Region=x,SignedHeaders=host,Signature=a",
        ] {
            assert!(
                matches!(parse_authorization(bad), Err(V3Refusal::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn unsigned_and_unsent_headers_and_other_algorithms() {
        let headers = vec![
            ("host".to_owned(), "h".to_owned()),
            ("x-acs-date".to_owned(), "d".to_owned()),
        ];
        let req = V3Request {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            body: b"",
        };
        let auth = |signed: &'static str, alg: &'static str| Authorization {
            algorithm: alg,
            access_key_id: "id",
            signed_headers: signed,
            signature: "00",
        };
        let unsigned = verify_v3(&req, &auth("host", v3::ALGORITHM), "s");
        assert!(matches!(unsigned, Err(V3Refusal::Unsigned(m)) if m.contains("x-acs-date")));
        let unsent = verify_v3(
            &req,
            &auth("host;x-acs-date;x-acs-nonce", v3::ALGORITHM),
            "s",
        );
        assert!(matches!(unsent, Err(V3Refusal::Unsigned(m)) if m.contains("x-acs-nonce")));
        let alg = verify_v3(&req, &auth("host;x-acs-date", "ACS3-HMAC-SM3"), "s");
        assert_eq!(alg, Err(V3Refusal::Algorithm("ACS3-HMAC-SM3".to_owned())));
    }
}
