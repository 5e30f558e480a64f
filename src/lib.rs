//! ttymix: a keyboard-driven terminal multitrack mixer.

pub mod audio;
