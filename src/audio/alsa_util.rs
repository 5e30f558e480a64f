//! ALSA helpers outside cpal: capture alsa-lib's error messages instead of letting them reach
//! stderr (they would garble a terminal UI), and tell whether a PCM only discards audio.

use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// This thread's alsa-lib error buffer, installed on first use and kept.
    static BUFFER: RefCell<Option<Rc<RefCell<alsa::Output>>>> = const { RefCell::new(None) };
}

/// Collects alsa-lib error messages raised on the current thread from now on. The first
/// capture on a thread redirects alsa-lib's messages there for good (away from stderr).
pub(crate) struct AlsaErrors {
    buffer: Option<Rc<RefCell<alsa::Output>>>,
    mark: usize,
}

impl AlsaErrors {
    /// Start capturing on this thread.
    pub fn capture() -> Self {
        let buffer = BUFFER.with_borrow_mut(|b| {
            if b.is_none() {
                *b = alsa::Output::local_error_handler().ok();
            }
            b.clone()
        });
        let mark = buffer.as_ref().map_or(0, |b| b.borrow().to_string().len());
        Self { buffer, mark }
    }

    /// The last non-empty message captured since [`AlsaErrors::capture`], if any.
    pub fn last_message(&self) -> Option<String> {
        let text = self.buffer.as_ref()?.borrow().to_string();
        text.get(self.mark..)?
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    }
}

/// Open the ALSA PCM `name` for playback (non-blocking) and close it again. Ok(true) when its
/// chain ends in the null plugin without writing a file (it plays nothing); Err with a plain
/// reason when it cannot be opened.
pub(crate) fn probe_pcm(name: &str) -> Result<bool, String> {
    let errors = AlsaErrors::capture();
    let pcm = alsa::PCM::new(name, alsa::Direction::Playback, true).map_err(|e| {
        let os = std::io::Error::from_raw_os_error(e.errno()).to_string();
        // "No such file or directory (os error 2)" -> "No such file or directory"
        let os = os.split(" (os error").next().unwrap_or(&os).to_string();
        let mut reason = format!("cannot open PCM `{name}`: {os}");
        if let Some(detail) = errors.last_message() {
            reason.push_str(&format!(" (alsa-lib: {detail})"));
        }
        reason
    })?;
    let Ok(mut out) = alsa::Output::buffer_open() else {
        return Ok(false);
    };
    if pcm.dump(&mut out).is_err() {
        return Ok(false);
    }
    let text = out.to_string();
    Ok(text.contains("Null PCM") && !text.contains("File PCM"))
}
