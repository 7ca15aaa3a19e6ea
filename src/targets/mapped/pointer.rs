//! JSON pointers (RFC 6901) into answers and messages, with `*` as a step into every element
//! of a list (`/groups/*/gssi`). Pure.

use serde_json::Value;

/// The value at `ptr` (no wildcard).
pub fn one<'a>(v: &'a Value, ptr: &str) -> Option<&'a Value> {
    v.pointer(ptr)
}

/// Every value `ptr` reaches; `*` steps into each element of a list (or value of a map).
pub fn all<'a>(v: &'a Value, ptr: &str) -> Vec<&'a Value> {
    let Some((head, rest)) = ptr.split_once("/*") else {
        return v.pointer(ptr).into_iter().collect();
    };
    let Some(list) = v.pointer(head) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match list {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => o.values().collect(),
        _ => return Vec::new(),
    };
    items.into_iter().flat_map(|i| all(i, rest)).collect()
}

/// A whole number at `ptr`, from a JSON number or a string of digits.
pub fn number(v: &Value, ptr: &str) -> Option<u64> {
    as_number(one(v, ptr)?)
}

/// A JSON number, or a string of digits, as a whole number.
pub fn as_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1.8e19)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Text at `ptr`: a string as it is, a number or boolean written out.
pub fn text(v: &Value, ptr: &str) -> Option<String> {
    as_text(one(v, ptr)?)
}

pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_with_and_without_wildcards() {
        let v = json!({"groups": [{"gssi": 1}, {"gssi": "2"}, {"x": 3}], "id": 7, "s": "a"});
        assert_eq!(one(&v, "/id"), Some(&json!(7)));
        assert_eq!(one(&v, ""), Some(&v));
        let g: Vec<u64> = all(&v, "/groups/*/gssi")
            .into_iter()
            .filter_map(as_number)
            .collect();
        assert_eq!(g, vec![1, 2]);
        assert_eq!(all(&v, "/missing/*/gssi").len(), 0);
        assert_eq!(number(&v, "/groups/1/gssi"), Some(2));
        assert_eq!(text(&v, "/id").as_deref(), Some("7"));
        assert_eq!(text(&v, "/s").as_deref(), Some("a"));
        assert_eq!(text(&v, "/groups"), None);
        let nested = json!({"a": [[1, 2], [3]]});
        assert_eq!(all(&nested, "/a/*/*").len(), 3);
    }
}
