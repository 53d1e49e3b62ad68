//! Wire tests for SharedObject events that carry AMF values (they need the
//! AMF0/AMF3 codecs).

use super::*;

/// Value-bearing vectors as complete bodies (filled in once the AMF codecs
/// land; used by the no-panic tests meanwhile).
pub(super) fn value_vector_bodies() -> Vec<(Vec<u8>, SharedObjectEncoding)> {
    let mut change = vec![0, 2, b's', b'o', 0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 0];
    // csimi/rtmp-client SharedObject.md: Change foo = "bar".
    change.extend_from_slice(&[
        4, 0, 0, 0, 11, 0, 3, b'f', b'o', b'o', 2, 0, 3, b'b', b'a', b'r',
    ]);
    vec![(change, SharedObjectEncoding::Amf0)]
}
