//! Bad input never panics: a non-zero exit, `error: <path>: <reason>` on stderr, nothing at the output path.

mod common;
use common::*;
use std::path::Path;

/// Run render and analyze on `input` (from `dir`), expect failure with a message naming `named`.
fn expect_error(dir: &Path, input: &str, named: &str, reason_part: &str) {
    for cmd in ["render", "analyze"] {
        let mut c = ttymix();
        c.current_dir(dir).arg(cmd).arg(input);
        if cmd == "render" {
            c.args(["-o", "out.wav"]);
        }
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd} {input}: {err}");
        assert!(
            err.starts_with(&format!("error: {named}")),
            "{cmd} {input}: expected `error: {named}...`, got: {err}"
        );
        assert!(
            err.to_lowercase().contains(&reason_part.to_lowercase()),
            "{cmd} {input}: expected the reason to mention `{reason_part}`, got: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
        assert!(
            !dir.join("out.wav").exists(),
            "{cmd} {input} left an output file"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

fn session_with(dir: &Path, stem: &str) {
    std::fs::write(
        dir.join("s.toml"),
        format!("[[track]]\nfile = \"good.wav\"\n[[track]]\nfile = \"{stem}\"\n"),
    )
    .unwrap();
    write_wav(
        &dir.join("good.wav"),
        48_000,
        24,
        &[sine(440.0, 0.5, 48_000, 4800)],
    );
}

#[test]
fn nonexistent_path() {
    let d = tempdir();
    expect_error(d.path(), "nope.wav", "nope.wav: ", "not found");
    expect_error(d.path(), "nope_dir/", "nope_dir/: ", "not found");
}

#[test]
fn missing_stem_in_a_session() {
    let d = tempdir();
    session_with(d.path(), "missing.flac");
    expect_error(d.path(), "s.toml", "missing.flac: ", "not found");
}

#[test]
fn folder_without_audio() {
    let d = tempdir();
    std::fs::create_dir(d.path().join("empty")).unwrap();
    std::fs::write(d.path().join("empty/readme.txt"), "hi").unwrap();
    expect_error(d.path(), "empty", "empty: ", "no audio files");
}

#[test]
fn empty_file() {
    let d = tempdir();
    std::fs::write(d.path().join("e.wav"), b"").unwrap();
    expect_error(d.path(), "e.wav", "e.wav: ", "empty");
    session_with(d.path(), "e.wav");
    expect_error(d.path(), "s.toml", "e.wav: ", "empty");
}

#[test]
fn text_with_an_audio_extension() {
    let d = tempdir();
    std::fs::write(
        d.path().join("t.mp3"),
        "this is not audio at all\n".repeat(50),
    )
    .unwrap();
    expect_error(d.path(), "t.mp3", "t.mp3: ", "");
}

#[test]
fn corrupt_header_zero_channels() {
    let d = tempdir();
    // A canonical 44-byte WAV header claiming 0 channels.
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36u32 + 400).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&0u16.to_le_bytes()); // channels = 0
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&400u32.to_le_bytes());
    h.extend(std::iter::repeat_n(0u8, 400));
    std::fs::write(d.path().join("z.wav"), &h).unwrap();
    expect_error(d.path(), "z.wav", "z.wav: ", "");
}

#[test]
fn unsupported_codec() {
    let d = tempdir();
    // WAV with format tag 0x0161 (WMA) — a codec no decoder here handles.
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36u32 + 400).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&0x0161u16.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&(48_000u32 * 4).to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&400u32.to_le_bytes());
    h.extend(std::iter::repeat_n(0u8, 400));
    std::fs::write(d.path().join("w.wav"), &h).unwrap();
    expect_error(d.path(), "w.wav", "w.wav: ", "");
}

#[test]
fn unreadable_file() {
    let d = tempdir();
    // Root may read anything, so the portable unreadable stem is a folder named like an audio file.
    std::fs::create_dir(d.path().join("dir.wav")).unwrap();
    session_with(d.path(), "dir.wav");
    expect_error(d.path(), "s.toml", "dir.wav: ", "");
}

#[test]
fn invalid_toml() {
    let d = tempdir();
    std::fs::write(d.path().join("bad.toml"), "[[track]\nfile = \"x.wav\"\n").unwrap();
    expect_error(d.path(), "bad.toml", "bad.toml:1: ", "");
    std::fs::write(
        d.path().join("bad.toml"),
        "[[track]]\nfile = \"x.wav\"\ngain_db = \"loud\"\n",
    )
    .unwrap();
    expect_error(
        d.path(),
        "bad.toml",
        "bad.toml:3: key `gain_db`: ",
        "invalid type",
    );
}

#[test]
fn truncated_file_decodes_what_is_there_and_warns() {
    let d = tempdir();
    let full = d.path().join("full.wav");
    write_wav(&full, 48_000, 16, &[sine(440.0, 0.5, 48_000, 48_000)]);
    let bytes = std::fs::read(&full).unwrap();
    // cut the data chunk in half (the header still claims the full length)
    std::fs::write(d.path().join("cut.wav"), &bytes[..44 + 48_000]).unwrap();
    std::fs::remove_file(&full).unwrap();
    let out = ttymix()
        .current_dir(d.path())
        .args(["analyze", "cut.wav", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning: cut.wav"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dur = v["duration_s"].as_f64().unwrap();
    assert!(
        (dur - 0.5).abs() < 0.01,
        "decoded {dur} s of the 0.5 s present"
    );
}
