//! The figures of one benchmark run: a human summary and one JSON line.
//!
//! Keys carry their unit as a suffix (`_ms`, `_us`, `_kbps`, `_bytes`,
//! `_per_s`), so the JSON line is self-describing for scripts
//! (scripts/bench-vs-nginx.sh reads it).

use std::fmt::Write as _;

/// One figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A count or an integral measurement.
    Int(u64),
    /// A measured ratio or rate.
    Float(f64),
    /// A label (a URL, a mode).
    Text(String),
    /// A check's outcome.
    Bool(bool),
    /// A figure that could not be measured (no samples).
    Missing,
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(v)
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(v as u64)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        if v.is_finite() {
            Value::Float(v)
        } else {
            Value::Missing
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Missing, Into::into)
    }
}

impl Value {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(v) => (*v).into(),
            Value::Float(v) => serde_json::Number::from_f64((v * 1000.0).round() / 1000.0)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Text(v) => v.clone().into(),
            Value::Bool(v) => (*v).into(),
            Value::Missing => serde_json::Value::Null,
        }
    }

    fn human(&self) -> String {
        match self {
            Value::Int(v) => v.to_string(),
            Value::Float(v) => format!("{v:.3}"),
            Value::Text(v) => v.clone(),
            Value::Bool(v) => v.to_string(),
            Value::Missing => "-".to_owned(),
        }
    }
}

/// The figures of one run, in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    scenario: String,
    figures: Vec<(String, Value)>,
}

impl Report {
    /// An empty report for `scenario`.
    pub fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            figures: Vec::new(),
        }
    }

    /// The scenario's name.
    pub fn scenario(&self) -> &str {
        &self.scenario
    }

    /// Adds (or replaces) one figure.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        let value = value.into();
        match self.figures.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.figures.push((key.to_owned(), value)),
        }
        self
    }

    /// One figure by key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.figures.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The figures, in order.
    pub fn figures(&self) -> &[(String, Value)] {
        &self.figures
    }

    /// The JSON line: `{"scenario": ..., key: value, ...}` in order.
    pub fn json_line(&self) -> String {
        // Written by hand: serde_json's map would sort the keys.
        let field = |k: &str, v: serde_json::Value| format!("{}:{v}", serde_json::Value::from(k));
        let fields: Vec<String> = std::iter::once(field("scenario", self.scenario.clone().into()))
            .chain(self.figures.iter().map(|(k, v)| field(k, v.to_json())))
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    /// The human summary: a title line and one aligned `key  value` line per
    /// figure.
    pub fn human(&self) -> String {
        let width = self.figures.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = format!("ferrocast bench {}\n", self.scenario);
        for (k, v) in &self.figures {
            let _ = writeln!(out, "  {k:<width$}  {}", v.human());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_line_keeps_the_order_and_types_of_the_figures() {
        let mut r = Report::new("rpc");
        r.set("calls", 10u64)
            .set("rtt_p99_us", Some(420u64))
            .set("rate_per_s", 1234.56789)
            .set("url", "rtmp://127.0.0.1/x")
            .set("converged", true)
            .set("missing_us", None::<u64>);
        assert_eq!(
            r.json_line(),
            r#"{"scenario":"rpc","calls":10,"rtt_p99_us":420,"rate_per_s":1234.568,"url":"rtmp://127.0.0.1/x","converged":true,"missing_us":null}"#
        );
    }

    #[test]
    fn setting_a_key_twice_replaces_it_in_place() {
        let mut r = Report::new("so");
        r.set("a", 1u64).set("b", 2u64).set("a", 3u64);
        assert_eq!(r.figures().len(), 2);
        assert_eq!(r.get("a"), Some(&Value::Int(3)));
        assert!(r.human().contains("  a  3\n"));
    }
}
