//! The msgpack value decoder (`DynamicValue.msgpack`) on arbitrary bytes, against a type read
//! from the front of the input. Nothing may panic, and a decoded value must survive encoding:
//! it decodes back to the same value, and its encoding is a fixed point.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tfprovider::fuzzing::type_from_bytes;
use tfprovider::tfvalue::{from_msgpack, to_msgpack};

fuzz_target!(|data: &[u8]| {
    let (ty, bytes) = type_from_bytes(data);
    let Ok(value) = from_msgpack(bytes, &ty) else {
        return;
    };
    let encoded = to_msgpack(&value, &ty)
        .unwrap_or_else(|e| panic!("decoded {value:?} as {ty} but cannot encode it: {e}"));
    let back = from_msgpack(&encoded, &ty).unwrap_or_else(|e| {
        panic!("cannot decode our own encoding {encoded:02x?} of {value:?} as {ty}: {e}")
    });
    assert_eq!(back, value, "round trip through {encoded:02x?} as {ty}");
    let again = to_msgpack(&back, &ty).expect("encodes once, encodes twice");
    assert_eq!(
        again, encoded,
        "encoding is not canonical for {value:?} as {ty}"
    );
    // The accessors handlers use on any decoded value.
    let _ = (
        value.is_wholly_known(),
        value.is_null(),
        value.implied_type(),
    );
});
