//! ttymix: a keyboard-driven terminal multitrack mixer.

pub mod demo;
pub mod loudness;
