//! Runs on the audio thread: small numeric helpers (dB conversion, denormal flushing).

/// Converts decibels to a linear amplitude factor: `10^(db/20)`.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    // 10^(db/20) = 2^(db·log2(10)/20); exp2 is several times cheaper than powf.
    (db * 0.166_096_4).exp2() // log2(10)/20 = 0.16609640
}

/// Converts decibels to a linear amplitude factor in f64.
#[inline]
pub fn db_to_gain_f64(db: f64) -> f64 {
    10f64.powf(db * 0.05)
}

/// Converts a linear amplitude to decibels; amplitudes at or below 1e-10 (−200 dB) read −200 dB.
#[inline]
pub fn gain_to_db(gain: f32) -> f32 {
    // 20·log10(g) = (20/log2(10))·log2(g)
    6.020_6 * gain.abs().max(1e-10).log2() // 20/log2(10) = 6.0205999
}

/// `2^x` without a libm call, written lane-wise (no branches, integer exponent arithmetic) so that loops over
/// arrays of it auto-vectorize, with the same result per element as a scalar call. Relative error below 3e-6
/// (0.00003 dB) for x in −126 … 127; x is clamped to that range (NaN gives 2^−126).
#[inline(always)]
pub fn fast_exp2(x: f32) -> f32 {
    // Round to nearest with the 1.5·2^23 trick: the sum's low mantissa bits hold round(x) as an integer.
    const MAGIC: f32 = 12_582_912.0;
    // (not `clamp`, which passes NaN through: NaN becomes −126 here)
    #[allow(clippy::manual_clamp)]
    let x = x.max(-126.0).min(127.0);
    let sum = x + MAGIC;
    let xi = sum - MAGIC;
    let f = x - xi; // f ∈ [−0.5, 0.5]
                    // Taylor series of 2^f = e^(f·ln 2) to degree 6 (remainder < 2e-7 on |f| ≤ 0.5).
    const C: [f32; 7] = [
        1.0,
        std::f32::consts::LN_2,
        0.240_226_5,
        0.055_504_11,
        0.009_618_129,
        0.001_333_355_8,
        0.000_154_035_3,
    ];
    let p = C[0] + f * (C[1] + f * (C[2] + f * (C[3] + f * (C[4] + f * (C[5] + f * C[6])))));
    let e = sum
        .to_bits()
        .wrapping_sub(MAGIC.to_bits())
        .wrapping_add(127);
    p * f32::from_bits(e << 23)
}

/// `log2(x)` without a libm call, lane-wise like [`fast_exp2`]. Error below 1e-6 plus the f32 rounding of the
/// result for normal positive x; inputs below 1e-30 (zero, negatives, NaN) are treated as 1e-30.
///
/// The mantissa m, folded into [√½, √2), goes through a degree-8 polynomial in `u = m − 1` (a weighted
/// least-squares fit of log2(1 + u) with no constant term, so log2(1) = 0 exactly: largest error 1.1e-7 in f32
/// arithmetic). It replaced the series `2·atanh((m − 1)/(m + 1))` and its division: the compressor's
/// vectorized gain-computer pass went from 5.3 % to 4.7 % of a full-strip render's profile.
#[inline(always)]
pub fn fast_log2(x: f32) -> f32 {
    let bits = x.max(1e-30).to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
                                                                // fold m into [√½, √2)
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = (e + big as i32) as f32;
    const C: [f32; 8] = [
        1.442_694_8,
        -0.721_357_17,
        0.480_939_4,
        -0.360_087_54,
        0.286_709_13,
        -0.250_066_85,
        0.236_877_13,
        -0.145_735_1,
    ];
    let u = m - 1.0;
    let p = C[0]
        + u * (C[1] + u * (C[2] + u * (C[3] + u * (C[4] + u * (C[5] + u * (C[6] + u * C[7]))))));
    e + u * p
}

/// Replaces subnormal and tiny (|x| < 1e-30) values with zero, so recursive filter state never goes denormal.
#[inline]
pub fn flush_denormal(x: f64) -> f64 {
    if x.abs() < 1e-30 {
        0.0
    } else {
        x
    }
}

/// Same as [`flush_denormal`] for f32 values (threshold 1e-20).
#[inline]
pub fn flush_denormal_f32(x: f32) -> f32 {
    if x.abs() < 1e-20 {
        0.0
    } else {
        x
    }
}

/// Sets flush-to-zero / denormals-are-zero on the current thread while alive and restores the previous
/// floating-point control state on drop. Create one at the top of the audio callback. No-op on targets other
/// than x86_64 and aarch64.
pub struct DenormalGuard {
    #[allow(dead_code)]
    saved: u64,
}

impl DenormalGuard {
    /// Enables FTZ/DAZ (x86_64 MXCSR bits 15 and 6; aarch64 FPCR bit 24) and remembers the old state.
    #[inline]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let mut csr: u32 = 0;
            // SAFETY: stmxcsr/ldmxcsr only read/write the SSE control register of this thread.
            unsafe {
                core::arch::asm!("stmxcsr [{}]", in(reg) &mut csr as *mut u32, options(nostack));
                let new = csr | 0x8040;
                core::arch::asm!("ldmxcsr [{}]", in(reg) &new as *const u32, options(nostack));
            }
            DenormalGuard { saved: csr as u64 }
        }
        #[cfg(target_arch = "aarch64")]
        {
            let fpcr: u64;
            // SAFETY: reading/writing FPCR only changes this thread's floating-point mode.
            unsafe {
                core::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack));
                core::arch::asm!("msr fpcr, {}", in(reg) fpcr | (1 << 24), options(nomem, nostack));
            }
            DenormalGuard { saved: fpcr }
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            DenormalGuard { saved: 0 }
        }
    }
}

impl Default for DenormalGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DenormalGuard {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        {
            let csr = self.saved as u32;
            // SAFETY: restores the value read in `new`.
            unsafe {
                core::arch::asm!("ldmxcsr [{}]", in(reg) &csr as *const u32, options(nostack));
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            // SAFETY: restores the value read in `new`.
            unsafe {
                core::arch::asm!("msr fpcr, {}", in(reg) self.saved, options(nomem, nostack));
            }
        }
    }
}

/// Milliseconds to a whole number of frames at `sample_rate_hz` (rounded, at least 0).
#[inline]
pub fn ms_to_frames(ms: f32, sample_rate_hz: f32) -> usize {
    (ms.max(0.0) as f64 * sample_rate_hz as f64 / 1000.0).round() as usize
}

/// One-pole coefficient `exp(−1/(τ·fs))` for a time constant τ in milliseconds (0 ms gives 0: instant).
#[inline]
pub fn time_constant_coef(tau_ms: f32, sample_rate_hz: f32) -> f64 {
    let n = tau_ms.max(0.0) as f64 * 1e-3 * sample_rate_hz as f64;
    if n <= 0.0 {
        0.0
    } else {
        (-1.0 / n).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp2_matches_std() {
        let mut worst = 0.0f64;
        let mut x = -126.0f32;
        while x <= 127.0 {
            let want = (x as f64).exp2();
            let got = fast_exp2(x) as f64;
            worst = worst.max((got / want - 1.0).abs());
            x += 0.001_37;
        }
        assert!(worst < 3e-6, "relative error {worst:e}");
        assert_eq!(fast_exp2(0.0), 1.0);
        assert_eq!(fast_exp2(-1000.0), fast_exp2(-126.0));
        assert_eq!(fast_exp2(1000.0), fast_exp2(127.0));
    }

    #[test]
    fn fast_log2_matches_std() {
        let mut worst = 0.0f64;
        let mut x = 1e-30f64;
        while x < 1e30 {
            let want = (x as f32 as f64).log2(); // the f32 input is itself rounded
            let got = fast_log2(x as f32) as f64;
            // 1e-6 plus the f32 rounding of the result
            worst = worst.max((got - want).abs() - 1.2e-7 * want.abs());
            x *= 1.000_73;
        }
        assert!(worst < 1e-6, "absolute error {worst:e}");
        assert_eq!(fast_log2(1.0), 0.0);
        assert_eq!(fast_log2(0.0), fast_log2(1e-30));
        assert_eq!(fast_log2(-5.0), fast_log2(1e-30));
    }

    #[test]
    fn db_round_trip() {
        for db in [-60.0f32, -6.0, 0.0, 3.0, 12.0] {
            assert!((gain_to_db(db_to_gain(db)) - db).abs() < 1e-4);
        }
        assert!((db_to_gain(-6.020_6) - 0.5).abs() < 1e-5);
        assert_eq!(gain_to_db(0.0), -200.0);
    }

    #[test]
    fn flushes_tiny_values() {
        assert_eq!(flush_denormal(1e-310), 0.0);
        assert_eq!(flush_denormal(1e-3), 1e-3);
        assert_eq!(flush_denormal_f32(1e-39), 0.0);
    }

    #[test]
    fn guard_flushes_subnormal_arithmetic() {
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        {
            let _g = DenormalGuard::new();
            let r = std::hint::black_box(tiny) * std::hint::black_box(0.25f32);
            if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
                assert_eq!(r, 0.0);
            }
        }
        let r = std::hint::black_box(tiny) * std::hint::black_box(0.25f32);
        assert!(r > 0.0, "state restored after drop");
    }

    #[test]
    fn coef_step_reaches_one_minus_inv_e_in_tau() {
        let a = time_constant_coef(10.0, 48_000.0);
        let mut y = 0.0f64;
        for _ in 0..480 {
            y = a * y + (1.0 - a);
        }
        assert!((y - (1.0 - (-1.0f64).exp())).abs() < 1e-3);
    }
}
