//! Channel roles and the multichannel-to-stereo fold (ITU-R BS.775).
//!
//! Roles are assigned from the container's channel layout:
//!
//! | layout position (WAVE mask names)      | role            |
//! |----------------------------------------|-----------------|
//! | the only channel of a 1-channel file   | `Mono`          |
//! | front left / front right               | `Left` / `Right`|
//! | front centre                           | `Center`        |
//! | LFE 1, LFE 2                           | `Lfe`           |
//! | back left, side left                   | `LeftSurround`  |
//! | back right, side right                 | `RightSurround` |
//! | anything else (front left/right of centre, back centre, top/height, wide, bottom, discrete or ambisonic channels) | `Other` |
//!
//! A file without a layout (discrete channels) gets the default WAVE order for its count
//! (L, R, C, LFE, Ls, Rs, ...); two unlabelled channels are `Left`, `Right`.
//!
//! The fold ([`fold_to_stereo`]) uses these gains, `g = 1/sqrt(2) = 0.70710677`:
//!
//! | role            | to Lo | to Ro |
//! |-----------------|-------|-------|
//! | `Left`          | 1     | 0     |
//! | `Right`         | 0     | 1     |
//! | `Center`, `Mono`| g     | g     |
//! | `LeftSurround`  | g     | 0     |
//! | `RightSurround` | 0     | g     |
//! | `Lfe`           | 0     | 0     |
//! | `Other`         | 0.5   | 0.5   |
//!
//! For 5.1 this is exactly BS.775: `Lo = L + g·C + g·Ls`, `Ro = R + g·C + g·Rs`, LFE dropped.
//! In 7.1 both the side and the back pair are surrounds, so each adds `g` to its side. The sum is
//! not normalised or clipped (f32 keeps the headroom).

use super::DecodedAudio;
use symphonia::core::audio::{ChannelLabel, Channels, Position};

/// The role of one channel of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelRole {
    /// Front left.
    Left,
    /// Front right.
    Right,
    /// Front centre.
    Center,
    /// Low-frequency effects.
    Lfe,
    /// Left surround (side or back left).
    LeftSurround,
    /// Right surround (side or back right).
    RightSurround,
    /// The single channel of a mono file.
    Mono,
    /// Any other channel.
    Other,
}

/// Gain of a centre or surround channel in the BS.775 fold: 1/sqrt(2).
pub const FOLD_GAIN_SIDE: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// Gain of an `Other` channel into each of Lo and Ro.
pub const FOLD_GAIN_OTHER: f32 = 0.5;

impl ChannelRole {
    /// BS.1770 channel weight for loudness measurement; `None` means the channel is excluded (LFE).
    ///
    /// L, R, C, mono and other channels weigh 1.0, left/right surround 1.41. In 7.1 files the
    /// back pair is also `LeftSurround`/`RightSurround` and so weighs 1.41, where BS.1770-4's
    /// position table would give 1.0 to channels beyond ±120°.
    pub fn bs1770_weight(self) -> Option<f64> {
        match self {
            ChannelRole::Lfe => None,
            ChannelRole::LeftSurround | ChannelRole::RightSurround => Some(1.41),
            ChannelRole::Left
            | ChannelRole::Right
            | ChannelRole::Center
            | ChannelRole::Mono
            | ChannelRole::Other => Some(1.0),
        }
    }

    /// Gains `(to_lo, to_ro)` of this channel in [`fold_to_stereo`].
    pub fn fold_gains(self) -> (f32, f32) {
        match self {
            ChannelRole::Left => (1.0, 0.0),
            ChannelRole::Right => (0.0, 1.0),
            ChannelRole::Center | ChannelRole::Mono => (FOLD_GAIN_SIDE, FOLD_GAIN_SIDE),
            ChannelRole::LeftSurround => (FOLD_GAIN_SIDE, 0.0),
            ChannelRole::RightSurround => (0.0, FOLD_GAIN_SIDE),
            ChannelRole::Lfe => (0.0, 0.0),
            ChannelRole::Other => (FOLD_GAIN_OTHER, FOLD_GAIN_OTHER),
        }
    }
}

fn role_of_position(pos: Position) -> ChannelRole {
    if pos == Position::FRONT_LEFT {
        ChannelRole::Left
    } else if pos == Position::FRONT_RIGHT {
        ChannelRole::Right
    } else if pos == Position::FRONT_CENTER {
        ChannelRole::Center
    } else if pos == Position::LFE1 || pos == Position::LFE2 {
        ChannelRole::Lfe
    } else if pos == Position::REAR_LEFT || pos == Position::SIDE_LEFT {
        ChannelRole::LeftSurround
    } else if pos == Position::REAR_RIGHT || pos == Position::SIDE_RIGHT {
        ChannelRole::RightSurround
    } else {
        ChannelRole::Other
    }
}

fn roles_of_mask(mask: Position) -> Vec<ChannelRole> {
    // Planes are in canonical order: ascending bit position.
    mask.iter().map(role_of_position).collect()
}

/// Roles of `count` decoded planes laid out as `channels` describes.
///
/// Always returns exactly `count` roles; planes the layout does not describe are `Other`.
pub(crate) fn roles_for(channels: Option<&Channels>, count: usize) -> Vec<ChannelRole> {
    if count == 1 {
        return vec![ChannelRole::Mono];
    }
    let mut roles = match channels {
        Some(Channels::Positioned(mask)) => roles_of_mask(*mask),
        Some(Channels::Custom(labels)) => labels
            .iter()
            .map(|label| match label {
                ChannelLabel::Positioned(pos) => role_of_position(*pos),
                _ => ChannelRole::Other,
            })
            .collect(),
        Some(Channels::Ambisonic(_)) => vec![ChannelRole::Other; count],
        _ => default_roles(count),
    };
    roles.resize(count, ChannelRole::Other);
    roles
}

/// Roles for `count` unlabelled channels: the default WAVE order.
pub(crate) fn default_roles(count: usize) -> Vec<ChannelRole> {
    match count {
        1 => vec![ChannelRole::Mono],
        2 => vec![ChannelRole::Left, ChannelRole::Right],
        _ => u32::try_from(count)
            .ok()
            .and_then(Position::from_wave_channel_count)
            .map(roles_of_mask)
            .unwrap_or_else(|| vec![ChannelRole::Other; count]),
    }
}

/// Folds 3 or more channels to stereo with the matrix in the module docs; 1 or 2 channels are
/// returned unchanged. The result's roles are `[Left, Right]`.
///
/// Channels of unequal length are padded with silence to the longest; a missing role counts as
/// `Other`.
pub fn fold_to_stereo(a: DecodedAudio) -> DecodedAudio {
    if a.channels.len() <= 2 {
        return a;
    }
    let len = a.channels.iter().map(Vec::len).max().unwrap_or(0);
    let mut lo = vec![0.0f32; len];
    let mut ro = vec![0.0f32; len];
    for (i, ch) in a.channels.iter().enumerate() {
        let role = a.roles.get(i).copied().unwrap_or(ChannelRole::Other);
        let (gl, gr) = role.fold_gains();
        if gl != 0.0 {
            for (o, &x) in lo.iter_mut().zip(ch) {
                *o += gl * x;
            }
        }
        if gr != 0.0 {
            for (o, &x) in ro.iter_mut().zip(ch) {
                *o += gr * x;
            }
        }
    }
    DecodedAudio {
        path: a.path,
        sample_rate: a.sample_rate,
        channels: vec![lo, ro],
        roles: vec![ChannelRole::Left, ChannelRole::Right],
        warnings: a.warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use ChannelRole::*;

    #[test]
    fn five_one_masks_get_bs775_roles() {
        // WAVE 5.1 "back" (0x3F) and 5.1 "side" (0x60F) layouts.
        let back = Position::from_wave_channel_mask(0x3F).unwrap();
        assert_eq!(
            roles_for(Some(&Channels::Positioned(back)), 6),
            vec![Left, Right, Center, Lfe, LeftSurround, RightSurround]
        );
        let side = Position::from_wave_channel_mask(0x60F).unwrap();
        assert_eq!(
            roles_for(Some(&Channels::Positioned(side)), 6),
            vec![Left, Right, Center, Lfe, LeftSurround, RightSurround]
        );
    }

    #[test]
    fn unlabelled_and_odd_layouts() {
        assert_eq!(roles_for(None, 1), vec![Mono]);
        assert_eq!(
            roles_for(Some(&Channels::Discrete(2)), 2),
            vec![Left, Right]
        );
        assert_eq!(
            roles_for(Some(&Channels::Discrete(3)), 3),
            vec![Left, Right, Center]
        );
        assert_eq!(
            roles_for(Some(&Channels::Discrete(40)), 40),
            vec![Other; 40]
        );
        // Front-left-of-centre is not one of the BS.775 roles.
        let m = Position::FRONT_LEFT | Position::FRONT_RIGHT | Position::FRONT_LEFT_CENTER;
        assert_eq!(
            roles_for(Some(&Channels::Positioned(m)), 3),
            vec![Left, Right, Other]
        );
        // A layout describing fewer planes than decoded: the rest are Other.
        let lr = Position::FRONT_LEFT | Position::FRONT_RIGHT;
        assert_eq!(
            roles_for(Some(&Channels::Positioned(lr)), 3),
            vec![Left, Right, Other]
        );
    }

    #[test]
    fn bs1770_weights() {
        assert_eq!(Left.bs1770_weight(), Some(1.0));
        assert_eq!(Center.bs1770_weight(), Some(1.0));
        assert_eq!(LeftSurround.bs1770_weight(), Some(1.41));
        assert_eq!(RightSurround.bs1770_weight(), Some(1.41));
        assert_eq!(Lfe.bs1770_weight(), None);
    }

    fn audio(channels: Vec<Vec<f32>>, roles: Vec<ChannelRole>) -> DecodedAudio {
        DecodedAudio {
            path: PathBuf::from("t.wav"),
            sample_rate: 48_000,
            channels,
            roles,
            warnings: vec![],
        }
    }

    #[test]
    fn fold_handles_other_and_ragged_input() {
        let a = audio(
            vec![vec![1.0, 1.0], vec![0.0], vec![2.0, 4.0]],
            vec![Left, Right, Other],
        );
        let f = fold_to_stereo(a);
        assert_eq!(f.channels, vec![vec![2.0, 3.0], vec![1.0, 2.0]]);
        assert_eq!(f.roles, vec![Left, Right]);
        // Missing roles count as Other.
        let f = fold_to_stereo(audio(vec![vec![2.0]; 3], vec![]));
        assert_eq!(f.channels, vec![vec![3.0], vec![3.0]]);
    }

    #[test]
    fn fold_is_a_no_op_for_stereo_and_mono() {
        let a = audio(vec![vec![0.25, 0.5], vec![-1.0, 1.0]], vec![Left, Right]);
        let f = fold_to_stereo(a);
        assert_eq!(f.channels, vec![vec![0.25, 0.5], vec![-1.0, 1.0]]);
        let f = fold_to_stereo(audio(vec![vec![0.5]], vec![Mono]));
        assert_eq!(f.channels, vec![vec![0.5]]);
        assert_eq!(f.roles, vec![Mono]);
    }
}
