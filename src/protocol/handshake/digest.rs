//! The digest ("complex", FP9) handshake primitives: keys, digest positions and
//! the HMAC-SHA256 computations.
//!
//! Not in the published RTMP spec; learnt from ffmpeg (`libavformat/rtmpproto.c`:
//! `ff_rtmp_calc_digest_pos`, `rtmp_handshake_imprint_with_digest`,
//! `rtmp_validate_digest`, `rtmp_handshake`), librtmp (`librtmp/handshake.h`:
//! `GetDigestOffset1/2`, `HandShake`, `SHandShake`) and SRS (`srs_rtmp_handshake`),
//! which all agree:
//!
//! - C1/S1 = time (4) + version (4, non-zero) + two 764-byte blocks. The
//!   *digest block* holds a 4-byte offset field whose byte **sum** `s` places a
//!   32-byte digest at `field + 4 + s % 728`. It is either the first block
//!   ([`DigestSchema::DigestFirst`], field at bytes 8..12, digest within
//!   12..772) or the second ([`DigestSchema::KeyFirst`], field at 772..776,
//!   digest within 776..1536).
//! - The digest is HMAC-SHA256 over the 1504 other bytes of the packet, keyed
//!   with the first 30 bytes of [`FP_KEY`] ("Genuine Adobe Flash Player 001")
//!   for a C1, the first 36 bytes of [`FMS_KEY`] ("Genuine Adobe Flash Media
//!   Server 001") for an S1.
//! - A digest-handshake C2/S2 is 1504 random bytes followed by a 32-byte
//!   signature: `HMAC(key = HMAC(full key, peer digest), data = reply[..1504])`,
//!   with the full 68-byte FMS key for S2 (keyed from the C1 digest) and the
//!   full 62-byte FP key for C2 (keyed from the S1 digest).
//!
//! Naming: SRS calls the 772 layout "schema0" (key block first) and the 8 layout
//! "schema1"; librtmp calls the 8 layout `GetDigestOffset1` (FP9) and the 772
//! layout `GetDigestOffset2` (FP10). We name them by what comes first.
//! Observed: ffmpeg 5.1 and rtmpdump 2.4 (FP9 mode) put the client digest at the
//! 8 layout; rtmpdump in RTMPE mode at the 772 layout.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{DIGEST_LEN, HANDSHAKE_PACKET_LEN};

type HmacSha256 = Hmac<Sha256>;

/// The 32 constant bytes that follow the text in both Genuine keys (ffmpeg
/// `rtmp_player_key`/`rtmp_server_key`, librtmp `GenuineFPKey`/`GenuineFMSKey`).
const KEY_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];

/// Number of leading bytes of [`FP_KEY`] that key a C1 digest.
pub const FP_KEY_DIGEST_LEN: usize = 30;
/// Number of leading bytes of [`FMS_KEY`] that key an S1 digest.
pub const FMS_KEY_DIGEST_LEN: usize = 36;

/// The Genuine Flash Player key (62 bytes): "Genuine Adobe Flash Player 001"
/// followed by 32 constant bytes.
pub const FP_KEY: [u8; 62] = concat(b"Genuine Adobe Flash Player 001", &KEY_TAIL);

/// The Genuine Flash Media Server key (68 bytes): "Genuine Adobe Flash Media
/// Server 001" followed by the same 32 constant bytes.
pub const FMS_KEY: [u8; 68] = concat(b"Genuine Adobe Flash Media Server 001", &KEY_TAIL);

/// Concatenates two byte arrays at compile time (a wrong `N` is a compile error).
const fn concat<const A: usize, const B: usize, const N: usize>(
    a: &[u8; A],
    b: &[u8; B],
) -> [u8; N] {
    assert!(A + B == N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// Where a digest-handshake C1/S1 keeps its digest block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestSchema {
    /// Digest block first: offset field at bytes 8..12, digest at
    /// `12 + sum % 728`. ffmpeg's and librtmp's (FP9) client layout; SRS
    /// "schema1"; the layout FMS is said to require.
    DigestFirst,
    /// Key block first: offset field at bytes 772..776, digest at
    /// `776 + sum % 728`. librtmp's FP10/RTMPE layout; SRS "schema0".
    KeyFirst,
}

impl DigestSchema {
    /// Both layouts, in the order a server tries them on a C1.
    pub const ALL: [Self; 2] = [Self::DigestFirst, Self::KeyFirst];

    /// The other layout.
    pub fn other(self) -> Self {
        match self {
            Self::DigestFirst => Self::KeyFirst,
            Self::KeyFirst => Self::DigestFirst,
        }
    }

    /// Position of the 4-byte offset field whose byte sum places the digest.
    pub fn offset_field(self) -> usize {
        match self {
            Self::DigestFirst => 8,
            Self::KeyFirst => 772,
        }
    }

    /// Position of the 32-byte digest in `packet` under this layout: the sum of
    /// the 4 offset-field bytes, modulo 728, plus the field position plus 4.
    /// Always within `12..=739` resp. `776..=1503`, so the digest fits.
    pub fn digest_offset(self, packet: &[u8; HANDSHAKE_PACKET_LEN]) -> usize {
        let field = self.offset_field();
        let sum: usize = packet
            .get(field..field + 4)
            .map_or(0, |b| b.iter().map(|&x| usize::from(x)).sum());
        field + 4 + sum % 728
    }
}

/// HMAC-SHA256 of the concatenation of `parts`, keyed with `key`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    // HMAC accepts keys of any length (longer ones are hashed first), so this
    // cannot fail; all keys here are our own constants or 32-byte digests.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Splits `packet` around the 32 bytes at `offset`: (before, digest, after).
/// An offset too large for a digest yields an empty digest slice.
fn split_around(packet: &[u8], offset: usize) -> (&[u8], &[u8], &[u8]) {
    let (before, rest) = packet.split_at(offset.min(packet.len()));
    let (digest, after) = rest.split_at(DIGEST_LEN.min(rest.len()));
    (before, digest, after)
}

/// The digest of `packet` with its digest at `offset`: HMAC-SHA256 over every
/// byte except the 32 at `offset`, keyed with `key` (ffmpeg
/// `ff_rtmp_calc_digest` with a gap, librtmp `CalculateDigest`).
pub fn packet_digest(
    packet: &[u8; HANDSHAKE_PACKET_LEN],
    offset: usize,
    key: &[u8],
) -> [u8; DIGEST_LEN] {
    let (before, _, after) = split_around(packet, offset);
    hmac_sha256(key, &[before, after])
}

/// Checks the digest of `packet` under `schema`; returns it when valid.
pub fn verify_packet_digest(
    packet: &[u8; HANDSHAKE_PACKET_LEN],
    schema: DigestSchema,
    key: &[u8],
) -> Option<[u8; DIGEST_LEN]> {
    let offset = schema.digest_offset(packet);
    let (_, found, _) = split_around(packet, offset);
    let expected = packet_digest(packet, offset, key);
    // The keys are public, so a constant-time comparison buys nothing here.
    (found == expected.as_slice()).then_some(expected)
}

/// Looks for a valid digest in `packet`, trying `preferred` first, then the
/// other layout. Returns the layout and the digest.
pub fn find_packet_digest(
    packet: &[u8; HANDSHAKE_PACKET_LEN],
    key: &[u8],
    preferred: DigestSchema,
) -> Option<(DigestSchema, [u8; DIGEST_LEN])> {
    [preferred, preferred.other()]
        .into_iter()
        .find_map(|schema| verify_packet_digest(packet, schema, key).map(|d| (schema, d)))
}

/// Looks for a valid client digest (C1, keyed with the first 30 bytes of
/// [`FP_KEY`]) at either position.
pub fn find_client_digest(
    c1: &[u8; HANDSHAKE_PACKET_LEN],
) -> Option<(DigestSchema, [u8; DIGEST_LEN])> {
    find_packet_digest(c1, &FP_KEY[..FP_KEY_DIGEST_LEN], DigestSchema::DigestFirst)
}

/// Looks for a valid server digest (S1, keyed with the first 36 bytes of
/// [`FMS_KEY`]), trying `preferred` first.
pub fn find_server_digest(
    s1: &[u8; HANDSHAKE_PACKET_LEN],
    preferred: DigestSchema,
) -> Option<(DigestSchema, [u8; DIGEST_LEN])> {
    find_packet_digest(s1, &FMS_KEY[..FMS_KEY_DIGEST_LEN], preferred)
}

/// Writes the digest of `packet` into it at the position `schema` gives (which
/// depends only on bytes outside the digest) and returns the digest.
pub fn imprint_packet_digest(
    packet: &mut [u8; HANDSHAKE_PACKET_LEN],
    schema: DigestSchema,
    key: &[u8],
) -> [u8; DIGEST_LEN] {
    let offset = schema.digest_offset(packet);
    let digest = packet_digest(packet, offset, key);
    if let Some(slot) = packet.get_mut(offset..offset + DIGEST_LEN) {
        slot.copy_from_slice(&digest);
    }
    digest
}

/// The signature that ends a digest-handshake C2/S2:
/// `HMAC(key = HMAC(full_key, peer_digest), data = reply[..1504])`. Use
/// [`FMS_KEY`] (all 68 bytes) for an S2 answering a C1 digest, [`FP_KEY`] (all
/// 62 bytes) for a C2 answering an S1 digest.
pub fn reply_signature(
    reply: &[u8; HANDSHAKE_PACKET_LEN],
    peer_digest: &[u8; DIGEST_LEN],
    full_key: &[u8],
) -> [u8; DIGEST_LEN] {
    let signing_key = hmac_sha256(full_key, &[peer_digest]);
    let (data, _, _) = split_around(reply, HANDSHAKE_PACKET_LEN - DIGEST_LEN);
    hmac_sha256(&signing_key, &[data])
}

/// Overwrites the last 32 bytes of `reply` with its [`reply_signature`].
pub fn sign_reply(
    reply: &mut [u8; HANDSHAKE_PACKET_LEN],
    peer_digest: &[u8; DIGEST_LEN],
    full_key: &[u8],
) {
    let signature = reply_signature(reply, peer_digest, full_key);
    if let Some(slot) = reply.get_mut(HANDSHAKE_PACKET_LEN - DIGEST_LEN..) {
        slot.copy_from_slice(&signature);
    }
}

/// Whether the last 32 bytes of `reply` are its [`reply_signature`].
pub fn verify_reply_signature(
    reply: &[u8; HANDSHAKE_PACKET_LEN],
    peer_digest: &[u8; DIGEST_LEN],
    full_key: &[u8],
) -> bool {
    let (_, found, _) = split_around(reply, HANDSHAKE_PACKET_LEN - DIGEST_LEN);
    found == reply_signature(reply, peer_digest, full_key).as_slice()
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn keys_are_the_genuine_adobe_texts_followed_by_the_shared_tail() {
        assert_eq!(&FP_KEY[..FP_KEY_DIGEST_LEN], FP_TEXT);
        assert_eq!(&FMS_KEY[..FMS_KEY_DIGEST_LEN], FMS_TEXT);
        assert_eq!(FP_KEY[FP_KEY_DIGEST_LEN..], TAIL);
        assert_eq!(FMS_KEY[FMS_KEY_DIGEST_LEN..], TAIL);
    }

    #[test]
    fn digest_offsets_stay_inside_their_block_for_extreme_offset_fields() {
        let zeros = [0u8; HANDSHAKE_PACKET_LEN];
        let ones = [0xFFu8; HANDSHAKE_PACKET_LEN];
        assert_eq!(DigestSchema::DigestFirst.digest_offset(&zeros), 12);
        assert_eq!(DigestSchema::KeyFirst.digest_offset(&zeros), 776);
        // 4 * 255 = 1020; 1020 % 728 = 292.
        assert_eq!(DigestSchema::DigestFirst.digest_offset(&ones), 12 + 292);
        assert_eq!(DigestSchema::KeyFirst.digest_offset(&ones), 776 + 292);
        // The largest reachable offsets: sum = 727.
        let mut p = [0u8; HANDSHAKE_PACKET_LEN];
        p[8..12].copy_from_slice(&[255, 255, 217, 0]);
        p[772..776].copy_from_slice(&[255, 255, 217, 0]);
        assert_eq!(DigestSchema::DigestFirst.digest_offset(&p), 739);
        assert_eq!(DigestSchema::KeyFirst.digest_offset(&p), 1503);
        const { assert!(739 + DIGEST_LEN <= 772 && 1503 + DIGEST_LEN <= HANDSHAKE_PACKET_LEN) };
    }

    #[test]
    fn finds_ffmpeg_client_digest_at_the_digest_first_layout() {
        let c1 = c1_of(FFMPEG_C0C1);
        assert_eq!(DigestSchema::DigestFirst.digest_offset(&c1), 494);
        let (schema, d) = find_client_digest(&c1).expect("ffmpeg C1 digest validates");
        assert_eq!(schema, DigestSchema::DigestFirst);
        assert_eq!(&d[..], &c1[494..494 + 32]);
    }

    #[test]
    fn finds_rtmpdump_fp9_client_digest_at_the_digest_first_layout() {
        let c1 = c1_of(RTMPDUMP_FP9_C0C1);
        let found = find_client_digest(&c1).map(|(s, _)| s);
        assert_eq!(found, Some(DigestSchema::DigestFirst));
        assert_eq!(DigestSchema::DigestFirst.digest_offset(&c1), 430);
    }

    #[test]
    fn finds_rtmpdump_rtmpe_client_digest_at_the_key_first_layout() {
        let c1 = c1_of(RTMPDUMP_RTMPE_C0C1);
        assert_eq!(DigestSchema::KeyFirst.digest_offset(&c1), 1383);
        let found = find_client_digest(&c1).map(|(s, _)| s);
        assert_eq!(found, Some(DigestSchema::KeyFirst));
    }

    #[test]
    fn finds_no_digest_in_a_simple_rtmpdump_c1() {
        assert!(find_client_digest(&c1_of(RTMPDUMP_C0C1)).is_none());
    }

    #[test]
    fn validates_hand_built_c1_at_both_layouts() {
        // Offset field [1, 2, 3, 4]: sum 10, so the digest sits at 12 + 10 = 22.
        let c1 = hand_built_digest_c1(8, [1, 2, 3, 4], 22);
        let found = find_client_digest(&c1).map(|(s, _)| s);
        assert_eq!(found, Some(DigestSchema::DigestFirst));
        // Offset field [200; 4]: sum 800, 800 % 728 = 72, so 776 + 72 = 848.
        let c1 = hand_built_digest_c1(772, [200; 4], 848);
        let found = find_client_digest(&c1).map(|(s, _)| s);
        assert_eq!(found, Some(DigestSchema::KeyFirst));
    }

    #[test]
    fn imprinted_digest_validates_independently_and_breaks_on_any_flipped_byte() {
        let mut rng = rng(7);
        for (schema, field) in [
            (DigestSchema::DigestFirst, 8),
            (DigestSchema::KeyFirst, 772),
        ] {
            let mut p = [0u8; HANDSHAKE_PACKET_LEN];
            rand::RngCore::fill_bytes(&mut rng, &mut p);
            imprint_packet_digest(&mut p, schema, &FMS_KEY[..FMS_KEY_DIGEST_LEN]);
            assert!(naive_has_digest(&p, field, FMS_TEXT));
            for i in (0..HANDSHAKE_PACKET_LEN).step_by(97) {
                let mut bad = p;
                bad[i] ^= 0x01;
                assert!(
                    verify_packet_digest(&bad, schema, &FMS_KEY[..36]).is_none(),
                    "{i}"
                );
            }
        }
    }

    #[test]
    fn reply_signature_matches_the_ffmpeg_formula() {
        let mut reply = [0x5Au8; HANDSHAKE_PACKET_LEN];
        let peer_digest = [0x11u8; DIGEST_LEN];
        sign_reply(&mut reply, &peer_digest, &FMS_KEY);
        assert!(naive_has_signature(&reply, &peer_digest, FMS_TEXT));
        assert!(verify_reply_signature(&reply, &peer_digest, &FMS_KEY));
        assert!(!verify_reply_signature(&reply, &peer_digest, &FP_KEY));
        reply[3] ^= 1;
        assert!(!verify_reply_signature(&reply, &peer_digest, &FMS_KEY));
    }
}
