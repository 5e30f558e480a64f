//! Errors of the stem-loading layer. Every message reads `<path>: <reason>`.

use std::path::{Path, PathBuf};

/// Why a file could not be loaded. `Display` is always `<path>: <reason>`.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The path does not exist.
    #[error("{}: file not found", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but has zero bytes.
    #[error("{}: file is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but cannot be read (permissions, a directory, an I/O error).
    #[error("{}: cannot read file: {reason}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// No known container format was found (e.g. a text file with an audio extension).
    #[error("{}: not a recognised audio file", path.display())]
    UnrecognisedFormat {
        /// The file.
        path: PathBuf,
    },
    /// The container was recognised but its header is invalid (zero channels, zero rate, ...).
    #[error("{}: corrupt header: {reason}", path.display())]
    CorruptHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The container holds audio in a codec (or codec feature) that cannot be decoded.
    #[error("{}: unsupported codec: {codec}", path.display())]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// The codec's name, or a description of the unsupported feature.
        codec: String,
    },
    /// The container has no audio track.
    #[error("{}: no audio track", path.display())]
    NoAudioTrack {
        /// The file.
        path: PathBuf,
    },
    /// Decoding failed before any audio could be produced.
    #[error("{}: cannot decode: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// Sample-rate conversion failed (invalid rates or inconsistent channel lengths).
    #[error("{}: cannot resample from {from_hz} Hz to {to_hz} Hz: {reason}", path.display())]
    Resample {
        /// The file, or [`IN_MEMORY`] when resampling a bare buffer.
        path: PathBuf,
        /// Source rate.
        from_hz: u32,
        /// Target rate.
        to_hz: u32,
        /// What went wrong.
        reason: String,
    },
}

/// The path shown for errors about audio that did not come from a file.
pub const IN_MEMORY: &str = "<in-memory audio>";

impl MediaError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            MediaError::NotFound { path }
            | MediaError::Empty { path }
            | MediaError::Unreadable { path, .. }
            | MediaError::UnrecognisedFormat { path }
            | MediaError::CorruptHeader { path, .. }
            | MediaError::UnsupportedCodec { path, .. }
            | MediaError::NoAudioTrack { path }
            | MediaError::Decode { path, .. }
            | MediaError::Resample { path, .. } => path,
        }
    }

    /// The same error, about `new_path` instead.
    pub fn with_path(mut self, new_path: &Path) -> Self {
        match &mut self {
            MediaError::NotFound { path }
            | MediaError::Empty { path }
            | MediaError::Unreadable { path, .. }
            | MediaError::UnrecognisedFormat { path }
            | MediaError::CorruptHeader { path, .. }
            | MediaError::UnsupportedCodec { path, .. }
            | MediaError::NoAudioTrack { path }
            | MediaError::Decode { path, .. }
            | MediaError::Resample { path, .. } => *path = new_path.to_path_buf(),
        }
        self
    }

    /// Maps an error from opening or reading `path` to the matching kind.
    pub fn from_io(path: &Path, err: &std::io::Error) -> Self {
        let path = path.to_path_buf();
        match err.kind() {
            std::io::ErrorKind::NotFound => MediaError::NotFound { path },
            std::io::ErrorKind::PermissionDenied => MediaError::Unreadable {
                path,
                reason: "permission denied".to_string(),
            },
            _ => MediaError::Unreadable {
                path,
                reason: err.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    #[test]
    fn io_errors_map_to_kinds_and_name_the_file() {
        let p = Path::new("/x/y.wav");
        let e = MediaError::from_io(p, &Error::from(ErrorKind::PermissionDenied));
        assert!(matches!(e, MediaError::Unreadable { .. }));
        assert_eq!(
            e.to_string(),
            "/x/y.wav: cannot read file: permission denied"
        );
        let e = MediaError::from_io(p, &Error::from(ErrorKind::NotFound));
        assert!(matches!(e, MediaError::NotFound { .. }));
        assert_eq!(e.to_string(), "/x/y.wav: file not found");
    }

    #[test]
    fn with_path_replaces_the_path() {
        let e = MediaError::Resample {
            path: PathBuf::from(IN_MEMORY),
            from_hz: 0,
            to_hz: 48_000,
            reason: "zero rate".into(),
        }
        .with_path(Path::new("a.flac"));
        assert_eq!(e.path(), Path::new("a.flac"));
        assert_eq!(
            e.to_string(),
            "a.flac: cannot resample from 0 Hz to 48000 Hz: zero rate"
        );
    }
}
