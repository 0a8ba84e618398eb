//! One small conversion per concept between tfplugin5 messages and our types. Generated
//! protobuf types stop here.

use super::pb;
use crate::diag::{Diagnostic, Diagnostics, PathStep, Severity};
use crate::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use crate::tfvalue::{self, Type, Value};

pub fn diagnostics(diags: Diagnostics) -> Vec<pb::Diagnostic> {
    diags.0.into_iter().map(diagnostic).collect()
}

fn diagnostic(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        } as i32,
        summary: d.summary,
        detail: d.detail,
        attribute: d.path.map(|p| attribute_path(&p)),
    }
}

pub fn attribute_path(path: &crate::diag::AttrPath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: path
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

pub fn schema(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block(&s.block)),
    }
}

fn block(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b.blocks.iter().map(nested_block).collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: a.name.to_owned(),
        r#type: a.ty.to_json_bytes(),
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: false,
    }
}

fn nested_block(n: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    pb::schema::NestedBlock {
        type_name: n.name.to_owned(),
        block: Some(block(&n.block)),
        nesting: match n.nesting {
            Nesting::Single => NestingMode::Single,
            Nesting::List => NestingMode::List,
            Nesting::Set => NestingMode::Set,
        } as i32,
        min_items: n.min_items,
        max_items: n.max_items,
    }
}

/// Decodes a request value; msgpack is what Terraform sends, JSON is accepted too. A missing
/// value is null. A malformed one becomes an error diagnostic, never a panic.
pub fn decode(
    v: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(v) = v else { return Some(Value::Null) };
    let result = if !v.msgpack.is_empty() {
        tfvalue::from_msgpack(&v.msgpack, ty)
    } else if !v.json.is_empty() {
        tfvalue::from_json(&v.json, ty)
    } else {
        return Some(Value::Null);
    };
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            let summary = format!("Invalid {what} from Terraform");
            let detail = format!("The provider could not decode the {what}: {e}");
            // Point at the attribute when the problem is inside one.
            if e.path().is_root() {
                diags.error(summary, detail);
            } else {
                diags.attr_error(e.path().clone(), summary, detail);
            }
            None
        }
    }
}

pub fn encode(v: &Value, ty: &Type, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match tfvalue::to_msgpack(v, ty) {
        Ok(msgpack) => Some(pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        }),
        Err(e) => {
            diags.error("Provider bug: could not encode a value", e.to_string());
            None
        }
    }
}
