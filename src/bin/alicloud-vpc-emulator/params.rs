//! Strict `application/x-www-form-urlencoded` decoding for query strings and bodies.
//!
//! Strict on purpose: a lenient decoder would turn a client's encoding bug into a signature
//! mismatch, which is much harder to diagnose than "bad percent-encoding in X".

/// Splits `a=1&b=2` into decoded pairs. `+` is a space (form encoding); a pair without `=`
/// has an empty value; empty segments (`a=1&&b=2`) are skipped.
pub fn decode_form(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for segment in input.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
        let key = decode_component(k, true)?;
        if key.is_empty() {
            return Err(format!("parameter with an empty name in '{segment}'"));
        }
        let value = decode_component(v, true)?;
        out.push((key, value));
    }
    Ok(out)
}

/// Percent-decodes one component; the bytes must form UTF-8.
pub fn decode_component(input: &str, plus_is_space: bool) -> Result<String, String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).unwrap_or_default();
                let decoded = std::str::from_utf8(hex)
                    .ok()
                    .filter(|h| h.len() == 2 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("malformed percent-encoding in '{input}'"))?;
                out.push(decoded);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| format!("'{input}' does not decode to valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_a_form() {
        let got = decode_form("a=1&b=x+y%20z&c&&d=%E4%B8%AD&e=").unwrap_or_default();
        let want = [
            ("a", "1"),
            ("b", "x y z"),
            ("c", ""),
            ("d", "中"),
            ("e", ""),
        ];
        assert_eq!(
            got,
            want.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "a=%", "a=%4", "a=%ZZ", "a=%FF", "=x", "a=%C3%28", "%E4%B8=1",
        ] {
            assert!(decode_form(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(decode_component("a+b", false), Ok("a+b".to_owned()));
    }
}
