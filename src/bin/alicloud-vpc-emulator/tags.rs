//! Tag rules of the VPC API (`Tag.N.Key`/`Tag.N.Value` on `CreateFlowLog` and `TagResources`,
//! `Tags.N.*` filters on `DescribeFlowLogs`) and the errors for breaking them.
//!
//! The limits (20 tags a resource, keys of 1-128 characters not starting with `aliyun` or
//! `acs:`, values of 0-128, neither containing `http://` or `https://`) are documented. The
//! error codes are not: `InvalidTagKey.Malformed`, `InvalidTagValue.Malformed` and
//! `QuotaExceeded.TagNum` are the emulator's guesses.

use std::collections::BTreeMap;

use super::api::ApiError;
use super::params::indexed;

/// Tags a resource may carry.
pub const MAX_TAGS: usize = 20;

/// Why a key is refused, if it is.
fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        Some("it is empty")
    } else if key.chars().count() > 128 {
        Some("it is longer than 128 characters")
    } else if key.starts_with("aliyun") || key.starts_with("acs:") {
        Some("it starts with aliyun or acs:")
    } else if key.contains("http://") || key.contains("https://") {
        Some("it contains http:// or https://")
    } else {
        None
    }
}

fn value_problem(value: &str) -> Option<&'static str> {
    if value.chars().count() > 128 {
        Some("it is longer than 128 characters")
    } else if value.starts_with("aliyun") || value.starts_with("acs:") {
        Some("it starts with aliyun or acs:")
    } else if value.contains("http://") || value.contains("https://") {
        Some("it contains http:// or https://")
    } else {
        None
    }
}

pub fn check_key(param: &str, key: &str) -> Result<(), ApiError> {
    match key_problem(key) {
        None => Ok(()),
        Some(why) => Err(ApiError::new(
            400,
            "InvalidTagKey.Malformed",
            format!("The specified parameter \"{param}\" is not valid: {why}."),
        )),
    }
}

fn check_value(param: &str, value: &str) -> Result<(), ApiError> {
    match value_problem(value) {
        None => Ok(()),
        Some(why) => Err(ApiError::new(
            400,
            "InvalidTagValue.Malformed",
            format!("The specified parameter \"{param}\" is not valid: {why}."),
        )),
    }
}

pub fn too_many(count: usize) -> ApiError {
    ApiError::new(
        400,
        "QuotaExceeded.TagNum",
        format!("A resource can carry at most {MAX_TAGS} tags; this request would leave {count}."),
    )
}

/// The `PREFIX.N.Key`/`PREFIX.N.Value` pairs of a request, in `N` order. A value without its
/// key is refused; a key without a value has the empty value. With `checked`, keys and values
/// must follow the tag rules and a key may appear once (`TagResources`, `CreateFlowLog`); a
/// filter (`Tags.N` of `DescribeFlowLogs`) matches whatever it is given.
pub fn pairs(
    params: &BTreeMap<String, String>,
    prefix: &str,
    checked: bool,
) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let keys = indexed(params, prefix, Some("Key")).map_err(|p| ApiError::invalid(&p))?;
    let values = indexed(params, prefix, Some("Value")).map_err(|p| ApiError::invalid(&p))?;
    let values: BTreeMap<u32, String> = values.into_iter().collect();
    for n in values.keys() {
        if !keys.iter().any(|(k, _)| k == n) {
            return Err(ApiError::missing(&format!("{prefix}.{n}.Key")));
        }
    }
    let mut out: Vec<(String, Option<String>)> = Vec::with_capacity(keys.len());
    for (n, key) in keys {
        let value = values.get(&n).cloned();
        if checked {
            check_key(&format!("{prefix}.{n}.Key"), &key)?;
            check_value(
                &format!("{prefix}.{n}.Value"),
                value.as_deref().unwrap_or(""),
            )?;
            if out.iter().any(|(k, _)| *k == key) {
                return Err(ApiError::new(
                    400,
                    "InvalidParameter",
                    format!(
                        "The specified parameter \"{prefix}.{n}.Key\" is not valid: the key {key:?} is given twice."
                    ),
                ));
            }
        }
        out.push((key, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pairs_in_order_with_rules() {
        let p = params(&[
            ("Tag.2.Key", "team"),
            ("Tag.2.Value", "net"),
            ("Tag.1.Key", "env"),
        ]);
        let got = pairs(&p, "Tag", true).map_err(|e| e.code);
        assert_eq!(
            got,
            Ok(vec![
                ("env".to_owned(), None),
                ("team".to_owned(), Some("net".to_owned()))
            ])
        );
        let code = |p: &[(&str, &str)]| pairs(&params(p), "Tag", true).err().map(|e| e.code);
        assert_eq!(
            code(&[("Tag.1.Value", "v")]).as_deref(),
            Some("MissingParameter")
        );
        assert_eq!(
            code(&[("Tag.1.Key", "aliyun-x")]).as_deref(),
            Some("InvalidTagKey.Malformed")
        );
        assert_eq!(
            code(&[("Tag.1.Key", "acs:x")]).as_deref(),
            Some("InvalidTagKey.Malformed")
        );
        assert_eq!(
            code(&[("Tag.1.Key", "")]).as_deref(),
            Some("InvalidTagKey.Malformed")
        );
        let long = "k".repeat(129);
        assert_eq!(
            code(&[("Tag.1.Key", &long)]).as_deref(),
            Some("InvalidTagKey.Malformed")
        );
        assert_eq!(
            code(&[("Tag.1.Key", "k"), ("Tag.1.Value", "see https://x")]).as_deref(),
            Some("InvalidTagValue.Malformed")
        );
        assert_eq!(
            code(&[("Tag.1.Key", "k"), ("Tag.2.Key", "k")]).as_deref(),
            Some("InvalidParameter")
        );
        assert_eq!(
            code(&[("Tag.0.Key", "k")]).as_deref(),
            Some("InvalidParameter")
        );
        // Filters are not checked.
        let f = params(&[("Tags.1.Key", "aliyun-x")]);
        assert!(pairs(&f, "Tags", false).is_ok());
    }
}
