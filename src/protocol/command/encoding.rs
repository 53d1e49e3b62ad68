//! Command message bodies on the wire: type 20 (AMF0) and type 17 (AMF3)
//! (RTMP spec §7.1.1, §7.2).
//!
//! - Type 20 is a plain sequence of AMF0 values.
//! - Type 17 starts with one format byte (0x00 from Flash Player and every
//!   server we know), followed by the same AMF0 sequence, in which AMF3 values
//!   appear behind the AMF0 "AVM+" marker 0x11. Flash Player writes the name and
//!   transaction id as AMF0, and complex values as 0x11 + AMF3.
//!
//! Deviations handled (see `docs/protocol/commands.md`): SRS skips the first
//! byte of a type 17 body whatever it is; Red5 writes the command name itself
//! behind 0x11. We skip a leading 0x00 or any byte that cannot start a command
//! name, and keep a body whose first byte is already a string marker (0x02,
//! 0x0C) or the AVM+ marker (0x11) — a type 17 body without the format byte.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::CommandError;
use super::request::{Command, CommandMessage};
use crate::protocol::amf::amf0::marker::{AVMPLUS, LONG_STRING, STRING};
use crate::protocol::amf::{amf0, AmfValue};
use crate::protocol::limits::AmfLimits;
use crate::protocol::message::{COMMAND_AMF0, COMMAND_AMF3};

/// The format byte Flash Player writes at the front of a type 17 body.
const AMF3_FORMAT_BYTE: u8 = 0x00;

/// Which command message type a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandEncoding {
    /// Message type 20: AMF0 values.
    Amf0,
    /// Message type 17: a format byte, then AMF0 values with AMF3 behind 0x11.
    Amf3,
}

impl CommandEncoding {
    /// The RTMP message type id.
    pub fn message_type(self) -> u8 {
        match self {
            Self::Amf0 => COMMAND_AMF0,
            Self::Amf3 => COMMAND_AMF3,
        }
    }

    /// The encoding for a message type id, if it is a command type.
    pub fn from_message_type(type_id: u8) -> Option<Self> {
        match type_id {
            COMMAND_AMF0 => Some(Self::Amf0),
            COMMAND_AMF3 => Some(Self::Amf3),
            _ => None,
        }
    }
}

/// Decodes a command message body into its AMF values.
///
/// # Errors
/// [`CommandError::Empty`] for an empty body, [`CommandError::Amf`] for
/// malformed AMF.
pub fn decode_values(
    mut payload: Bytes,
    encoding: CommandEncoding,
    limits: AmfLimits,
) -> Result<Vec<AmfValue>, CommandError> {
    if encoding == CommandEncoding::Amf3 {
        match payload.first() {
            None => return Err(CommandError::Empty),
            Some(&(STRING | LONG_STRING | AVMPLUS)) => {}
            // 0x00 (Flash Player) or any other format byte (SRS skips it blindly).
            Some(_) => {
                let _format = payload.split_to(1);
            }
        }
    }
    if payload.is_empty() {
        return Err(CommandError::Empty);
    }
    Ok(amf0::decode_all(payload, limits)?)
}

/// Encodes AMF values as a command message body of the given type.
///
/// For [`CommandEncoding::Amf3`] this writes the 0x00 format byte, scalars
/// (null, undefined, booleans, numbers, strings) as AMF0 and every other value
/// as 0x11 + AMF3, as Flash Player does, so AMF3-only types (integers,
/// vectors, byte arrays, dictionaries) survive. One encoder serves the whole
/// body: AMF3 reference tables persist across the 0x11 switches of one
/// message, as the AMF0 decoder (and BlazeDS, PyAMF, Red5) expect.
///
/// # Errors
/// [`CommandError::Amf`] when a value cannot be encoded.
pub fn encode_values(
    values: &[AmfValue],
    encoding: CommandEncoding,
    dst: &mut BytesMut,
) -> Result<(), CommandError> {
    match encoding {
        CommandEncoding::Amf0 => amf0::encode_all(values, dst)?,
        CommandEncoding::Amf3 => {
            dst.put_u8(AMF3_FORMAT_BYTE);
            let mut encoder = amf0::Amf0Encoder::new();
            for value in values {
                if is_amf0_scalar(value) {
                    encoder.encode(value, dst)?;
                } else {
                    encoder.encode_avmplus(value, dst)?;
                }
            }
        }
    }
    Ok(())
}

fn is_amf0_scalar(value: &AmfValue) -> bool {
    matches!(
        value,
        AmfValue::Null
            | AmfValue::Undefined
            | AmfValue::Boolean(_)
            | AmfValue::Number(_)
            | AmfValue::String(_)
    )
}

impl CommandMessage {
    /// Decodes a command message body (type 20 or 17) without typing it.
    ///
    /// # Errors
    /// As [`decode_values`] and [`CommandMessage::from_values`].
    pub fn decode(
        payload: Bytes,
        encoding: CommandEncoding,
        limits: AmfLimits,
    ) -> Result<Self, CommandError> {
        Self::from_values(decode_values(payload, encoding, limits)?)
    }

    /// Appends the message body for the given encoding to `dst`.
    ///
    /// # Errors
    /// [`CommandError::Amf`] when a value cannot be encoded.
    pub fn encode(
        &self,
        encoding: CommandEncoding,
        dst: &mut BytesMut,
    ) -> Result<(), CommandError> {
        encode_values(&self.to_values(), encoding, dst)
    }
}

impl Command {
    /// Decodes and types a command message body.
    ///
    /// # Errors
    /// [`CommandError`]: malformed AMF, no string name, or a required argument
    /// missing or of the wrong type.
    pub fn decode(
        payload: Bytes,
        encoding: CommandEncoding,
        limits: AmfLimits,
    ) -> Result<Self, CommandError> {
        Self::from_values(decode_values(payload, encoding, limits)?)
    }

    /// Appends the command's message body for the given encoding to `dst`.
    ///
    /// # Errors
    /// [`CommandError::Amf`] when a value cannot be encoded.
    pub fn encode(
        &self,
        encoding: CommandEncoding,
        dst: &mut BytesMut,
    ) -> Result<(), CommandError> {
        self.to_message().encode(encoding, dst)
    }
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use proptest::prelude::*;

    use super::*;
    use crate::protocol::command::request::tests::sample_commands;
    use crate::protocol::command::{
        connect_result, on_status, status, ConnectResultOptions, Play, PlayStart, Publish,
        PublishType, StatusInfo,
    };

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode(bytes: &[u8], enc: CommandEncoding) -> Result<Command, CommandError> {
        Command::decode(Bytes::copy_from_slice(bytes), enc, AmfLimits::default())
    }

    // Captured on this machine from ffmpeg 5.1.9 (Debian 12) against a stub
    // server that answered every request with `_result`; message bodies after
    // de-chunking. Play: `ffmpeg -i rtmp://127.0.0.1:19361/live/mystream`;
    // publish: `ffmpeg ... -f flv rtmp://127.0.0.1:19362/live/key`.
    const FFMPEG_PLAY_CONNECT: &str = "020007636f6e6e656374003ff00000000000000300036170700200046c6976650008666c61736856657202000d4c4e5820392c302c3132342c320005746355726c02001b72746d703a2f2f3132372e302e302e313a31393336312f6c6976650004667061640100000c6361706162696c697469657300402e000000000000000b617564696f436f646563730040afce0000000000000b766964656f436f6465637300406f800000000000000d766964656f46756e6374696f6e003ff0000000000000000009";
    const FFMPEG_PUBLISH_CONNECT: &str = "020007636f6e6e656374003ff00000000000000300036170700200046c69766500047479706502000a6e6f6e707269766174650008666c617368566572020024464d4c452f332e302028636f6d70617469626c653b204c61766635392e32372e313030290005746355726c02001b72746d703a2f2f3132372e302e302e313a31393336322f6c697665000009";
    const FFMPEG_RELEASE_STREAM: &str =
        "02000d72656c6561736553747265616d004000000000000000050200036b6579";
    const FFMPEG_FC_PUBLISH: &str = "02000946435075626c697368004008000000000000050200036b6579";
    const FFMPEG_CREATE_STREAM: &str = "02000c63726561746553747265616d00401000000000000005";
    const FFMPEG_PUBLISH: &str =
        "0200077075626c697368004014000000000000050200036b65790200046c697665";
    const FFMPEG_GET_STREAM_LENGTH: &str =
        "02000f67657453747265616d4c656e677468004008000000000000050200086d7973747265616d";
    const FFMPEG_PLAY: &str =
        "020004706c6179004010000000000000050200086d7973747265616d00c09f400000000000";
    // rtmpdump 2.4: `rtmpdump -r rtmp://127.0.0.1:19353/vod/clip`.
    const RTMPDUMP_CONNECT: &str = "020007636f6e6e656374003ff0000000000000030003617070020003766f640008666c61736856657202000e4c4e582031302c302c33322c31380005746355726c02001a72746d703a2f2f3132372e302e302e313a31393335332f766f640004667061640100000c6361706162696c697469657300402e000000000000000b617564696f436f646563730040a8ee0000000000000b766964656f436f6465637300406f800000000000000d766964656f46756e6374696f6e003ff0000000000000000009";

    /// A Flash-Player-style type 17 body (RTMP spec §7.1.1, AMF0 spec §3.1):
    /// format byte 0x00, AMF0 name and transaction id, AMF0 null command
    /// object, then an AVM+ switch to the AMF3 integer 5 and to an AMF3
    /// anonymous dynamic object `{a: "b"}`.
    const FLASH_AMF3_ECHO: &str =
        "00 02 0004 6563686f 00 4000000000000000 05 11 04 05 11 0a 0b 01 0361 06 0362 01";

    fn all_vectors() -> Vec<(Vec<u8>, CommandEncoding)> {
        let amf0 = [
            FFMPEG_PLAY_CONNECT,
            FFMPEG_PUBLISH_CONNECT,
            FFMPEG_RELEASE_STREAM,
            FFMPEG_FC_PUBLISH,
            FFMPEG_CREATE_STREAM,
            FFMPEG_PUBLISH,
            FFMPEG_GET_STREAM_LENGTH,
            FFMPEG_PLAY,
            RTMPDUMP_CONNECT,
        ];
        let mut v: Vec<_> = amf0
            .iter()
            .map(|h| (hex(h), CommandEncoding::Amf0))
            .collect();
        v.push((
            hex(&FLASH_AMF3_ECHO.replace(' ', "")),
            CommandEncoding::Amf3,
        ));
        v
    }

    #[test]
    fn decodes_ffmpeg_publish_sequence() {
        let Command::Connect(c) =
            decode(&hex(FFMPEG_PUBLISH_CONNECT), CommandEncoding::Amf0).unwrap()
        else {
            panic!()
        };
        assert_eq!(&*c.app, "live");
        assert_eq!(
            c.flash_ver.as_deref(),
            Some("FMLE/3.0 (compatible; Lavf59.27.100)")
        );
        assert_eq!(c.tc_url.as_deref(), Some("rtmp://127.0.0.1:19362/live"));
        assert_eq!(
            c.command_object.get("type").and_then(AmfValue::as_str),
            Some("nonprivate")
        );
        assert_eq!(c.capabilities, None);

        assert_eq!(
            decode(&hex(FFMPEG_RELEASE_STREAM), CommandEncoding::Amf0).unwrap(),
            Command::ReleaseStream {
                transaction_id: 2.0,
                stream_name: "key".into()
            }
        );
        assert_eq!(
            decode(&hex(FFMPEG_FC_PUBLISH), CommandEncoding::Amf0).unwrap(),
            Command::FcPublish {
                transaction_id: 3.0,
                stream_name: "key".into()
            }
        );
        assert_eq!(
            decode(&hex(FFMPEG_CREATE_STREAM), CommandEncoding::Amf0).unwrap(),
            Command::CreateStream {
                transaction_id: 4.0,
                command_object: AmfValue::Null
            }
        );
        assert_eq!(
            decode(&hex(FFMPEG_PUBLISH), CommandEncoding::Amf0).unwrap(),
            Command::Publish(Publish {
                transaction_id: 5.0,
                name: Some("key".into()),
                publish_type: PublishType::Live,
            })
        );
    }

    #[test]
    fn decodes_ffmpeg_and_rtmpdump_play_sequences() {
        let Command::Connect(c) = decode(&hex(FFMPEG_PLAY_CONNECT), CommandEncoding::Amf0).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (&*c.app, c.capabilities, c.audio_codecs, c.video_codecs),
            ("live", Some(15.0), Some(4071.0), Some(252.0))
        );
        let Command::Connect(c) = decode(&hex(RTMPDUMP_CONNECT), CommandEncoding::Amf0).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (&*c.app, c.flash_ver.as_deref()),
            ("vod", Some("LNX 10,0,32,18"))
        );
        assert_eq!(
            decode(&hex(FFMPEG_PLAY), CommandEncoding::Amf0).unwrap(),
            Command::Play(Play {
                transaction_id: 4.0,
                name: Some("mystream".into()),
                start: PlayStart::LiveOrRecorded,
                duration: -1.0,
                reset: true,
            })
        );
        let call = decode(&hex(FFMPEG_GET_STREAM_LENGTH), CommandEncoding::Amf0).unwrap();
        assert!(
            matches!(call, Command::Call(m) if &*m.name == "getStreamLength" && m.transaction_id == 3.0)
        );
    }

    #[test]
    fn captured_amf0_bodies_reencode_byte_for_byte() {
        for (bytes, enc) in all_vectors() {
            if enc != CommandEncoding::Amf0 {
                continue;
            }
            let msg = CommandMessage::decode(Bytes::from(bytes.clone()), enc, AmfLimits::default())
                .unwrap();
            let mut dst = BytesMut::new();
            msg.encode(enc, &mut dst).unwrap();
            assert_eq!(dst.to_vec(), bytes, "{}", msg.name);
        }
    }

    #[test]
    fn decodes_flash_style_amf3_command_with_avmplus_arguments() {
        let bytes = hex(&FLASH_AMF3_ECHO.replace(' ', ""));
        let Command::Call(m) = decode(&bytes, CommandEncoding::Amf3).unwrap() else {
            panic!()
        };
        assert_eq!(
            (&*m.name, m.transaction_id, &m.command_object),
            ("echo", 2.0, &AmfValue::Null)
        );
        assert_eq!(m.args[0], AmfValue::Integer(5));
        assert_eq!(m.args[1].get("a"), Some(&AmfValue::string("b")));
        // And we write it back the same way.
        let mut dst = BytesMut::new();
        m.encode(CommandEncoding::Amf3, &mut dst).unwrap();
        assert_eq!(dst.to_vec(), bytes);
    }

    #[test]
    fn tolerates_a_type_17_body_without_the_format_byte() {
        let bytes = hex(&FLASH_AMF3_ECHO.replace(' ', ""));
        let with = decode(&bytes, CommandEncoding::Amf3).unwrap();
        assert_eq!(decode(&bytes[1..], CommandEncoding::Amf3).unwrap(), with);
        // SRS skips whatever the first byte is; so do we unless it starts a name.
        let mut odd = bytes.clone();
        odd[0] = 0x03;
        assert_eq!(decode(&odd, CommandEncoding::Amf3).unwrap(), with);
    }

    #[test]
    fn decodes_red5_style_amf3_command_with_the_name_behind_avmplus() {
        // Red5 writes every value of a reply to an AMF3 client with its AMF3
        // output: 0x11 + AMF3 string "_result", 0x11 + AMF3 int 1, 0x11 + null.
        let bytes = hex("00 11 06 0f 5f726573756c74 11 0401 11 01 11 0402"
            .replace(' ', "")
            .as_str());
        let cmd = decode(&bytes, CommandEncoding::Amf3).unwrap();
        assert_eq!(
            cmd,
            Command::Result(CommandMessage::new(
                "_result",
                1.0,
                AmfValue::Null,
                vec![AmfValue::Integer(2)]
            ))
        );
    }

    #[test]
    fn amf3_encoding_writes_scalars_as_amf0_and_complex_values_behind_avmplus() {
        let m = CommandMessage::new(
            "onStatus",
            0.0,
            AmfValue::Null,
            vec![
                AmfValue::object([("code", AmfValue::string("x"))]),
                AmfValue::Boolean(true),
            ],
        );
        let mut dst = BytesMut::new();
        m.encode(CommandEncoding::Amf3, &mut dst).unwrap();
        let mut expected = hex("00 02 0008 6f6e537461747573 00 0000000000000000 05"
            .replace(' ', "")
            .as_str());
        expected.extend_from_slice(&hex("110a0b0109636f6465060378010101"));
        assert_eq!(dst.to_vec(), expected);
    }

    #[test]
    fn every_command_roundtrips_in_both_encodings() {
        for enc in [CommandEncoding::Amf0, CommandEncoding::Amf3] {
            for cmd in sample_commands() {
                let mut dst = BytesMut::new();
                cmd.encode(enc, &mut dst).unwrap();
                assert_eq!(decode(&dst, enc).unwrap(), cmd, "{enc:?}");
            }
        }
    }

    #[test]
    fn connect_result_bytes_are_read_by_an_independent_amf0_decoder() {
        let m = connect_result(1.0, &ConnectResultOptions::default());
        let mut dst = BytesMut::new();
        m.encode(CommandEncoding::Amf0, &mut dst).unwrap();
        let mut reader = &dst[..];
        let mut names = Vec::new();
        while !reader.is_empty() {
            names.push(amf::amf0::Value::read_from(&mut reader).unwrap());
        }
        assert_eq!(names.len(), 4);
        assert_eq!(names[0], amf::amf0::Value::String("_result".to_owned()));
        let info = on_status(&StatusInfo::new(
            status::LEVEL_STATUS,
            status::NS_PLAY_RESET,
            "r",
        ));
        let mut dst = BytesMut::new();
        info.encode(CommandEncoding::Amf0, &mut dst).unwrap();
        assert!(amf::amf0::Value::read_from(&mut &dst[..]).is_ok());
    }

    #[test]
    fn empty_bodies_are_errors() {
        assert_eq!(decode(&[], CommandEncoding::Amf0), Err(CommandError::Empty));
        assert_eq!(decode(&[], CommandEncoding::Amf3), Err(CommandError::Empty));
        assert_eq!(
            decode(&[0], CommandEncoding::Amf3),
            Err(CommandError::Empty)
        );
    }

    #[test]
    fn malformed_amf_is_an_amf_error() {
        assert!(matches!(
            decode(&[0x02, 0x00, 0x05, b'a'], CommandEncoding::Amf0),
            Err(CommandError::Amf(_))
        ));
    }

    #[test]
    fn message_type_ids_map_to_encodings() {
        assert_eq!(
            CommandEncoding::from_message_type(20),
            Some(CommandEncoding::Amf0)
        );
        assert_eq!(
            CommandEncoding::from_message_type(17),
            Some(CommandEncoding::Amf3)
        );
        assert_eq!(CommandEncoding::from_message_type(18), None);
        assert_eq!(CommandEncoding::Amf3.message_type(), 17);
    }

    #[test]
    fn every_prefix_of_every_vector_decodes_without_panic() {
        for (bytes, enc) in all_vectors() {
            for end in 0..=bytes.len() {
                let _ = decode(&bytes[..end], enc);
            }
        }
    }

    fn scalar() -> impl Strategy<Value = AmfValue> {
        prop_oneof![
            Just(AmfValue::Null),
            Just(AmfValue::Undefined),
            any::<bool>().prop_map(AmfValue::Boolean),
            (-1e9f64..1e9).prop_map(AmfValue::Number),
            "[a-z0-9 ]{0,10}".prop_map(AmfValue::from),
        ]
    }

    fn value() -> impl Strategy<Value = AmfValue> {
        scalar().prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(("[a-z]{1,6}", inner.clone()), 0..4)
                    .prop_map(AmfValue::object),
                prop::collection::vec(inner, 0..4).prop_map(AmfValue::strict_array),
            ]
        })
    }

    proptest! {
        #[test]
        fn random_corruptions_of_vectors_never_panic(
            pick in any::<prop::sample::Index>(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let vectors = all_vectors();
            let (mut bytes, enc) = vectors[pick.index(vectors.len())].clone();
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let _ = decode(&bytes, enc);
        }

        #[test]
        fn generic_calls_roundtrip_in_both_encodings(
            name in "[a-zA-Z_]{1,12}",
            tx in 0u32..1000,
            object in value(),
            args in prop::collection::vec(value(), 0..4),
            amf3 in any::<bool>(),
        ) {
            let enc = if amf3 { CommandEncoding::Amf3 } else { CommandEncoding::Amf0 };
            let m = CommandMessage::new(name, f64::from(tx), object, args);
            let mut dst = BytesMut::new();
            m.encode(enc, &mut dst).unwrap();
            let back = CommandMessage::decode(dst.freeze(), enc, AmfLimits::default()).unwrap();
            prop_assert_eq!(back, m);
        }
    }
}
