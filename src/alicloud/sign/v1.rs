//! Alibaba Cloud RPC signature v1 (HMAC-SHA1): a pure function of its inputs.
//!
//! The clock and the nonce are parameters like any other; nothing here reads the time, the
//! environment or a random source, so the client and the emulator sign and check identically.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Percent-encodes per the RPC rules: unreserved `A-Z a-z 0-9 - _ . ~` stay, every other byte
/// of the UTF-8 form becomes `%XX` with upper-case hex (so space is `%20`, `*` is `%2A`).
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

/// Constant-time comparison of two signatures, for the emulator's check.
pub fn signatures_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_star_tilde() {
        assert_eq!(percent_encode("a b*c~d/e+f"), "a%20b%2Ac~d%2Fe%2Bf");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
    }
}
