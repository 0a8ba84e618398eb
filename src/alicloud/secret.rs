//! Secrets and their redaction: [`Secret`] prints as `** redacted **`, and [`Redactor`]
//! scrubs known secrets from text that came back from the network before anyone shows it.

use std::fmt;

use serde::Deserialize;

use super::sign::percent_encode;

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "** redacted **";

/// A value that must never be printed: `Debug` and `Display` show `** redacted **`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for signing; never for messages or logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replaces every known secret (raw and percent-encoded, once or twice, as the gateway echoes
/// its string to sign) with `** redacted **` in text that came from outside.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    needles: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor(** redacted **)")
    }
}

impl Redactor {
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles = Vec::new();
        for s in secrets {
            // Very short values would redact ordinary words; real secrets are long.
            if s.len() < 4 {
                continue;
            }
            let once = percent_encode(s);
            let twice = percent_encode(&once);
            for n in [s.to_owned(), once, twice] {
                if !needles.contains(&n) {
                    needles.push(n);
                }
            }
        }
        // Longest first so an encoded form is replaced whole, not partly by a shorter one.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Self { needles }
    }

    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), REDACTED);
            }
        }
        out
    }
}
