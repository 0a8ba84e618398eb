//! What every signer takes and gives: the parts of one RPC call ([`Call`]), the key
//! ([`Key`]), the clock's share ([`Stamp`]), and what to send ([`Signed`]). A [`Scheme`] is a
//! signature users choose by name, with its pure signing function. Shared encoding helpers
//! live here too, so no signer depends on another.

use std::fmt;

use time::OffsetDateTime;

/// How `Debug` shows a secret here (the same text as `Secret`'s).
const REDACTED: &str = "** redacted **";

/// One RPC call, before any signature field is added.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The HTTP method (`POST`).
    pub method: &'a str,
    /// `host` or `host:port`, exactly as the HTTP client sends it in `Host`.
    pub host: &'a str,
    pub action: &'a str,
    /// The API version (`2016-04-28`), which picks the product.
    pub version: &'a str,
    /// The call's own parameters (`Format`, `RegionId`, the action's), in order.
    pub params: &'a [(&'a str, &'a str)],
}

/// The credentials a call is signed with. `Debug` shows the key ID only.
#[derive(Clone, Copy)]
pub struct Key<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    /// With temporary (STS) credentials.
    pub security_token: Option<&'a str>,
}

impl fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &REDACTED)
            .field("security_token", &self.security_token.map(|_| REDACTED))
            .finish()
    }
}

/// The clock's share of a signature, passed in so signing stays a pure function.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// When the call is made (UTC).
    pub time: OffsetDateTime,
    /// A value never used before.
    pub nonce: &'a str,
}

/// The content type of a form body.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// A request body, exactly as signed.
#[derive(Clone, PartialEq, Eq)]
pub struct Body {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What to send for a call: the transport sets the query, the body and these headers on a
/// request to the product's endpoint and knows nothing else of the signature.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Signed {
    /// The query string, already encoded; empty for none.
    pub query: String,
    pub body: Option<Body>,
    /// Headers to add, names in lower case. `host` is signed but not among them: the HTTP
    /// client sends it from the URL.
    pub headers: Vec<(&'static str, String)>,
}

impl fmt::Debug for Signed {
    // Bodies and headers carry tokens and signatures: only their shape is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("query_len", &self.query.len())
            .field(
                "body",
                &self.body.as_ref().map(|b| (b.content_type, b.bytes.len())),
            )
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The signature of one call: a pure function of its parts, the key (`None`: an anonymous
/// call, laid out the same way but unsigned) and the stamp.
pub type SignFn = fn(&Call<'_>, Option<&Key<'_>>, &Stamp<'_>) -> Signed;

/// A signature scheme, chosen by name in the provider configuration.
pub struct Scheme {
    /// What users write (`v1`, `v3`).
    pub name: &'static str,
    /// How Alibaba names it, for messages (`HMAC-SHA1`, `ACS3-HMAC-SHA256`).
    pub algorithm: &'static str,
    pub sign: SignFn,
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.algorithm)
    }
}

impl PartialEq for Scheme {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Percent-encodes per RFC 3986 as both signatures require: unreserved `A-Z a-z 0-9 - _ . ~`
/// stay, every other byte of the UTF-8 form becomes `%XX` with upper-case hex (so space is
/// `%20`, `*` is `%2A`).
pub fn percent_encode(input: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len() * 3);
    for &b in input.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        }
    }
    out
}

/// `name=value` pairs, both percent-encoded, joined by `&` in the order given.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

/// Constant-time comparison of two signatures or tokens, for checks on the server side.
pub fn signatures_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0x0f) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_star_tilde() {
        assert_eq!(percent_encode("a b*c~d/e+f"), "a%20b%2Ac~d%2Fe%2Bf");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }

    #[test]
    fn debug_hides_secrets() {
        let k = Key {
            access_key_id: "id",
            secret: "very-secret",
            security_token: Some("token-secret"),
        };
        let s = Signed {
            query: String::new(),
            body: Some(Body {
                content_type: "application/x-www-form-urlencoded",
                bytes: b"SecurityToken=token-secret".to_vec(),
            }),
            headers: vec![("x-acs-security-token", "token-secret".to_owned())],
        };
        let text = format!("{k:?} {s:?}");
        assert!(
            !text.contains("very-secret") && !text.contains("token-secret"),
            "{text}"
        );
    }
}
