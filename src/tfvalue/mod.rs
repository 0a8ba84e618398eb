//! Terraform's value layer: cty types, values with null and unknown, and the two wire codecs
//! (msgpack for every `DynamicValue`, JSON for `RawState.json` in UpgradeResourceState).
//!
//! The encodings follow go-cty (`cty/msgpack`, `cty/json`) byte for byte where Terraform reads
//! what we write: objects carry every attribute in sorted order, numbers are the most compact
//! exact form (int, then float64, then decimal string), unknowns are ext 0 `d4 00 00` unless we
//! are echoing back a refined unknown Terraform sent us (ext 12, kept verbatim).

mod json;
mod msgpack;
mod number;
mod types;
mod value;

pub use json::{from_json, to_json};
pub use msgpack::{from_msgpack, to_msgpack};
pub use number::Number;
pub use types::Type;
pub use value::{Unknown, Value};

use crate::path::AttrPath;

/// Deepest nesting of containers (values or types) we decode or encode. Terraform schemas are
/// far shallower; the cap exists so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Why a value or type could not be decoded or encoded. `path` locates the problem inside the
/// value (`.timeouts.create`, `.tags["env"]`, `.rule[0]`); it is empty at the root.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ValueError {
    /// Input bytes (msgpack or JSON) are malformed or do not match the expected type.
    #[error("{}{msg}", at(.path))]
    Decode { path: AttrPath, msg: String },
    /// A `Value` does not conform to the `Type` it is being encoded as.
    #[error("{}{msg}", at(.path))]
    Encode { path: AttrPath, msg: String },
    /// A type description (cty type JSON) is not valid.
    #[error("{}invalid type: {msg}", at(.path))]
    Type { path: AttrPath, msg: String },
}

impl ValueError {
    /// Where inside the value the problem is (empty at the root).
    pub fn path(&self) -> &AttrPath {
        match self {
            ValueError::Decode { path, .. }
            | ValueError::Encode { path, .. }
            | ValueError::Type { path, .. } => path,
        }
    }
}

fn at(path: &AttrPath) -> String {
    if path.is_root() {
        String::new()
    } else {
        format!("at {}: ", path.to_value_path())
    }
}

/// A path inside a value, built as a stack while walking so error messages can say where
/// they happened without allocating on the happy path.
pub(crate) use crate::path::PathStep as Step;

pub(crate) fn format_path(steps: &[Step]) -> AttrPath {
    AttrPath(steps.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display_has_path_prefix_only_when_nested() {
        let e = ValueError::Decode {
            path: format_path(&[Step::Attr("timeouts".into()), Step::Attr("create".into())]),
            msg: "expected string, found integer".into(),
        };
        assert_eq!(
            e.to_string(),
            "at .timeouts.create: expected string, found integer"
        );
        let e = ValueError::Decode {
            path: AttrPath::root(),
            msg: "unexpected end of input".into(),
        };
        assert_eq!(e.to_string(), "unexpected end of input");
        assert_eq!(
            format_path(&[
                Step::Attr("tags".into()),
                Step::Key("a\"b".into()),
                Step::Index(3)
            ])
            .to_value_path(),
            ".tags[\"a\\\"b\"][3]"
        );
    }
}
