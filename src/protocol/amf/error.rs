//! Errors of the AMF layer.

/// Why an AMF value could not be decoded or encoded.
///
/// Any decoding error is a protocol violation by the peer: the caller closes that
/// one connection and logs this error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmfError {
    /// The input ended in the middle of a value.
    #[error("truncated AMF data while reading {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// An AMF0 type marker that the spec does not define (or that is reserved,
    /// like MovieClip 0x04 and RecordSet 0x0E).
    #[error("unknown or unsupported AMF0 type marker 0x{marker:02x}")]
    UnknownAmf0Marker {
        /// The marker byte.
        marker: u8,
    },
    /// An AMF3 type marker that the spec does not define.
    #[error("unknown AMF3 type marker 0x{marker:02x}")]
    UnknownAmf3Marker {
        /// The marker byte.
        marker: u8,
    },
    /// Containers nested deeper than [`AmfLimits::max_depth`](crate::protocol::limits::AmfLimits).
    #[error("AMF value nested deeper than the limit of {limit}")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// A reference index that points past the end of its table.
    #[error("{table} reference {index} out of range (table holds {len})")]
    BadReference {
        /// Which table: "object", "string" or "trait".
        table: &'static str,
        /// The index on the wire.
        index: usize,
        /// The table's size at that point.
        len: usize,
    },
    /// A reference to an object that is still being decoded: a cyclic graph,
    /// which the tree-shaped value model cannot hold.
    #[error("cyclic reference to object {index}, which is still being decoded")]
    CyclicReference {
        /// The index on the wire.
        index: usize,
    },
    /// A reference table grew past [`AmfLimits::max_references`](crate::protocol::limits::AmfLimits).
    #[error("{table} reference table exceeds the limit of {limit} entries")]
    TooManyReferences {
        /// Which table.
        table: &'static str,
        /// The configured limit.
        limit: usize,
    },
    /// References in one message stand for more than
    /// [`MAX_AMF_REFERENCED_LEN`](crate::protocol::limits::MAX_AMF_REFERENCED_LEN)
    /// bytes of expanded value (a "billion laughs" of nested references).
    #[error("references in one AMF message expand to more than {limit} bytes")]
    ReferencesExpandTooMuch {
        /// The limit.
        limit: u64,
    },
    /// A declared element count or length larger than the bytes left could hold.
    #[error("{what} declares {len} but only {remaining} bytes remain")]
    LengthExceedsInput {
        /// What declared the length.
        what: &'static str,
        /// The declared count or length.
        len: usize,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// An externalizable class with no registered codec: its payload format is
    /// private to the class, so the rest of the message cannot be read.
    #[error("externalizable class {class:?} is not known to this server")]
    UnknownExternalizable {
        /// The class alias.
        class: String,
    },
    /// A well-formed marker in a place or form the format forbids.
    #[error("invalid AMF data: {reason}")]
    Invalid {
        /// What was wrong.
        reason: &'static str,
    },
    /// A value that the target encoding cannot represent (e.g. a string longer
    /// than AMF3's 2^28-1 byte limit).
    #[error("value cannot be encoded: {reason}")]
    Unencodable {
        /// What was wrong.
        reason: &'static str,
    },
}
