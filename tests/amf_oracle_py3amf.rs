//! Py3AMF (PyPI) as an independent AMF0/AMF3 implementation that, unlike the
//! `amf` crate oracle used in the unit tests, writes references: repeated
//! strings, shared objects and class traits, as Flash Player and BlazeDS do.
//!
//! Py3AMF encodes a set of values (tests/oracles/py3amf_oracle.py); we decode
//! each, check that wire references became shared nodes, re-encode with our own
//! reference tables, and Py3AMF decodes our bytes and compares them with the
//! values it started from. scripts/test.sh installs Py3AMF into a virtualenv
//! and points `FERROCAST_PY3AMF_PYTHON` at its interpreter.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ferrocast::protocol::amf::{amf0, amf3, AmfValue};
use ferrocast::protocol::limits::AmfLimits;
use serde_json::Value;

fn python() -> String {
    std::env::var("FERROCAST_PY3AMF_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn oracle(mode: &str, input: Option<&str>) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracles/py3amf_oracle.py"
    );
    let mut child = Command::new(python())
        .arg(script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test.sh installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.unwrap_or("").as_bytes())
        .expect("write to oracle");
    drop(stdin);
    let out = child.wait_with_output().expect("oracle finishes");
    assert!(
        out.status.success(),
        "Py3AMF oracle failed (run scripts/test.sh, which installs Py3AMF and sets FERROCAST_PY3AMF_PYTHON): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle prints JSON")
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct Case {
    name: String,
    encoding: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let Value::Array(list) = oracle("cases", None) else {
        panic!("oracle cases must be a list");
    };
    list.into_iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("name").to_string(),
            encoding: c["encoding"].as_str().expect("encoding").to_string(),
            bytes: from_hex(c["hex"].as_str().expect("hex")),
        })
        .collect()
}

fn decode(case: &Case) -> AmfValue {
    let input = Bytes::from(case.bytes.clone());
    let mut values = match case.encoding.as_str() {
        "amf0" => amf0::decode_all(input, AmfLimits::default()),
        "amf3" => amf3::decode_all(input, AmfLimits::default()),
        other => panic!("unknown encoding {other}"),
    }
    .unwrap_or_else(|e| {
        panic!(
            "{}/{}: our decoder refused Py3AMF's bytes: {e}",
            case.name, case.encoding
        )
    });
    assert_eq!(
        values.len(),
        1,
        "{}/{}: one value",
        case.name,
        case.encoding
    );
    values.remove(0)
}

fn encode(value: &AmfValue, encoding: &str) -> Vec<u8> {
    let mut out = BytesMut::new();
    match encoding {
        "amf0" => amf0::encode_all(std::slice::from_ref(value), &mut out),
        _ => amf3::encode_all(std::slice::from_ref(value), &mut out),
    }
    .expect("our encoder writes what our decoder read");
    out.to_vec()
}

fn items(value: &AmfValue) -> Vec<AmfValue> {
    match value {
        AmfValue::StrictArray(items) => items.to_vec(),
        other => panic!("expected a strict array, got {}", other.type_name()),
    }
}

#[test]
fn values_py3amf_encodes_with_references_decode_and_come_back_equal_through_our_encoder() {
    let cases = cases();
    assert!(cases.len() >= 20, "the oracle provides its cases");
    let mut ours = Vec::new();
    for case in &cases {
        let value = decode(case);
        let bytes = encode(&value, &case.encoding);
        ours.push(serde_json::json!({"name": case.name, "encoding": case.encoding, "hex": to_hex(&bytes)}));
    }
    let Value::Object(results) = oracle("verify", Some(&Value::Array(ours).to_string())) else {
        panic!("oracle verify must print an object");
    };
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, v)| v.as_str() != Some("ok"))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    assert!(
        failures.is_empty(),
        "Py3AMF disagrees with our encoding:\n{}",
        failures.join("\n")
    );
    assert_eq!(results.len(), cases.len(), "every case verified");
}

#[test]
fn a_wire_reference_to_an_object_decodes_to_one_shared_node_in_both_formats() {
    for case in cases()
        .iter()
        .filter(|c| c.name == "shared_object_twice" || c.name == "same_typed_object_twice")
    {
        let both = items(&decode(case));
        let (AmfValue::Object(a), AmfValue::Object(b)) = (&both[0], &both[1]) else {
            panic!("{}/{}: two objects", case.name, case.encoding);
        };
        assert!(
            Arc::ptr_eq(a, b),
            "{}/{}: the reference is shared",
            case.name,
            case.encoding
        );
    }
}

#[test]
fn amf3_traits_keep_the_registered_class_alias_and_sealed_members() {
    let case = cases()
        .into_iter()
        .find(|c| c.name == "typed_objects_share_traits" && c.encoding == "amf3")
        .expect("case present");
    for point in items(&decode(&case)) {
        let object = point.as_object().expect("an object");
        assert_eq!(object.class_name.as_deref(), Some("com.example.Point"));
        assert_eq!(object.sealed_count, 2);
        assert!(object.get("x").is_some() && object.get("y").is_some());
    }
}

#[test]
fn our_amf3_output_is_no_larger_than_py3amf_for_reference_heavy_values() {
    // Py3AMF writes references for repeated strings, objects and traits; so
    // must we, or our bytes would be longer.
    for case in cases().iter().filter(|c| c.encoding == "amf3") {
        if ![
            "repeated_strings",
            "shared_object_twice",
            "typed_objects_share_traits",
            "list_of_dicts_sharing_keys",
        ]
        .contains(&case.name.as_str())
        {
            continue;
        }
        let ours = encode(&decode(case), "amf3");
        assert!(
            ours.len() <= case.bytes.len(),
            "{}: we wrote {} bytes, Py3AMF {}",
            case.name,
            ours.len(),
            case.bytes.len()
        );
    }
}
