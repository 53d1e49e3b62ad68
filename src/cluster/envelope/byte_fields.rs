//! Serde adapters for `Bytes` fields of the envelope's events: written as
//! byte strings (not sequences of numbers) and read without a copy per
//! element. Plain serde; the bincode calls stay in `envelope.rs`.

/// `Bytes` as a serde byte string. Decoding borrows from the input and,
/// when the input is a shared `Bytes` registered in `SOURCE` (see
/// `Envelope::decode_shared`), slices it instead of copying.
pub(super) mod bytes_serde {
    use std::cell::RefCell;

    use bytes::Bytes;
    use serde::{Deserializer, Serializer};

    thread_local! {
        /// The buffer being decoded on this thread, if shared.
        pub(in crate::cluster::envelope) static SOURCE: RefCell<Option<Bytes>> = const { RefCell::new(None) };
    }

    pub(in crate::cluster::envelope) fn serialize<S: Serializer>(
        b: &Bytes,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    pub(in crate::cluster::envelope) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Bytes, D::Error> {
        d.deserialize_bytes(BytesVisitor)
    }

    /// `part` as a slice of the registered source when it lies inside it.
    fn shared(part: &[u8]) -> Option<Bytes> {
        SOURCE.with(|s| {
            let source = s.borrow();
            let source = source.as_ref()?;
            let start = (part.as_ptr() as usize).checked_sub(source.as_ptr() as usize)?;
            let end = start.checked_add(part.len())?;
            (end <= source.len()).then(|| source.slice(start..end))
        })
    }

    pub(in crate::cluster::envelope) struct BytesVisitor;

    impl<'de> serde::de::Visitor<'de> for BytesVisitor {
        type Value = Bytes;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
            Ok(Bytes::copy_from_slice(v))
        }

        fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Bytes, E> {
            Ok(shared(v).unwrap_or_else(|| Bytes::copy_from_slice(v)))
        }

        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
            Ok(Bytes::from(v))
        }
    }
}

/// `Option<Bytes>` as an optional serde byte string.
pub(super) mod opt_bytes {
    use bytes::Bytes;
    use serde::{Deserializer, Serializer};

    pub(in crate::cluster::envelope) fn serialize<S: Serializer>(
        b: &Option<Bytes>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&Wrap(b)),
            None => s.serialize_none(),
        }
    }

    struct Wrap<'a>(&'a Bytes);

    impl serde::Serialize for Wrap<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    pub(in crate::cluster::envelope) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Bytes>, D::Error> {
        d.deserialize_option(OptVisitor)
    }

    struct OptVisitor;

    impl<'de> serde::de::Visitor<'de> for OptVisitor {
        type Value = Option<Bytes>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an optional byte string")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_bytes(super::bytes_serde::BytesVisitor)
                .map(Some)
        }
    }
}
