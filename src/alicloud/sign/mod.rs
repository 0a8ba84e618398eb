//! Request signers: pure functions of their inputs (time and nonce are passed in) that lay
//! out one RPC call and return what to send (query, body, headers). The transport applies
//! that and knows no signature's fields.
//!
//! `v1` is the legacy RPC signature (HMAC-SHA1, a `Signature` parameter); `v3` is
//! `ACS3-HMAC-SHA256` (an `Authorization` header). A further signature is one file with its
//! [`Scheme`], declared below and listed in [`SCHEMES`].

pub mod scheme;
pub mod v1;
pub mod v3;

pub use scheme::{
    Body, Call, FORM_CONTENT_TYPE, Key, Scheme, SignFn, Signed, Stamp, encode_pairs, hex,
    percent_encode, signatures_equal,
};

/// Every signature users can choose, by [`Scheme::name`].
pub const SCHEMES: &[&Scheme] = &[&v1::SCHEME, &v3::SCHEME];

/// The signature used when none is chosen: v1, until V3 has been proven against the real API.
pub const DEFAULT: &Scheme = &v1::SCHEME;

/// The scheme named `name` (`v1`, `v3`; any case, surrounding spaces ignored).
pub fn by_name(name: &str) -> Option<&'static Scheme> {
    let name = name.trim();
    SCHEMES
        .iter()
        .copied()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The names users can choose, for messages: `"v1" or "v3"`.
pub fn choices() -> String {
    let names: Vec<String> = SCHEMES.iter().map(|s| format!("{:?}", s.name)).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_by_name() {
        assert_eq!(by_name("v1"), Some(&v1::SCHEME));
        assert_eq!(by_name(" V3 "), Some(&v3::SCHEME));
        assert_eq!(by_name("v2"), None);
        assert_eq!(DEFAULT.name, "v1");
        assert_eq!(choices(), "\"v1\" or \"v3\"");
    }
}
