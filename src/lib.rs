//! ttymix: a keyboard-driven terminal multitrack mixer.
//!
//! One mix engine ([`engine`]) serves real-time playback and offline render alike; everything else (session
//! files, decoding, loudness, the command line) feeds it or reports on it.

pub mod analyze;
pub mod app;
pub mod audio;
pub mod cli;
pub mod demo;
pub mod dsp;
pub mod engine;
pub mod keymap;
pub mod load;
pub mod loudness;
pub mod media;
pub mod overview;
pub mod play;
pub mod player;
pub mod render;
pub mod session;
pub mod tui;
pub mod ui;
