//! Runs on the audio thread: flush denormals to zero for the calling thread.
//!
//! x86_64: sets FTZ (bit 15) and DAZ (bit 6) in MXCSR with `stmxcsr`/`ldmxcsr`.
//! aarch64: sets FPCR.FZ (bit 24). Other targets: no-op.

/// Set flush-to-zero (and denormals-are-zero where the CPU has it) on the calling thread.
/// Cheap enough to call at the start of every callback. Returns whether the mode is now active.
#[inline]
pub fn flush_denormals() -> bool {
    imp::flush_denormals()
}

/// Whether flush-to-zero is active on the calling thread.
#[inline]
pub fn denormals_flushed() -> bool {
    imp::denormals_flushed()
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::arch::asm;

    const FTZ: u32 = 1 << 15;
    const DAZ: u32 = 1 << 6;

    #[inline]
    fn read_mxcsr() -> u32 {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr stores the 32-bit MXCSR register to the given address, which points to
        // a live, aligned u32 on our stack. SSE is part of the x86_64 baseline.
        unsafe {
            asm!("stmxcsr [{}]", in(reg) &mut csr as *mut u32, options(nostack, preserves_flags));
        }
        csr
    }

    #[inline]
    pub fn denormals_flushed() -> bool {
        read_mxcsr() & (FTZ | DAZ) == (FTZ | DAZ)
    }

    #[inline]
    pub fn flush_denormals() -> bool {
        let csr = read_mxcsr();
        if csr & (FTZ | DAZ) != (FTZ | DAZ) {
            let new = csr | FTZ | DAZ;
            // SAFETY: ldmxcsr loads MXCSR from a live, aligned u32. Only the FTZ and DAZ mode
            // bits change; both are valid on every x86_64 CPU with SSE2 (DAZ needs SSE2 on
            // 64-bit parts, which is the baseline).
            unsafe {
                asm!("ldmxcsr [{}]", in(reg) &new as *const u32, options(nostack, preserves_flags, readonly));
            }
        }
        denormals_flushed()
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    use core::arch::asm;

    const FZ: u64 = 1 << 24;

    #[inline]
    fn read_fpcr() -> u64 {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe {
            asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
        fpcr
    }

    #[inline]
    pub fn denormals_flushed() -> bool {
        read_fpcr() & FZ != 0
    }

    #[inline]
    pub fn flush_denormals() -> bool {
        let fpcr = read_fpcr();
        if fpcr & FZ == 0 {
            // SAFETY: setting FPCR.FZ only changes how denormal results are produced.
            unsafe {
                asm!("msr fpcr, {}", in(reg) fpcr | FZ, options(nomem, nostack, preserves_flags));
            }
        }
        denormals_flushed()
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod imp {
    #[inline]
    pub fn denormals_flushed() -> bool {
        false
    }

    #[inline]
    pub fn flush_denormals() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// On a fresh thread, a product that lands in the denormal range is non-zero; after
    /// flush_denormals it is exactly zero, and a denormal input reads as zero (DAZ).
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn denormal_results_flush_to_zero() {
        std::thread::spawn(|| {
            let tiny = black_box(1.0e-30_f32);
            let product = black_box(tiny) * black_box(1.0e-10_f32);
            assert!(
                product != 0.0 && product.is_subnormal(),
                "default mode keeps denormals"
            );
            assert!(!denormals_flushed());

            assert!(flush_denormals());
            assert!(denormals_flushed());
            let product = black_box(tiny) * black_box(1.0e-10_f32);
            assert_eq!(product, 0.0, "FTZ: denormal result flushed");
            #[cfg(target_arch = "x86_64")]
            {
                let denormal = black_box(f32::from_bits(1)); // smallest positive subnormal
                                                             // without DAZ this is about 1.4e-36, a normal number
                let scaled = black_box(denormal) * black_box(1.0e9_f32);
                assert_eq!(scaled, 0.0, "DAZ: denormal input read as 0");
            }
        })
        .join()
        .unwrap();
    }
}
