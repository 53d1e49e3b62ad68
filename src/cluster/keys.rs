//! Every Redis key and pub/sub channel name Ferrocast uses, in one place
//! (documented in `docs/cluster.md`, "Wire format and keys").
//!
//! All names start with a prefix (default `ferrocast`), so several clusters
//! can share one Redis. Variable parts (scope, object or stream name, node
//! id) are escaped — `%` → `%25`, `:` → `%3A`, and the glob characters `*`,
//! `?`, `[`, `]`, `\` likewise — so names never collide and `SCAN MATCH`
//! patterns stay exact.
//!
//! | name | kind | content |
//! |---|---|---|
//! | `{p}:ch:node:{node}` | channel | a node's inbox: callClient requests and replies, stream wanted/unwanted |
//! | `{p}:ch:scope:{scope}` | channel | `broadcast` calls in a scope |
//! | `{p}:ch:so:{P\|T}:{scope}:{name}` | channel | a SharedObject's deltas, sends and clears (P = persistent, T = temporary) |
//! | `{p}:ch:stream:{scope}:{name}` | channel | a stream's media frames and its unpublish |
//! | `{p}:node:{node}` | string, `PX` TTL | a node's heartbeat; the value is node info (opaque text) |
//! | `{p}:lease:{lease}` | string, `PX` TTL | a lease; the value is the owner token |
//! | `{p}:so:{P\|T}:{scope}:{name}:slots` | hash | a SharedObject's slots (stored encoding) |
//! | `{p}:so:{P\|T}:{scope}:{name}:ver` | string | its version |
//! | `{p}:so:{P\|T}:{scope}:{name}:log` | stream, `MAXLEN ~` | its op log: entry id `{version}-0`, field `e` = the delta envelope |
//! | `{p}:so:T:{scope}:{name}:members` | set | node ids using a non-persistent object |
//!
//! Stream ownership uses the lease named by [`KeySpace::stream_lease`]
//! (`stream:{scope}:{name}`).

use super::NodeId;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "ferrocast";

/// Builds key and channel names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpace {
    prefix: String,
}

impl Default for KeySpace {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl KeySpace {
    /// A key space under `prefix` (escaped like every other part).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: escape(prefix),
        }
    }

    /// The prefix, escaped.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A node's inbox channel.
    pub fn node_channel(&self, node: &NodeId) -> String {
        format!("{}:ch:node:{}", self.prefix, escape(node.as_str()))
    }

    /// The channel of `broadcast` calls in `scope`.
    pub fn scope_channel(&self, scope: &str) -> String {
        format!("{}:ch:scope:{}", self.prefix, escape(scope))
    }

    /// A SharedObject's channel.
    pub fn shared_object_channel(&self, scope: &str, name: &str, persistent: bool) -> String {
        let kind = if persistent { "P" } else { "T" };
        format!(
            "{}:ch:so:{kind}:{}:{}",
            self.prefix,
            escape(scope),
            escape(name)
        )
    }

    /// A key of a SharedObject in the Redis store: `part` is `slots` (hash
    /// slot → stored value), `ver` (the version), `log` (the capped op log
    /// stream) or `members` (set of node ids using a non-persistent object).
    pub fn shared_object_key(
        &self,
        scope: &str,
        name: &str,
        persistent: bool,
        part: &str,
    ) -> String {
        let kind = if persistent { "P" } else { "T" };
        format!(
            "{}:so:{kind}:{}:{}:{part}",
            self.prefix,
            escape(scope),
            escape(name)
        )
    }

    /// The `SCAN MATCH` pattern of every SharedObject key `part` of one
    /// persistence.
    pub fn shared_object_pattern(&self, persistent: bool, part: &str) -> String {
        let kind = if persistent { "P" } else { "T" };
        format!("{}:so:{kind}:*:{part}", self.prefix)
    }

    /// The (scope, name) a SharedObject key of `part` names, if it is one.
    pub fn shared_object_from_key(
        &self,
        key: &str,
        persistent: bool,
        part: &str,
    ) -> Option<(String, String)> {
        let kind = if persistent { ":so:P:" } else { ":so:T:" };
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix(kind)?;
        let rest = rest.strip_suffix(part)?.strip_suffix(':')?;
        let (scope, name) = rest.split_once(':')?;
        Some((unescape(scope)?, unescape(name)?))
    }

    /// A stream's channel (frames, unpublish).
    pub fn stream_channel(&self, scope: &str, name: &str) -> String {
        format!(
            "{}:ch:stream:{}:{}",
            self.prefix,
            escape(scope),
            escape(name)
        )
    }

    /// A node's heartbeat key.
    pub fn node_key(&self, node: &NodeId) -> String {
        format!("{}:node:{}", self.prefix, escape(node.as_str()))
    }

    /// The `SCAN MATCH` pattern of every heartbeat key.
    pub fn node_key_pattern(&self) -> String {
        format!("{}:node:*", self.prefix)
    }

    /// The node id a heartbeat key names, if it is one.
    pub fn node_from_key(&self, key: &str) -> Option<NodeId> {
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix(":node:")?;
        unescape(rest).map(NodeId::new)
    }

    /// A lease's key.
    pub fn lease_key(&self, lease: &str) -> String {
        format!("{}:lease:{}", self.prefix, escape(lease))
    }

    /// The lease name of a stream's ownership.
    pub fn stream_lease(scope: &str, name: &str) -> String {
        format!("stream:{}:{}", escape(scope), escape(name))
    }
}

/// Escapes `%`, `:` and the glob characters as `%XX`.
fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        match c {
            '%' | ':' | '*' | '?' | '[' | ']' | '\\' => {
                out.push_str(&format!("%{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`escape`]; `None` on a malformed escape.
fn unescape(part: &str) -> Option<String> {
    let mut out = Vec::with_capacity(part.len());
    let mut bytes = part.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_layout() {
        let k = KeySpace::default();
        let node = NodeId::from("node-a");
        assert_eq!(k.node_channel(&node), "ferrocast:ch:node:node-a");
        assert_eq!(k.scope_channel("live/room"), "ferrocast:ch:scope:live/room");
        assert_eq!(
            k.shared_object_channel("live", "chat", true),
            "ferrocast:ch:so:P:live:chat"
        );
        assert_eq!(
            k.shared_object_channel("live", "chat", false),
            "ferrocast:ch:so:T:live:chat"
        );
        assert_eq!(
            k.stream_channel("live", "cam"),
            "ferrocast:ch:stream:live:cam"
        );
        assert_eq!(k.node_key(&node), "ferrocast:node:node-a");
        assert_eq!(
            k.lease_key(&KeySpace::stream_lease("live", "cam")),
            "ferrocast:lease:stream%3Alive%3Acam"
        );
    }

    #[test]
    fn a_shared_object_key_names_its_scope_and_name_back() {
        let k = KeySpace::default();
        let key = k.shared_object_key("live/a:b", "c*d", true, "ver");
        assert_eq!(key, "ferrocast:so:P:live/a%3Ab:c%2Ad:ver");
        assert_eq!(
            k.shared_object_from_key(&key, true, "ver"),
            Some(("live/a:b".into(), "c*d".into()))
        );
        assert_eq!(k.shared_object_from_key(&key, false, "ver"), None);
    }

    #[test]
    fn colons_in_names_cannot_make_two_names_collide() {
        let k = KeySpace::default();
        assert_ne!(k.stream_channel("a:b", "c"), k.stream_channel("a", "b:c"));
    }

    #[test]
    fn a_node_id_with_special_characters_roundtrips_through_its_key() {
        let k = KeySpace::new("test-1");
        let node = NodeId::from("host:1*[x]%?\\é");
        let key = k.node_key(&node);
        assert!(!key["test-1:node:".len()..].contains([':', '*', '?', '[', ']']));
        assert_eq!(k.node_from_key(&key), Some(node));
        assert_eq!(k.node_from_key("other:node:x"), None);
        assert_eq!(k.node_from_key("test-1:node:%G1"), None);
    }
}
