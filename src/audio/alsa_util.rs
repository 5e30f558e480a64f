//! ALSA helpers outside cpal: capture alsa-lib's error messages instead of letting them reach
//! stderr (they would garble a terminal UI), and tell whether a PCM only discards audio.

use std::cell::RefCell;
use std::rc::Rc;

/// Collects alsa-lib error messages raised on the current thread from now on.
pub(crate) struct AlsaErrors(Option<Rc<RefCell<alsa::Output>>>);

impl AlsaErrors {
    /// Start capturing on this thread (replaces an earlier capture on the same thread).
    pub fn capture() -> Self {
        Self(alsa::Output::local_error_handler().ok())
    }

    /// The last non-empty message captured, if any.
    pub fn last_message(&self) -> Option<String> {
        let out = self.0.as_ref()?;
        let text = out.borrow().to_string();
        text.lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    }
}

/// Whether the ALSA PCM `name` opens to a chain that ends in the null plugin without writing a
/// file (so it plays nothing). `None` when it cannot be opened.
pub(crate) fn pcm_discards_audio(name: &str) -> Option<bool> {
    let pcm = alsa::PCM::new(name, alsa::Direction::Playback, true).ok()?;
    let mut out = alsa::Output::buffer_open().ok()?;
    pcm.dump(&mut out).ok()?;
    let text = out.to_string();
    Some(text.contains("Null PCM") && !text.contains("File PCM"))
}
