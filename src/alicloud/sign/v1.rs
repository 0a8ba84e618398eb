//! Alibaba Cloud RPC signature v1 (HMAC-SHA1, `SignatureVersion=1.0`; Alibaba's newer
//! documents call it V2): a pure function of its inputs.
//!
//! The clock and the nonce are parameters like any other; nothing here reads the time, the
//! environment or a random source, so the client and the emulator sign and check identically.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::scheme::{Body, Call, FORM_CONTENT_TYPE, Key, Scheme, Signed, Stamp, encode_pairs};
use crate::alicloud::clock::format_timestamp;

pub use super::scheme::{percent_encode, signatures_equal};

/// Sorted `name=value` pairs joined by `&`, both sides percent-encoded; `Signature` is skipped.
pub fn canonicalized_query<'a, I>(params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut pairs: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, _)| *k != "Signature")
        .collect();
    pairs.sort_unstable();
    encode_pairs(pairs)
}

/// `METHOD&%2F&percentEncode(canonicalized query)`.
pub fn string_to_sign<'a, I>(method: &str, params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(&canonicalized_query(params))
    )
}

/// Base64(HMAC-SHA1(secret + "&", string to sign)).
pub fn sign_string(string_to_sign: &str, secret: &str) -> String {
    let mut key = Vec::with_capacity(secret.len() + 1);
    key.extend_from_slice(secret.as_bytes());
    key.push(b'&');
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Signature` parameter for a request with these parameters.
pub fn sign<'a, I>(method: &str, params: I, secret: &str) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    sign_string(&string_to_sign(method, params), secret)
}

/// The v1 layout of an RPC call: every common parameter (`Action`, `Version`,
/// `SignatureNonce`, `Timestamp`, and with a key `AccessKeyId`, `SignatureMethod`,
/// `SignatureVersion`, `SecurityToken`), the call's parameters and `Signature`, in a form
/// body (in the query for `GET`). No headers. Without a key: the same, unsigned.
pub fn sign_call(call: &Call<'_>, key: Option<&Key<'_>>, stamp: &Stamp<'_>) -> Signed {
    let timestamp = format_timestamp(stamp.time);
    let signature: String;
    let mut params: Vec<(&str, &str)> = vec![
        ("Action", call.action),
        ("Version", call.version),
        ("SignatureNonce", stamp.nonce),
        ("Timestamp", &timestamp),
    ];
    if let Some(k) = key {
        params.push(("AccessKeyId", k.access_key_id));
        params.push(("SignatureMethod", "HMAC-SHA1"));
        params.push(("SignatureVersion", "1.0"));
        if let Some(token) = k.security_token {
            params.push(("SecurityToken", token));
        }
    }
    params.extend(call.params.iter().copied());
    if let Some(k) = key {
        signature = sign(call.method, params.iter().copied(), k.secret);
        params.push(("Signature", &signature));
    }
    let encoded = encode_pairs(params);
    if call.method.eq_ignore_ascii_case("GET") {
        Signed {
            query: encoded,
            ..Signed::default()
        }
    } else {
        Signed {
            body: Some(Body {
                content_type: FORM_CONTENT_TYPE,
                bytes: encoded.into_bytes(),
            }),
            ..Signed::default()
        }
    }
}

/// The legacy RPC signature, chosen as `v1` (Alibaba's newer documents call it V2).
pub const SCHEME: Scheme = Scheme {
    name: "v1",
    algorithm: "HMAC-SHA1",
    sign: sign_call,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_laid_out_as_a_signed_form() {
        let call = Call {
            method: "POST",
            host: "vpc.aliyuncs.com",
            action: "ActiveFlowLog",
            version: "2016-04-28",
            params: &[
                ("Format", "JSON"),
                ("RegionId", "cn-hangzhou"),
                ("FlowLogId", "fl-1"),
            ],
        };
        let key = Key {
            access_key_id: "testid",
            secret: "testsecret",
            security_token: Some("tok en"),
        };
        let stamp = Stamp {
            time: time::macros::datetime!(2016-02-23 12:46:24 UTC),
            nonce: "n-1",
        };
        let signed = sign_call(&call, Some(&key), &stamp);
        assert!(signed.query.is_empty() && signed.headers.is_empty());
        let body = signed.body.expect("a form body");
        assert_eq!(body.content_type, FORM_CONTENT_TYPE);
        let text = String::from_utf8(body.bytes).unwrap_or_default();
        assert!(text.contains("SecurityToken=tok%20en"), "{text}");
        assert!(
            text.contains("Timestamp=2016-02-23T12%3A46%3A24Z"),
            "{text}"
        );
        let pairs: Vec<(&str, &str)> = text.split('&').filter_map(|p| p.split_once('=')).collect();
        let sig = pairs
            .iter()
            .find(|(k, _)| *k == "Signature")
            .map(|(_, v)| *v);
        assert!(sig.is_some_and(|s| !s.is_empty()), "{text}");
        // Anonymous: the same layout without a key or a signature.
        let anon = sign_call(&call, None, &stamp);
        let text =
            String::from_utf8(anon.body.map(|b| b.bytes).unwrap_or_default()).unwrap_or_default();
        assert!(
            !text.contains("Signature=") && !text.contains("AccessKeyId"),
            "{text}"
        );
        assert!(text.contains("Action=ActiveFlowLog"), "{text}");
        // GET puts everything in the query.
        let get = sign_call(
            &Call {
                method: "GET",
                ..call
            },
            Some(&key),
            &stamp,
        );
        assert!(get.body.is_none() && get.query.contains("Signature="));
    }
}
