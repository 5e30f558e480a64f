//! The README's example sessions cannot drift from the parser: every ```toml block with a `[[track]]` in
//! README.md is written to a temporary folder with generated stems and opened, resolved and loaded through
//! the real session code; the full example must use every section of the format.

mod common;

use std::path::Path;

use common::{sine, tempdir, write_wav};
use ttymix::load::LoadedSession;
use ttymix::session::{BusKindName, Session, SessionFile};

const RATE: u32 = 48_000;

/// The fenced ```toml blocks of a Markdown text, in order.
fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```toml") => current = Some(String::new()),
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(
        current.is_none(),
        "README.md: a ```toml block is not closed"
    );
    blocks
}

fn readme_sessions() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).expect("read README.md");
    let blocks: Vec<String> = toml_blocks(&text)
        .into_iter()
        .filter(|b| b.contains("[[track]]"))
        .collect();
    assert!(!blocks.is_empty(), "README.md has no example session");
    blocks
}

/// Write the session and a short stereo WAV stem for each track into `dir`, named as the session names
/// them (the content is WAV whatever the extension says: the decoder probes the content).
fn materialise(dir: &Path, toml: &str) -> std::path::PathBuf {
    let file = SessionFile::parse(toml, Path::new("README.md"))
        .unwrap_or_else(|e| panic!("README.md example session does not parse: {e}\n{toml}"));
    for (i, t) in file.tracks.iter().enumerate() {
        let n = RATE as usize / 2;
        let l = sine(110.0 * (i + 1) as f64, 0.3, RATE, n);
        write_wav(&dir.join(&t.file), RATE, 24, &[l.clone(), l]);
    }
    let path = dir.join("session.toml");
    std::fs::write(&path, toml).expect("write session");
    path
}

#[test]
fn every_readme_example_session_opens_and_loads() {
    for (k, toml) in readme_sessions().iter().enumerate() {
        let dir = tempdir();
        let path = materialise(dir.path(), toml);
        let session = Session::open_file(&path)
            .unwrap_or_else(|e| panic!("README.md example session {k}: {e}\n{toml}"));
        let tracks = session.file.tracks.len();
        let buses = session.file.buses.len();
        let loaded = LoadedSession::load(session, None);
        assert_eq!(
            loaded.first_offline(),
            None,
            "session {k}: a stem is offline"
        );
        assert_eq!(loaded.sample_rate_hz, RATE);
        let mut engine = loaded.engine(256);
        assert_eq!(engine.track_count(), tracks);
        assert_eq!(engine.bus_count(), buses);
        // and it plays: some signal reaches the master
        let _ = engine.push(ttymix::engine::Command::transport(
            0,
            ttymix::engine::TransportCommand::Play,
        ));
        let mut out = vec![0.0f32; 512];
        let mut energy = 0.0f64;
        for _ in 0..40 {
            engine.process_interleaved(&mut out);
            energy += out.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
        }
        assert!(energy > 1.0, "session {k}: silent output");
    }
}

/// The README promises an example that uses each feature: check the largest example still does, so a
/// feature added to the format but not to the example (or removed from it) shows up here.
#[test]
fn the_full_readme_example_uses_every_section() {
    let sessions = readme_sessions();
    let full = sessions.iter().max_by_key(|s| s.len()).expect("an example");
    let f = SessionFile::parse(full, Path::new("README.md")).expect("parses");
    assert!(f.sample_rate.is_some() && f.tempo_bpm.is_some());
    let m = &f.master;
    assert!(m.eq.is_some() && m.compressor.is_some() && m.limiter.is_some());
    let any_track = |p: &dyn Fn(&ttymix::session::TrackConfig) -> bool| f.tracks.iter().any(p);
    assert!(any_track(&|t| t.name.is_some()));
    assert!(any_track(&|t| t.output.is_some()));
    assert!(any_track(&|t| t.hpf.is_some()));
    assert!(any_track(&|t| t.lpf.is_some()));
    assert!(any_track(&|t| t.eq.is_some()));
    assert!(any_track(&|t| t.gate.is_some()));
    assert!(any_track(&|t| t.compressor.is_some()));
    assert!(any_track(&|t| !t.sends.is_empty()));
    assert!(any_track(&|t| t.sends.iter().any(|s| s.pre_fader)));
    assert!(any_track(&|t| t.sends.iter().any(|s| !s.pre_fader)));
    for kind in [BusKindName::Group, BusKindName::Reverb, BusKindName::Delay] {
        assert!(
            f.buses.iter().any(|b| b.kind == kind),
            "no {kind:?} bus in the README example"
        );
    }
    assert!(f.buses.iter().any(|b| b.output.is_some()), "bus into bus");
    assert!(f
        .buses
        .iter()
        .any(|b| b.kind == BusKindName::Group && b.compressor.is_some()));
    assert!(f.buses.iter().any(|b| b.reverb.is_some()));
    assert!(f.buses.iter().any(|b| b.delay.is_some()));
    assert!(!f.markers.is_empty(), "no [[marker]] in the README example");
}
