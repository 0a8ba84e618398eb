//! tfvalue: go-cty msgpack golden vectors (`tests/vectors/msgpack/`), JSON state decoding, and
//! property tests (msgpack and JSON round trips, hostile input never panics).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value as Json, json};
use tfprovider::tfvalue::{
    Number, Type, Unknown, Value, from_json, from_msgpack, to_json, to_msgpack,
};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).expect("vector hex")
}

/// Build the `Value` a vector's `value` field describes (see the file's `description`).
fn describe(d: &Json) -> Value {
    match d {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::String(s) => Value::String(s.clone()),
        Json::Object(m) => {
            assert_eq!(m.len(), 1, "one tag per described value: {d}");
            let (tag, body) = m.iter().next().unwrap();
            let text = || body.as_str().expect("number text").to_string();
            let items = || {
                body.as_array()
                    .expect("array")
                    .iter()
                    .map(describe)
                    .collect()
            };
            let entries = || {
                body.as_object()
                    .expect("object")
                    .iter()
                    .map(|(k, v)| (k.clone(), describe(v)))
                    .collect()
            };
            match tag.as_str() {
                "unknown" => Value::Unknown(Unknown {
                    refinements: body.as_str().map(unhex),
                }),
                "int" => Value::Number(Number::Int(text().parse().unwrap())),
                "float" => Value::Number(Number::Float(text().parse().unwrap())),
                "big" => Value::Number(Number::Big(text())),
                "list" => Value::List(items()),
                "set" => Value::Set(items()),
                "tuple" => Value::Tuple(items()),
                "map" => Value::Map(entries()),
                "object" => Value::Object(entries()),
                "dynamic" => {
                    let pair = body.as_array().expect("[type, value]");
                    Value::Dynamic(
                        Type::from_json(&pair[0]).unwrap(),
                        Box::new(describe(&pair[1])),
                    )
                }
                other => panic!("unknown tag {other}"),
            }
        }
        Json::Number(_) | Json::Array(_) => panic!("undescribed value {d}"),
    }
}

fn golden_cases() -> Vec<Json> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/msgpack/values.json"
    );
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

/// Check that bytes are one well-formed msgpack item, using rmpv as an independent reader.
/// For canonical bytes, rmpv's own (compact) writer must reproduce them exactly.
fn rmpv_agrees(bytes: &[u8], canonical: bool) -> Result<(), String> {
    let mut rd = bytes;
    let v = rmpv::decode::read_value(&mut rd).map_err(|e| e.to_string())?;
    if !rd.is_empty() {
        return Err(format!("{} bytes left over", rd.len()));
    }
    if canonical {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &v).map_err(|e| e.to_string())?;
        if out != bytes {
            return Err(format!("rmpv writes {}", hex::encode(out)));
        }
    }
    Ok(())
}

#[test]
fn msgpack_golden_vectors() {
    let cases = golden_cases();
    assert!(cases.len() >= 50, "vector file looks truncated");
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let ty = Type::from_json(&case["type"]).unwrap();
        let want = describe(&case["value"]);
        let bytes = unhex(case["hex"].as_str().unwrap());
        let canonical = case.get("reencoded").is_none();
        let out = case["reencoded"].as_str().map_or(bytes.clone(), unhex);

        rmpv_agrees(&bytes, canonical).unwrap_or_else(|e| panic!("{name}: hex: {e}"));
        rmpv_agrees(&out, true).unwrap_or_else(|e| panic!("{name}: reencoded: {e}"));

        let got = from_msgpack(&bytes, &ty).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        // Debug comparison is strict about Int vs Float, which value equality is not.
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name}: decode");
        let enc = to_msgpack(&want, &ty).unwrap_or_else(|e| panic!("{name}: encode: {e}"));
        assert_eq!(hex::encode(&enc), hex::encode(&out), "{name}: encode");
        assert_eq!(to_msgpack(&got, &ty).unwrap(), out, "{name}: re-encode");
        // The canonical form decodes to the same value.
        assert_eq!(from_msgpack(&out, &ty).unwrap(), want, "{name}: canonical");
    }
}

#[test]
fn golden_refined_unknown_is_not_null() {
    let v = from_msgpack(&unhex("c7 03 0c 81 01 c2"), &Type::String).unwrap();
    let Value::Unknown(u) = &v else {
        panic!("{v:?}")
    };
    assert!(u.definitely_not_null());
    assert!(v.is_unknown() && !v.is_null() && !v.is_wholly_known());
    assert_eq!(
        to_msgpack(&Value::Unknown(Unknown::not_null()), &Type::Bool).unwrap(),
        unhex("c7 03 0c 81 01 c2")
    );
}

fn timeouts_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("timeouts", Type::object([("create", Type::String)])),
    ])
}

#[test]
fn msgpack_type_errors_name_the_path() {
    let ty = timeouts_type();
    // {"timeouts": {"create": true}}: a bool where a string is expected.
    let b = unhex("81 a8 74696d656f757473 81 a6 637265617465 c3");
    let e = from_msgpack(&b, &ty).unwrap_err();
    assert_eq!(e.path().to_value_path(), ".timeouts.create");
    assert!(e.to_string().contains("expected string, found bool"), "{e}");
    // A string where a bool is expected: Terraform sends typed values, so no coercion.
    assert!(from_msgpack(&unhex("a4 74727565"), &Type::Bool).is_err());
    // An attribute the type does not have.
    let e = from_msgpack(&unhex("81 a1 78 c0"), &ty).unwrap_err();
    assert!(e.to_string().contains("unsupported attribute \"x\""), "{e}");
    // Tuple of the wrong length; dynamic array of the wrong length.
    assert!(from_msgpack(&unhex("91 c3"), &Type::tuple([Type::Bool, Type::Bool])).is_err());
    assert!(from_msgpack(&unhex("93 c4 06 22626f6f6c22 c3 c3"), &Type::Dynamic).is_err());
    // Non-string map key.
    assert!(from_msgpack(&unhex("81 01 c3"), &Type::map(Type::Bool)).is_err());
}

#[test]
fn msgpack_encode_rejects_nonconforming_values() {
    let ty = timeouts_type();
    let extra = Value::Object(BTreeMap::from([("nope".to_string(), Value::Null)]));
    let e = to_msgpack(&extra, &ty).unwrap_err();
    assert!(e.to_string().contains("\"nope\""), "{e}");
    let wrong = Value::Object(BTreeMap::from([(
        "timeouts".to_string(),
        Value::Object(BTreeMap::from([("create".to_string(), Value::int(1))])),
    )]));
    let e = to_msgpack(&wrong, &ty).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at .timeouts.create: expected string, found number"
    );
    assert!(to_msgpack(&Value::Number(Number::Float(f64::NAN)), &Type::Number).is_err());
    assert!(to_msgpack(&Value::Number(Number::Big("abc".into())), &Type::Number).is_err());
    // An empty list for a dynamic attribute has no implied type.
    assert!(to_msgpack(&Value::List(vec![]), &Type::Dynamic).is_err());
    // Missing attributes are written as nil, in sorted order.
    let sparse = Value::Object(BTreeMap::from([("id".to_string(), Value::string("i"))]));
    assert_eq!(
        hex::encode(to_msgpack(&sparse, &ty).unwrap()),
        "82a26964a169a874696d656f757473c0"
    );
}

#[test]
fn msgpack_dynamic_infers_simple_types() {
    let v = Value::List(vec![Value::string("a")]);
    let b = to_msgpack(&v, &Type::Dynamic).unwrap();
    let back = from_msgpack(&b, &Type::Dynamic).unwrap();
    assert_eq!(back, Value::Dynamic(Type::list(Type::String), Box::new(v)));
}

#[test]
fn json_state_missing_attribute_is_null_and_extra_is_ignored() {
    let ty = Type::object([
        ("id", Type::String),
        ("added_later", Type::list(Type::String)),
        ("timeouts", Type::object([("create", Type::String)])),
    ]);
    let raw =
        br#"{"id":"fl-1","removed_attr":{"deep":[1,2,3]},"timeouts":{"create":"10m","gone":1}}"#;
    let v = from_json(raw, &ty).unwrap();
    assert_eq!(v.get("id").and_then(Value::as_str), Some("fl-1"));
    assert!(v.get("added_later").unwrap().is_null());
    assert!(v.get("removed_attr").is_none());
    let t = v.get("timeouts").unwrap();
    assert_eq!(t.get("create").and_then(Value::as_str), Some("10m"));
    assert_eq!(t.as_map().unwrap().len(), 1);
    // And it re-encodes for Terraform with every attribute.
    let b = to_msgpack(&v, &ty).unwrap();
    assert_eq!(from_msgpack(&b, &ty).unwrap(), v);
}

#[test]
fn json_state_big_numbers_keep_their_digits() {
    let ty = Type::object([
        ("n", Type::Number),
        ("m", Type::Number),
        ("f", Type::Number),
    ]);
    let raw = br#"{"n":123456789012345678901234567890.5,"m":18446744073709551616,"f":0.1}"#;
    let v = from_json(raw, &ty).unwrap();
    assert_eq!(
        format!("{:?}", v.get("n").unwrap()),
        r#"Number(Big("123456789012345678901234567890.5"))"#
    );
    // 2^64 is an exact float64, so it may be a Float; its value must be exact either way.
    assert_eq!(
        v.get("m").unwrap().as_number().unwrap(),
        &Number::Big("18446744073709551616".into())
    );
    assert_eq!(
        format!("{:?}", v.get("f").unwrap()),
        r#"Number(Big("0.1"))"#
    );
    // The digits reach Terraform unchanged.
    let b = to_msgpack(&v, &ty).unwrap();
    let s = String::from_utf8_lossy(&b);
    assert!(s.contains("123456789012345678901234567890.5"), "{s}");
    // int, negative, exponent forms
    assert_eq!(
        from_json(b"-42", &Type::Number).unwrap().as_i64(),
        Some(-42)
    );
    assert_eq!(
        from_json(b"1e3", &Type::Number).unwrap().as_i64(),
        Some(1000)
    );
    assert_eq!(
        from_json(b"9223372036854775807", &Type::Number)
            .unwrap()
            .as_i64(),
        Some(i64::MAX)
    );
}

#[test]
fn json_nulls_and_collections() {
    let ty = Type::object([
        ("s", Type::set(Type::String)),
        ("m", Type::map(Type::Number)),
        ("t", Type::tuple([Type::Bool, Type::String])),
        ("d", Type::Dynamic),
    ]);
    let raw = br#"{"s":["a","b"],"m":{"x":1},"t":[true,null],"d":{"value":{"k":"v"},"type":["map","string"]}}"#;
    let v = from_json(raw, &ty).unwrap();
    let j = to_json(&v, &ty).unwrap();
    assert_eq!(
        j,
        json!({"s":["a","b"],"m":{"x":1},"t":[true,null],"d":{"value":{"k":"v"},"type":["map","string"]}})
    );
    assert_eq!(from_json(b"null", &ty).unwrap(), Value::Null);
    assert!(from_json(br#"{"t":[true]}"#, &ty).is_err());
}

// ---- property tests ----

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

#[derive(Clone, Copy)]
struct Gen {
    /// Allow unknowns (msgpack) or not (JSON).
    unknowns: bool,
    /// Finite floats only (JSON has no infinity).
    json_floats: bool,
    /// How many more nested dynamic values may pick their own type.
    dyn_budget: u32,
}

fn arb_number(json_floats: bool) -> BoxedStrategy<Number> {
    let float = if json_floats {
        // Every finite float64, those whose shortest text is another decimal (0.1, 2^70)
        // included: JSON writes those as their exact text. Infinities have no JSON form.
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Number::Float)
            .boxed()
    } else {
        prop_oneof![
            any::<f64>().prop_filter("NaN is not a number", |f| !f.is_nan()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
        .prop_map(Number::Float)
        .boxed()
    };
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        float,
        "-?[0-9]{1,30}(\\.[0-9]{1,30})?(e-?[0-9]{1,3})?"
            .prop_map(|s| Number::from_decimal(&s).expect("generated decimal")),
        any::<u64>().prop_map(Number::from_u64),
    ]
    .boxed()
}

fn arb_known(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    match ty {
        Type::String => "\\PC{0,12}|[\\x00-\\x1f\"\\\\]{0,4}"
            .prop_map(Value::String)
            .boxed(),
        Type::Number => arb_number(g.json_floats).prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(e) => prop::collection::vec(arb_value(e, g), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => prop::collection::vec(arb_value(e, g), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) => prop::collection::btree_map("\\PC{0,5}", arb_value(e, g), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => attrs
            .iter()
            .map(|(k, t)| {
                let k = k.clone();
                arb_value(t, g).prop_map(move |v| (k.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(|kv| Value::Object(kv.into_iter().collect()))
            .boxed(),
        Type::Tuple(ts) => ts
            .iter()
            .map(|t| arb_value(t, g))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Dynamic => {
            if g.dyn_budget == 0 {
                return Just(Value::Null).boxed();
            }
            let inner = Gen {
                dyn_budget: g.dyn_budget - 1,
                ..g
            };
            // A concrete type: `dynamic` itself is never a dynamic value's type on the wire.
            arb_type()
                .prop_filter("concrete", |t| *t != Type::Dynamic)
                .prop_flat_map(move |t| {
                    arb_value(&t, inner).prop_map(move |v| Value::Dynamic(t.clone(), Box::new(v)))
                })
                .boxed()
        }
    }
}

fn arb_value(ty: &Type, g: Gen) -> BoxedStrategy<Value> {
    let known = arb_known(ty, g);
    if g.unknowns {
        prop_oneof![
            1 => Just(Value::Null),
            1 => Just(Value::unknown()),
            1 => Just(Value::Unknown(Unknown::not_null())),
            6 => known,
        ]
        .boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    }
}

fn typed_value(g: Gen) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |t| {
        let tt = t.clone();
        arb_value(&t, g).prop_map(move |v| (tt.clone(), v))
    })
}

const MSGPACK_GEN: Gen = Gen {
    unknowns: true,
    json_floats: false,
    dyn_budget: 2,
};
const JSON_GEN: Gen = Gen {
    unknowns: false,
    json_floats: true,
    dyn_budget: 2,
};

fn fixed_types() -> Vec<Type> {
    vec![
        Type::String,
        Type::Number,
        Type::Dynamic,
        Type::list(Type::Dynamic),
        Type::object([
            ("id", Type::String),
            ("n", Type::Number),
            ("tags", Type::map(Type::String)),
            ("rule", Type::list(Type::object([("port", Type::Number)]))),
            ("pair", Type::tuple([Type::Bool, Type::set(Type::Number)])),
        ]),
    ]
}

proptest! {
    #[test]
    fn msgpack_round_trips((ty, v) in typed_value(MSGPACK_GEN)) {
        let bytes = to_msgpack(&v, &ty).unwrap();
        prop_assert!(rmpv_agrees(&bytes, false).is_ok());
        let back = from_msgpack(&bytes, &ty).unwrap();
        prop_assert_eq!(&back, &v);
        // Our output is canonical: encoding what we decoded gives the same bytes.
        prop_assert_eq!(to_msgpack(&back, &ty).unwrap(), bytes);
    }

    #[test]
    fn json_round_trips((ty, v) in typed_value(JSON_GEN)) {
        prop_assume!(v.is_wholly_known());
        let j = to_json(&v, &ty).unwrap();
        let text = serde_json::to_vec(&j).unwrap();
        let back = from_json(&text, &ty).unwrap();
        prop_assert_eq!(&back, &v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        for ty in fixed_types() {
            let _ = from_msgpack(&bytes, &ty);
            let _ = from_json(&bytes, &ty);
        }
    }

    #[test]
    fn mutated_encodings_never_panic(
        (ty, v) in typed_value(MSGPACK_GEN),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = to_msgpack(&v, &ty).unwrap();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let _ = from_msgpack(&bytes, &ty);
        let n = cut.index(bytes.len() + 1);
        let _ = from_msgpack(&bytes[..n], &ty);
    }
}

#[test]
fn hostile_nesting_is_rejected_without_overflow() {
    // 100k nested single-element arrays against list(dynamic): dynamic wrappers nest forever.
    let mut b = Vec::new();
    for _ in 0..100_000 {
        b.extend_from_slice(&unhex("92 c4 12"));
        b.extend_from_slice(br#"["list","dynamic"]"#);
        b.push(0x91);
    }
    assert!(from_msgpack(&b, &Type::Dynamic).is_err());
    let deep = "[".repeat(100_000);
    assert!(from_json(deep.as_bytes(), &Type::Dynamic).is_err());
    let deep = r#"{"type":["list","dynamic"],"value":["#.repeat(10_000);
    assert!(from_json(deep.as_bytes(), &Type::Dynamic).is_err());
}
