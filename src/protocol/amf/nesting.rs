//! Nesting and identity helpers shared by the AMF0 and AMF3 codecs.

use std::sync::Arc;

use super::AmfError;
use crate::protocol::limits::AmfLimits;

/// Deepest nesting the encoders write. Values decoded under
/// [`AmfLimits`] are far shallower; this only stops a value built by
/// application code from overflowing the stack.
pub(super) const MAX_ENCODE_DEPTH: usize = 256;

/// Enters one more container level while decoding.
///
/// # Errors
/// [`AmfError::TooDeep`] past [`AmfLimits::max_depth`].
pub(super) fn enter_decode(depth: usize, limits: &AmfLimits) -> Result<usize, AmfError> {
    let depth = depth + 1;
    if depth > limits.max_depth {
        Err(AmfError::TooDeep {
            limit: limits.max_depth,
        })
    } else {
        Ok(depth)
    }
}

/// Enters one more container level while encoding.
///
/// # Errors
/// [`AmfError::Unencodable`] past [`MAX_ENCODE_DEPTH`].
pub(super) fn enter_encode(depth: usize) -> Result<usize, AmfError> {
    if depth >= MAX_ENCODE_DEPTH {
        Err(AmfError::Unencodable {
            reason: "value nested deeper than 256 containers",
        })
    } else {
        Ok(depth + 1)
    }
}

/// The identity of a container node, for the encoders' reference tables.
pub(super) fn node_addr<T>(node: &Arc<T>) -> usize {
    Arc::as_ptr(node) as *const () as usize
}
