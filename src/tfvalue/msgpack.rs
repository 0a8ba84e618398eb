//! The msgpack codec for `DynamicValue.msgpack`, following go-cty's `cty/msgpack` encoding:
//! nil = null, any extension = unknown (ext 12 carries refinements), objects as maps with every
//! attribute in sorted order, dynamic values as `[type JSON as bin, value]`.
//!
//! Reading is a hand-written cursor over the byte slice so that every length is checked against
//! the bytes actually present (no allocation driven by a lying length prefix) and nesting is
//! capped at [`MAX_DEPTH`]. Writing mirrors vmihailenco/msgpack with compact ints, which go-cty
//! uses, so our bytes match Terraform's.

use std::collections::BTreeMap;

use super::number::Canonical;
use super::{MAX_DEPTH, Number, Step, Type, Unknown, Value, ValueError, format_path};

/// go-cty's extension code for an unknown carrying refinements.
const EXT_REFINED_UNKNOWN: i8 = 12;
/// go-cty rejects larger refinement payloads as abusive; so do we.
const MAX_REFINEMENTS_LEN: usize = 1024;

/// Decode a msgpack value of type `ty`. The whole input must be exactly one value.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let mut d = Decoder::new(bytes);
    let v = d.value(ty, 0)?;
    if d.pos != bytes.len() {
        return Err(d.err(format!(
            "{} trailing bytes after the value",
            bytes.len() - d.pos
        )));
    }
    Ok(v)
}

/// Encode `v` as type `ty`, exactly as go-cty would.
pub fn to_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut e = Encoder {
        out: Vec::new(),
        path: Vec::new(),
    };
    e.value(v, ty, 0)?;
    Ok(e.out)
}

/// The nullness refinement (key 1) of an ext-12 payload: `Some(is_null)` when present.
pub(crate) fn refinement_nullness(payload: &[u8]) -> Option<bool> {
    let mut d = Decoder::new(payload);
    let Ok(Head::Map(n)) = d.head() else {
        return None;
    };
    for _ in 0..n {
        match d.head().ok()? {
            Head::Int(1) => {
                return match d.head().ok()? {
                    Head::Bool(b) => Some(b),
                    _ => None,
                };
            }
            Head::Int(_) => d.skip(0).ok()?,
            _ => return None,
        }
    }
    None
}

/// One msgpack item header; payloads of str/bin/ext are read separately.
#[derive(Clone, Copy, Debug)]
enum Head {
    Nil,
    Bool(bool),
    /// Any integer that fits i64, whatever its encoding.
    Int(i64),
    /// A uint64 above i64::MAX.
    Uint(u64),
    F32(f32),
    F64(f64),
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
    Ext(i8, usize),
}

impl Head {
    fn describe(&self) -> &'static str {
        match self {
            Head::Nil => "nil",
            Head::Bool(_) => "bool",
            Head::Int(_) | Head::Uint(_) => "integer",
            Head::F32(_) | Head::F64(_) => "float",
            Head::Str(_) => "string",
            Head::Bin(_) => "binary",
            Head::Array(_) => "array",
            Head::Map(_) => "map",
            Head::Ext(..) => "extension",
        }
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    path: Vec<Step>,
}

impl<'a> Decoder<'a> {
    fn new(buf: &'a [u8]) -> Decoder<'a> {
        Decoder {
            buf,
            pos: 0,
            path: Vec::new(),
        }
    }

    fn err(&self, msg: impl Into<String>) -> ValueError {
        ValueError::Decode {
            path: format_path(&self.path),
            msg: msg.into(),
        }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueError> {
        if n > self.remaining() {
            return Err(self.err("unexpected end of input"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, ValueError> {
        Ok(self.take(1)?[0])
    }

    /// Big-endian unsigned integer of `n` (1, 2, 4 or 8) bytes.
    fn be(&mut self, n: usize) -> Result<u64, ValueError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, ValueError> {
        // u32 always fits usize on the 32/64-bit targets we build for; saturate otherwise so the
        // bounds check in `take` still rejects it.
        Ok(usize::try_from(self.be(n)?).unwrap_or(usize::MAX))
    }

    fn head(&mut self) -> Result<Head, ValueError> {
        let m = self.byte()?;
        Ok(match m {
            0x00..=0x7f => Head::Int(i64::from(m)),
            0x80..=0x8f => Head::Map(usize::from(m & 0x0f)),
            0x90..=0x9f => Head::Array(usize::from(m & 0x0f)),
            0xa0..=0xbf => Head::Str(usize::from(m & 0x1f)),
            0xc0 => Head::Nil,
            0xc1 => return Err(self.err("invalid msgpack marker 0xc1")),
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => Head::Bin(self.len(1)?),
            0xc5 => Head::Bin(self.len(2)?),
            0xc6 => Head::Bin(self.len(4)?),
            0xc7..=0xc9 => {
                let n = self.len(1usize << (m - 0xc7))?;
                Head::Ext(self.byte()? as i8, n)
            }
            0xca => Head::F32(f32::from_bits(self.be(4)? as u32)),
            0xcb => Head::F64(f64::from_bits(self.be(8)?)),
            0xcc..=0xcf => {
                let u = self.be(1usize << (m - 0xcc))?;
                match i64::try_from(u) {
                    Ok(i) => Head::Int(i),
                    Err(_) => Head::Uint(u),
                }
            }
            0xd0 => Head::Int(i64::from(self.be(1)? as u8 as i8)),
            0xd1 => Head::Int(i64::from(self.be(2)? as u16 as i16)),
            0xd2 => Head::Int(i64::from(self.be(4)? as u32 as i32)),
            0xd3 => Head::Int(self.be(8)? as i64),
            0xd4..=0xd8 => Head::Ext(self.byte()? as i8, 1usize << (m - 0xd4)),
            0xd9 => Head::Str(self.len(1)?),
            0xda => Head::Str(self.len(2)?),
            0xdb => Head::Str(self.len(4)?),
            0xdc => Head::Array(self.len(2)?),
            0xdd => Head::Array(self.len(4)?),
            0xde => Head::Map(self.len(2)?),
            0xdf => Head::Map(self.len(4)?),
            0xe0..=0xff => Head::Int(i64::from(m as i8)),
        })
    }

    /// Skip one complete item (used inside refinement payloads).
    fn skip(&mut self, depth: usize) -> Result<(), ValueError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match self.head()? {
            Head::Str(n) | Head::Bin(n) | Head::Ext(_, n) => {
                self.take(n)?;
            }
            // Each item is at least one byte, so these loops end at the input's end at worst.
            Head::Array(n) => {
                for _ in 0..n {
                    self.skip(depth + 1)?;
                }
            }
            Head::Map(n) => {
                for _ in 0..n {
                    self.skip(depth + 1)?;
                    self.skip(depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn utf8(&self, bytes: &'a [u8]) -> Result<&'a str, ValueError> {
        std::str::from_utf8(bytes).map_err(|_| self.err("string is not valid UTF-8"))
    }

    /// A string item; bin is accepted too, as vmihailenco's DecodeString does.
    fn string_from(&mut self, h: Head) -> Result<Option<String>, ValueError> {
        match h {
            Head::Str(n) | Head::Bin(n) => {
                let b = self.take(n)?;
                Ok(Some(self.utf8(b)?.to_string()))
            }
            _ => Ok(None),
        }
    }

    fn mismatch(&self, want: &str, h: Head) -> ValueError {
        self.err(format!("expected {want}, found {}", h.describe()))
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, ValueError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let h = self.head()?;
        match h {
            Head::Ext(code, n) => {
                let payload = self.take(n)?;
                return self.unknown(code, payload, ty);
            }
            Head::Nil => return Ok(Value::Null),
            _ => {}
        }
        match ty {
            Type::Dynamic => self.dynamic(h, depth),
            Type::String => match self.string_from(h)? {
                Some(s) => Ok(Value::String(s)),
                None => Err(self.mismatch("string", h)),
            },
            Type::Bool => match h {
                Head::Bool(b) => Ok(Value::Bool(b)),
                _ => Err(self.mismatch("bool", h)),
            },
            Type::Number => self.number(h).map(Value::Number),
            Type::List(et) | Type::Set(et) => {
                let Head::Array(n) = h else {
                    return Err(self.mismatch(&ty.to_string(), h));
                };
                let items = self.elements(n, et, depth)?;
                Ok(if matches!(ty, Type::List(_)) {
                    Value::List(items)
                } else {
                    Value::Set(items)
                })
            }
            Type::Tuple(ets) => {
                let Head::Array(n) = h else {
                    return Err(self.mismatch("tuple", h));
                };
                if n != ets.len() {
                    return Err(self.err(format!(
                        "expected a tuple of {} elements, found {n}",
                        ets.len()
                    )));
                }
                let mut items = Vec::with_capacity(n);
                for (i, et) in ets.iter().enumerate() {
                    self.path.push(Step::Index(i as i64));
                    items.push(self.value(et, depth + 1)?);
                    self.path.pop();
                }
                Ok(Value::Tuple(items))
            }
            Type::Map(et) => {
                let Head::Map(n) = h else {
                    return Err(self.mismatch(&ty.to_string(), h));
                };
                let mut m = BTreeMap::new();
                for _ in 0..n {
                    let kh = self.head()?;
                    let Some(k) = self.string_from(kh)? else {
                        return Err(self.mismatch("string map key", kh));
                    };
                    if m.contains_key(&k) {
                        return Err(self.err(format!("duplicate map key {k:?}")));
                    }
                    self.path.push(Step::Key(k));
                    let v = self.value(et, depth + 1)?;
                    let Some(Step::Key(k)) = self.path.pop() else {
                        unreachable!("path stack is balanced")
                    };
                    m.insert(k, v);
                }
                Ok(Value::Map(m))
            }
            Type::Object(attrs) => {
                let Head::Map(n) = h else {
                    return Err(self.mismatch("object", h));
                };
                let mut m = BTreeMap::new();
                for _ in 0..n {
                    let kh = self.head()?;
                    let Some(k) = self.string_from(kh)? else {
                        return Err(self.mismatch("string attribute name", kh));
                    };
                    let Some(at) = attrs.get(&k) else {
                        return Err(self.err(format!("unsupported attribute {k:?}")));
                    };
                    if m.contains_key(&k) {
                        return Err(self.err(format!("duplicate attribute {k:?}")));
                    }
                    self.path.push(Step::Attr(k));
                    let v = self.value(at, depth + 1)?;
                    let Some(Step::Attr(k)) = self.path.pop() else {
                        unreachable!("path stack is balanced")
                    };
                    m.insert(k, v);
                }
                // Lenient where go-cty is strict: a missing attribute reads as null.
                for name in attrs.keys() {
                    m.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(m))
            }
        }
    }

    fn elements(&mut self, n: usize, et: &Type, depth: usize) -> Result<Vec<Value>, ValueError> {
        // Every element takes at least one byte: never reserve more than the input could hold.
        let mut items = Vec::with_capacity(n.min(self.remaining()));
        for i in 0..n {
            self.path.push(Step::Index(i as i64));
            items.push(self.value(et, depth + 1)?);
            self.path.pop();
        }
        Ok(items)
    }

    fn number(&mut self, h: Head) -> Result<Number, ValueError> {
        match h {
            Head::Int(i) => Ok(Number::Int(i)),
            Head::Uint(u) => Ok(Number::from_u64(u)),
            Head::F32(f) => self.float(f64::from(f)),
            Head::F64(f) => self.float(f),
            Head::Str(n) | Head::Bin(n) => {
                let b = self.take(n)?;
                let s = self.utf8(b)?;
                Number::from_decimal(s)
                    .ok_or_else(|| self.err(format!("{s:?} is not a valid number")))
            }
            _ => Err(self.mismatch("number", h)),
        }
    }

    fn float(&self, f: f64) -> Result<Number, ValueError> {
        if f.is_nan() {
            Err(self.err("NaN is not a valid number"))
        } else {
            Ok(Number::Float(f))
        }
    }

    /// `[type JSON, value]`, as go-cty writes values of dynamic-typed attributes.
    fn dynamic(&mut self, h: Head, depth: usize) -> Result<Value, ValueError> {
        match h {
            Head::Array(2) => {}
            Head::Array(_) => {
                return Err(self.err("dynamic value array must have exactly two elements"));
            }
            _ => return Err(self.mismatch("dynamic value [type, value]", h)),
        }
        let th = self.head()?;
        let (Head::Str(n) | Head::Bin(n)) = th else {
            return Err(self.mismatch("type JSON bytes", th));
        };
        let json = self.take(n)?;
        let t = Type::from_json_bytes(json)
            .map_err(|e| self.err(format!("dynamic value type: {e}")))?;
        let inner = self.value(&t, depth + 1)?;
        // `dynamic` as the concrete type carries no information; go-cty never writes it.
        Ok(if t == Type::Dynamic {
            inner
        } else {
            Value::Dynamic(t, Box::new(inner))
        })
    }

    fn unknown(&self, code: i8, payload: &[u8], ty: &Type) -> Result<Value, ValueError> {
        // go-cty: zero or one payload byte is a plain unknown, whatever the code. Any other
        // extension code is taken as a plain unknown too (older go-cty treated every extension
        // as unknown; nothing else is defined).
        if payload.len() <= 1 || code != EXT_REFINED_UNKNOWN {
            return Ok(Value::unknown());
        }
        if payload.len() > MAX_REFINEMENTS_LEN {
            return Err(self.err("oversize unknown value refinement"));
        }
        validate_refinements(payload, ty)
            .map_err(|m| self.err(format!("unknown value refinements: {m}")))?;
        Ok(Value::Unknown(Unknown {
            refinements: Some(payload.to_vec()),
        }))
    }
}

/// Check an ext-12 payload the way go-cty reads it: a map of small-int keys; known keys must
/// have the right value shape and suit the type; unknown keys are skipped (future refinements);
/// bytes after the map are ignored.
fn validate_refinements(payload: &[u8], ty: &Type) -> Result<(), String> {
    let mut d = Decoder::new(payload);
    let msg = |e: ValueError| match e {
        ValueError::Decode { msg, .. } => msg,
        other => other.to_string(),
    };
    let Head::Map(n) = d.head().map_err(msg)? else {
        return Err("payload is not a map".into());
    };
    if *ty == Type::Dynamic {
        // go-cty ignores refinements of dynamic values.
        return Ok(());
    }
    let is_collection = matches!(ty, Type::List(_) | Type::Set(_) | Type::Map(_));
    for _ in 0..n {
        let Head::Int(key) = d.head().map_err(msg)? else {
            return Err("non-integer key".into());
        };
        match key {
            1 => {
                let Head::Bool(_) = d.head().map_err(msg)? else {
                    return Err("null refinement is not a bool".into());
                };
            }
            2 => {
                if *ty != Type::String {
                    return Err("string prefix refinement for a non-string type".into());
                }
                let h = d.head().map_err(msg)?;
                match d.string_from(h) {
                    Ok(Some(_)) => {}
                    Ok(None) => return Err("string prefix refinement is not a string".into()),
                    Err(e) => return Err(msg(e)),
                }
            }
            3 | 4 => {
                if *ty != Type::Number {
                    return Err("number bound refinement for a non-number type".into());
                }
                let Head::Array(2) = d.head().map_err(msg)? else {
                    return Err("number bound refinement must be [number, bool]".into());
                };
                let h = d.head().map_err(msg)?;
                d.number(h).map_err(msg)?;
                let Head::Bool(_) = d.head().map_err(msg)? else {
                    return Err("number bound refinement must be [number, bool]".into());
                };
            }
            5 | 6 => {
                if !is_collection {
                    return Err("length bound refinement for a non-collection type".into());
                }
                let Head::Int(_) = d.head().map_err(msg)? else {
                    return Err("length bound refinement must be an integer".into());
                };
            }
            _ => d.skip(0).map_err(msg)?,
        }
    }
    Ok(())
}

struct Encoder {
    out: Vec<u8>,
    path: Vec<Step>,
}

impl Encoder {
    fn err(&self, msg: impl Into<String>) -> ValueError {
        ValueError::Encode {
            path: format_path(&self.path),
            msg: msg.into(),
        }
    }

    fn marker_u8(&mut self, m: u8, n: u8) {
        self.out.extend_from_slice(&[m, n]);
    }

    fn marker_u16(&mut self, m: u8, n: u16) {
        self.out.push(m);
        self.out.extend_from_slice(&n.to_be_bytes());
    }

    fn marker_u32(&mut self, m: u8, n: u32) {
        self.out.push(m);
        self.out.extend_from_slice(&n.to_be_bytes());
    }

    fn len32(&self, n: usize) -> Result<u32, ValueError> {
        u32::try_from(n).map_err(|_| self.err("too long for msgpack"))
    }

    fn uint(&mut self, u: u64) {
        if u <= 0x7f {
            self.out.push(u as u8);
        } else if u <= 0xff {
            self.marker_u8(0xcc, u as u8);
        } else if u <= 0xffff {
            self.marker_u16(0xcd, u as u16);
        } else if u <= 0xffff_ffff {
            self.marker_u32(0xce, u as u32);
        } else {
            self.out.push(0xcf);
            self.out.extend_from_slice(&u.to_be_bytes());
        }
    }

    /// vmihailenco's EncodeInt with compact ints: non-negative values use the uint forms.
    fn int(&mut self, i: i64) {
        if i >= 0 {
            self.uint(i as u64);
        } else if i >= -32 {
            self.out.push(i as u8);
        } else if i >= i64::from(i8::MIN) {
            self.marker_u8(0xd0, i as u8);
        } else if i >= i64::from(i16::MIN) {
            self.marker_u16(0xd1, i as u16);
        } else if i >= i64::from(i32::MIN) {
            self.marker_u32(0xd2, i as u32);
        } else {
            self.out.push(0xd3);
            self.out.extend_from_slice(&i.to_be_bytes());
        }
    }

    fn f64(&mut self, f: f64) {
        self.out.push(0xcb);
        self.out.extend_from_slice(&f.to_bits().to_be_bytes());
    }

    fn str(&mut self, s: &str) -> Result<(), ValueError> {
        let n = self.len32(s.len())?;
        if n < 32 {
            self.out.push(0xa0 | n as u8);
        } else if n <= 0xff {
            self.marker_u8(0xd9, n as u8);
        } else if n <= 0xffff {
            self.marker_u16(0xda, n as u16);
        } else {
            self.marker_u32(0xdb, n);
        }
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn bin(&mut self, b: &[u8]) -> Result<(), ValueError> {
        let n = self.len32(b.len())?;
        if n <= 0xff {
            self.marker_u8(0xc4, n as u8);
        } else if n <= 0xffff {
            self.marker_u16(0xc5, n as u16);
        } else {
            self.marker_u32(0xc6, n);
        }
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn array_len(&mut self, n: usize) -> Result<(), ValueError> {
        let n = self.len32(n)?;
        if n < 16 {
            self.out.push(0x90 | n as u8);
        } else if n <= 0xffff {
            self.marker_u16(0xdc, n as u16);
        } else {
            self.marker_u32(0xdd, n);
        }
        Ok(())
    }

    fn map_len(&mut self, n: usize) -> Result<(), ValueError> {
        let n = self.len32(n)?;
        if n < 16 {
            self.out.push(0x80 | n as u8);
        } else if n <= 0xffff {
            self.marker_u16(0xde, n as u16);
        } else {
            self.marker_u32(0xdf, n);
        }
        Ok(())
    }

    fn unknown(&mut self, u: &Unknown) -> Result<(), ValueError> {
        match &u.refinements {
            Some(p) if p.len() > 1 => {
                if p.len() > MAX_REFINEMENTS_LEN {
                    return Err(self.err("oversize unknown value refinement"));
                }
                let n = p.len() as u32;
                match n {
                    2 => self.out.push(0xd5),
                    4 => self.out.push(0xd6),
                    8 => self.out.push(0xd7),
                    16 => self.out.push(0xd8),
                    n if n <= 0xff => self.marker_u8(0xc7, n as u8),
                    n => self.marker_u16(0xc8, n as u16),
                }
                self.out.push(EXT_REFINED_UNKNOWN as u8);
                self.out.extend_from_slice(p);
            }
            // The plain unknown: fixext1, code 0, one zero byte (go-cty's unknownValBytes).
            _ => self.out.extend_from_slice(&[0xd4, 0x00, 0x00]),
        }
        Ok(())
    }

    fn number(&mut self, n: &Number) -> Result<(), ValueError> {
        match n.canonical().map_err(|m| self.err(m))? {
            Canonical::Int(i) => self.int(i),
            Canonical::Float(f) => self.f64(f),
            Canonical::Text(s) => self.str(&s)?,
        }
        Ok(())
    }

    fn value(&mut self, v: &Value, ty: &Type, depth: usize) -> Result<(), ValueError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match (ty, v) {
            (_, Value::Unknown(u)) => self.unknown(u)?,
            (Type::Dynamic, Value::Null) => self.out.push(0xc0),
            (Type::Dynamic, Value::Dynamic(t, inner)) => self.dynamic(t, inner, depth)?,
            (Type::Dynamic, other) => match other.implied_type() {
                Some(t) => self.dynamic(&t, other, depth)?,
                None => {
                    return Err(self.err(format!(
                        "cannot tell the type of this {} for a dynamic attribute; wrap it in Value::Dynamic",
                        other.kind()
                    )));
                }
            },
            (_, Value::Dynamic(t, inner)) => {
                if t != ty {
                    return Err(self.err(format!("expected {ty}, found a dynamic value of {t}")));
                }
                self.value(inner, ty, depth + 1)?;
            }
            (_, Value::Null) => self.out.push(0xc0),
            (Type::String, Value::String(s)) => self.str(s)?,
            (Type::Number, Value::Number(n)) => self.number(n)?,
            (Type::Bool, Value::Bool(b)) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            (Type::List(et), Value::List(items)) | (Type::Set(et), Value::Set(items)) => {
                self.array_len(items.len())?;
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Step::Index(i as i64));
                    self.value(item, et, depth + 1)?;
                    self.path.pop();
                }
            }
            (Type::Tuple(ets), Value::Tuple(items)) => {
                if ets.len() != items.len() {
                    return Err(self.err(format!(
                        "expected a tuple of {} elements, found {}",
                        ets.len(),
                        items.len()
                    )));
                }
                self.array_len(items.len())?;
                for (i, (item, et)) in items.iter().zip(ets).enumerate() {
                    self.path.push(Step::Index(i as i64));
                    self.value(item, et, depth + 1)?;
                    self.path.pop();
                }
            }
            (Type::Map(et), Value::Map(m)) => {
                self.map_len(m.len())?;
                for (k, item) in m {
                    self.str(k)?;
                    self.path.push(Step::Key(k.clone()));
                    self.value(item, et, depth + 1)?;
                    self.path.pop();
                }
            }
            (Type::Object(attrs), Value::Object(m)) => {
                if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                    return Err(self.err(format!("attribute {extra:?} is not in the object type")));
                }
                // Every attribute, sorted (BTreeMap order = go-cty's sort.Strings order).
                self.map_len(attrs.len())?;
                for (k, at) in attrs {
                    self.str(k)?;
                    self.path.push(Step::Attr(k.clone()));
                    self.value(m.get(k).unwrap_or(&Value::Null), at, depth + 1)?;
                    self.path.pop();
                }
            }
            _ => return Err(self.err(format!("expected {ty}, found {}", v.kind()))),
        }
        Ok(())
    }

    fn dynamic(&mut self, t: &Type, inner: &Value, depth: usize) -> Result<(), ValueError> {
        if *t == Type::Dynamic {
            // No concrete type to record: encode the inner value as dynamic itself.
            return self.value(inner, &Type::Dynamic, depth + 1);
        }
        self.array_len(2)?;
        self.bin(&t.to_json_bytes())?;
        self.value(inner, t, depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn ints_use_compact_forms() {
        for (i, want) in [
            (0i64, "00"),
            (127, "7f"),
            (128, "cc80"),
            (255, "ccff"),
            (256, "cd0100"),
            (65536, "ce00010000"),
            (1 << 32, "cf0000000100000000"),
            (-1, "ff"),
            (-32, "e0"),
            (-33, "d0df"),
            (-129, "d1ff7f"),
            (-32769, "d2ffff7fff"),
            (i64::MIN, "d38000000000000000"),
        ] {
            let b = to_msgpack(&Value::int(i), &Type::Number).unwrap();
            assert_eq!(hex(&b), want, "{i}");
            assert_eq!(from_msgpack(&b, &Type::Number).unwrap(), Value::int(i));
        }
    }

    #[test]
    fn every_int_encoding_decodes() {
        for (h, want) in [
            ("d0 05", 5i64),
            ("d1 00 05", 5),
            ("d2 00 00 00 05", 5),
            ("d3 00 00 00 00 00 00 00 05", 5),
            ("cc 05", 5),
            ("cd 00 05", 5),
            ("ce 00 00 00 05", 5),
            ("cf 00 00 00 00 00 00 00 05", 5),
            ("ca 40 a0 00 00", 5), // f32 5.0
        ] {
            let v = from_msgpack(&unhex(h), &Type::Number).unwrap();
            assert_eq!(v.as_i64(), Some(want), "{h}");
        }
    }

    #[test]
    fn refinements_are_checked_against_the_type() {
        // string prefix on a number
        let b = unhex("d6 0c 81 02 a1 78");
        assert!(from_msgpack(&b, &Type::Number).is_err());
        let v = from_msgpack(&b, &Type::String).unwrap();
        assert_eq!(to_msgpack(&v, &Type::String).unwrap(), b);
        // number bounds [0, true] and length bounds
        let b = unhex("c7 05 0c 81 03 92 00 c3");
        assert!(from_msgpack(&b, &Type::Number).is_ok());
        assert!(from_msgpack(&b, &Type::String).is_err());
        let b = unhex("c7 05 0c 82 05 01 06 03");
        assert!(from_msgpack(&b, &Type::list(Type::String)).is_ok());
        assert!(from_msgpack(&b, &Type::Bool).is_err());
        // unknown future key skipped; dynamic ignores everything after the map header
        let b = unhex("c7 05 0c 81 09 92 01 02");
        assert!(from_msgpack(&b, &Type::Bool).is_ok());
        assert!(from_msgpack(&unhex("c7 03 0c 81 02 03"), &Type::Dynamic).is_ok());
        // not a map
        assert!(from_msgpack(&unhex("c7 02 0c 01 02"), &Type::Bool).is_err());
        // other extension codes are plain unknowns
        let v = from_msgpack(&unhex("d5 03 01 02"), &Type::Bool).unwrap();
        assert_eq!(v, Value::unknown());
    }

    #[test]
    fn refined_payload_lengths_pick_fixext() {
        let u = Unknown {
            refinements: Some(unhex("82 01 c2 05 01 06 0a 00")), // 8 bytes, trailing padding
        };
        let b = to_msgpack(&Value::Unknown(u.clone()), &Type::list(Type::Bool)).unwrap();
        assert_eq!(hex(&b[..2]), "d70c");
        assert_eq!(
            from_msgpack(&b, &Type::list(Type::Bool)).unwrap(),
            Value::Unknown(u)
        );
    }

    #[test]
    fn errors_carry_paths() {
        let ty = Type::object([("timeouts", Type::object([("create", Type::String)]))]);
        let b = unhex("81 a8 74696d656f757473 81 a6 637265617465 05");
        let e = from_msgpack(&b, &ty).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at .timeouts.create: expected string, found integer"
        );
        let v = Value::Object(BTreeMap::from([(
            "timeouts".to_string(),
            Value::Object(BTreeMap::from([("create".to_string(), Value::Bool(true))])),
        )]));
        let e = to_msgpack(&v, &ty).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at .timeouts.create: expected string, found bool"
        );
    }

    #[test]
    fn hostile_inputs_fail_cleanly() {
        let deep_list = {
            let mut t = Type::String;
            for _ in 0..(MAX_DEPTH + 10) {
                t = Type::list(t);
            }
            t
        };
        let mut b = vec![0x91; MAX_DEPTH + 10];
        b.push(0xa0);
        assert!(from_msgpack(&b, &deep_list).is_err());
        // array32 claiming 4 billion elements, then nothing
        assert!(from_msgpack(&unhex("dd ff ff ff ff"), &Type::list(Type::Bool)).is_err());
        // str32 claiming 4 GiB
        assert!(from_msgpack(&unhex("db ff ff ff ff 61"), &Type::String).is_err());
        // invalid UTF-8, trailing bytes, empty input, reserved marker
        assert!(from_msgpack(&unhex("a2 c3 28"), &Type::String).is_err());
        assert!(from_msgpack(&unhex("c3 c3"), &Type::Bool).is_err());
        assert!(from_msgpack(&[], &Type::Bool).is_err());
        assert!(from_msgpack(&unhex("c1"), &Type::Bool).is_err());
        // nested dynamic values whose type JSON is deeply nested
        let mut t = "\"string\"".to_string();
        for _ in 0..200 {
            t = format!("[\"list\",{t}]");
        }
        let mut b = vec![0x92, 0xc5];
        b.extend_from_slice(&(t.len() as u16).to_be_bytes());
        b.extend_from_slice(t.as_bytes());
        b.push(0xc0);
        assert!(from_msgpack(&b, &Type::Dynamic).is_err());
    }
}
