//! Strict `application/x-www-form-urlencoded` decoding for query strings and bodies, and the
//! RPC style's flat lists (`ResourceId.1`, `Tag.2.Key`).
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

/// The values of a flat list: every `PREFIX.N` (`suffix` `None`) or `PREFIX.N.SUFFIX`
/// parameter, by `N` ascending. `N` counts from 1; gaps are allowed. `Err` names a parameter
/// of this list whose `N` is not such a number.
pub fn indexed(
    params: &std::collections::BTreeMap<String, String>,
    prefix: &str,
    suffix: Option<&str>,
) -> Result<Vec<(u32, String)>, String> {
    let mut out = Vec::new();
    for (name, value) in params {
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let (n, tail) = match rest.split_once('.') {
            Some((n, tail)) => (n, Some(tail)),
            None => (rest, None),
        };
        if tail != suffix {
            continue;
        }
        let canonical = n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0');
        match n.parse::<u32>() {
            Ok(n) if canonical => out.push((n, value.clone())),
            _ => return Err(name.clone()),
        }
    }
    out.sort_by_key(|(n, _)| *n);
    Ok(out)
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

    #[test]
    fn flat_lists() {
        let params: std::collections::BTreeMap<String, String> = [
            ("Tag.2.Key", "b"),
            ("Tag.1.Key", "a"),
            ("Tag.1.Value", "va"),
            ("Tags.1.Key", "plural"),
            ("TagKey.10", "k10"),
            ("TagKey.9", "k9"),
            ("ResourceId", "not a list"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let got = indexed(&params, "Tag", Some("Key")).unwrap_or_default();
        assert_eq!(got, vec![(1, "a".to_owned()), (2, "b".to_owned())]);
        assert_eq!(
            indexed(&params, "TagKey", None).unwrap_or_default(),
            vec![(9, "k9".to_owned()), (10, "k10".to_owned())]
        );
        assert_eq!(indexed(&params, "ResourceId", None), Ok(vec![]));
        for bad in ["Tag.0.Key", "Tag.x.Key", "Tag.01.Key", "Tag.+1.Key"] {
            let mut p = params.clone();
            p.insert(bad.to_owned(), "v".to_owned());
            assert_eq!(indexed(&p, "Tag", Some("Key")), Err(bad.to_owned()));
        }
    }
}
