//! Real peer processes (ffmpeg, rtmpdump) for integration tests: started with a
//! deadline, killed on drop, output captured for failure messages.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped, so a failing test never leaks one.
pub struct Peer {
    child: Option<Child>,
    name: String,
}

impl Peer {
    /// Starts `program` with `args`; stdout and stderr are captured.
    pub fn spawn(program: &str, args: &[&str]) -> Self {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} (scripts/test.sh installs it): {e}")
            });
        Self {
            child: Some(child),
            name: program.to_string(),
        }
    }

    /// Waits up to `limit` for the process to exit and returns its status and
    /// combined output; kills it when the limit passes (status `None`).
    pub fn finish(mut self, limit: Duration) -> (Option<std::process::ExitStatus>, String) {
        let mut child = self.child.take().expect("child present until finished");
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let output = child.wait_with_output().map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        (status, output.unwrap_or_default())
    }

    /// The program name, for messages.
    #[allow(dead_code)]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Makes a short H.264 + AAC FLV with ffmpeg (a test pattern and a tone), with a
/// keyframe every `gop` frames.
#[allow(dead_code)]
pub fn make_test_flv(path: &Path, seconds: u32, gop: u32) {
    make_flv(path, seconds, &["-s", "320x240", "-g", &gop.to_string()]);
}

/// Makes a noisy, high-bitrate (~12 Mbps) H.264 + AAC FLV, for tests that need
/// more bytes than the kernel's socket buffers hold.
#[allow(dead_code)]
pub fn make_heavy_flv(path: &Path, seconds: u32) {
    make_flv(
        path,
        seconds,
        &[
            "-s",
            "640x360",
            "-g",
            "25",
            "-vf",
            "noise=alls=40:allf=t",
            "-b:v",
            "12M",
        ],
    );
}

fn make_flv(path: &Path, seconds: u32, video_args: &[&str]) {
    let seconds = seconds.to_string();
    let mut args = vec![
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x360:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        &seconds,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ];
    args.extend_from_slice(video_args);
    args.extend_from_slice(&[
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "flv",
        path.to_str().expect("utf-8 path"),
    ]);
    let (status, output) = Peer::spawn("ffmpeg", &args).finish(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "ffmpeg could not make {}: {output}",
        path.display()
    );
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates it.
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "ferrocast-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
