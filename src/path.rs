//! Paths into a value (`timeouts.create`, `endpoints[0].vpc`, `tags["env"]`): one type for
//! diagnostics that point at an attribute and for value decoding errors that say where.

use std::fmt;

/// One step into a value: an object attribute, a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Attr(String),
    Key(String),
    Index(i64),
}

/// A path from the root object of a resource or provider configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrPath(pub Vec<PathStep>);

impl AttrPath {
    pub fn root() -> Self {
        AttrPath(Vec::new())
    }
    pub fn attr(name: &str) -> Self {
        AttrPath(vec![PathStep::Attr(name.to_owned())])
    }
    pub fn then_attr(mut self, name: &str) -> Self {
        self.0.push(PathStep::Attr(name.to_owned()));
        self
    }
    pub fn then_key(mut self, key: &str) -> Self {
        self.0.push(PathStep::Key(key.to_owned()));
        self
    }
    pub fn then_index(mut self, i: i64) -> Self {
        self.0.push(PathStep::Index(i));
        self
    }
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    /// The path as written inside a value, each step marked (`.timeouts.create`,
    /// `.tags["a\"b"][3]`): keys in JSON string syntax so any key stays unambiguous.
    pub fn to_value_path(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match s {
                PathStep::Attr(a) => {
                    out.push('.');
                    out.push_str(a);
                }
                PathStep::Key(k) => {
                    out.push('[');
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(']');
                }
                PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(a) if i == 0 => write!(f, "{a}")?,
                PathStep::Attr(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}
