//! The protocol core and the fan-out data structures stay pure: no IO crates
//! anywhere under src/protocol or src/fanout (DESIGN.md §2). The same check runs
//! as a grep in scripts/test.sh.

use std::path::Path;

fn visit(dir: &Path, offenders: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read src/protocol") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            visit(&path, offenders);
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source file");
        for (n, line) in text.lines().enumerate() {
            if ["actix", "tokio", "redis"].iter().any(|w| line.contains(w)) {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
}

#[test]
fn protocol_core_and_fanout_mention_no_actix_tokio_or_redis() {
    let mut offenders = Vec::new();
    for dir in ["src/protocol", "src/fanout"] {
        visit(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
            &mut offenders,
        );
    }
    assert!(
        offenders.is_empty(),
        "IO crates in the protocol core:\n{}",
        offenders.join("\n")
    );
}
