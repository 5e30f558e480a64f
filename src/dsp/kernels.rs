//! Runs on the audio thread: small block loops (sums, scaled sums, gains), each compiled twice, plain and with
//! AVX2, the build picked at run time. Both builds do the same IEEE operations per element (no fused
//! multiply-adds), so they give the same bits.

/// Defines a kernel `$name` from one body, with its AVX2 build `$avx2` used where the CPU has AVX2.
macro_rules! kernel {
    ($(#[$doc:meta])* $name:ident, $avx2:ident, ($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        #[inline]
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above).
                unsafe { $avx2($($arg),*) };
                return;
            }
            $body
        }

        /// The AVX2 build of the kernel of the same name.
        ///
        /// # Safety
        /// The CPU must support AVX2.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2($($arg: $ty),*) $body
    };
}

kernel!(
    /// `dst += src`, element by element (over the shorter length).
    add,
    add_avx2,
    (dst: &mut [f32], src: &[f32]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d += *s;
        }
    }
);

kernel!(
    /// `dst += src · g`, element by element (over the shorter length).
    add_scaled,
    add_scaled_avx2,
    (dst: &mut [f32], src: &[f32], g: f32) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d += *s * g;
        }
    }
);

kernel!(
    /// `x · g`, in place.
    scale,
    scale_avx2,
    (x: &mut [f32], g: f32) {
        for v in x.iter_mut() {
            *v *= g;
        }
    }
);
