//! Replays every fuzz input we keep, on stable Rust, through the very functions
//! the cargo-fuzz targets call (`ferrocast::fuzzing`): the committed corpus
//! (`fuzz/corpus/<target>/`, crash inputs included once fixed), every prefix and
//! seeded corruptions of the committed test vectors, and seeded random inputs.
//! A panic in any of them fails the test and names the input.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use ferrocast::fuzzing;
use ferrocast::protocol::amf::{amf0, AmfValue};
use ferrocast::protocol::chunk::{ChunkEncoder, RawMessage};
use ferrocast::protocol::command::{CommandEncoding, CommandMessage};

type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    ("handshake", fuzzing::handshake),
    ("chunk", fuzzing::chunk),
    ("amf0", fuzzing::amf0),
    ("amf3", fuzzing::amf3),
    ("flv", fuzzing::flv),
    ("command", fuzzing::command),
    ("shared_object", fuzzing::shared_object),
    ("session", fuzzing::session),
    ("client", fuzzing::client),
    ("envelope", fuzzing::envelope),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn run(target: &Target, input: &[u8], what: &str) {
    let (name, f) = *target;
    if catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        panic!(
            "fuzz target {name} panicked on {what} ({} bytes): {:02x?}",
            input.len(),
            &input[..input.len().min(64)]
        );
    }
}

/// A realistic client chunk stream for the `session` target (after its fixed
/// handshake): connect, createStream, publish with metadata, audio and video,
/// then a second stream that plays. Byte 0 (piece size 0) feeds it at once.
fn session_seed() -> Vec<u8> {
    let mut encoder = ChunkEncoder::new();
    let mut wire = BytesMut::new();
    let mut push = |type_id: u8, stream_id: u32, payload: Bytes| {
        let message = RawMessage {
            csid: if type_id == 20 { 3 } else { 4 },
            timestamp: 0,
            type_id,
            stream_id,
            payload,
        };
        encoder.encode(&message, &mut wire).expect("seed chunks");
    };
    let command = |name: &str, tx: f64, object: AmfValue, args: Vec<AmfValue>| {
        let mut body = BytesMut::new();
        CommandMessage::new(name, tx, object, args)
            .encode(CommandEncoding::Amf0, &mut body)
            .expect("seed command");
        body.freeze()
    };
    let app = AmfValue::object([
        ("app", AmfValue::string("live")),
        ("tcUrl", AmfValue::string("rtmp://h/live")),
    ]);
    push(20, 0, command("connect", 1.0, app, vec![]));
    push(20, 0, command("createStream", 2.0, AmfValue::Null, vec![]));
    push(
        20,
        1,
        command(
            "publish",
            3.0,
            AmfValue::Null,
            vec!["cam".into(), "live".into()],
        ),
    );
    let mut meta = BytesMut::new();
    let width = AmfValue::ecma_array([("width", AmfValue::Number(320.0))]);
    amf0::encode_all(
        &["@setDataFrame".into(), "onMetaData".into(), width],
        &mut meta,
    )
    .expect("seed metadata");
    push(18, 1, meta.freeze());
    push(8, 1, Bytes::from_static(&[0xAF, 0x00, 0x12, 0x10]));
    push(
        9,
        1,
        Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1, 0x42, 0xC0, 0x0D, 0xFF, 0xE1, 0, 0]),
    );
    push(
        9,
        1,
        Bytes::from_static(&[0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65]),
    );
    push(
        9,
        1,
        Bytes::from_static(&[0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41]),
    );
    push(20, 0, command("createStream", 4.0, AmfValue::Null, vec![]));
    push(
        20,
        2,
        command(
            "play",
            5.0,
            AmfValue::Null,
            vec!["cam".into(), AmfValue::Number(-2.0)],
        ),
    );
    let mut seed = vec![0u8];
    seed.extend_from_slice(&wire);
    seed
}

/// A seed the code builds: written to the corpus when
/// `FERROCAST_WRITE_FUZZ_SEEDS` is set (to keep the committed copy in step),
/// then replayed whole, every prefix, and `rounds` seeded corruptions of up to
/// four bytes at or after `keep` (bytes before it select the target's mode).
struct Seed {
    target: &'static str,
    file: &'static str,
    bytes: Vec<u8>,
    keep: usize,
    rounds: usize,
}

impl Seed {
    fn replay(&self, rng: &mut Rng) {
        let target = TARGETS
            .iter()
            .find(|t| t.0 == self.target)
            .expect("a known target");
        assert!(
            self.bytes.len() > self.keep,
            "the {} seed is not empty",
            self.target
        );
        if std::env::var_os("FERROCAST_WRITE_FUZZ_SEEDS").is_some() {
            let dir = root().join("fuzz/corpus").join(self.target);
            std::fs::create_dir_all(&dir).expect("corpus dir");
            std::fs::write(dir.join(self.file), &self.bytes).expect("write seed");
        }
        let seed = &self.bytes;
        for n in 0..=seed.len() {
            run(target, &seed[..n], &format!("prefix {n} of {}", self.file));
        }
        for round in 0..self.rounds {
            let mut bad = seed.clone();
            for _ in 0..=rng.below(4) {
                let i = self.keep + rng.below(bad.len() - self.keep);
                bad[i] = rng.next() as u8;
            }
            run(
                target,
                &bad,
                &format!("corruption {round} of {}", self.file),
            );
        }
    }
}

#[test]
fn the_session_seed_and_all_its_prefixes_and_corruptions_never_panic() {
    Seed {
        target: "session",
        file: "seed-publish-and-play",
        bytes: session_seed(),
        keep: 1,
        rounds: 500,
    }
    .replay(&mut Rng(0xFEED_5EED));
}

#[test]
fn the_client_seeds_and_all_their_prefixes_and_corruptions_never_panic() {
    let mut rng = Rng(0xC11E_5EED);
    for (amf3, file) in [(false, "seed-amf0"), (true, "seed-amf3")] {
        let bytes = fuzzing::client_seed(amf3);
        assert!(bytes.len() > 200, "the seed holds a real server stream");
        Seed {
            target: "client",
            file,
            bytes,
            keep: 1,
            rounds: 300,
        }
        .replay(&mut rng);
    }
}

#[test]
fn the_envelope_seed_and_all_its_prefixes_and_corruptions_never_panic() {
    Seed {
        target: "envelope",
        file: "seed-broadcast",
        bytes: fuzzing::envelope_seed(),
        keep: 0,
        rounds: 2000,
    }
    .replay(&mut Rng(0xE17E_5EED));
}

#[test]
fn committed_corpus_replays_without_a_panic() {
    let mut count = 0;
    for target in TARGETS {
        for file in files_under(&root().join("fuzz/corpus").join(target.0)) {
            let data = std::fs::read(&file).expect("read corpus file");
            run(target, &data, &file.display().to_string());
            count += 1;
        }
    }
    eprintln!("replayed {count} corpus files");
}

#[test]
fn every_prefix_and_corruption_of_every_test_vector_is_handled_by_every_target() {
    let vectors = files_under(&root().join("tests/vectors"));
    assert!(
        !vectors.is_empty(),
        "tests/vectors holds the captured vectors"
    );
    let mut rng = Rng(0x5EED_F00D);
    for file in &vectors {
        let data = std::fs::read(file).expect("read vector");
        // Large vectors: every prefix up to 4 KiB, then every 97th.
        let prefixes = (0..=data.len()).filter(|n| *n <= 4096 || n % 97 == 0 || *n == data.len());
        for target in TARGETS {
            for n in prefixes.clone() {
                run(
                    target,
                    &data[..n],
                    &format!("prefix {n} of {}", file.display()),
                );
            }
            for round in 0..32 {
                let mut bad = data.clone();
                for _ in 0..=rng.below(8) {
                    let i = rng.below(bad.len());
                    if let Some(b) = bad.get_mut(i) {
                        *b = rng.next() as u8;
                    }
                }
                run(
                    target,
                    &bad,
                    &format!("corruption {round} of {}", file.display()),
                );
            }
        }
    }
}

#[test]
fn seeded_random_inputs_never_panic_any_target() {
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    for target in TARGETS {
        for round in 0..2000 {
            let len = rng.below(512);
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            run(target, &data, &format!("random input {round}"));
        }
    }
}
