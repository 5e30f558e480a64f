//! Runs on the audio thread: the monitor section after the master, for listening only: the source (the mix,
//! or a reference track played in sync with the transport at a loudness-matching gain), then mono check
//! (heard as the mono sum (L+R)/2 on both sides, so centred material keeps its level) and dim (−20 dB). A render never sends monitor commands, and when both are off the section passes the master
//! through untouched (bit-exact), so a render equals playback with them off. Switching ramps over
//! [`super::RAMP_MS`], per sample, so it never clicks and does not depend on block size.

use super::ramp::Ramp;
use super::source::Source;

/// How many reference tracks a session may have.
pub const MAX_REFERENCES: usize = 8;

/// Dim level in dB.
pub const DIM_DB: f32 = -20.0;

/// A monitor-section change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MonitorCommand {
    /// Mono check on/off.
    Mono(bool),
    /// Dim on/off.
    Dim(bool),
    /// Listen to the mix (`None`) or reference `n` at `gain_db`: the monitor fades out over the ramp time,
    /// switches on that sample and fades back in, so A/B never clicks.
    Listen {
        /// Reference index, or None for the mix.
        reference: Option<u8>,
        /// Gain applied to the reference (loudness match), dB.
        gain_db: f32,
    },
}

/// The monitor section's state.
pub struct Monitor {
    /// 0 = stereo, 1 = mono sum.
    mono: Ramp,
    /// Linear gain: 1, or the dim level.
    gain: Ramp,
    /// Reference sources by index (installed with [`Monitor::set_reference`]).
    refs: Vec<Option<Box<dyn Source>>>,
    listen: Option<usize>,
    ref_gain: f32,
    /// A switch waiting for the fade-out to reach silence.
    pending: Option<(Option<usize>, f32)>,
    /// Monitor level for switching: 1 normally, 0 at the switch.
    fade: Ramp,
    ref_l: Vec<f32>,
    ref_r: Vec<f32>,
    next_l: Vec<f32>,
    next_r: Vec<f32>,
}

/// Read reference `index` (if any) at `pos` into `l`/`r`: silence when not playing; mono on both sides.
fn read_ref(
    refs: &mut [Option<Box<dyn Source>>],
    index: Option<usize>,
    l: &mut [f32],
    r: &mut [f32],
    pos: u64,
    playing: bool,
) {
    match index.and_then(|i| refs.get_mut(i)).and_then(|s| s.as_mut()) {
        Some(src) if playing => {
            src.read(pos, l, r);
            if src.channels() == 1 {
                r.copy_from_slice(l);
            }
        }
        _ => {
            l.fill(0.0);
            r.fill(0.0);
        }
    }
}

/// [`DIM_DB`] as a linear gain.
pub fn dim_gain() -> f32 {
    10f32.powf(DIM_DB / 20.0)
}

impl Monitor {
    /// Both off, listening to the mix, ramping over `ramp_frames`, for blocks up to `max_block_frames`.
    pub fn new(ramp_frames: u32, max_block_frames: usize) -> Self {
        Self {
            mono: Ramp::new(0.0, ramp_frames),
            gain: Ramp::new(1.0, ramp_frames),
            refs: (0..MAX_REFERENCES).map(|_| None).collect(),
            listen: None,
            ref_gain: 1.0,
            pending: None,
            fade: Ramp::new(1.0, ramp_frames),
            ref_l: vec![0.0; max_block_frames.max(1)],
            ref_r: vec![0.0; max_block_frames.max(1)],
            next_l: vec![0.0; max_block_frames.max(1)],
            next_r: vec![0.0; max_block_frames.max(1)],
        }
    }

    /// Apply a command.
    pub fn set(&mut self, c: MonitorCommand) {
        match c {
            MonitorCommand::Mono(on) => self.mono.set_target(if on { 1.0 } else { 0.0 }),
            MonitorCommand::Dim(on) => self.gain.set_target(if on { dim_gain() } else { 1.0 }),
            MonitorCommand::Listen { reference, gain_db } => {
                let target = reference
                    .map(usize::from)
                    .filter(|&i| self.refs.get(i).is_some_and(|r| r.is_some()));
                let gain = 10f32.powf(gain_db / 20.0);
                if target == self.listen && self.pending.is_none() {
                    self.ref_gain = gain;
                } else {
                    self.pending = Some((target, gain));
                    self.fade.set_target(0.0);
                }
            }
        }
    }

    /// Install reference `index`; returns the source it replaces (to be dropped off the audio thread), or
    /// the new one back when the index is out of range.
    pub fn set_reference(
        &mut self,
        index: usize,
        source: Box<dyn Source>,
    ) -> Option<Box<dyn Source>> {
        match self.refs.get_mut(index) {
            Some(slot) => slot.replace(source),
            None => Some(source),
        }
    }

    /// The reference being listened to.
    pub fn listening(&self) -> Option<usize> {
        self.listen
    }

    /// Replace the master in `left`/`right` by the reference being listened to (at timeline frame `pos`,
    /// silent when not playing), fading through silence when switching.
    pub fn select(&mut self, left: &mut [f32], right: &mut [f32], pos: u64, playing: bool) {
        let n = left.len().min(right.len()).min(self.ref_l.len());
        let steady = self.pending.is_none() && self.fade.is_settled() && self.fade.value() == 1.0;
        if steady && self.listen.is_none() {
            return;
        }
        read_ref(
            &mut self.refs,
            self.listen,
            &mut self.ref_l[..n],
            &mut self.ref_r[..n],
            pos,
            playing,
        );
        if steady {
            let g = self.ref_gain;
            for i in 0..n {
                left[i] = self.ref_l[i] * g;
                right[i] = self.ref_r[i] * g;
            }
            return;
        }
        let next = self.pending.map(|(t, _)| t).unwrap_or(self.listen);
        read_ref(
            &mut self.refs,
            next,
            &mut self.next_l[..n],
            &mut self.next_r[..n],
            pos,
            playing,
        );
        let mut switched = false;
        for i in 0..n {
            if self.fade.is_settled() && self.fade.value() == 0.0 {
                if let Some((t, g)) = self.pending.take() {
                    self.listen = t;
                    self.ref_gain = g;
                    switched = true;
                }
                self.fade.set_target(1.0);
            }
            let f = self.fade.next_value();
            let g = self.ref_gain;
            let (l, r) = match (self.listen, switched) {
                (None, _) => (left[i], right[i]),
                (Some(_), false) => (self.ref_l[i] * g, self.ref_r[i] * g),
                (Some(_), true) => (self.next_l[i] * g, self.next_r[i] * g),
            };
            left[i] = l * f;
            right[i] = r * f;
        }
    }

    /// True when mono and dim do nothing (both off and settled).
    pub fn is_neutral(&self) -> bool {
        self.mono.is_settled()
            && self.gain.is_settled()
            && self.mono.value() == 0.0
            && self.gain.value() == 1.0
    }

    /// Mono check and dim, in place.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        if self.is_neutral() {
            return;
        }
        if self.mono.is_settled() && self.gain.is_settled() {
            let (m, g) = (self.mono.value(), self.gain.value());
            if m == 1.0 {
                for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                    let s = (*l + *r) * 0.5 * g;
                    *l = s;
                    *r = s;
                }
            } else {
                for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                    let s = (*l + *r) * 0.5;
                    *l = ((1.0 - m) * *l + m * s) * g;
                    *r = ((1.0 - m) * *r + m * s) * g;
                }
            }
            return;
        }
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let m = self.mono.next_value();
            let g = self.gain.next_value();
            let s = (*l + *r) * 0.5;
            *l = ((1.0 - m) * *l + m * s) * g;
            *r = ((1.0 - m) * *r + m * s) * g;
        }
    }
}
