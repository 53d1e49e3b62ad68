//! What one accepted message sends to the apply script: its slot
//! operations and its envelopes, encoded around the version field (see the
//! parent module).

use bytes::Bytes;

use crate::cluster::{ClusterEvent, Envelope, EnvelopeError, NodeId};

/// Bytes counted per script argument on top of its content (the RESP
/// bulk header), for [`RedisMessage::arg_bytes`].
const ARG_OVERHEAD: usize = 16;

/// One slot operation of a message, in the store's encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisOp {
    /// Set the slot to the stored value.
    Set(String, Bytes),
    /// Remove the slot.
    Remove(String),
    /// Remove every slot.
    Clear,
}

/// An envelope encoded around its version field (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedEnvelope {
    /// The bytes before the version.
    pub prefix: Bytes,
    /// The bytes after it.
    pub suffix: Bytes,
    /// Whether it goes in the op log (deltas and clears) or is only
    /// published (sends).
    pub logged: bool,
}

impl VersionedEnvelope {
    /// Encodes `event(version)` from `node` with `seq`, split around the
    /// version field.
    ///
    /// # Errors
    /// [`EnvelopeError`] when the event cannot be encoded, or when `event`
    /// does not place the version in one varint field.
    pub fn split(
        node: &NodeId,
        seq: u64,
        event: impl Fn(u32) -> ClusterEvent,
        logged: bool,
    ) -> Result<Self, EnvelopeError> {
        let zero = Envelope::new(node.clone(), seq, event(0)).encode()?;
        let one = Envelope::new(node.clone(), seq, event(1)).encode()?;
        let at = zero.iter().zip(one.iter()).position(|(a, b)| a != b);
        match at {
            Some(at) if zero.len() == one.len() => Ok(Self {
                prefix: zero.slice(..at),
                suffix: zero.slice(at + 1..),
                logged,
            }),
            _ => Err(EnvelopeError::Encode {
                reason: "the event has no version field".to_string(),
            }),
        }
    }

    /// The envelope at `version`, exactly as [`APPLY_SCRIPT`] builds it.
    pub fn at(&self, version: u32) -> Bytes {
        let mut out = Vec::with_capacity(self.prefix.len() + self.suffix.len() + 5);
        out.extend_from_slice(&self.prefix);
        if version < 251 {
            out.push(version as u8);
        } else if version < 65536 {
            out.push(251);
            out.extend_from_slice(&(version as u16).to_le_bytes());
        } else {
            out.push(252);
            out.extend_from_slice(&version.to_le_bytes());
        }
        out.extend_from_slice(&self.suffix);
        Bytes::from(out)
    }
}

/// One accepted message for the apply script: slot operations and the
/// envelopes to log and publish at the version it gets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedisMessage {
    /// The slot operations, in order.
    pub ops: Vec<RedisOp>,
    /// The envelopes: the delta or clear first (logged), then the sends.
    pub envelopes: Vec<VersionedEnvelope>,
}

impl RedisMessage {
    /// About how many bytes of script arguments the message takes, to
    /// bound a batch.
    pub fn arg_bytes(&self) -> usize {
        let ops: usize = self
            .ops
            .iter()
            .map(|op| match op {
                RedisOp::Set(slot, value) => slot.len() + value.len(),
                RedisOp::Remove(slot) => slot.len(),
                RedisOp::Clear => 0,
            })
            .sum();
        let envelopes: usize = self
            .envelopes
            .iter()
            .map(|e| e.prefix.len() + e.suffix.len())
            .sum();
        let args = 2 + 3 * (self.ops.len() + self.envelopes.len());
        ops + envelopes + args * ARG_OVERHEAD
    }

    /// Appends the message's script arguments: op count, `kind slot value`
    /// per op, envelope count, `kind prefix suffix` per envelope.
    pub(super) fn push_args(self, args: &mut Vec<Vec<u8>>) {
        args.push(self.ops.len().to_string().into_bytes());
        for op in self.ops {
            let (kind, slot, value) = match op {
                RedisOp::Set(slot, value) => ("S", slot, value.to_vec()),
                RedisOp::Remove(slot) => ("R", slot, Vec::new()),
                RedisOp::Clear => ("C", String::new(), Vec::new()),
            };
            args.extend([kind.as_bytes().to_vec(), slot.into_bytes(), value]);
        }
        args.push(self.envelopes.len().to_string().into_bytes());
        for e in self.envelopes {
            let kind = if e.logged { "D" } else { "P" };
            args.extend([
                kind.as_bytes().to_vec(),
                e.prefix.to_vec(),
                e.suffix.to_vec(),
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::envelope::{AmfEncoding, ObjectKey, SlotChange};

    fn delta(version: u32) -> ClusterEvent {
        ClusterEvent::SharedObjectDelta {
            object: ObjectKey {
                scope: "live".into(),
                name: "chat".into(),
                persistent: true,
            },
            version,
            encoding: AmfEncoding::Amf3,
            changes: vec![SlotChange {
                slot: "a".into(),
                value: Some(Bytes::from_static(b"\x03\x04\x01")),
            }],
        }
    }

    #[test]
    fn a_split_envelope_joined_at_any_version_is_the_envelope_encoded_at_that_version() {
        let node = NodeId::from("node-a");
        let split = VersionedEnvelope::split(&node, 300, delta, true).expect("splits");
        for version in [0, 1, 250, 251, 65_535, 65_536, 1 << 24, u32::MAX] {
            let expected = Envelope::new(node.clone(), 300, delta(version))
                .encode()
                .expect("encodes");
            assert_eq!(split.at(version), expected, "version {version}");
        }
    }
}
