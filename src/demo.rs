//! Built-in demo multitrack (placeholder).
