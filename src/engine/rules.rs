//! Rules every resource and data source obeys, written once: validation of `timeouts`,
//! planning (unknown computed values on create, defaults, prior values kept, requires-replace,
//! destroy plans), apply dispatch, read, import, state upgrade, and data source reads. Resources
//! only add what is theirs.

use std::time::Duration;

use super::duration::parse_go_duration;
use crate::diag::{AttrPath, Diagnostics};
use crate::resource::{Ctx, DataSource, PlanRequest, Resource};
use crate::schema::Block;
use crate::tfvalue::{self, Value};

/// Validates a resource configuration: the common `timeouts` rules, then the resource's own.
pub fn validate(res: &dyn Resource, config: &Value, diags: &mut Diagnostics) {
    if config.is_null() || config.is_unknown() {
        return;
    }
    validate_timeouts(&res.schema().block, config, diags);
    res.validate(config, diags);
}

fn validate_timeouts(block: &Block, config: &Value, diags: &mut Diagnostics) {
    let Some(timeouts) = block.nested("timeouts") else {
        return;
    };
    let Some(value) = config.get("timeouts") else {
        return;
    };
    for attr in &timeouts.block.attributes {
        if let Some(s) = value.get(attr.name).and_then(Value::as_str)
            && let Err(e) = parse_go_duration(s)
        {
            diags.attr_error(
                AttrPath::attr("timeouts").then_attr(attr.name),
                "Invalid timeout duration",
                e.to_string(),
            );
        }
    }
}

/// The timeout for `operation` from a state or plan's `timeouts` block, else `default`.
/// Values were validated at plan time; an unparsable one falls back to the default.
pub fn timeout(state: &Value, operation: &str, default: Duration) -> Duration {
    state
        .get("timeouts")
        .and_then(|t| t.get(operation))
        .and_then(Value::as_str)
        .and_then(|s| parse_go_duration(s).ok())
        .unwrap_or(default)
}

pub struct Plan {
    pub planned: Value,
    pub requires_replace: Vec<AttrPath>,
}

/// Plans a change from Terraform's proposed new state.
pub fn plan(
    res: &dyn Resource,
    ctx: &Ctx,
    prior: &Value,
    proposed: &Value,
    config: &Value,
    diags: &mut Diagnostics,
) -> Plan {
    // With `plan_destroy`, a destroy arrives as a null proposal and must be planned as null.
    if proposed.is_null() {
        return Plan {
            planned: Value::Null,
            requires_replace: Vec::new(),
        };
    }
    let block = &res.schema().block;
    let creating = prior.is_null();
    let mut planned = proposed.clone();
    for attr in block.attributes.iter().filter(|a| a.computed) {
        let configured = config.get(attr.name).is_some_and(|v| !v.is_null());
        if configured {
            continue;
        }
        let Some(slot) = planned.get_mut(attr.name) else {
            continue;
        };
        if let Some(default) = &attr.default {
            if creating || slot.is_null() {
                *slot = default.clone();
            }
        } else if creating {
            // Nothing can be known yet about a computed value of an object that does not exist.
            *slot = Value::unknown();
        }
        // On update Terraform's proposal already carries the prior value: keep it.
    }
    res.modify_plan(&PlanRequest { ctx, prior, config }, &mut planned, diags);

    let mut requires_replace = Vec::new();
    if !creating {
        for attr in block.attributes.iter().filter(|a| a.force_new) {
            let before = prior.get(attr.name).unwrap_or(&Value::Null);
            let after = planned.get(attr.name).unwrap_or(&Value::Null);
            if before != after {
                requires_replace.push(AttrPath::attr(attr.name));
            }
        }
    }
    Plan {
        planned,
        requires_replace,
    }
}

/// Applies a planned change: create, update or delete, by what is null.
pub async fn apply(
    res: &dyn Resource,
    ctx: &Ctx,
    prior: &Value,
    planned: &Value,
    diags: &mut Diagnostics,
) -> Value {
    if planned.is_null() {
        res.delete(ctx, prior, diags).await;
        // A failed delete keeps the object in state rather than losing track of it.
        return if diags.has_errors() {
            prior.clone()
        } else {
            Value::Null
        };
    }
    let new = if prior.is_null() {
        res.create(ctx, planned, diags).await
    } else {
        res.update(ctx, prior, planned, diags).await
    };
    match new {
        Some(v) if !v.is_wholly_known() => {
            diags.error(
                "Provider bug: unknown value after apply",
                format!(
                    "{} returned a state that still holds unknown values; please report this.",
                    res.type_name()
                ),
            );
            if prior.is_null() {
                Value::Null
            } else {
                prior.clone()
            }
        }
        Some(v) => v,
        None if prior.is_null() => Value::Null,
        None => prior.clone(),
    }
}

pub async fn read(
    res: &dyn Resource,
    ctx: &Ctx,
    current: &Value,
    diags: &mut Diagnostics,
) -> Value {
    if current.is_null() {
        return Value::Null;
    }
    match res.read(ctx, current, diags).await {
        Some(v) => v,
        // Errors keep what we had; only a clean "not found" drops the object.
        None if diags.has_errors() => current.clone(),
        None => Value::Null,
    }
}

pub async fn import(
    res: &dyn Resource,
    ctx: &Ctx,
    id: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    res.import(ctx, id, diags).await
}

/// Decodes state-file JSON with the current schema and lets the resource upgrade it.
pub fn upgrade(
    res: &dyn Resource,
    version: i64,
    json: &[u8],
    diags: &mut Diagnostics,
) -> Option<Value> {
    let schema = res.schema();
    if version > schema.version {
        diags.error(
            "State written by a newer provider",
            format!(
                "The state of this {} was written with schema version {version}, but this provider only knows version {}. Use a newer provider version.",
                res.type_name(),
                schema.version
            ),
        );
        return None;
    }
    match tfvalue::from_json(json, &schema.value_type()) {
        Ok(v) => Some(res.upgrade(version, v, diags)),
        Err(e) => {
            diags.error("Could not read the stored state", e.to_string());
            None
        }
    }
}

/// Validates a data source configuration: the data source's own checks of known values.
pub fn validate_data_source(ds: &dyn DataSource, config: &Value, diags: &mut Diagnostics) {
    if config.is_null() || config.is_unknown() {
        return;
    }
    ds.validate(config, diags);
}

/// Reads a data source; what comes back must be wholly known, else it is a provider bug.
pub async fn read_data_source(
    ds: &dyn DataSource,
    ctx: &Ctx,
    config: &Value,
    diags: &mut Diagnostics,
) -> Value {
    match ds.read(ctx, config, diags).await {
        Some(v) if v.is_wholly_known() => v,
        Some(_) => {
            diags.error(
                "Provider bug: unknown value after read",
                format!(
                    "{} returned a result that still holds unknown values; please report this.",
                    ds.type_name()
                ),
            );
            Value::Null
        }
        None => {
            if !diags.has_errors() {
                diags.error(
                    "Provider bug: no result",
                    format!(
                        "{} returned no result and no error; please report this.",
                        ds.type_name()
                    ),
                );
            }
            Value::Null
        }
    }
}
