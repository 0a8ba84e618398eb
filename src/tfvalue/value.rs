//! `Value` (a cty value with null and unknown anywhere) and `Unknown` (with Terraform's
//! refinement payload kept verbatim), plus the small accessors handlers use.

use std::collections::BTreeMap;

use super::msgpack::refinement_nullness;
use super::{Number, Type};

/// An unknown value. Terraform ≥1.6 may send *refined* unknowns (msgpack ext 12 whose payload
/// is a map of refinements: 1 = is-null bool, 2 = string prefix, 3/4 = number bounds, 5/6 =
/// collection length bounds). We keep the payload raw so it round-trips byte for byte.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Unknown {
    /// Raw ext-12 payload; `None` = plain unknown (written as `d4 00 00`).
    pub refinements: Option<Vec<u8>>,
}

impl Unknown {
    /// An unknown refined as "definitely not null" (`c7 03 0c 81 01 c2` on the wire).
    pub fn not_null() -> Unknown {
        Unknown {
            refinements: Some(vec![0x81, 0x01, 0xc2]),
        }
    }

    /// Whether the refinements say the eventual value cannot be null (key 1 present and
    /// `false`). A malformed payload counts as no information.
    pub fn definitely_not_null(&self) -> bool {
        match &self.refinements {
            Some(p) => refinement_nullness(p) == Some(false),
            None => false,
        }
    }
}

/// A cty value. Which variant is valid depends on the `Type` it is read or written with; the
/// type itself is not stored, except for values of `dynamic`-typed attributes (`Dynamic`).
///
/// Equality is structural except that numbers compare by value and sets ignore order.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Unknown(Unknown),
    String(String),
    Number(Number),
    Bool(bool),
    List(Vec<Value>),
    /// Elements in wire order; duplicates are not removed.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// After decoding, keys are exactly the type's attributes.
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// A value of a `dynamic`-typed attribute, carrying its concrete type. A null or unknown
    /// dynamic value whose type is not known is plain `Null` / `Unknown`.
    Dynamic(Type, Box<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Unknown(a), Unknown(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Set(a), Set(b)) => same_multiset(a, b),
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            (Dynamic(ta, a), Dynamic(tb, b)) => ta == tb && a == b,
            _ => false,
        }
    }
}

/// Set equality without ordering (Terraform's sets are unordered). Quadratic, which is fine for
/// the sizes a resource has; no hashing because values hold floats.
fn same_multiset(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (j, y) in b.iter().enumerate() {
            if !used[j] && x == y {
                used[j] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

impl Value {
    /// A known string.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A plain (unrefined) unknown.
    pub fn unknown() -> Value {
        Value::Unknown(Unknown::default())
    }

    /// A known integer.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }

    /// The value inside any `Dynamic` wrappers.
    pub fn unwrap_dynamic(&self) -> &Value {
        let mut v = self;
        while let Value::Dynamic(_, inner) = v {
            v = inner;
        }
        v
    }

    fn unwrap_dynamic_mut(&mut self) -> &mut Value {
        match self {
            Value::Dynamic(_, inner) => inner.unwrap_dynamic_mut(),
            v => v,
        }
    }

    /// Null (looking through a `Dynamic` wrapper).
    pub fn is_null(&self) -> bool {
        matches!(self.unwrap_dynamic(), Value::Null)
    }

    /// Unknown at the top level (looking through a `Dynamic` wrapper).
    pub fn is_unknown(&self) -> bool {
        matches!(self.unwrap_dynamic(), Value::Unknown(_))
    }

    /// No unknown anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Null | Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_dynamic() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unwrap_dynamic() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is exactly one.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number()?.as_i64()
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.unwrap_dynamic() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple.
    pub fn as_slice(&self) -> Option<&[Value]> {
        match self.unwrap_dynamic() {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Entries of a map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_dynamic() {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// An object attribute (looking through a `Dynamic` wrapper).
    pub fn get(&self, attr: &str) -> Option<&Value> {
        match self.unwrap_dynamic() {
            Value::Object(m) => m.get(attr),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, attr: &str) -> Option<&mut Value> {
        match self.unwrap_dynamic_mut() {
            Value::Object(m) => m.get_mut(attr),
            _ => None,
        }
    }

    /// The type a value of a `dynamic` attribute implies, when it is unambiguous: primitives,
    /// objects and tuples of such, and non-empty collections whose known elements agree.
    /// `None` for null, unknown, or empty collections, which need an explicit `Dynamic` wrapper.
    pub fn implied_type(&self) -> Option<Type> {
        match self {
            Value::Null | Value::Unknown(_) => None,
            Value::String(_) => Some(Type::String),
            Value::Number(_) => Some(Type::Number),
            Value::Bool(_) => Some(Type::Bool),
            Value::Dynamic(t, _) => Some(t.clone()),
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| Some((k.clone(), v.implied_type()?)))
                .collect::<Option<BTreeMap<_, _>>>()
                .map(Type::Object),
            Value::Tuple(v) => v
                .iter()
                .map(Value::implied_type)
                .collect::<Option<Vec<_>>>()
                .map(Type::Tuple),
            Value::List(v) => common_type(v.iter()).map(Type::list),
            Value::Set(v) => common_type(v.iter()).map(Type::set),
            Value::Map(m) => common_type(m.values()).map(Type::map),
        }
    }

    /// Short name of the variant, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "unknown",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "bool",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
            Value::Dynamic(..) => "dynamic value",
        }
    }
}

fn common_type<'a>(items: impl Iterator<Item = &'a Value>) -> Option<Type> {
    let mut found: Option<Type> = None;
    for v in items {
        if matches!(v, Value::Null | Value::Unknown(_)) {
            continue;
        }
        let t = v.implied_type()?;
        match &found {
            Some(f) if *f != t => return None,
            Some(_) => {}
            None => found = Some(t),
        }
    }
    found
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refined_unknown_nullness() {
        assert!(Unknown::not_null().definitely_not_null());
        assert!(!Unknown::default().definitely_not_null());
        // {1: true} means "definitely null", not "not null".
        let u = Unknown {
            refinements: Some(vec![0x81, 0x01, 0xc3]),
        };
        assert!(!u.definitely_not_null());
        // Other keys before the nullness key are skipped: {2: "ab", 1: false}.
        let u = Unknown {
            refinements: Some(vec![0x82, 0x02, 0xa2, b'a', b'b', 0x01, 0xc2]),
        };
        assert!(u.definitely_not_null());
        let u = Unknown {
            refinements: Some(vec![0x81, 0x01]),
        };
        assert!(!u.definitely_not_null());
    }

    #[test]
    fn sets_compare_unordered_numbers_by_value() {
        let a = Value::Set(vec![Value::int(1), Value::string("x")]);
        let b = Value::Set(vec![Value::string("x"), Value::Number(Number::Float(1.0))]);
        assert_eq!(a, b);
        assert_ne!(
            Value::List(vec![Value::int(1), Value::int(2)]),
            Value::List(vec![Value::int(2), Value::int(1)])
        );
        assert_ne!(
            Value::Set(vec![Value::int(1), Value::int(1)]),
            Value::Set(vec![Value::int(1), Value::int(2)])
        );
    }

    #[test]
    fn accessors_look_through_dynamic() {
        let obj = Value::Object(BTreeMap::from([("a".to_string(), Value::string("x"))]));
        let mut d = Value::Dynamic(Type::object([("a", Type::String)]), Box::new(obj));
        assert_eq!(d.get("a").and_then(Value::as_str), Some("x"));
        *d.get_mut("a").unwrap() = Value::Null;
        assert!(d.get("a").unwrap().is_null());
        assert!(Value::Dynamic(Type::String, Box::new(Value::Null)).is_null());
        assert!(!Value::List(vec![Value::unknown()]).is_wholly_known());
        assert_eq!(Value::Number(Number::Float(4.0)).as_i64(), Some(4));
    }

    #[test]
    fn implied_types() {
        let v = Value::List(vec![Value::Null, Value::string("a"), Value::unknown()]);
        assert_eq!(v.implied_type(), Some(Type::list(Type::String)));
        assert_eq!(Value::List(vec![]).implied_type(), None);
        assert_eq!(
            Value::List(vec![Value::string("a"), Value::int(1)]).implied_type(),
            None
        );
        let o = Value::Object(BTreeMap::from([(
            "n".to_string(),
            Value::Tuple(vec![Value::Bool(true)]),
        )]));
        assert_eq!(
            o.implied_type(),
            Some(Type::object([("n", Type::tuple([Type::Bool]))]))
        );
    }
}
