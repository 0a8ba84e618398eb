//! cty numbers: `Number` (Int / Float / Big decimal text), exact decimal arithmetic to decide
//! which wire form a number takes, and value-based equality.
//!
//! Terraform parses configuration numbers at 512-bit precision, so `0.1` from a config is NOT
//! the float64 `0.1`; go-cty sends it as the string `"0.1"`. Echoing it back as a float64 would
//! change the value and Terraform would report an inconsistent plan. Hence the rule, applied on
//! both decode and encode: an exact i64 is an int, else an exactly representable f64 is a
//! float64, else the decimal text is kept verbatim.

use std::fmt;

/// A cty number.
///
/// Invariant kept by the decoders (and restored by the encoder for hand-made values): `Big`
/// holds decimal text whose value is neither an exact `i64` nor an exact `f64`. Equality is by
/// numeric value: `Int(3) == Float(3.0)`, `Big("5") == Int(5)`.
///
/// To return a decimal fraction from configuration unchanged, keep the `Big` you decoded rather
/// than converting it to `f64`.
#[derive(Clone, Debug)]
pub enum Number {
    Int(i64),
    /// Finite or ±infinity; NaN is not a cty number and fails to encode.
    Float(f64),
    /// Decimal text that fits neither exactly (e.g. `"0.1"`, `"18446744073709551615"`).
    Big(String),
}

/// How a number goes on the wire.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Canonical {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Number {
    /// Parse decimal text (`"-12"`, `"1.5e3"`, `"0.1"`, `"Inf"`) into the most compact exact
    /// form. `None` for anything that is not a number (including NaN).
    pub fn from_decimal(s: &str) -> Option<Number> {
        if let Some(inf) = parse_infinity(s) {
            return Some(Number::Float(inf));
        }
        let d = Decimal::parse(s)?;
        if let Some(i) = d.to_i64() {
            return Some(Number::Int(i));
        }
        if let Some(f) = d.to_exact_f64() {
            return Some(Number::Float(f));
        }
        Some(Number::Big(d.text_for(s)))
    }

    /// Build from an unsigned integer: `Int` when it fits, else exact float64, else `Big`.
    pub fn from_u64(u: u64) -> Number {
        if let Ok(i) = i64::try_from(u) {
            return Number::Int(i);
        }
        let f = u as f64;
        // `f` is at most 2^64, which u128 holds exactly, so the comparison is exact.
        if f as u128 == u128::from(u) {
            Number::Float(f)
        } else {
            Number::Big(u.to_string())
        }
    }

    /// The value as an `i64`, if it is exactly one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) => float_to_i64(*f),
            Number::Big(s) => Decimal::parse(s)?.to_i64(),
        }
    }

    /// The value as an `f64`, rounded if need be (`Big` gets the nearest float).
    pub fn to_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => parse_infinity(s)
                .or_else(|| Decimal::parse(s).map(|d| d.to_f64_nearest()))
                .unwrap_or(f64::NAN),
        }
    }

    /// Wire form: int if exact i64, else float64 if exact, else decimal text. `Err` for NaN or
    /// text that is not a number.
    pub(crate) fn canonical(&self) -> Result<Canonical, String> {
        match self {
            Number::Int(i) => Ok(Canonical::Int(*i)),
            Number::Float(f) => {
                if f.is_nan() {
                    Err("NaN is not a valid number".into())
                } else if let Some(i) = float_to_i64(*f) {
                    Ok(Canonical::Int(i))
                } else {
                    Ok(Canonical::Float(*f))
                }
            }
            Number::Big(s) => match Number::from_decimal(s) {
                Some(Number::Int(i)) => Ok(Canonical::Int(i)),
                Some(Number::Float(f)) => Number::Float(f).canonical(),
                Some(Number::Big(t)) => Ok(Canonical::Text(t)),
                None => Err(format!("{s:?} is not a decimal number")),
            },
        }
    }

    /// Key for value comparison.
    fn key(&self) -> Key {
        match self {
            Number::Int(i) => Key::Dec(Decimal::from_i64(*i)),
            Number::Float(f) if f.is_nan() => Key::NaN,
            Number::Float(f) if f.is_infinite() => Key::Inf(*f < 0.0),
            Number::Float(f) => Key::Dec(Decimal::from_f64_exact(*f)),
            Number::Big(s) => {
                if let Some(f) = parse_infinity(s) {
                    Key::Inf(f < 0.0)
                } else if let Some(d) = Decimal::parse(s) {
                    Key::Dec(d)
                } else {
                    Key::Invalid(s.clone())
                }
            }
        }
    }
}

#[derive(PartialEq)]
enum Key {
    Dec(Decimal),
    Inf(bool),
    NaN,
    Invalid(String),
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Float(a), Number::Float(b)) => a == b,
            (Number::Int(i), Number::Float(f)) | (Number::Float(f), Number::Int(i)) => {
                float_to_i64(*f) == Some(*i)
            }
            _ => {
                let (a, b) = (self.key(), other.key());
                !matches!(a, Key::NaN) && a == b
            }
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Big(s) => f.write_str(s),
        }
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::Int(i)
    }
}

impl From<f64> for Number {
    fn from(f: f64) -> Number {
        Number::Float(f)
    }
}

/// Exact conversion of an integral float in i64 range.
pub(crate) fn float_to_i64(f: f64) -> Option<i64> {
    // 2^63 is exactly representable; the range is [-2^63, 2^63).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}

/// go-cty (big.Float.Parse) accepts "Inf"/"inf" with an optional sign; we also take "infinity".
fn parse_infinity(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })
    } else {
        None
    }
}

/// Largest decimal exponent we accept; beyond it nothing is representable anyway and the
/// arithmetic below would need unbounded work.
const MAX_EXP: i64 = 1_000_000_000;

/// A normalised exact decimal: value = (-1)^neg × digits × 10^exp, with `digits` ASCII, no
/// leading or trailing zeros (empty for zero, which is never negative).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    fn new(neg: bool, mut digits: Vec<u8>, mut exp: i64) -> Decimal {
        let lead = digits.iter().take_while(|&&d| d == b'0').count();
        digits.drain(..lead);
        while digits.last() == Some(&b'0') {
            digits.pop();
            exp += 1;
        }
        if digits.is_empty() {
            return Decimal {
                neg: false,
                digits,
                exp: 0,
            };
        }
        Decimal { neg, digits, exp }
    }

    fn from_i64(i: i64) -> Decimal {
        Decimal::new(i < 0, i.unsigned_abs().to_string().into_bytes(), 0)
    }

    /// Lenient decimal syntax: `[+-] (digits [. digits] | . digits) [(e|E) [+-] digits]`.
    pub(crate) fn parse(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let mut i = 0;
        let neg = match b.first() {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut digits = Vec::new();
        let mut frac_len: i64 = 0;
        let mut seen_point = false;
        let mut any_digit = false;
        while i < b.len() {
            match b[i] {
                c @ b'0'..=b'9' => {
                    any_digit = true;
                    // Leading zeros carry no information; skipping them keeps huge zero runs cheap.
                    if !(c == b'0' && digits.is_empty()) {
                        digits.push(c);
                    }
                    if seen_point {
                        frac_len += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if !any_digit {
            return None;
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let eneg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if exp > MAX_EXP {
                    return None;
                }
                exp = exp * 10 + i64::from(b[i] - b'0');
                i += 1;
            }
            if i == start {
                return None;
            }
            if eneg {
                exp = -exp;
            }
        }
        if i != b.len() || frac_len > MAX_EXP || exp.abs() > MAX_EXP {
            return None;
        }
        Some(Decimal::new(neg, digits, exp - frac_len))
    }

    /// Exact decimal expansion of a finite float (every binary fraction has one).
    pub(crate) fn from_f64_exact(f: f64) -> Decimal {
        let bits = f.to_bits();
        let neg = bits >> 63 == 1;
        let exp_bits = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (mut m, mut e) = if exp_bits == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp_bits - 1075)
        };
        if m == 0 {
            return Decimal::new(false, Vec::new(), 0);
        }
        while m & 1 == 0 && e < 0 {
            m >>= 1;
            e += 1;
        }
        let mut big = BigUint::from_u64(m);
        if e >= 0 {
            big.mul_pow(2, 30, e as u32);
            Decimal::new(neg, big.to_digits(), 0)
        } else {
            // m × 2^e = m × 5^-e × 10^e
            big.mul_pow(5, 13, (-e) as u32);
            Decimal::new(neg, big.to_digits(), e)
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub(crate) fn to_i64(&self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.exp < 0 || self.digits.len() as i64 + self.exp > 19 {
            return None;
        }
        let mut v: i128 = 0;
        for &d in &self.digits {
            v = v * 10 + i128::from(d - b'0');
        }
        for _ in 0..self.exp {
            v *= 10;
        }
        if self.neg {
            v = -v;
        }
        i64::try_from(v).ok()
    }

    fn to_f64_nearest(&self) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let text = format!(
            "{}{}e{}",
            if self.neg { "-" } else { "" },
            std::str::from_utf8(&self.digits).unwrap_or("0"),
            self.exp
        );
        text.parse().unwrap_or(f64::NAN)
    }

    /// The f64 with exactly this value, if there is one.
    pub(crate) fn to_exact_f64(&self) -> Option<f64> {
        if self.is_zero() {
            return Some(0.0);
        }
        // A float64 has at most 767 significant decimal digits, and its magnitude lies within
        // 10^-1075 .. 10^309: cheap rejections before the exact comparison.
        let magnitude = self.digits.len() as i64 + self.exp;
        if self.digits.len() > 770 || !(-1080..=310).contains(&magnitude) {
            return None;
        }
        let f = self.to_f64_nearest();
        if !f.is_finite() {
            return None;
        }
        (Decimal::from_f64_exact(f) == *self).then_some(f)
    }

    /// Text for a `Big`: the original if it is already plain JSON number syntax (so the bytes we
    /// echo back are the bytes we got), else a normalised rendering.
    pub(crate) fn text_for(&self, original: &str) -> String {
        if is_json_number(original) {
            original.to_string()
        } else {
            self.render()
        }
    }

    fn render(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let digits = std::str::from_utf8(&self.digits).unwrap_or("0");
        let sign = if self.neg { "-" } else { "" };
        let point = self.digits.len() as i64 + self.exp; // digits before the decimal point
        if self.exp >= 0 && point <= 40 {
            format!("{sign}{digits}{}", "0".repeat(self.exp as usize))
        } else if self.exp < 0 && point > 0 {
            let (a, b) = digits.split_at(point as usize);
            format!("{sign}{a}.{b}")
        } else if self.exp < 0 && point > -20 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else {
            let (a, b) = digits.split_at(1);
            let b = if b.is_empty() {
                String::new()
            } else {
                format!(".{b}")
            };
            format!("{sign}{a}{b}e{}", point - 1)
        }
    }
}

/// The exact decimal text of a finite float: `0.1000000000000000055511151231257827021181583404541015625`
/// for the float64 nearest 0.1, where Rust and serde_json print the shortest text that reads
/// back as the same float64 (`0.1`), which as a decimal is another number.
pub(crate) fn exact_text(f: f64) -> String {
    Decimal::from_f64_exact(f).render()
}

/// Strict RFC 8259 number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Just enough unsigned bignum (base 10^9 limbs, little-endian) to expand a float exactly.
struct BigUint {
    limbs: Vec<u64>,
}

const LIMB: u64 = 1_000_000_000;

impl BigUint {
    fn from_u64(mut v: u64) -> BigUint {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push(v % LIMB);
            v /= LIMB;
        }
        BigUint { limbs }
    }

    fn mul_small(&mut self, k: u64) {
        let mut carry = 0u64;
        for l in &mut self.limbs {
            let p = *l * k + carry;
            *l = p % LIMB;
            carry = p / LIMB;
        }
        while carry > 0 {
            self.limbs.push(carry % LIMB);
            carry /= LIMB;
        }
    }

    /// Multiply by base^n, `chunk` powers at a time (base^chunk must stay below ~2^31 so the
    /// limb products fit in u64).
    fn mul_pow(&mut self, base: u64, chunk: u32, mut n: u32) {
        while n > 0 {
            let k = n.min(chunk);
            self.mul_small(base.pow(k));
            n -= k;
        }
    }

    fn to_digits(&self) -> Vec<u8> {
        let mut out = String::new();
        for (i, l) in self.limbs.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&l.to_string());
            } else {
                out.push_str(&format!("{l:09}"));
            }
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimal_normalises() {
        assert_eq!(d("001.2300"), d("1.23"));
        assert_eq!(d("1.23e2"), d("123"));
        assert_eq!(d("-0.0"), d("0"));
        assert_eq!(d("+.5"), d("0.5"));
        assert_eq!(d("5."), d("5"));
        for bad in [
            "",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "0x10",
            "1 ",
            "nan",
            "1e99999999999",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn float_expansion_is_exact() {
        assert_eq!(Decimal::from_f64_exact(0.5), d("0.5"));
        assert_eq!(Decimal::from_f64_exact(-3.0), d("-3"));
        assert_eq!(
            Decimal::from_f64_exact(0.1),
            d("0.1000000000000000055511151231257827021181583404541015625")
        );
        assert_eq!(
            Decimal::from_f64_exact(2f64.powi(70)),
            d("1180591620717411303424")
        );
        let tiny = Decimal::from_f64_exact(f64::from_bits(1));
        assert_eq!(tiny.exp, -1074);
        assert_eq!(tiny.to_exact_f64(), Some(f64::from_bits(1)));
        assert_eq!(
            Decimal::from_f64_exact(f64::MAX).to_exact_f64(),
            Some(f64::MAX)
        );
    }

    #[test]
    fn classification() {
        assert_eq!(Number::from_decimal("42"), Some(Number::Int(42)));
        assert!(matches!(
            Number::from_decimal("1e3"),
            Some(Number::Int(1000))
        ));
        assert!(matches!(Number::from_decimal("1.5"), Some(Number::Float(f)) if f == 1.5));
        assert!(matches!(Number::from_decimal("0.1"), Some(Number::Big(s)) if s == "0.1"));
        assert!(matches!(
            Number::from_decimal("9223372036854775808"),
            Some(Number::Float(_))
        ));
        assert!(matches!(
            Number::from_decimal("18446744073709551615"),
            Some(Number::Big(s)) if s == "18446744073709551615"
        ));
        assert!(matches!(Number::from_decimal("+.10"), Some(Number::Big(s)) if s == "0.1"));
        assert!(
            matches!(Number::from_decimal("-Inf"), Some(Number::Float(f)) if f == f64::NEG_INFINITY)
        );
        assert!(Number::from_decimal("NaN").is_none());
        assert!(matches!(Number::from_decimal("1e400"), Some(Number::Big(s)) if s == "1e400"));
        assert!(matches!(Number::from_decimal("1E400"), Some(Number::Big(s)) if s == "1E400"));
        assert!(matches!(Number::from_decimal("001e400"), Some(Number::Big(s)) if s == "1e400"));
        assert!(
            matches!(Number::from_decimal("00.000000000000000000000001"), Some(Number::Big(s)) if s == "1e-24")
        );
        assert_eq!(
            Number::from_u64(u64::MAX),
            Number::Big("18446744073709551615".into())
        );
        assert!(matches!(Number::from_u64(1 << 63), Number::Float(_)));
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(Number::Int(3), Number::Float(3.0));
        assert_eq!(Number::Float(-0.0), Number::Int(0));
        assert_eq!(Number::Big("5".into()), Number::Int(5));
        assert_eq!(Number::Big("0.50".into()), Number::Float(0.5));
        assert_ne!(Number::Big("0.1".into()), Number::Float(0.1));
        assert_ne!(Number::Float(f64::NAN), Number::Float(f64::NAN));
        // Text that is not a number compares as text, so equality stays reflexive for it.
        assert_eq!(Number::Big("x".into()), Number::Big("x".into()));
        assert_eq!(Number::Big("inf".into()), Number::Float(f64::INFINITY));
        assert_ne!(Number::Int(i64::MAX), Number::Float(i64::MAX as f64));
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(Number::Float(7.0).canonical(), Ok(Canonical::Int(7)));
        assert_eq!(Number::Float(0.25).canonical(), Ok(Canonical::Float(0.25)));
        assert_eq!(
            Number::Float(f64::INFINITY).canonical(),
            Ok(Canonical::Float(f64::INFINITY))
        );
        assert!(Number::Float(f64::NAN).canonical().is_err());
        assert_eq!(Number::Big("12".into()).canonical(), Ok(Canonical::Int(12)));
        assert_eq!(
            Number::Big("0.1".into()).canonical(),
            Ok(Canonical::Text("0.1".into()))
        );
        assert!(Number::Big("x".into()).canonical().is_err());
    }
}
