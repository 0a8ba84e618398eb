//! The JSON codec for state-file values (`RawState.json` in UpgradeResourceState), following
//! go-cty's `cty/json`: dynamic values as `{"value": ..., "type": ...}`, no unknowns.
//!
//! Decoding uses a small parser of our own because serde_json (without `arbitrary_precision`)
//! turns big numbers into lossy f64s; we keep every number's text. Decoding is lenient the way
//! state upgrades need: attributes missing from the JSON are null, attributes the schema no
//! longer has are ignored, and (as cty's converter does) strings are accepted for numbers and
//! bools, and numbers/bools for strings.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::number::{Canonical, exact_text};
use super::{MAX_DEPTH, Number, Step, Type, Value, ValueError, format_path};
use crate::path::AttrPath;

/// Decode state-file JSON of type `ty`.
pub fn from_json(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ValueError::Decode {
        path: AttrPath::root(),
        msg: "JSON is not valid UTF-8".into(),
    })?;
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    p.ws();
    let tree = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    let mut path = Vec::new();
    decode(&tree, ty, &mut path, 0)
}

/// Encode a wholly known value as go-cty's JSON.
///
/// Numbers that are neither an exact i64 nor an exact f64 (`Number::Big`), and floats whose
/// shortest text is not their exact value, are written as JSON strings holding their exact
/// decimal text, since `serde_json::Value` cannot hold them exactly; `from_json` (and cty) read
/// such strings back as numbers. Infinities have no JSON form and are an error.
pub fn to_json(v: &Value, ty: &Type) -> Result<Json, ValueError> {
    let mut path = Vec::new();
    encode(v, ty, &mut path, 0)
}

/// Parsed JSON keeping number text verbatim and object members in order.
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn describe(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "bool",
            J::Num(_) => "number",
            J::Str(_) => "string",
            J::Arr(_) => "array",
            J::Obj(_) => "object",
        }
    }

    /// For the `type` member of a dynamic value, which `Type::from_json` reads.
    fn to_serde(&self) -> Json {
        match self {
            J::Null => Json::Null,
            J::Bool(b) => Json::Bool(*b),
            J::Num(n) => n
                .parse::<serde_json::Number>()
                .map_or(Json::Null, Json::Number),
            J::Str(s) => Json::String(s.clone()),
            J::Arr(a) => Json::Array(a.iter().map(J::to_serde).collect()),
            J::Obj(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect()),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> ValueError {
        ValueError::Decode {
            path: AttrPath::root(),
            msg: format!("invalid JSON at byte {}: {msg}", self.pos),
        }
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// One value; leading whitespace already skipped. The tree nests twice as deep as values
    /// (a dynamic value adds a wrapper object and a type), hence the doubled cap.
    fn value(&mut self, depth: usize) -> Result<J, ValueError> {
        if depth > 2 * MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.s.get(self.pos) {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') if self.eat(b"null") => Ok(J::Null),
            Some(b't') if self.eat(b"true") => Ok(J::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(J::Bool(false)),
            Some(b'"') => Ok(J::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(J::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(J::Arr(items));
                    }
                    return Err(self.err("expected ',' or ']'"));
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(J::Obj(members));
                }
                loop {
                    self.ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(self.err("expected ':'"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    members.push((k, v));
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(J::Obj(members));
                    }
                    return Err(self.err("expected ',' or '}'"));
                }
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<J, ValueError> {
        let start = self.pos;
        self.eat(b"-");
        if self.eat(b"0") {
            // no leading zeros
        } else if self.digits() == 0 {
            return Err(self.err("invalid number"));
        }
        if self.eat(b".") && self.digits() == 0 {
            return Err(self.err("invalid number"));
        }
        if matches!(self.s.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.s.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        // The input was checked to be UTF-8 and these bytes are ASCII.
        let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        Ok(J::Num(text))
    }

    fn hex4(&mut self) -> Result<u32, ValueError> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let h = std::str::from_utf8(h).map_err(|_| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ValueError> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            // Lone surrogates become U+FFFD, as Go's encoding/json does.
                            if (0xd800..0xdc00).contains(&hi) {
                                let save = self.pos;
                                if self.eat(b"\\u") {
                                    let lo = self.hex4()?;
                                    if (0xdc00..0xe000).contains(&lo) {
                                        let cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                                        char::from_u32(cp).unwrap_or('\u{fffd}')
                                    } else {
                                        self.pos = save;
                                        '\u{fffd}'
                                    }
                                } else {
                                    '\u{fffd}'
                                }
                            } else {
                                char::from_u32(hi).unwrap_or('\u{fffd}')
                            }
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return Err(self.err("control character in string")),
                _ => out.push(c),
            }
        }
        // Raw bytes came from a valid UTF-8 input split only at ASCII, so this cannot fail.
        String::from_utf8(out).map_err(|_| self.err("string is not valid UTF-8"))
    }
}

fn derr(path: &[Step], msg: impl Into<String>) -> ValueError {
    ValueError::Decode {
        path: format_path(path),
        msg: msg.into(),
    }
}

fn decode(j: &J, ty: &Type, path: &mut Vec<Step>, depth: usize) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(derr(
            path,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    if let J::Null = j {
        return Ok(Value::Null);
    }
    let mismatch =
        |path: &[Step], want: &str| derr(path, format!("expected {want}, found {}", j.describe()));
    match ty {
        Type::Dynamic => {
            let J::Obj(members) = j else {
                return Err(mismatch(path, "{\"value\":...,\"type\":...}"));
            };
            let (mut t, mut body) = (None, None);
            for (k, v) in members {
                match k.as_str() {
                    "type" => t = Some(v),
                    "value" => body = Some(v),
                    other => {
                        return Err(derr(
                            path,
                            format!("invalid key {other:?} in dynamically-typed value"),
                        ));
                    }
                }
            }
            let t = t.ok_or_else(|| derr(path, "missing type in dynamically-typed value"))?;
            let body =
                body.ok_or_else(|| derr(path, "missing value in dynamically-typed value"))?;
            let t = Type::from_json(&t.to_serde())
                .map_err(|e| derr(path, format!("dynamic value type: {e}")))?;
            let inner = decode(body, &t, path, depth + 1)?;
            Ok(if t == Type::Dynamic {
                inner
            } else {
                Value::Dynamic(t, Box::new(inner))
            })
        }
        Type::String => match j {
            J::Str(s) => Ok(Value::String(s.clone())),
            J::Num(n) => Ok(Value::String(n.clone())),
            J::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(mismatch(path, "string")),
        },
        Type::Number => match j {
            J::Num(n) | J::Str(n) => Number::from_decimal(n)
                .map(Value::Number)
                .ok_or_else(|| derr(path, format!("{n:?} is not a valid number"))),
            _ => Err(mismatch(path, "number")),
        },
        Type::Bool => match j {
            J::Bool(b) => Ok(Value::Bool(*b)),
            J::Str(s) if s == "true" => Ok(Value::Bool(true)),
            J::Str(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(mismatch(path, "bool")),
        },
        Type::List(et) | Type::Set(et) => {
            let J::Arr(items) = j else {
                return Err(mismatch(path, &ty.to_string()));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i as i64));
                out.push(decode(item, et, path, depth + 1)?);
                path.pop();
            }
            Ok(if matches!(ty, Type::List(_)) {
                Value::List(out)
            } else {
                Value::Set(out)
            })
        }
        Type::Tuple(ets) => {
            let J::Arr(items) = j else {
                return Err(mismatch(path, "tuple"));
            };
            if items.len() != ets.len() {
                return Err(derr(
                    path,
                    format!(
                        "expected a tuple of {} elements, found {}",
                        ets.len(),
                        items.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                path.push(Step::Index(i as i64));
                out.push(decode(item, et, path, depth + 1)?);
                path.pop();
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(et) => {
            let J::Obj(members) = j else {
                return Err(mismatch(path, &ty.to_string()));
            };
            let mut out = BTreeMap::new();
            for (k, v) in members {
                path.push(Step::Key(k.clone()));
                let v = decode(v, et, path, depth + 1)?;
                path.pop();
                out.insert(k.clone(), v);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let J::Obj(members) = j else {
                return Err(mismatch(path, "object"));
            };
            let mut out = BTreeMap::new();
            for (k, v) in members {
                // An attribute the schema no longer has: state written by an older schema.
                let Some(at) = attrs.get(k) else { continue };
                path.push(Step::Attr(k.clone()));
                let v = decode(v, at, path, depth + 1)?;
                path.pop();
                out.insert(k.clone(), v);
            }
            // Attributes added since the state was written.
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
    }
}

fn eerr(path: &[Step], msg: impl Into<String>) -> ValueError {
    ValueError::Encode {
        path: format_path(path),
        msg: msg.into(),
    }
}

fn encode(v: &Value, ty: &Type, path: &mut Vec<Step>, depth: usize) -> Result<Json, ValueError> {
    if depth > MAX_DEPTH {
        return Err(eerr(
            path,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let dynamic = |t: &Type, inner: &Value, path: &mut Vec<Step>| -> Result<Json, ValueError> {
        if *t == Type::Dynamic {
            return encode(inner, &Type::Dynamic, path, depth + 1);
        }
        let mut m = serde_json::Map::new();
        m.insert("value".into(), encode(inner, t, path, depth + 1)?);
        m.insert("type".into(), t.to_json());
        Ok(Json::Object(m))
    };
    Ok(match (ty, v) {
        (_, Value::Unknown(_)) => return Err(eerr(path, "value is not known")),
        (Type::Dynamic, Value::Null) => Json::Null,
        (Type::Dynamic, Value::Dynamic(t, inner)) => dynamic(t, inner, path)?,
        (Type::Dynamic, other) => match other.implied_type() {
            Some(t) => dynamic(&t, other, path)?,
            None => {
                return Err(eerr(
                    path,
                    format!(
                        "cannot tell the type of this {} for a dynamic attribute; wrap it in Value::Dynamic",
                        other.kind()
                    ),
                ));
            }
        },
        (_, Value::Dynamic(t, inner)) => {
            if t != ty {
                return Err(eerr(
                    path,
                    format!("expected {ty}, found a dynamic value of {t}"),
                ));
            }
            encode(inner, ty, path, depth + 1)?
        }
        (_, Value::Null) => Json::Null,
        (Type::String, Value::String(s)) => Json::String(s.clone()),
        (Type::Number, Value::Number(n)) => match n.canonical().map_err(|m| eerr(path, m))? {
            Canonical::Int(i) => Json::from(i),
            // Integral floats up to 2^64 fit serde_json's u64 exactly.
            Canonical::Float(f)
                if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) =>
            {
                Json::from(f as u64)
            }
            Canonical::Float(f) => {
                let n = serde_json::Number::from_f64(f)
                    .ok_or_else(|| eerr(path, "infinity cannot be written as JSON"))?;
                // serde_json writes the shortest text that reads back as the same float64; as
                // a decimal that is often another number (4.444444444444444e37 for
                // 44444444444444443443915477091570679808), and cty numbers are exact. When
                // it is not exact, write the exact text, as a string as for `Big`.
                if Number::from_decimal(&n.to_string()) == Some(Number::Float(f)) {
                    Json::Number(n)
                } else {
                    Json::String(exact_text(f))
                }
            }
            Canonical::Text(s) => Json::String(s),
        },
        (Type::Bool, Value::Bool(b)) => Json::Bool(*b),
        (Type::List(et), Value::List(items)) | (Type::Set(et), Value::Set(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i as i64));
                out.push(encode(item, et, path, depth + 1)?);
                path.pop();
            }
            Json::Array(out)
        }
        (Type::Tuple(ets), Value::Tuple(items)) => {
            if ets.len() != items.len() {
                return Err(eerr(
                    path,
                    format!(
                        "expected a tuple of {} elements, found {}",
                        ets.len(),
                        items.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                path.push(Step::Index(i as i64));
                out.push(encode(item, et, path, depth + 1)?);
                path.pop();
            }
            Json::Array(out)
        }
        (Type::Map(et), Value::Map(m)) => {
            let mut out = serde_json::Map::new();
            for (k, item) in m {
                path.push(Step::Key(k.clone()));
                out.insert(k.clone(), encode(item, et, path, depth + 1)?);
                path.pop();
            }
            Json::Object(out)
        }
        (Type::Object(attrs), Value::Object(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(eerr(
                    path,
                    format!("attribute {extra:?} is not in the object type"),
                ));
            }
            let mut out = serde_json::Map::new();
            for (k, at) in attrs {
                path.push(Step::Attr(k.clone()));
                let item = encode(m.get(k).unwrap_or(&Value::Null), at, path, depth + 1)?;
                path.pop();
                out.insert(k.clone(), item);
            }
            Json::Object(out)
        }
        _ => return Err(eerr(path, format!("expected {ty}, found {}", v.kind()))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_handles_escapes_and_rejects_garbage() {
        let v = from_json(
            br#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x""#,
            &Type::String,
        )
        .unwrap();
        assert_eq!(
            v.as_str(),
            Some("a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}\u{fffd}x")
        );
        for bad in [
            "",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            "1e",
            "\"abc",
            "\"\\x\"",
            "\"\u{1}\"",
            "[1] 2",
            "{1:2}",
            "\"\\u12\"",
        ] {
            assert!(
                from_json(bad.as_bytes(), &Type::Dynamic).is_err(),
                "{bad:?}"
            );
            assert!(
                from_json(bad.as_bytes(), &Type::list(Type::Number)).is_err(),
                "{bad:?}"
            );
        }
        assert!(from_json(b"\"\xff\"", &Type::String).is_err());
        let deep = "[".repeat(1000);
        assert!(from_json(deep.as_bytes(), &Type::Dynamic).is_err());
    }

    #[test]
    fn lenient_primitive_conversions() {
        assert_eq!(from_json(b"\"12\"", &Type::Number).unwrap(), Value::int(12));
        assert_eq!(
            from_json(b"12", &Type::String).unwrap(),
            Value::string("12")
        );
        assert_eq!(
            from_json(b"\"true\"", &Type::Bool).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            from_json(b"true", &Type::String).unwrap(),
            Value::string("true")
        );
        assert!(from_json(b"\"yes\"", &Type::Bool).is_err());
        assert!(from_json(b"[]", &Type::String).is_err());
    }

    #[test]
    fn dynamic_wrapper() {
        let v = from_json(
            br#"{"type":["list","string"],"value":["a",null]}"#,
            &Type::Dynamic,
        )
        .unwrap();
        let want = Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::List(vec![Value::string("a"), Value::Null])),
        );
        assert_eq!(v, want);
        let j = to_json(&want, &Type::Dynamic).unwrap();
        assert_eq!(
            j.to_string(),
            r#"{"type":["list","string"],"value":["a",null]}"#
        );
        // Plain values get their implied type.
        let j = to_json(&Value::string("x"), &Type::Dynamic).unwrap();
        assert_eq!(j.to_string(), r#"{"type":"string","value":"x"}"#);
        assert!(from_json(br#"{"value":1}"#, &Type::Dynamic).is_err());
        assert!(from_json(br#"{"type":"number","value":1,"x":2}"#, &Type::Dynamic).is_err());
    }

    /// Found by the `json_value` fuzz target: a float64 whose shortest text is another
    /// decimal came back from its own JSON as a different number.
    #[test]
    fn floats_keep_their_exact_value_through_json() {
        let cases: [(&[u8], Json); 5] = [
            (
                b"44444444444444443443915477091570679808",
                Json::from("44444444444444443443915477091570679808"),
            ),
            (
                b"0.1000000000000000055511151231257827021181583404541015625",
                Json::from("0.1000000000000000055511151231257827021181583404541015625"),
            ),
            (
                b"1180591620717411303424",
                Json::from("1180591620717411303424"),
            ),
            // 10^20 and 0.5: the shortest text is exact, so a JSON number.
            (b"100000000000000000000", serde_json::json!(1e20)),
            (b"0.5", serde_json::json!(0.5)),
        ];
        for (text, want) in cases {
            let v = from_json(text, &Type::Number).unwrap();
            assert!(
                matches!(v, Value::Number(Number::Float(_))),
                "{v:?} is an exact float64"
            );
            let j = to_json(&v, &Type::Number).unwrap();
            assert_eq!(j, want);
            let back = from_json(j.to_string().as_bytes(), &Type::Number).unwrap();
            assert_eq!(back, v, "{j}");
        }
    }

    #[test]
    fn unknowns_and_infinities_do_not_encode() {
        assert!(to_json(&Value::unknown(), &Type::String).is_err());
        assert!(to_json(&Value::Number(Number::Float(f64::INFINITY)), &Type::Number).is_err());
        assert_eq!(
            to_json(&Value::Number(Number::Big("0.1".into())), &Type::Number).unwrap(),
            Json::from("0.1")
        );
    }
}
