//! Shared test material: captured vectors, seeded randomness, and an
//! independent (deliberately naive) re-implementation of the digest formulas so
//! tests do not check our code against itself.

use hmac::{Hmac, Mac};
use rand::rngs::StdRng;
use rand::SeedableRng;
use sha2::Sha256;

use super::HANDSHAKE_PACKET_LEN;

/// C0+C1 sent by `ffmpeg -i rtmp://127.0.0.1:PORT/app/x` (ffmpeg 5.1.9, Debian
/// 12), captured with a throwaway Python listener. Digest handshake, version
/// 9.0.124.2, time 0, digest at the 8 layout (offset 494).
pub(super) const FFMPEG_C0C1: &[u8; 1537] =
    include_bytes!("../../../tests/vectors/handshake/ffmpeg_c0c1.bin");
/// C0+C1 sent by `rtmpdump -r rtmp://127.0.0.1:PORT/app/x` (RTMPDump 2.4,
/// Debian 12): simple handshake (zero version field), librtmp only goes FP9
/// with RTMPE or SWF verification.
pub(super) const RTMPDUMP_C0C1: &[u8; 1537] =
    include_bytes!("../../../tests/vectors/handshake/rtmpdump_c0c1.bin");
/// C0+C1 sent by `rtmpdump -r rtmp://... -w <64 hex zeros> -x 1000` (SWF
/// verification forces librtmp's FP9 handshake): version 10.0.45.2, digest at
/// the 8 layout (offset 430).
pub(super) const RTMPDUMP_FP9_C0C1: &[u8; 1537] =
    include_bytes!("../../../tests/vectors/handshake/rtmpdump_fp9_c0c1.bin");
/// C0+C1 sent by `rtmpdump -r rtmpe://127.0.0.1:PORT/app/x`: C0 = 6 (RTMPE),
/// version 128.0.3.2, digest at the 772 layout (offset 1383).
pub(super) const RTMPDUMP_RTMPE_C0C1: &[u8; 1537] =
    include_bytes!("../../../tests/vectors/handshake/rtmpdump_rtmpe_c0c1.bin");

/// Every captured vector, named.
pub(super) const CAPTURED: [(&str, &[u8; 1537]); 4] = [
    ("ffmpeg", FFMPEG_C0C1),
    ("rtmpdump", RTMPDUMP_C0C1),
    ("rtmpdump_fp9", RTMPDUMP_FP9_C0C1),
    ("rtmpdump_rtmpe", RTMPDUMP_RTMPE_C0C1),
];

/// A deterministic random source.
pub(super) fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// The C1 inside a C0+C1 capture.
pub(super) fn c1_of(c0c1: &[u8; 1537]) -> [u8; HANDSHAKE_PACKET_LEN] {
    let mut c1 = [0u8; HANDSHAKE_PACKET_LEN];
    c1.copy_from_slice(&c0c1[1..]);
    c1
}

/// Plain HMAC-SHA256 of `data` under `key`.
pub(super) fn naive_hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The text part of the Flash Player key, as ffmpeg's
/// `PLAYER_KEY_OPEN_PART_LEN` (30) bytes.
pub(super) const FP_TEXT: &[u8] = b"Genuine Adobe Flash Player 001";
/// The text part of the FMS key, as ffmpeg's `SERVER_KEY_OPEN_PART_LEN` (36).
pub(super) const FMS_TEXT: &[u8] = b"Genuine Adobe Flash Media Server 001";
/// The full keys' 32-byte tail, typed in again from ffmpeg's `rtmp_player_key`.
pub(super) const TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];

/// Digest position the naive way: ffmpeg `ff_rtmp_calc_digest_pos(buf, field,
/// 728, field + 4)`.
pub(super) fn naive_digest_pos(packet: &[u8], field: usize) -> usize {
    let sum: usize = packet[field..field + 4].iter().map(|&b| b as usize).sum();
    sum % 728 + field + 4
}

/// Whether `packet` has a valid digest at the layout whose offset field is at
/// `field`, keyed with `key`: HMAC over the packet with the 32 digest bytes cut
/// out (ffmpeg `rtmp_validate_digest`, librtmp `VerifyDigest`).
pub(super) fn naive_has_digest(packet: &[u8], field: usize, key: &[u8]) -> bool {
    let pos = naive_digest_pos(packet, field);
    let mut data = packet[..pos].to_vec();
    data.extend_from_slice(&packet[pos + 32..]);
    naive_hmac(key, &data) == packet[pos..pos + 32]
}

/// The full 62/68-byte key for a text part.
pub(super) fn full_key(text: &[u8]) -> Vec<u8> {
    let mut key = text.to_vec();
    key.extend_from_slice(&TAIL);
    key
}

/// Whether the last 32 bytes of `reply` are HMAC(HMAC(full key, peer digest),
/// reply[..1504]) (ffmpeg `rtmp_handshake` "Signature mismatch" check).
pub(super) fn naive_has_signature(reply: &[u8], peer_digest: &[u8], text: &[u8]) -> bool {
    let signing_key = naive_hmac(&full_key(text), peer_digest);
    naive_hmac(&signing_key, &reply[..1504]) == reply[1504..]
}

/// A hand-built digest C1: pattern bytes, version 9.0.124.2, offset field at
/// `field` (8 or 772) set to `field_bytes`, digest written at `expected_pos`
/// (the position computed by hand in the caller, asserted here), keyed with the
/// 30-byte player key. Layout per ffmpeg `rtmp_handshake_imprint_with_digest`.
pub(super) fn hand_built_digest_c1(
    field: usize,
    field_bytes: [u8; 4],
    expected_pos: usize,
) -> [u8; HANDSHAKE_PACKET_LEN] {
    hand_built_digest_packet(field, field_bytes, expected_pos, [9, 0, 124, 2], FP_TEXT)
}

/// A hand-built digest S1 like librtmp's `SHandShake` sends (version 3.5.1.1),
/// keyed with the 36-byte server key; otherwise as [`hand_built_digest_c1`].
pub(super) fn hand_built_digest_s1(
    field: usize,
    field_bytes: [u8; 4],
    expected_pos: usize,
) -> [u8; HANDSHAKE_PACKET_LEN] {
    hand_built_digest_packet(field, field_bytes, expected_pos, [3, 5, 1, 1], FMS_TEXT)
}

fn hand_built_digest_packet(
    field: usize,
    field_bytes: [u8; 4],
    expected_pos: usize,
    version: [u8; 4],
    key_text: &[u8],
) -> [u8; HANDSHAKE_PACKET_LEN] {
    let mut p = [0u8; HANDSHAKE_PACKET_LEN];
    for (i, b) in p.iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    p[..4].copy_from_slice(&[0, 0, 0x12, 0x34]);
    p[4..8].copy_from_slice(&version);
    p[field..field + 4].copy_from_slice(&field_bytes);
    assert_eq!(naive_digest_pos(&p, field), expected_pos);
    let mut data = p[..expected_pos].to_vec();
    data.extend_from_slice(&p[expected_pos + 32..]);
    let digest = naive_hmac(key_text, &data);
    p[expected_pos..expected_pos + 32].copy_from_slice(&digest);
    p
}

/// Signs `reply` in place the naive way: its last 32 bytes become
/// HMAC(HMAC(full key, peer digest), reply[..1504]).
pub(super) fn naive_sign(reply: &mut [u8; HANDSHAKE_PACKET_LEN], peer_digest: &[u8], text: &[u8]) {
    let signing_key = naive_hmac(&full_key(text), peer_digest);
    let signature = naive_hmac(&signing_key, &reply[..1504]);
    reply[1504..].copy_from_slice(&signature);
}
