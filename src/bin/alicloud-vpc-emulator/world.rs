//! What exists around the flow logs: the Log Service projects and logstores they deliver to and
//! the VPCs, vSwitches and network interfaces they watch. `CreateFlowLog` asks here.
//!
//! Each kind is an open world until a list is given: without `--sls-project`, every project
//! name Log Service would accept exists; with it, only the listed ones. Existing tests, seeds
//! and the quickstart never name a project, so they keep working; a test that wants a missing
//! project lists the ones that exist.

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// The three kinds of thing a flow log needs, each `None` (everything well-formed exists) or
/// the set that exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    pub projects: Option<BTreeSet<String>>,
    /// `(project, logstore)`; a listed logstore's project exists too.
    pub logstores: Option<BTreeSet<(String, String)>>,
    pub resources: Option<BTreeSet<String>>,
}

/// Log Service's project name rule: 3-63 characters of lowercase letters, digits and `-`,
/// starting and ending with a letter or digit.
pub fn is_project_name(name: &str) -> bool {
    is_sls_name(name, false)
}

/// The logstore rule: as a project, `_` allowed too.
pub fn is_logstore_name(name: &str) -> bool {
    is_sls_name(name, true)
}

fn is_sls_name(name: &str, underscore: bool) -> bool {
    let ok = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscore && c == '_')
    };
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name.chars().all(ok)
        && edge(name.chars().next())
        && edge(name.chars().last())
}

/// The ID prefix of each `ResourceType` a flow log may watch.
pub fn resource_prefix(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "VPC" => Some("vpc-"),
        "VSwitch" => Some("vsw-"),
        "NetworkInterface" => Some("eni-"),
        _ => None,
    }
}

/// A prefix known to `resource_prefix` followed by lowercase letters and digits.
pub fn is_resource_id(id: &str) -> bool {
    ["vpc-", "vsw-", "eni-"].iter().any(|p| {
        id.strip_prefix(p).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
    })
}

/// Parses `PROJECT/LOGSTORE`.
pub fn parse_logstore(text: &str) -> Option<(String, String)> {
    let (p, l) = text.split_once('/')?;
    (is_project_name(p) && is_logstore_name(l)).then(|| (p.to_owned(), l.to_owned()))
}

impl World {
    pub fn project_exists(&self, project: &str) -> bool {
        if !is_project_name(project) {
            return false;
        }
        let listed = self.projects.as_ref().map(|s| s.contains(project));
        let via_logstore = self
            .logstores
            .as_ref()
            .map(|s| s.iter().any(|(p, _)| p == project));
        match (listed, via_logstore) {
            (None, None) => true,
            (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
        }
    }

    /// A logstore exists in an existing project: any well-formed one without a list.
    pub fn logstore_exists(&self, project: &str, logstore: &str) -> bool {
        if !self.project_exists(project) || !is_logstore_name(logstore) {
            return false;
        }
        self.logstores.as_ref().is_none_or(|s| {
            s.iter()
                .any(|(p, l)| p.as_str() == project && l.as_str() == logstore)
        })
    }

    /// A resource of this type exists: its ID has the type's prefix, and it is listed when a
    /// list was given.
    pub fn resource_exists(&self, resource_type: &str, id: &str) -> bool {
        resource_prefix(resource_type).is_some_and(|p| id.starts_with(p))
            && is_resource_id(id)
            && self.resources.as_ref().is_none_or(|s| s.contains(id))
    }

    /// `GET /_emulator/world`: each list, or `null` for an open world.
    pub fn to_json(&self) -> Value {
        json!({
            "sls_projects": self.projects,
            "sls_logstores": self.logstores.as_ref().map(|s| {
                s.iter().map(|(p, l)| format!("{p}/{l}")).collect::<Vec<_>>()
            }),
            "vpc_resources": self.resources,
        })
    }

    /// `POST /_emulator/world`: each field named replaces its list (`null`: open again); the
    /// others stay. All or nothing.
    pub fn apply_json(&mut self, v: &Value) -> Result<(), String> {
        let obj = v.as_object().ok_or("expected a JSON object")?;
        let mut next = self.clone();
        for (k, v) in obj {
            match k.as_str() {
                "sls_projects" => {
                    next.projects = names(k, v, |s| is_project_name(s).then(|| s.to_owned()))?
                }
                "sls_logstores" => next.logstores = names(k, v, parse_logstore)?,
                "vpc_resources" => {
                    next.resources = names(k, v, |s| is_resource_id(s).then(|| s.to_owned()))?
                }
                other => return Err(format!("unknown field '{other}'")),
            }
        }
        *self = next;
        Ok(())
    }
}

fn names<T: Ord>(
    field: &str,
    v: &Value,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<BTreeSet<T>>, String> {
    let items = match v {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => return Err(format!("{field} must be an array of strings or null")),
    };
    items
        .iter()
        .map(|i| {
            i.as_str()
                .and_then(&parse)
                .ok_or_else(|| format!("{field}: {i} is not a valid name"))
        })
        .collect::<Result<BTreeSet<T>, String>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_log_service_rules() {
        for ok in ["abc", "my-project-1", "a1b"] {
            assert!(is_project_name(ok), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "ABC", "a_b_c", &"a".repeat(64)] {
            assert!(!is_project_name(bad), "{bad}");
        }
        assert!(is_logstore_name("my_logstore"));
        assert!(!is_logstore_name("_store"));
        assert_eq!(
            parse_logstore("proj/store_1"),
            Some(("proj".to_owned(), "store_1".to_owned()))
        );
        assert_eq!(parse_logstore("proj"), None);
    }

    #[test]
    fn open_world_until_listed() {
        let mut w = World::default();
        assert!(w.project_exists("anything"));
        assert!(!w.project_exists("No-Such"));
        assert!(w.logstore_exists("anything", "any_store"));
        assert!(w.resource_exists("VPC", "vpc-abc123"));
        assert!(!w.resource_exists("VPC", "vsw-abc123"));
        assert!(!w.resource_exists("VSwitch", "vsw-ABC"));
        assert!(!w.resource_exists("Router", "vpc-abc"));

        let listed = json!({
            "sls_projects": ["proj-a"],
            "sls_logstores": ["proj-b/store"],
            "vpc_resources": ["vpc-one", "eni-two"]
        });
        assert_eq!(w.apply_json(&listed), Ok(()));
        assert!(w.project_exists("proj-a"));
        // A listed logstore brings its project.
        assert!(w.project_exists("proj-b"));
        assert!(!w.project_exists("proj-c"));
        assert!(w.logstore_exists("proj-b", "store"));
        assert!(!w.logstore_exists("proj-b", "other"));
        // With logstores listed, proj-a has none.
        assert!(!w.logstore_exists("proj-a", "store"));
        assert!(w.resource_exists("VPC", "vpc-one"));
        assert!(w.resource_exists("NetworkInterface", "eni-two"));
        assert!(!w.resource_exists("VPC", "vpc-three"));

        assert_eq!(w.apply_json(&json!({"vpc_resources": null})), Ok(()));
        assert!(w.resource_exists("VPC", "vpc-three"));
        assert!(!w.project_exists("proj-c"), "other lists kept");
        assert_eq!(
            w.to_json(),
            json!({"sls_projects": ["proj-a"], "sls_logstores": ["proj-b/store"], "vpc_resources": null})
        );
    }

    #[test]
    fn bad_updates_change_nothing() {
        let mut w = World::default();
        for bad in [
            json!([]),
            json!({"sls_projects": "a"}),
            json!({"sls_projects": ["BAD"]}),
            json!({"sls_logstores": ["nostore"]}),
            json!({"vpc_resources": ["i-123"]}),
            json!({"sls_projects": ["good"], "other": 1}),
        ] {
            assert!(w.apply_json(&bad).is_err(), "{bad} accepted");
            assert_eq!(w, World::default());
        }
    }
}
