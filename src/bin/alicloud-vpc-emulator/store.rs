//! The emulated flow logs, their tags and their state machine: creation (`Activating`),
//! activation and deactivation, modification (`Modifying`, back to where it was) and deletion
//! (`Deleting`, then gone).
//!
//! Transitions are computed lazily from a deadline rather than by background tasks, so the
//! state is a plain value that any read brings up to date and tests never race a timer task.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::EmulatorError;
use super::faults::Fate;
use super::regions::is_known_region;

pub const CREATION_TIME_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// The flow log status model is the provider's own (one state machine for both).
pub use tfprovider::alicloud::FlowLogStatus as Status;

/// A status a seed or control may set: one the API documents for `DescribeFlowLogs`, or one
/// of the two its other operations show (`Modifying`, `Deleting`).
fn parse_status(s: &str) -> Option<Status> {
    Some(Status::parse(s))
        .filter(|s| s.is_documented() || matches!(s, Status::Modifying | Status::Deleting))
}

/// The resource group a flow log created without one lands in (the account's default group).
pub const DEFAULT_RESOURCE_GROUP: &str = "rg-emulatordefault00";

/// Why the store refused an operation; `api` turns these into wire error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    Managed,
    FinanciallyLocked,
    WrongStatus(Status),
    /// Tagging would leave a flow log with this many tags (over `tags::MAX_TAGS`).
    TooManyTags(usize),
}

/// Fields that must be strings when present. Anything not listed here or below is kept and
/// returned verbatim (`Tags`, `TrafficPath`, ...), so seeds can carry fields we do not model.
const STRING_FIELDS: &[&str] = &[
    "FlowLogId",
    "RegionId",
    "FlowLogName",
    "Description",
    "ResourceType",
    "ResourceId",
    "TrafficType",
    "ProjectName",
    "LogStoreName",
    "BusinessStatus",
    "CreationTime",
    "ServiceType",
    "IpVersion",
    "FlowLogDeliverStatus",
    "FlowLogDeliverErrorMessage",
    "ResourceGroupId",
    "VpcId",
];

struct Entry {
    /// Every field except `Status`, which lives in `status` so it cannot go stale.
    fields: Map<String, Value>,
    status: Status,
    /// When a change under way ends, and in which status.
    settles_at: Option<Instant>,
    settles_to: Status,
    /// When the flow log is gone: the end of `Deleting`, or a background fault's deletion
    /// while a change is under way.
    vanishes_at: Option<Instant>,
    /// Fields a modification under way sets when it settles (`None` for a change that sets
    /// none, or one that fails).
    pending: Option<Map<String, Value>>,
}

impl Entry {
    fn id(&self) -> &str {
        self.str_field("FlowLogId")
    }

    fn str_field(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or("")
    }

    /// Brings the status up to `now`; false once the flow log has vanished.
    fn settle(&mut self, now: Instant) -> bool {
        if self.vanishes_at.is_some_and(|at| at <= now) {
            return false;
        }
        if self.settles_at.is_some_and(|at| at <= now) {
            self.settles_at = None;
            self.status = self.settles_to.clone();
            self.apply_pending();
        }
        true
    }

    fn apply_pending(&mut self) {
        for (k, v) in self.pending.take().unwrap_or_default() {
            self.fields.insert(k, v);
        }
    }

    fn tags(&self) -> Vec<(String, String)> {
        let list = self
            .fields
            .get("Tags")
            .and_then(|t| t.get("Tag"))
            .and_then(Value::as_array);
        list.map(|a| {
            a.iter()
                .filter_map(|t| {
                    let key = t.get("Key")?.as_str()?.to_owned();
                    let value = t.get("Value").and_then(Value::as_str).unwrap_or("");
                    Some((key, value.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
    }

    fn set_tags(&mut self, tags: &[(String, String)]) {
        let list: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        self.fields
            .insert("Tags".to_owned(), json!({ "Tag": list }));
    }

    /// Has every `(key, value)` of `filter`; a filter without a value asks for the key alone.
    fn has_tags(&self, filter: &[(String, Option<String>)]) -> bool {
        if filter.is_empty() {
            return true;
        }
        let tags = self.tags();
        filter.iter().all(|(fk, fv)| {
            tags.iter()
                .any(|(k, v)| k == fk && fv.as_ref().is_none_or(|fv| fv == v))
        })
    }

    /// Refuses what the VPC API refuses on any change: a flow log Log Service manages, one
    /// with a change under way.
    fn check_changeable(&self) -> Result<(), Refusal> {
        if self.str_field("ServiceType").eq_ignore_ascii_case("sls") {
            return Err(Refusal::Managed);
        }
        if self.status.is_busy() {
            return Err(Refusal::WrongStatus(self.status.clone()));
        }
        Ok(())
    }

    /// Takes every field of `patch`; a status given here never settles by itself.
    fn merge(&mut self, patch: &Map<String, Value>, status: Option<Status>) {
        for (k, v) in patch {
            if k != "Status" {
                self.fields.insert(k.clone(), v.clone());
            }
        }
        if let Some(s) = status {
            // The change under way is overtaken: its fields land now, its status never.
            self.apply_pending();
            self.status = s;
            self.settles_at = None;
            self.vanishes_at = None;
        }
    }

    fn to_value(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("Status".to_owned(), Value::from(self.status.as_str()));
        Value::Object(m)
    }

    fn matches(&self, field: &str, want: &str) -> bool {
        match field {
            "Status" => self.status == Status::parse(want),
            // VpcId is not a flow-log field in the API; match a seeded VpcId or a VPC-level log.
            "VpcId" => {
                self.str_field("VpcId") == want
                    || (self.str_field("ResourceType") == "VPC"
                        && self.str_field("ResourceId") == want)
            }
            other => self.str_field(other) == want,
        }
    }
}

#[derive(Default)]
pub struct Store {
    entries: Vec<Entry>,
    /// How many flow logs `CreateFlowLog` made: their IDs count up, so tests can name the
    /// first one before it exists (`fl-emu00000000000000001`).
    created: u64,
}

/// What `CreateFlowLog` creates: every field it sets, and its tags.
pub struct NewFlowLog {
    pub fields: Map<String, Value>,
    pub tags: Vec<(String, String)>,
}

/// Checks a (partial) flow log object; returns the status it sets, if any.
fn validate(obj: &Map<String, Value>) -> Result<Option<Status>, EmulatorError> {
    let bad = |msg: String| Err(EmulatorError::FlowLog(msg));
    let mut status = None;
    for (k, v) in obj {
        match k.as_str() {
            "Status" => match v.as_str().and_then(parse_status) {
                Some(s) => status = Some(s),
                None => {
                    return bad(format!(
                        "Status must be one of Active, Activating, Inactive, Deactivating, Modifying, Deleting, got {v}"
                    ));
                }
            },
            "Tags" if !is_tag_set(v) => {
                return bad(format!(
                    "Tags must be {{\"Tag\": [{{\"Key\": \"...\", \"Value\": \"...\"}}]}}, got {v}"
                ));
            }
            "AggregationInterval" if !(v.is_i64() || v.is_u64()) => {
                return bad(format!("AggregationInterval must be an integer, got {v}"));
            }
            name if STRING_FIELDS.contains(&name) && !v.is_string() => {
                return bad(format!("{name} must be a string, got {v}"));
            }
            "FlowLogId" if v.as_str().is_none_or(str::is_empty) => {
                return bad("FlowLogId must not be empty".to_owned());
            }
            "RegionId" if !v.as_str().is_some_and(is_known_region) => {
                return bad(format!("RegionId {v} is not a known Alibaba Cloud region"));
            }
            _ => {}
        }
    }
    Ok(status)
}

/// `{"Tag": [{"Key": "k", "Value": "v"}, ...]}`, the API's shape.
fn is_tag_set(v: &Value) -> bool {
    v.get("Tag").and_then(Value::as_array).is_some_and(|list| {
        list.iter().all(|t| {
            t.get("Key").is_some_and(Value::is_string)
                && t.get("Value").is_none_or(Value::is_string)
        })
    }) && v.as_object().is_some_and(|o| o.len() == 1)
}

fn defaults(id: &str) -> Map<String, Value> {
    let now = time::OffsetDateTime::now_utc()
        .format(CREATION_TIME_FORMAT)
        .unwrap_or_default();
    let mut m = Map::new();
    for (k, v) in [
        ("FlowLogId", Value::from(id)),
        ("RegionId", "cn-hangzhou".into()),
        ("FlowLogName", "".into()),
        ("Description", "".into()),
        ("ResourceType", "VPC".into()),
        ("ResourceId", "".into()),
        ("TrafficType", "All".into()),
        ("ProjectName", "".into()),
        ("LogStoreName", "".into()),
        ("BusinessStatus", "Normal".into()),
        ("CreationTime", now.into()),
        ("AggregationInterval", 10.into()),
        ("ServiceType", "".into()),
        ("IpVersion", "IPv4".into()),
        ("FlowLogDeliverStatus", "SUCCESS".into()),
        ("ResourceGroupId", "".into()),
        ("Tags", json!({"Tag": []})),
    ] {
        m.insert(k.to_owned(), v);
    }
    m
}

impl Store {
    /// Builds the store from the seed's array; every entry needs a unique `FlowLogId`.
    pub fn from_seed(seed: &Value) -> Result<Store, EmulatorError> {
        let mut store = Store::default();
        store.upsert_many(seed, Instant::now())?;
        Ok(store)
    }

    /// Creates or merges every flow log of a JSON array (the seed file's shape), all or
    /// nothing: a bad entry leaves the store as it was. Returns (created, updated).
    pub fn upsert_many(
        &mut self,
        items: &Value,
        now: Instant,
    ) -> Result<(usize, usize), EmulatorError> {
        let Some(items) = items.as_array() else {
            return Err(EmulatorError::FlowLog(
                "expected a JSON array of flow log objects".to_owned(),
            ));
        };
        let mut checked = Vec::with_capacity(items.len());
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = |msg: String| EmulatorError::FlowLog(format!("entry {i}: {msg}"));
            let Some(obj) = item.as_object() else {
                return Err(at("not a JSON object".to_owned()));
            };
            let id = match obj.get("FlowLogId") {
                Some(Value::String(id)) if !id.is_empty() => id.as_str(),
                _ => return Err(at("FlowLogId (a non-empty string) is required".to_owned())),
            };
            if !seen.insert(id) {
                return Err(at(format!("duplicate FlowLogId {id}")));
            }
            let status = validate(obj).map_err(|e| at(e.to_string()))?;
            checked.push((id, obj, status));
        }
        self.settle(now);
        // One index instead of a scan per entry: bulk loads of thousands stay linear.
        let mut index: std::collections::HashMap<String, usize> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id().to_owned(), i))
            .collect();
        let (mut created, mut updated) = (0, 0);
        for (id, obj, status) in checked {
            let i = match index.get(id) {
                Some(&i) => {
                    updated += 1;
                    i
                }
                None => {
                    created += 1;
                    self.push_default(id);
                    index.insert(id.to_owned(), self.entries.len() - 1);
                    self.entries.len() - 1
                }
            };
            self.entries[i].merge(obj, status);
        }
        Ok((created, updated))
    }

    fn push_default(&mut self, id: &str) {
        self.entries.push(Entry {
            fields: defaults(id),
            status: Status::Inactive,
            settles_at: None,
            settles_to: Status::Inactive,
            vanishes_at: None,
            pending: None,
        });
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.id() == id)
    }

    fn settle(&mut self, now: Instant) {
        self.entries.retain_mut(|e| e.settle(now));
    }

    pub fn all(&mut self, now: Instant) -> Vec<Value> {
        self.settle(now);
        self.entries.iter().map(Entry::to_value).collect()
    }

    pub fn get(&mut self, id: &str, now: Instant) -> Option<Value> {
        self.settle(now);
        self.position(id).map(|i| self.entries[i].to_value())
    }

    /// Creates (with defaults) or merges into a flow log. A status set here is taken as is and
    /// never settles by itself, so tests can hold a flow log in `Activating` as long as needed.
    /// Returns the flow log and whether it was created.
    pub fn upsert(
        &mut self,
        id: &str,
        patch: &Map<String, Value>,
        now: Instant,
    ) -> Result<(Value, bool), EmulatorError> {
        if id.is_empty() {
            return Err(EmulatorError::FlowLog(
                "FlowLogId must not be empty".to_owned(),
            ));
        }
        if let Some(other) = patch.get("FlowLogId").filter(|v| v.as_str() != Some(id)) {
            return Err(EmulatorError::FlowLog(format!(
                "FlowLogId {other} in the body differs from {id} in the path"
            )));
        }
        let status = validate(patch)?;
        self.settle(now);
        let (index, created) = match self.position(id) {
            Some(i) => (i, false),
            None => {
                self.push_default(id);
                (self.entries.len() - 1, true)
            }
        };
        let entry = &mut self.entries[index];
        entry.merge(patch, status);
        Ok((entry.to_value(), created))
    }

    pub fn delete(&mut self, id: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id() != id);
        self.entries.len() != before
    }

    /// ActiveFlowLog (`activate`) or DeactiveFlowLog (`!activate`) on a flow log of `region`.
    /// `fate` is asked once the change is accepted, never for a refused one: a background fault
    /// makes it settle back where it started, or deletes the flow log halfway through the delay.
    pub fn toggle(
        &mut self,
        region: &str,
        id: &str,
        activate: bool,
        delay: Duration,
        now: Instant,
        fate: impl FnOnce() -> Fate,
    ) -> Result<(), Refusal> {
        self.settle(now);
        let index = self
            .entries
            .iter()
            .position(|e| e.id() == id && e.str_field("RegionId") == region)
            .ok_or(Refusal::NotFound)?;
        let entry = &mut self.entries[index];
        if entry.str_field("ServiceType").eq_ignore_ascii_case("sls") {
            return Err(Refusal::Managed);
        }
        if entry.str_field("BusinessStatus") == "FinancialLocked" {
            return Err(Refusal::FinanciallyLocked);
        }
        let (from, via) = if activate {
            (Status::Inactive, Status::Activating)
        } else {
            (Status::Active, Status::Deactivating)
        };
        if entry.status != from {
            return Err(Refusal::WrongStatus(entry.status.clone()));
        }
        let fate = fate();
        let to = if fate == Fate::Fail {
            via.falls_back_to()
        } else {
            via.settles_to()
        }
        .unwrap_or(from);
        if delay.is_zero() {
            if fate == Fate::Vanish {
                self.entries.remove(index);
                return Ok(());
            }
            entry.status = to;
            entry.settles_at = None;
        } else {
            entry.status = via;
            entry.settles_at = now.checked_add(delay).or(Some(now));
            entry.settles_to = to;
            entry.vanishes_at =
                (fate == Fate::Vanish).then(|| now.checked_add(delay / 2).unwrap_or(now));
        }
        Ok(())
    }

    fn find(&self, region: &str, id: &str) -> Result<usize, Refusal> {
        self.entries
            .iter()
            .position(|e| e.id() == id && e.str_field("RegionId") == region)
            .ok_or(Refusal::NotFound)
    }

    /// The next `fl-emuNNN...` ID no flow log has (a seed may have taken one).
    fn new_id(&mut self) -> String {
        loop {
            self.created += 1;
            let id = format!("fl-emu{:017}", self.created);
            if self.position(&id).is_none() {
                return id;
            }
        }
    }

    /// CreateFlowLog: a new flow log, `Activating` for `delay`, then `Active` (`Inactive`
    /// when `fate` fails it; gone halfway through when it vanishes). Returns its ID, which
    /// `fate` is asked about once it is chosen.
    pub fn create(
        &mut self,
        new: NewFlowLog,
        delay: Duration,
        now: Instant,
        fate: impl FnOnce(&str) -> Fate,
    ) -> String {
        self.settle(now);
        let id = self.new_id();
        let fate = fate(&id);
        let mut fields = defaults(&id);
        fields.extend(new.fields);
        let mut entry = Entry {
            fields,
            status: Status::Activating,
            settles_at: None,
            settles_to: Status::Active,
            vanishes_at: None,
            pending: None,
        };
        entry.set_tags(&new.tags);
        let to = if fate == Fate::Fail {
            Status::Activating.falls_back_to()
        } else {
            Status::Activating.settles_to()
        }
        .unwrap_or(Status::Active);
        if delay.is_zero() {
            if fate == Fate::Vanish {
                return id;
            }
            entry.status = to;
        } else {
            entry.settles_at = now.checked_add(delay).or(Some(now));
            entry.settles_to = to;
            entry.vanishes_at =
                (fate == Fate::Vanish).then(|| now.checked_add(delay / 2).unwrap_or(now));
        }
        self.entries.push(entry);
        id
    }

    /// DeleteFlowLog: `Deleting` for `delay`, then gone.
    pub fn begin_delete(
        &mut self,
        region: &str,
        id: &str,
        delay: Duration,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.settle(now);
        let index = self.find(region, id)?;
        let entry = &mut self.entries[index];
        entry.check_changeable()?;
        if delay.is_zero() {
            self.entries.remove(index);
        } else {
            entry.status = Status::Deleting;
            entry.settles_at = None;
            entry.vanishes_at = Some(now.checked_add(delay).unwrap_or(now));
        }
        Ok(())
    }

    /// ModifyFlowLogAttribute: `Modifying` for `delay`, then back to the status it had, with
    /// `patch` applied (not applied when `fate` fails it).
    pub fn modify(
        &mut self,
        region: &str,
        id: &str,
        patch: Map<String, Value>,
        delay: Duration,
        now: Instant,
        fate: impl FnOnce() -> Fate,
    ) -> Result<(), Refusal> {
        self.settle(now);
        let index = self.find(region, id)?;
        let entry = &mut self.entries[index];
        entry.check_changeable()?;
        if entry.str_field("BusinessStatus") == "FinancialLocked" {
            return Err(Refusal::FinanciallyLocked);
        }
        let fate = fate();
        let pending = (fate != Fate::Fail).then_some(patch);
        if delay.is_zero() {
            if fate == Fate::Vanish {
                self.entries.remove(index);
                return Ok(());
            }
            entry.pending = pending;
            entry.apply_pending();
        } else {
            entry.settles_to = entry.status.clone();
            entry.status = Status::Modifying;
            entry.settles_at = now.checked_add(delay).or(Some(now));
            entry.pending = pending;
            entry.vanishes_at =
                (fate == Fate::Vanish).then(|| now.checked_add(delay / 2).unwrap_or(now));
        }
        Ok(())
    }

    /// MoveResourceGroup: takes effect at once (whether the real one is asynchronous is not
    /// documented).
    pub fn move_group(
        &mut self,
        region: &str,
        id: &str,
        group: &str,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.settle(now);
        let index = self.find(region, id)?;
        self.entries[index]
            .fields
            .insert("ResourceGroupId".to_owned(), Value::from(group));
        Ok(())
    }

    /// TagResources: adds or overwrites `tags` on every flow log of `ids`; all or nothing.
    pub fn tag(
        &mut self,
        region: &str,
        ids: &[String],
        tags: &[(String, String)],
        max: usize,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.settle(now);
        let mut updates = Vec::with_capacity(ids.len());
        for id in ids {
            let index = self.find(region, id)?;
            let mut merged = self.entries[index].tags();
            for (k, v) in tags {
                match merged.iter_mut().find(|(mk, _)| mk == k) {
                    Some(slot) => slot.1 = v.clone(),
                    None => merged.push((k.clone(), v.clone())),
                }
            }
            if merged.len() > max {
                return Err(Refusal::TooManyTags(merged.len()));
            }
            updates.push((index, merged));
        }
        for (index, merged) in updates {
            self.entries[index].set_tags(&merged);
        }
        Ok(())
    }

    /// UnTagResources: removes `keys` (every tag with `None`) from every flow log of `ids`;
    /// a key a flow log does not have is no error. All or nothing.
    pub fn untag(
        &mut self,
        region: &str,
        ids: &[String],
        keys: Option<&[String]>,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.settle(now);
        let indexes = ids
            .iter()
            .map(|id| self.find(region, id))
            .collect::<Result<Vec<_>, _>>()?;
        for index in indexes {
            let kept: Vec<(String, String)> = match keys {
                None => Vec::new(),
                Some(keys) => self.entries[index]
                    .tags()
                    .into_iter()
                    .filter(|(k, _)| !keys.contains(k))
                    .collect(),
            };
            self.entries[index].set_tags(&kept);
        }
        Ok(())
    }

    /// ListTagResources: `(id, key, value)` for every tag of the flow logs of `region` that
    /// are among `ids` (any, when `None`) and carry every tag of `filter`, in creation order.
    pub fn tag_rows(
        &mut self,
        region: &str,
        ids: Option<&[String]>,
        filter: &[(String, Option<String>)],
        now: Instant,
    ) -> Vec<(String, String, String)> {
        self.settle(now);
        self.entries
            .iter()
            .filter(|e| e.str_field("RegionId") == region)
            .filter(|e| ids.is_none_or(|ids| ids.iter().any(|i| i == e.id())))
            .filter(|e| e.has_tags(filter))
            .flat_map(|e| e.tags().into_iter().map(|(k, v)| (e.id().to_owned(), k, v)))
            .collect()
    }

    /// One page of the flow logs of `region` matching every `(field, value)` filter and
    /// carrying every tag of `tags`, and the total number that match.
    pub fn describe(
        &mut self,
        region: &str,
        filters: &[(&str, &str)],
        tags: &[(String, Option<String>)],
        page_number: usize,
        page_size: usize,
        now: Instant,
    ) -> (usize, Vec<Value>) {
        self.settle(now);
        let matching: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.str_field("RegionId") == region)
            .filter(|e| filters.iter().all(|(f, v)| e.matches(f, v)))
            .filter(|e| e.has_tags(tags))
            .collect();
        let skip = page_number.saturating_sub(1).saturating_mul(page_size);
        let page = matching
            .iter()
            .skip(skip)
            .take(page_size)
            .map(|e| e.to_value())
            .collect();
        (matching.len(), page)
    }
}

/// Reads and checks a seed file.
pub fn load_seed(path: &std::path::Path) -> Result<Store, EmulatorError> {
    let seed_err = |reason: String| EmulatorError::Seed {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| seed_err(e.to_string()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| seed_err(format!("not valid JSON: {e}")))?;
    Store::from_seed(&value).map_err(|e| seed_err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_pass_through_fields() {
        let mut s = Store::from_seed(&json!([{"FlowLogId": "fl-1", "Tags": {"Tag": []}}]))
            .unwrap_or_default();
        let v = s.get("fl-1", Instant::now()).unwrap_or_default();
        assert_eq!(v["Status"], "Inactive");
        assert_eq!(v["RegionId"], "cn-hangzhou");
        assert_eq!(v["AggregationInterval"], 10);
        assert_eq!(v["Tags"], json!({"Tag": []}));
        assert_eq!(v["CreationTime"].as_str().map(str::len), Some(20));
    }

    #[test]
    fn bad_seeds() {
        for seed in [
            json!({}),
            json!([1]),
            json!([{}]),
            json!([{"FlowLogId": ""}]),
            json!([{"FlowLogId": "a"}, {"FlowLogId": "a"}]),
            json!([{"FlowLogId": "a", "Status": "Running"}]),
            json!([{"FlowLogId": "a", "AggregationInterval": "10"}]),
            json!([{"FlowLogId": "a", "RegionId": "mars-1"}]),
            json!([{"FlowLogId": "a", "ProjectName": 3}]),
        ] {
            assert!(Store::from_seed(&seed).is_err(), "{seed} accepted");
        }
    }

    #[test]
    fn bulk_upsert_is_all_or_nothing_and_keeps_order() {
        let mut s = Store::from_seed(&json!([{"FlowLogId": "fl-0"}])).unwrap_or_default();
        let now = Instant::now();
        let items: Vec<Value> = (0..3000)
            .map(|i| json!({"FlowLogId": format!("fl-{i}"), "FlowLogName": "bulk"}))
            .collect();
        assert_eq!(
            s.upsert_many(&Value::from(items), now).ok(),
            Some((2999, 1))
        );
        let (total, page) = s.describe("cn-hangzhou", &[("FlowLogName", "bulk")], &[], 2, 50, now);
        assert_eq!(total, 3000);
        assert_eq!(page[0]["FlowLogId"], "fl-50");
        let bad = json!([{"FlowLogId": "fl-new"}, {"FlowLogId": "fl-x", "Status": "On"}]);
        assert!(s.upsert_many(&bad, now).is_err());
        assert!(s.get("fl-new", now).is_none());
    }

    #[test]
    fn state_machine_settles_lazily() {
        let mut s = Store::from_seed(&json!([{"FlowLogId": "fl-1"}])).unwrap_or_default();
        let t0 = Instant::now();
        let d = Duration::from_secs(5);
        assert_eq!(
            s.toggle("cn-beijing", "fl-1", true, d, t0, Fate::default),
            Err(Refusal::NotFound)
        );
        assert_eq!(
            s.toggle("cn-hangzhou", "fl-1", true, d, t0, Fate::default),
            Ok(())
        );
        assert_eq!(
            s.get("fl-1", t0).unwrap_or_default()["Status"],
            "Activating"
        );
        assert_eq!(
            s.toggle("cn-hangzhou", "fl-1", true, d, t0, Fate::default),
            Err(Refusal::WrongStatus(Status::Activating))
        );
        let t1 = t0 + d;
        assert_eq!(s.get("fl-1", t1).unwrap_or_default()["Status"], "Active");
        assert_eq!(
            s.toggle(
                "cn-hangzhou",
                "fl-1",
                false,
                Duration::ZERO,
                t1,
                Fate::default
            ),
            Ok(())
        );
        assert_eq!(s.get("fl-1", t1).unwrap_or_default()["Status"], "Inactive");
    }

    fn status(s: &mut Store, id: &str, at: Instant) -> Option<String> {
        s.get(id, at)
            .and_then(|v| v["Status"].as_str().map(str::to_owned))
    }

    #[test]
    fn background_failures_settle_back() {
        let mut s = Store::from_seed(&json!([
            {"FlowLogId": "fl-1"},
            {"FlowLogId": "fl-2", "Status": "Active"}
        ]))
        .unwrap_or_default();
        let t0 = Instant::now();
        let d = Duration::from_secs(2);
        let hz = "cn-hangzhou";
        assert_eq!(s.toggle(hz, "fl-1", true, d, t0, || Fate::Fail), Ok(()));
        assert_eq!(s.toggle(hz, "fl-2", false, d, t0, || Fate::Fail), Ok(()));
        assert_eq!(status(&mut s, "fl-1", t0).as_deref(), Some("Activating"));
        assert_eq!(status(&mut s, "fl-2", t0).as_deref(), Some("Deactivating"));
        let t1 = t0 + d;
        assert_eq!(status(&mut s, "fl-1", t1).as_deref(), Some("Inactive"));
        assert_eq!(status(&mut s, "fl-2", t1).as_deref(), Some("Active"));
        // Nothing pending afterwards: the next change is judged afresh.
        assert_eq!(s.toggle(hz, "fl-1", true, d, t1, Fate::default), Ok(()));
        assert_eq!(status(&mut s, "fl-1", t1 + d).as_deref(), Some("Active"));
        // With no delay the failure is immediate.
        assert_eq!(
            s.toggle(hz, "fl-2", false, Duration::ZERO, t1, || Fate::Fail),
            Ok(())
        );
        assert_eq!(status(&mut s, "fl-2", t1).as_deref(), Some("Active"));
    }

    #[test]
    fn fate_is_asked_only_for_accepted_changes() {
        let mut s = Store::from_seed(&json!([{"FlowLogId": "fl-1", "Status": "Active"}]))
            .unwrap_or_default();
        let mut asked = 0;
        let r = s.toggle(
            "cn-hangzhou",
            "fl-1",
            true,
            Duration::ZERO,
            Instant::now(),
            || {
                asked += 1;
                Fate::Fail
            },
        );
        assert_eq!(r, Err(Refusal::WrongStatus(Status::Active)));
        assert_eq!(asked, 0);
    }

    #[test]
    fn deletion_mid_wait() {
        let mut s = Store::from_seed(&json!([
            {"FlowLogId": "fl-1"},
            {"FlowLogId": "fl-2"},
            {"FlowLogId": "fl-3"}
        ]))
        .unwrap_or_default();
        let t0 = Instant::now();
        let d = Duration::from_secs(2);
        let hz = "cn-hangzhou";
        assert_eq!(s.toggle(hz, "fl-1", true, d, t0, || Fate::Vanish), Ok(()));
        assert_eq!(s.toggle(hz, "fl-2", true, d, t0, Fate::default), Ok(()));
        let before = t0 + d / 2 - Duration::from_millis(1);
        assert_eq!(
            status(&mut s, "fl-1", before).as_deref(),
            Some("Activating")
        );
        let half = t0 + d / 2;
        assert_eq!(status(&mut s, "fl-1", half), None);
        assert_eq!(s.all(half).len(), 2);
        assert_eq!(
            s.describe(hz, &[("Status", "Activating")], &[], 1, 50, half)
                .0,
            1
        );
        assert_eq!(
            s.toggle(hz, "fl-1", true, d, half, Fate::default),
            Err(Refusal::NotFound)
        );
        assert_eq!(status(&mut s, "fl-2", t0 + d).as_deref(), Some("Active"));
        // No delay: gone before the answer.
        assert_eq!(
            s.toggle(hz, "fl-3", true, Duration::ZERO, t0, || Fate::Vanish),
            Ok(())
        );
        assert_eq!(status(&mut s, "fl-3", t0), None);
        // Restored (as a chaos campaign does), it is an ordinary flow log again.
        let restored = json!([{"FlowLogId": "fl-1", "Status": "Inactive"}]);
        assert_eq!(s.upsert_many(&restored, t0 + d).ok(), Some((1, 0)));
        assert_eq!(
            status(&mut s, "fl-1", t0 + d * 10).as_deref(),
            Some("Inactive")
        );
    }

    #[test]
    fn a_status_set_by_a_control_cancels_a_pending_deletion() {
        let mut s = Store::from_seed(&json!([{"FlowLogId": "fl-1"}])).unwrap_or_default();
        let t0 = Instant::now();
        let d = Duration::from_secs(2);
        assert_eq!(
            s.toggle("cn-hangzhou", "fl-1", true, d, t0, || Fate::Vanish),
            Ok(())
        );
        let mut patch = Map::new();
        patch.insert("Status".to_owned(), "Activating".into());
        assert!(s.upsert("fl-1", &patch, t0).is_ok());
        assert_eq!(
            status(&mut s, "fl-1", t0 + d * 2).as_deref(),
            Some("Activating")
        );
    }

    fn new_flow_log(name: &str) -> NewFlowLog {
        let mut fields = Map::new();
        fields.insert("FlowLogName".to_owned(), name.into());
        fields.insert("ResourceId".to_owned(), "vpc-abc".into());
        NewFlowLog {
            fields,
            tags: vec![("env".to_owned(), "test".to_owned())],
        }
    }

    #[test]
    fn creation_activates_after_the_delay_and_ids_count_up() {
        let mut s = Store::from_seed(&json!([{"FlowLogId": "fl-emu00000000000000002"}]))
            .unwrap_or_default();
        let t0 = Instant::now();
        let d = Duration::from_secs(2);
        let first = s.create(new_flow_log("a"), d, t0, |_| Fate::Settle);
        assert_eq!(first, "fl-emu00000000000000001");
        // A seed holding the next ID is skipped.
        let second = s.create(new_flow_log("b"), d, t0, |_| Fate::Fail);
        assert_eq!(second, "fl-emu00000000000000003");
        let third = s.create(new_flow_log("c"), d, t0, |_| Fate::Vanish);
        let v = s.get(&first, t0).unwrap_or_default();
        assert_eq!(v["Status"], "Activating");
        assert_eq!(v["FlowLogName"], "a");
        assert_eq!(v["Tags"], json!({"Tag": [{"Key": "env", "Value": "test"}]}));
        assert_eq!(v["BusinessStatus"], "Normal");
        assert_eq!(status(&mut s, &third, t0 + d / 2), None);
        assert_eq!(status(&mut s, &first, t0 + d).as_deref(), Some("Active"));
        assert_eq!(status(&mut s, &second, t0 + d).as_deref(), Some("Inactive"));
        // No delay: settled (or gone) before the answer.
        let now = s.create(new_flow_log("d"), Duration::ZERO, t0, |_| Fate::Settle);
        assert_eq!(status(&mut s, &now, t0).as_deref(), Some("Active"));
        let gone = s.create(new_flow_log("e"), Duration::ZERO, t0, |_| Fate::Vanish);
        assert_eq!(status(&mut s, &gone, t0), None);
    }

    #[test]
    fn deletion_has_a_deleting_phase_and_blocks_every_change() {
        let mut s = Store::from_seed(&json!([
            {"FlowLogId": "fl-1", "Status": "Active"},
            {"FlowLogId": "fl-2", "Status": "Inactive"}
        ]))
        .unwrap_or_default();
        let (t0, d, hz) = (Instant::now(), Duration::from_secs(2), "cn-hangzhou");
        assert_eq!(
            s.begin_delete("cn-beijing", "fl-1", d, t0),
            Err(Refusal::NotFound)
        );
        assert_eq!(s.begin_delete(hz, "fl-1", d, t0), Ok(()));
        assert_eq!(status(&mut s, "fl-1", t0).as_deref(), Some("Deleting"));
        let busy = Err(Refusal::WrongStatus(Status::Deleting));
        assert_eq!(s.begin_delete(hz, "fl-1", d, t0), busy);
        assert_eq!(s.toggle(hz, "fl-1", false, d, t0, Fate::default), busy);
        assert_eq!(s.modify(hz, "fl-1", Map::new(), d, t0, Fate::default), busy);
        let before = t0 + d - Duration::from_millis(1);
        assert_eq!(status(&mut s, "fl-1", before).as_deref(), Some("Deleting"));
        assert_eq!(status(&mut s, "fl-1", t0 + d), None);
        assert_eq!(
            s.begin_delete(hz, "fl-1", d, t0 + d),
            Err(Refusal::NotFound)
        );
        // No delay: gone before the answer.
        assert_eq!(s.begin_delete(hz, "fl-2", Duration::ZERO, t0), Ok(()));
        assert_eq!(status(&mut s, "fl-2", t0), None);
    }

    #[test]
    fn modification_lands_when_it_settles_back_where_it_was() {
        let mut s = Store::from_seed(&json!([
            {"FlowLogId": "fl-1", "Status": "Inactive", "FlowLogName": "old"},
            {"FlowLogId": "fl-2", "Status": "Active", "FlowLogName": "old"},
            {"FlowLogId": "fl-3", "Status": "Activating"},
            {"FlowLogId": "fl-4", "ServiceType": "sls"}
        ]))
        .unwrap_or_default();
        let (t0, d, hz) = (Instant::now(), Duration::from_secs(2), "cn-hangzhou");
        let mut patch = Map::new();
        patch.insert("FlowLogName".to_owned(), "new".into());
        patch.insert("AggregationInterval".to_owned(), 1.into());
        assert_eq!(
            s.modify(hz, "fl-1", patch.clone(), d, t0, Fate::default),
            Ok(())
        );
        let v = s.get("fl-1", t0).unwrap_or_default();
        assert_eq!(
            (v["Status"].as_str(), v["FlowLogName"].as_str()),
            (Some("Modifying"), Some("old"))
        );
        let busy = Err(Refusal::WrongStatus(Status::Modifying));
        assert_eq!(s.toggle(hz, "fl-1", true, d, t0, Fate::default), busy);
        assert_eq!(
            s.modify(hz, "fl-1", patch.clone(), d, t0, Fate::default),
            busy
        );
        assert_eq!(s.begin_delete(hz, "fl-1", d, t0), busy);
        let v = s.get("fl-1", t0 + d).unwrap_or_default();
        assert_eq!(v["Status"], "Inactive");
        assert_eq!(v["FlowLogName"], "new");
        assert_eq!(v["AggregationInterval"], 1);
        // A failed modification goes back unchanged.
        assert_eq!(
            s.modify(hz, "fl-2", patch.clone(), d, t0, || Fate::Fail),
            Ok(())
        );
        let v = s.get("fl-2", t0 + d).unwrap_or_default();
        assert_eq!(
            (v["Status"].as_str(), v["FlowLogName"].as_str()),
            (Some("Active"), Some("old"))
        );
        assert_eq!(
            s.modify(hz, "fl-3", patch.clone(), d, t0, Fate::default),
            Err(Refusal::WrongStatus(Status::Activating))
        );
        assert_eq!(
            s.modify(hz, "fl-4", patch, d, t0, Fate::default),
            Err(Refusal::Managed)
        );
    }

    #[test]
    fn tags_and_resource_groups() {
        let mut s = Store::from_seed(&json!([
            {"FlowLogId": "fl-1"},
            {"FlowLogId": "fl-2", "Tags": {"Tag": [{"Key": "team", "Value": "net"}]}}
        ]))
        .unwrap_or_default();
        let (t0, hz) = (Instant::now(), "cn-hangzhou");
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            s.tag(
                hz,
                &ids(&["fl-1", "fl-2"]),
                &[kv("env", "a"), kv("team", "sec")],
                20,
                t0
            ),
            Ok(())
        );
        assert_eq!(
            s.get("fl-2", t0).unwrap_or_default()["Tags"],
            json!({"Tag": [{"Key": "team", "Value": "sec"}, {"Key": "env", "Value": "a"}]})
        );
        // All or nothing: an unknown ID or a tag too many changes no flow log.
        assert_eq!(
            s.tag(hz, &ids(&["fl-1", "fl-9"]), &[kv("x", "1")], 20, t0),
            Err(Refusal::NotFound)
        );
        assert_eq!(
            s.tag(hz, &ids(&["fl-1", "fl-2"]), &[kv("x", "1")], 2, t0),
            Err(Refusal::TooManyTags(3))
        );
        assert_eq!(s.tag_rows(hz, Some(&ids(&["fl-1"])), &[], t0).len(), 2);
        let only_env = [("env".to_owned(), Some("a".to_owned()))];
        assert_eq!(s.describe(hz, &[], &only_env, 1, 50, t0).0, 2);
        let key_only = [("team".to_owned(), None)];
        assert_eq!(s.describe(hz, &[], &key_only, 1, 50, t0).0, 2);
        assert_eq!(
            s.untag(hz, &ids(&["fl-2"]), Some(&ids(&["team", "nope"])), t0),
            Ok(())
        );
        assert_eq!(s.describe(hz, &[], &key_only, 1, 50, t0).0, 1);
        assert_eq!(
            s.tag_rows(hz, None, &key_only, t0),
            vec![
                ("fl-1".to_owned(), "env".to_owned(), "a".to_owned()),
                ("fl-1".to_owned(), "team".to_owned(), "sec".to_owned())
            ]
        );
        assert_eq!(s.untag(hz, &ids(&["fl-1"]), None, t0), Ok(()));
        assert_eq!(
            s.get("fl-1", t0).unwrap_or_default()["Tags"],
            json!({"Tag": []})
        );
        assert_eq!(s.move_group(hz, "fl-1", "rg-abc", t0), Ok(()));
        assert_eq!(
            s.get("fl-1", t0).unwrap_or_default()["ResourceGroupId"],
            "rg-abc"
        );
        assert_eq!(
            s.describe(hz, &[("ResourceGroupId", "rg-abc")], &[], 1, 50, t0)
                .0,
            1
        );
        assert_eq!(
            s.move_group(hz, "fl-9", "rg-abc", t0),
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn seeds_may_hold_a_flow_log_modifying_or_deleting_and_tags_must_be_shaped() {
        let mut s = Store::from_seed(&json!([
            {"FlowLogId": "fl-1", "Status": "Modifying"},
            {"FlowLogId": "fl-2", "Status": "Deleting"}
        ]))
        .unwrap_or_default();
        let later = Instant::now() + Duration::from_secs(3600);
        assert_eq!(status(&mut s, "fl-1", later).as_deref(), Some("Modifying"));
        assert_eq!(status(&mut s, "fl-2", later).as_deref(), Some("Deleting"));
        for bad in [
            json!([{"FlowLogId": "a", "Tags": []}]),
            json!([{"FlowLogId": "a", "Tags": {"Tag": [{"Value": "v"}]}}]),
            json!([{"FlowLogId": "a", "Tags": {"Tag": [], "More": 1}}]),
        ] {
            assert!(Store::from_seed(&bad).is_err(), "{bad} accepted");
        }
    }
}
