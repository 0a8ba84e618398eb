//! cty types and their JSON form (`"string"`, `["list","string"]`, `["object",{...}]`), used in
//! schemas (`Schema.Attribute.type`) and inside msgpack/JSON dynamic values.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

use super::{MAX_DEPTH, Step, ValueError, format_path};
use crate::path::AttrPath;

/// A cty type. Object attributes live in a `BTreeMap` because go-cty writes them in sorted key
/// order, and so must we.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    /// `dynamic` (cty's DynamicPseudoType): the concrete type travels with each value.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }

    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }

    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }

    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    pub fn tuple(elems: impl IntoIterator<Item = Type>) -> Type {
        Type::Tuple(elems.into_iter().collect())
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(e) | Type::Set(e) | Type::Map(e) => Some(e),
            _ => None,
        }
    }

    /// Attribute types of an object type.
    pub fn attribute_types(&self) -> Option<&BTreeMap<String, Type>> {
        match self {
            Type::Object(a) => Some(a),
            _ => None,
        }
    }

    /// The cty JSON form, as Terraform expects in schemas and dynamic values.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => Json::from("string"),
            Type::Number => Json::from("number"),
            Type::Bool => Json::from("bool"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec![Json::from("list"), e.to_json()]),
            Type::Set(e) => Json::Array(vec![Json::from("set"), e.to_json()]),
            Type::Map(e) => Json::Array(vec![Json::from("map"), e.to_json()]),
            Type::Object(attrs) => {
                let m: serde_json::Map<String, Json> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                Json::Array(vec![Json::from("object"), Json::Object(m)])
            }
            Type::Tuple(elems) => Json::Array(vec![
                Json::from("tuple"),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// Compact JSON bytes of [`Type::to_json`] (what `Schema.Attribute.type` carries and what
    /// go-cty embeds in msgpack dynamic values).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serialising a serde_json::Value into a Vec cannot fail: no I/O, no non-string keys.
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    /// Parse the cty JSON form. Depth is capped at [`MAX_DEPTH`].
    pub fn from_json(v: &Json) -> Result<Type, ValueError> {
        let mut path = Vec::new();
        parse(v, &mut path, 0)
    }

    /// Parse cty type JSON from bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, ValueError> {
        // serde_json has its own recursion limit (128), so hostile nesting fails there first.
        let v: Json = serde_json::from_slice(bytes).map_err(|e| ValueError::Type {
            path: AttrPath::root(),
            msg: format!("not JSON: {e}"),
        })?;
        Type::from_json(&v)
    }

    /// Whether this type contains `dynamic` anywhere.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(e) | Type::Set(e) | Type::Map(e) => e.has_dynamic(),
            Type::Object(a) => a.values().any(Type::has_dynamic),
            Type::Tuple(t) => t.iter().any(Type::has_dynamic),
        }
    }
}

/// cty's friendly names, used in error messages.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(e) => write!(f, "list of {e}"),
            Type::Set(e) => write!(f, "set of {e}"),
            Type::Map(e) => write!(f, "map of {e}"),
            Type::Object(_) => f.write_str("object"),
            Type::Tuple(_) => f.write_str("tuple"),
        }
    }
}

fn parse(v: &Json, path: &mut Vec<Step>, depth: usize) -> Result<Type, ValueError> {
    let err = |path: &[Step], msg: String| ValueError::Type {
        path: format_path(path),
        msg,
    };
    if depth > MAX_DEPTH {
        return Err(err(
            path,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    match v {
        Json::String(s) => match s.as_str() {
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(err(path, format!("unknown primitive type {other:?}"))),
        },
        Json::Array(items) => {
            let kind = items.first().and_then(Json::as_str).ok_or_else(|| {
                err(
                    path,
                    "a complex type must be an array starting with its kind".into(),
                )
            })?;
            // go-cty allows a third element only for object optional-attribute markers, which
            // belong to type constraints, never to concrete schema or value types.
            if items.len() != 2 {
                return Err(err(
                    path,
                    format!("{kind:?} type must have exactly one argument"),
                ));
            }
            let arg = &items[1];
            match kind {
                "list" => Ok(Type::List(Box::new(parse(arg, path, depth + 1)?))),
                "set" => Ok(Type::Set(Box::new(parse(arg, path, depth + 1)?))),
                "map" => Ok(Type::Map(Box::new(parse(arg, path, depth + 1)?))),
                "object" => {
                    let attrs = arg.as_object().ok_or_else(|| {
                        err(path, "object type needs a JSON object of attributes".into())
                    })?;
                    let mut out = BTreeMap::new();
                    for (name, t) in attrs {
                        path.push(Step::Attr(name.clone()));
                        let t = parse(t, path, depth + 1)?;
                        path.pop();
                        out.insert(name.clone(), t);
                    }
                    Ok(Type::Object(out))
                }
                "tuple" => {
                    let elems = arg.as_array().ok_or_else(|| {
                        err(
                            path,
                            "tuple type needs a JSON array of element types".into(),
                        )
                    })?;
                    let mut out = Vec::with_capacity(elems.len());
                    for (i, t) in elems.iter().enumerate() {
                        path.push(Step::Index(i as i64));
                        out.push(parse(t, path, depth + 1)?);
                        path.pop();
                    }
                    Ok(Type::Tuple(out))
                }
                other => Err(err(path, format!("unknown type kind {other:?}"))),
            }
        }
        _ => Err(err(path, "a type must be a JSON string or array".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_matches_cty() {
        let t = Type::object([
            ("b", Type::list(Type::String)),
            ("a", Type::Number),
            ("c", Type::tuple([Type::Bool, Type::Dynamic])),
            ("d", Type::map(Type::set(Type::String))),
        ]);
        let bytes = t.to_json_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"["object",{"a":"number","b":["list","string"],"c":["tuple",["bool","dynamic"]],"d":["map",["set","string"]]}]"#
        );
        assert_eq!(Type::from_json_bytes(&bytes).unwrap(), t);
    }

    #[test]
    fn rejects_bad_types() {
        for bad in [
            r#""strin""#,
            r#"["list"]"#,
            r#"["list","string","x"]"#,
            r#"["object",["a"]]"#,
            r#"["tuple",{}]"#,
            r#"[1,"string"]"#,
            r#"{"list":"string"}"#,
            r#"["object",{"a":"nope"}]"#,
        ] {
            assert!(Type::from_json_bytes(bad.as_bytes()).is_err(), "{bad}");
        }
        let e = Type::from_json_bytes(br#"["object",{"a":["list","nope"]}]"#).unwrap_err();
        assert_eq!(e.path().to_value_path(), ".a");
    }

    #[test]
    fn depth_is_capped() {
        let mut v = Json::from("string");
        for _ in 0..(MAX_DEPTH + 5) {
            v = Json::Array(vec![Json::from("list"), v]);
        }
        assert!(Type::from_json(&v).is_err());
    }
}
