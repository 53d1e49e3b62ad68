//! Bounds-checked readers shared by the AMF0 and AMF3 decoders.
//!
//! Every getter checks `remaining()` first: the `bytes::Buf` getters panic on
//! short input, and a peer's bytes must never panic us.

use bytes::{Buf, Bytes};
use bytestring::ByteString;

use crate::protocol::amf::AmfError;

/// Fails with [`AmfError::Truncated`] unless `n` bytes remain.
fn need(buf: &Bytes, n: usize, what: &'static str) -> Result<(), AmfError> {
    if buf.remaining() < n {
        Err(AmfError::Truncated { what })
    } else {
        Ok(())
    }
}

/// Reads one byte.
pub(in crate::protocol::amf) fn u8(buf: &mut Bytes, what: &'static str) -> Result<u8, AmfError> {
    need(buf, 1, what)?;
    Ok(buf.get_u8())
}

/// Reads a big-endian `u16`.
pub(in crate::protocol::amf) fn u16(buf: &mut Bytes, what: &'static str) -> Result<u16, AmfError> {
    need(buf, 2, what)?;
    Ok(buf.get_u16())
}

/// Reads a big-endian `i16`.
pub(in crate::protocol::amf) fn i16(buf: &mut Bytes, what: &'static str) -> Result<i16, AmfError> {
    need(buf, 2, what)?;
    Ok(buf.get_i16())
}

/// Reads a big-endian `u32`.
pub(in crate::protocol::amf) fn u32(buf: &mut Bytes, what: &'static str) -> Result<u32, AmfError> {
    need(buf, 4, what)?;
    Ok(buf.get_u32())
}

/// Reads a big-endian `i32`.
pub(in crate::protocol::amf) fn i32(buf: &mut Bytes, what: &'static str) -> Result<i32, AmfError> {
    need(buf, 4, what)?;
    Ok(buf.get_i32())
}

/// Reads a big-endian IEEE-754 double.
pub(in crate::protocol::amf) fn f64(buf: &mut Bytes, what: &'static str) -> Result<f64, AmfError> {
    need(buf, 8, what)?;
    Ok(buf.get_f64())
}

/// Fails with [`AmfError::LengthExceedsInput`] unless `count` elements of at
/// least `min_size` bytes each can fit in what remains. Called before any
/// allocation or loop driven by a declared count.
pub(in crate::protocol::amf) fn check_count(
    buf: &Bytes,
    count: usize,
    min_size: usize,
    what: &'static str,
) -> Result<(), AmfError> {
    let remaining = buf.remaining();
    match count.checked_mul(min_size) {
        Some(n) if n <= remaining => Ok(()),
        _ => Err(AmfError::LengthExceedsInput {
            what,
            len: count,
            remaining,
        }),
    }
}

/// Splits off `len` bytes (zero-copy).
pub(in crate::protocol::amf) fn take(
    buf: &mut Bytes,
    len: usize,
    what: &'static str,
) -> Result<Bytes, AmfError> {
    check_count(buf, len, 1, what)?;
    Ok(buf.split_to(len))
}

/// Turns wire bytes into a string: zero-copy when they are valid UTF-8, else
/// lossy (each invalid sequence becomes U+FFFD).
///
/// Lossy rather than strict because real peers send invalid UTF-8: Java servers
/// (BlazeDS, Red5) write "modified UTF-8" (CESU-8 surrogate pairs, `C0 80` for
/// NUL) and Flash Player writes lone UTF-16 surrogates as they are. Refusing the
/// whole message over one character would drop a call a peer considers valid.
pub(in crate::protocol::amf) fn utf8(bytes: Bytes) -> ByteString {
    if std::str::from_utf8(&bytes).is_ok() {
        // Validated just above, so this conversion cannot fail.
        ByteString::try_from(bytes).unwrap_or_default()
    } else {
        ByteString::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_fail_instead_of_panicking() {
        let mut b = Bytes::from_static(&[1, 2, 3]);
        assert!(u32(&mut b, "x").is_err());
        assert!(f64(&mut b, "x").is_err());
        assert_eq!(u16(&mut b, "x"), Ok(0x0102));
        assert!(take(&mut b, 2, "x").is_err());
        assert_eq!(take(&mut b, 1, "x").map(|b| b.to_vec()), Ok(vec![3]));
    }

    #[test]
    fn invalid_utf8_decodes_lossily() {
        // CESU-8 (Java "modified UTF-8") surrogate half, as BlazeDS writes.
        let s = utf8(Bytes::from_static(b"a\xed\xa0\x80b"));
        assert!(s.starts_with('a') && s.ends_with('b') && s.contains('\u{fffd}'));
        assert_eq!(&*utf8(Bytes::from_static(b"ok")), "ok");
    }

    #[test]
    fn huge_counts_are_rejected_without_overflow() {
        let b = Bytes::from_static(&[0; 8]);
        assert!(check_count(&b, usize::MAX, 8, "x").is_err());
        assert!(check_count(&b, 1, 8, "x").is_ok());
    }
}
