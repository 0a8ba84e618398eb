//! What flow log and region IDs look like, and the diagnostics for ones that do not, shared by
//! the resource and the data source (checked at plan time, before any API call), and the
//! import IDs (`fl-...` or `REGION:fl-...`) both resources take, and the check of an argument
//! that takes one of a few values.

use std::collections::BTreeMap;

use crate::diag::{AttrPath, Diagnostics};
use crate::schema::Schema;
use crate::tfvalue::Value;

/// `fl-` followed by lower-case letters and digits.
pub fn looks_like_flow_log_id(s: &str) -> bool {
    s.strip_prefix("fl-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Lower-case words of letters and digits joined by `-`, with at least one `-`.
pub fn looks_like_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// An error on `path` when `id` is not a flow log ID.
pub fn check_flow_log_id(path: AttrPath, id: &str, diags: &mut Diagnostics) {
    if !looks_like_flow_log_id(id) {
        diags.attr_error(
            path,
            "Invalid flow log ID",
            format!("{id:?} is not a flow log ID: flow log IDs are \"fl-\" followed by lower-case letters and digits, e.g. \"fl-m5e8vhz2t21sel1nq0000\"."),
        );
    }
}

/// A warning on `path` when `id` is not shaped like a flow log ID: as a filter it can only
/// match nothing, which is not an error (the official data source takes any string).
pub fn warn_unmatchable_flow_log_id(path: AttrPath, id: &str, diags: &mut Diagnostics) {
    if !looks_like_flow_log_id(id) {
        diags.attr_warning(
            path,
            "Not a flow log ID",
            format!("{id:?} is not shaped like a flow log ID (\"fl-\" followed by lower-case letters and digits), so it matches no flow log."),
        );
    }
}

/// The state an import starts from: every attribute of `schema` null but the identity
/// (`id`, `flow_log_id`, `region_id`) taken from `id` (`fl-...`, or `REGION:fl-...`; without a
/// region, `default_region`). Terraform reads the rest next. `None` after an error.
pub fn import_identity(
    id: &str,
    default_region: Option<String>,
    schema: &Schema,
    diags: &mut Diagnostics,
) -> Option<BTreeMap<String, Value>> {
    let (region, flow_log_id) = match id.split_once(':') {
        Some((r, f)) => (Some(r.trim().to_owned()), f.trim()),
        None => (None, id.trim()),
    };
    let region = region.filter(|r| !r.is_empty()).or(default_region);
    if !looks_like_flow_log_id(flow_log_id)
        || region.as_deref().is_some_and(|r| !looks_like_region(r))
    {
        diags.error(
            "Invalid import ID",
            format!("{id:?} is not a flow log import ID: use \"fl-...\" (in the provider's region) or \"REGION:fl-...\", e.g. \"cn-hangzhou:fl-m5e8vhz2t21sel1nq0000\"."),
        );
        return None;
    }
    let Some(region) = region else {
        diags.error(
            "No region for import",
            "Import as \"REGION:fl-...\", or set region in the provider block or ALICLOUD_REGION.",
        );
        return None;
    };
    let mut obj: BTreeMap<String, Value> = schema
        .block
        .attributes
        .iter()
        .map(|attr| (attr.name.to_owned(), Value::Null))
        .collect();
    obj.insert("timeouts".to_owned(), Value::Null);
    obj.insert("id".to_owned(), Value::string(flow_log_id));
    obj.insert("flow_log_id".to_owned(), Value::string(flow_log_id));
    obj.insert("region_id".to_owned(), Value::string(region));
    Some(obj)
}

/// An error on `name` when it is set to none of `allowed` (compared exactly: the API's
/// values are case-sensitive).
pub fn check_one_of(config: &Value, name: &str, allowed: &[&str], diags: &mut Diagnostics) {
    if let Some(v) = config.get(name).and_then(Value::as_str)
        && !allowed.contains(&v)
    {
        diags.attr_error(
            AttrPath::attr(name),
            format!("Invalid {name}"),
            format!(
                "{v:?} is not a valid {name}: use one of {} (exactly as written).",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// An error on `path` when `region` is not a region ID.
pub fn check_region_id(path: AttrPath, region: &str, diags: &mut Diagnostics) {
    if !looks_like_region(region) {
        diags.attr_error(
            path,
            "Invalid region ID",
            format!("{region:?} is not a region ID; region IDs look like \"cn-hangzhou\" or \"ap-southeast-1\"."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_log_ids() {
        assert!(looks_like_flow_log_id("fl-m5e8vhz2t21sel1nq0000"));
        for bad in [
            "",
            "fl-",
            "FL-abc",
            "fl-ABC",
            "fl_abc",
            "vpc-abc",
            "fl-abc-def",
            " fl-abc",
        ] {
            assert!(!looks_like_flow_log_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn regions() {
        assert!(looks_like_region("cn-hangzhou"));
        assert!(looks_like_region("ap-southeast-1"));
        assert!(!looks_like_region("hangzhou"));
        assert!(!looks_like_region("CN-Hangzhou"));
    }
}
