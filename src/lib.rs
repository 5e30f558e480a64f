//! ttymix: a keyboard-driven terminal multitrack mixer.
