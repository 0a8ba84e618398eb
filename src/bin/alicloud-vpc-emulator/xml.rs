//! The minimal JSON-to-XML mapping the RPC gateway uses when `Format` is `XML` or absent:
//! object keys become elements and an array repeats its parent's element once per item.

use serde_json::Value;

pub fn to_xml(root: &str, value: &Value) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    element(&mut out, root, value);
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    if let Value::Array(items) = value {
        for item in items {
            element(out, name, item);
        }
        return;
    }
    let name = element_name(name);
    out.push('<');
    out.push_str(&name);
    out.push('>');
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                element(out, k, v);
            }
        }
        Value::String(s) => escape_into(out, s),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// Keys of pass-through fields are user data; keep the document well-formed whatever they are.
fn element_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, '_');
    }
    s
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_repeat_the_parent_element() {
        let v =
            json!({"RequestId": "R", "FlowLogs": {"FlowLog": [{"A": 1}, {"A": "x<y"}]}, "N": null});
        assert_eq!(
            to_xml("DescribeFlowLogsResponse", &v),
            r#"<?xml version="1.0" encoding="UTF-8"?><DescribeFlowLogsResponse><FlowLogs><FlowLog><A>1</A></FlowLog><FlowLog><A>x&lt;y</A></FlowLog></FlowLogs><N></N><RequestId>R</RequestId></DescribeFlowLogsResponse>"#
        );
        assert_eq!(
            to_xml("E", &json!({"1 bad": true})),
            r#"<?xml version="1.0" encoding="UTF-8"?><E><_1_bad>true</_1_bad></E>"#
        );
    }
}
