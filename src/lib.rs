//! ttymix: a keyboard-driven terminal multitrack mixer.

pub mod engine;
pub mod session;
