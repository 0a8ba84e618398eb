//! What flow log and region IDs look like, and the diagnostics for ones that do not, shared by
//! the resource and the data source (checked at plan time, before any API call).

use crate::diag::{AttrPath, Diagnostics};

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
