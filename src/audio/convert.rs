//! Runs on the audio thread: converts the engine's interleaved stereo f32 into the device's
//! sample format and channel layout, rendering in chunks of at most `max_block_frames` through
//! a scratch buffer allocated once up front.
//!
//! Mapping: mono devices get (L+R)/2; devices with more than two channels get L and R on the
//! first two channels and silence on the rest. Conversion clips to [-1, 1]: integers scale by
//! 2^(bits-1), round half away from zero and saturate (+1.0 gives the largest code, -1.0 the
//! smallest); unsigned formats are the signed value offset by 2^(bits-1); floats are clamped to
//! [-1, 1]. NaN becomes silence.

use cpal::{Data, SampleFormat, I24, U24};

use super::RenderCallback;

/// A device sample type the output can write.
pub trait DeviceSample: Copy + Send + 'static {
    /// The cpal format of this type.
    const FORMAT: SampleFormat;
    /// The value that means silence (the midpoint for unsigned formats).
    const SILENCE: Self;
    /// Convert one f32 sample (nominal range [-1, 1]) with clipping.
    fn from_f32(x: f32) -> Self;
}

/// Signed integer code for `x` at `bits` bits: round(x * 2^(bits-1)) saturated to the range.
#[inline]
fn signed_code(x: f32, bits: u32) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let full = (1u64 << (bits - 1)) as f64;
    let v = x as f64 * full;
    // round half away from zero; `as` truncates toward zero
    let v = if v >= 0.0 { v + 0.5 } else { v - 0.5 };
    // for 64 bits `full - 1.0` rounds to 2^63; the saturating cast then gives i64::MAX
    v.clamp(-full, full - 1.0) as i64
}

macro_rules! signed_sample {
    ($t:ty, $fmt:ident, $bits:expr) => {
        impl DeviceSample for $t {
            const FORMAT: SampleFormat = SampleFormat::$fmt;
            const SILENCE: Self = 0;
            #[inline]
            fn from_f32(x: f32) -> Self {
                signed_code(x, $bits) as $t
            }
        }
    };
}

macro_rules! unsigned_sample {
    ($t:ty, $fmt:ident, $bits:expr) => {
        impl DeviceSample for $t {
            const FORMAT: SampleFormat = SampleFormat::$fmt;
            const SILENCE: Self = 1 << ($bits - 1);
            #[inline]
            fn from_f32(x: f32) -> Self {
                // offset binary: flip the sign bit of the two's complement code
                (signed_code(x, $bits) as $t) ^ (1 << ($bits - 1))
            }
        }
    };
}

signed_sample!(i8, I8, 8);
signed_sample!(i16, I16, 16);
signed_sample!(i32, I32, 32);
signed_sample!(i64, I64, 64);
unsigned_sample!(u8, U8, 8);
unsigned_sample!(u16, U16, 16);
unsigned_sample!(u32, U32, 32);
unsigned_sample!(u64, U64, 64);

impl DeviceSample for I24 {
    const FORMAT: SampleFormat = SampleFormat::I24;
    const SILENCE: Self = <I24 as cpal::Sample>::EQUILIBRIUM;
    #[inline]
    fn from_f32(x: f32) -> Self {
        I24::new_unchecked(signed_code(x, 24) as i32)
    }
}

impl DeviceSample for U24 {
    const FORMAT: SampleFormat = SampleFormat::U24;
    const SILENCE: Self = <U24 as cpal::Sample>::EQUILIBRIUM;
    #[inline]
    fn from_f32(x: f32) -> Self {
        U24::new_unchecked(signed_code(x, 24) as i32 + (1 << 23))
    }
}

impl DeviceSample for f32 {
    const FORMAT: SampleFormat = SampleFormat::F32;
    const SILENCE: Self = 0.0;
    #[inline]
    fn from_f32(x: f32) -> Self {
        if x.is_nan() {
            0.0
        } else {
            x.clamp(-1.0, 1.0)
        }
    }
}

impl DeviceSample for f64 {
    const FORMAT: SampleFormat = SampleFormat::F64;
    const SILENCE: Self = 0.0;
    #[inline]
    fn from_f32(x: f32) -> Self {
        if x.is_nan() {
            0.0
        } else {
            (x as f64).clamp(-1.0, 1.0)
        }
    }
}

/// Whether the output can write this sample format (every PCM format cpal has; not DSD).
pub fn is_supported_format(format: SampleFormat) -> bool {
    matches!(
        format,
        SampleFormat::I8
            | SampleFormat::I16
            | SampleFormat::I24
            | SampleFormat::I32
            | SampleFormat::I64
            | SampleFormat::U8
            | SampleFormat::U16
            | SampleFormat::U24
            | SampleFormat::U32
            | SampleFormat::U64
            | SampleFormat::F32
            | SampleFormat::F64
    )
}

/// Write interleaved stereo `stereo` into `out` laid out as `channels` channels. Writes
/// min(stereo frames, out frames) frames and leaves the rest of `out` untouched. RT-safe.
#[inline]
pub fn write_frames<T: DeviceSample>(stereo: &[f32], out: &mut [T], channels: usize) {
    match channels {
        0 => {}
        1 => {
            for (o, lr) in out.iter_mut().zip(stereo.chunks_exact(2)) {
                *o = T::from_f32((lr[0] + lr[1]) * 0.5);
            }
        }
        2 => {
            for (o, s) in out.iter_mut().zip(stereo.iter()) {
                *o = T::from_f32(*s);
            }
        }
        n => {
            for (frame, lr) in out.chunks_exact_mut(n).zip(stereo.chunks_exact(2)) {
                frame[0] = T::from_f32(lr[0]);
                frame[1] = T::from_f32(lr[1]);
                for o in &mut frame[2..] {
                    *o = T::SILENCE;
                }
            }
        }
    }
}

/// Owns the engine's [`RenderCallback`] and the scratch buffer between it and the device.
pub struct Renderer {
    callback: Box<dyn RenderCallback>,
    scratch: Box<[f32]>,
    max_block_frames: usize,
}

impl Renderer {
    /// Wrap `callback`; it will be asked for at most `max_block_frames` frames per call
    /// (at least 1). Allocates the scratch buffer here, never later.
    pub fn new(callback: Box<dyn RenderCallback>, max_block_frames: usize) -> Self {
        let max_block_frames = max_block_frames.max(1);
        Self {
            callback,
            scratch: vec![0.0; 2 * max_block_frames].into_boxed_slice(),
            max_block_frames,
        }
    }

    /// Largest number of frames one `RenderCallback::render` call is asked for.
    pub fn max_block_frames(&self) -> usize {
        self.max_block_frames
    }

    /// Give the callback back.
    pub fn into_callback(self) -> Box<dyn RenderCallback> {
        self.callback
    }

    /// Fill a device buffer of `channels` interleaved channels: render the engine in chunks of
    /// at most `max_block_frames` and convert. A trailing partial frame (never seen in
    /// practice) is set to silence. RT-safe: no allocation.
    pub fn render<T: DeviceSample>(&mut self, out: &mut [T], channels: usize) {
        if channels == 0 {
            return;
        }
        let whole = out.len() - out.len() % channels;
        let (frames_part, tail) = out.split_at_mut(whole);
        for o in tail {
            *o = T::SILENCE;
        }
        for chunk in frames_part.chunks_mut(self.max_block_frames * channels) {
            let frames = chunk.len() / channels;
            let stereo = &mut self.scratch[..2 * frames];
            stereo.fill(0.0);
            self.callback.render(stereo);
            write_frames(stereo, chunk, channels);
        }
    }

    /// Fill a cpal buffer of any supported format. Unsupported formats (DSD) get zero bytes and
    /// `false`. RT-safe.
    pub fn render_data(&mut self, data: &mut Data, channels: usize) -> bool {
        macro_rules! go {
            ($t:ty) => {
                match data.as_slice_mut::<$t>() {
                    Some(s) => {
                        self.render(s, channels);
                        true
                    }
                    None => false,
                }
            };
        }
        let done = match data.sample_format() {
            SampleFormat::I8 => go!(i8),
            SampleFormat::I16 => go!(i16),
            SampleFormat::I24 => go!(I24),
            SampleFormat::I32 => go!(i32),
            SampleFormat::I64 => go!(i64),
            SampleFormat::U8 => go!(u8),
            SampleFormat::U16 => go!(u16),
            SampleFormat::U24 => go!(U24),
            SampleFormat::U32 => go!(u32),
            SampleFormat::U64 => go!(u64),
            SampleFormat::F32 => go!(f32),
            SampleFormat::F64 => go!(f64),
            _ => false,
        };
        if !done {
            data.bytes_mut().fill(0);
        }
        done
    }
}

/// Fill a cpal buffer with silence in its own format. RT-safe.
pub fn fill_silence(data: &mut Data) {
    macro_rules! go {
        ($t:ty) => {
            if let Some(s) = data.as_slice_mut::<$t>() {
                s.fill(<$t as DeviceSample>::SILENCE);
                return;
            }
        };
    }
    match data.sample_format() {
        SampleFormat::U8 => go!(u8),
        SampleFormat::U16 => go!(u16),
        SampleFormat::U24 => go!(U24),
        SampleFormat::U32 => go!(u32),
        SampleFormat::U64 => go!(u64),
        _ => {}
    }
    data.bytes_mut().fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent reference: exact rational arithmetic in i128 for the integer formats.
    /// code = clamp(round_half_away(x * 2^(bits-1)), -2^(bits-1), 2^(bits-1) - 1)
    fn reference_signed(x: f32, bits: u32) -> i128 {
        let full: i128 = 1 << (bits - 1);
        if x.abs() >= 2.0 {
            // clips in every format (also the infinities)
            return if x > 0.0 { full - 1 } else { -full };
        }
        // x is a dyadic rational: x = m * 2^e exactly
        let (m, e) = decompose(x);
        // x * full * 2 (to resolve .5) as a rational with denominator 2^-e
        let scaled_num = m * full; // times 2^e
        let value = if e >= 0 {
            scaled_num << e
        } else {
            let den: i128 = 1 << (-e);
            let q = scaled_num / den;
            let r = scaled_num % den;
            if 2 * r.abs() >= den {
                q + scaled_num.signum()
            } else {
                q
            }
        };
        value.clamp(-full, full - 1)
    }

    fn decompose(x: f32) -> (i128, i32) {
        if x == 0.0 {
            return (0, 0);
        }
        let bits = x.to_bits();
        let sign = if bits >> 31 == 1 { -1 } else { 1 };
        let exp = ((bits >> 23) & 0xff) as i32;
        let frac = (bits & 0x7f_ffff) as i128;
        let (m, e) = if exp == 0 {
            (frac, -149)
        } else {
            (frac | 0x80_0000, exp - 150)
        };
        (sign * m, e)
    }

    const PROBES: &[f32] = &[
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        0.25,
        1.5,
        -1.5,
        100.0,
        -100.0,
        1.0e-9,
        -1.0e-9,
        0.999_999_9,
        -0.999_999_9,
        0.123_456_79,
        -0.876_543_2,
        0.000_030_517_578, // 2^-15
        0.000_015_258_789, // 2^-16: exactly half an i16 step
        -0.000_015_258_789,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
    ];

    fn check_signed<T: DeviceSample + Into<i128>>(bits: u32) {
        for &x in PROBES {
            let got: i128 = T::from_f32(x).into();
            assert_eq!(got, reference_signed(x, bits), "{:?} x={x}", T::FORMAT);
        }
        let nan: i128 = T::from_f32(f32::NAN).into();
        assert_eq!(nan, 0);
        let silence: i128 = T::SILENCE.into();
        assert_eq!(silence, 0);
    }

    fn check_unsigned<T: DeviceSample + Into<i128>>(bits: u32) {
        let offset: i128 = 1 << (bits - 1);
        for &x in PROBES {
            let got: i128 = T::from_f32(x).into();
            assert_eq!(
                got,
                reference_signed(x, bits) + offset,
                "{:?} x={x}",
                T::FORMAT
            );
        }
        let nan: i128 = T::from_f32(f32::NAN).into();
        assert_eq!(nan, offset);
        let silence: i128 = T::SILENCE.into();
        assert_eq!(silence, offset);
    }

    #[test]
    fn integer_formats_scale_round_and_clip() {
        check_signed::<i8>(8);
        check_signed::<i16>(16);
        check_signed::<i32>(32);
        check_signed::<i64>(64);
        check_unsigned::<u8>(8);
        check_unsigned::<u16>(16);
        check_unsigned::<u32>(32);
        check_unsigned::<u64>(64);
        for &x in PROBES {
            assert_eq!(
                I24::from_f32(x).inner() as i128,
                reference_signed(x, 24),
                "i24 {x}"
            );
            assert_eq!(
                U24::from_f32(x).inner() as i128,
                reference_signed(x, 24) + (1 << 23),
                "u24 {x}"
            );
        }
        assert_eq!(I24::from_f32(f32::NAN).inner(), 0);
        assert_eq!(U24::from_f32(f32::NAN).inner(), 1 << 23);
        assert_eq!(U24::SILENCE.inner(), 1 << 23);
    }

    #[test]
    fn known_codes_at_full_scale() {
        // written out by hand, independent of the reference
        assert_eq!(i16::from_f32(1.0), 32767);
        assert_eq!(i16::from_f32(-1.0), -32768);
        assert_eq!(i16::from_f32(0.5), 16384);
        assert_eq!(i16::from_f32(2.0), 32767);
        assert_eq!(i16::from_f32(-2.0), -32768);
        assert_eq!(i8::from_f32(1.0), 127);
        assert_eq!(u8::from_f32(-1.0), 0);
        assert_eq!(u8::from_f32(0.0), 128);
        assert_eq!(u8::from_f32(1.0), 255);
        assert_eq!(u16::from_f32(0.5), 49152);
        assert_eq!(i32::from_f32(1.0), i32::MAX);
        assert_eq!(i32::from_f32(-1.0), i32::MIN);
        assert_eq!(i32::from_f32(0.5), 1 << 30);
        assert_eq!(u32::from_f32(0.0), 1 << 31);
        assert_eq!(i64::from_f32(1.0), i64::MAX);
        assert_eq!(i64::from_f32(-1.0), i64::MIN);
        assert_eq!(u64::from_f32(1.0), u64::MAX);
        assert_eq!(I24::from_f32(1.0).inner(), (1 << 23) - 1);
        assert_eq!(I24::from_f32(-1.0).inner(), -(1 << 23));
    }

    #[test]
    #[allow(clippy::manual_clamp)] // the reference is written out on purpose
    fn float_formats_clamp_and_pass_through() {
        for &x in PROBES {
            let expect = if x > 1.0 {
                1.0
            } else if x < -1.0 {
                -1.0
            } else {
                x
            };
            assert_eq!(f32::from_f32(x).to_bits(), expect.to_bits(), "f32 {x}");
            assert_eq!(f64::from_f32(x), expect as f64, "f64 {x}");
        }
        assert_eq!(f32::from_f32(f32::NAN), 0.0);
        assert_eq!(f64::from_f32(f32::NAN), 0.0);
    }

    #[test]
    fn channel_mapping_mono_stereo_and_wide() {
        let stereo = [0.5f32, 0.25, -1.0, 0.5, 2.0, 2.0];
        let mut mono = [0i16; 3];
        write_frames(&stereo, &mut mono, 1);
        // (L+R)/2: 0.375, -0.25, 2.0 -> clipped
        assert_eq!(mono, [12288, -8192, 32767]);

        let mut two = [0.0f32; 6];
        write_frames(&stereo, &mut two, 2);
        assert_eq!(two, [0.5, 0.25, -1.0, 0.5, 1.0, 1.0]);

        let mut six = [7u8; 18];
        write_frames(&stereo, &mut six, 6);
        let f = |x: f32| u8::from_f32(x);
        assert_eq!(
            six,
            [
                f(0.5),
                f(0.25),
                128,
                128,
                128,
                128,
                f(-1.0),
                f(0.5),
                128,
                128,
                128,
                128,
                255,
                255,
                128,
                128,
                128,
                128,
            ]
        );

        let mut three = [9i32; 6];
        write_frames(&stereo[..4], &mut three, 3);
        assert_eq!(three, [1 << 30, 1 << 29, 0, i32::MIN, 1 << 30, 0]);
    }

    /// Emits a counter ramp and records the size of every render call.
    struct Counter {
        next: u32,
        calls: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    }

    impl RenderCallback for Counter {
        fn render(&mut self, out: &mut [f32]) {
            self.calls.lock().unwrap().push(out.len() / 2);
            for frame in out.chunks_exact_mut(2) {
                frame[0] = self.next as f32 / 65536.0;
                frame[1] = -(self.next as f32) / 65536.0;
                self.next += 1;
            }
        }
    }

    #[test]
    fn device_buffer_larger_than_the_block_is_rendered_in_chunks() {
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut r = Renderer::new(
            Box::new(Counter {
                next: 0,
                calls: calls.clone(),
            }),
            64,
        );
        // 3 channels, 150 frames: chunks of 64, 64, 22
        let mut out = vec![1.0f32; 150 * 3];
        r.render(&mut out, 3);
        for i in 0..150 {
            assert_eq!(out[3 * i], i as f32 / 65536.0, "frame {i} L");
            assert_eq!(out[3 * i + 1], -(i as f32) / 65536.0, "frame {i} R");
            assert_eq!(out[3 * i + 2], 0.0, "frame {i} third channel");
        }
        // a second buffer continues the ramp
        let mut out2 = vec![0.0f32; 10 * 2];
        r.render(&mut out2, 2);
        assert_eq!(out2[0], 150.0 / 65536.0);
        assert_eq!(out2[18], 159.0 / 65536.0);

        // the callback never saw more than 64 frames
        assert_eq!(*calls.lock().unwrap(), vec![64, 64, 22, 10]);
    }

    #[test]
    fn render_data_dispatches_every_format() {
        fn run<T: DeviceSample + PartialEq + std::fmt::Debug>() {
            let mut r = Renderer::new(
                Box::new(Counter {
                    next: 1000,
                    calls: Default::default(),
                }),
                16,
            );
            let mut buf = vec![T::SILENCE; 40 * 2];
            let mut data =
                unsafe { Data::from_parts(buf.as_mut_ptr() as *mut (), buf.len(), T::FORMAT) };
            assert!(r.render_data(&mut data, 2));
            for i in 0..40 {
                let v = (1000 + i) as f32 / 65536.0;
                assert_eq!(buf[2 * i], T::from_f32(v));
                assert_eq!(buf[2 * i + 1], T::from_f32(-v));
            }
        }
        run::<i8>();
        run::<i16>();
        run::<I24>();
        run::<i32>();
        run::<i64>();
        run::<u8>();
        run::<u16>();
        run::<U24>();
        run::<u32>();
        run::<u64>();
        run::<f32>();
        run::<f64>();
    }

    #[test]
    fn silence_fill_uses_the_midpoint_for_unsigned() {
        let mut buf = vec![0u16; 8];
        let mut data =
            unsafe { Data::from_parts(buf.as_mut_ptr() as *mut (), buf.len(), SampleFormat::U16) };
        fill_silence(&mut data);
        assert_eq!(buf, vec![32768u16; 8]);
        let mut buf = vec![5i32; 8];
        let mut data =
            unsafe { Data::from_parts(buf.as_mut_ptr() as *mut (), buf.len(), SampleFormat::I32) };
        fill_silence(&mut data);
        assert_eq!(buf, vec![0i32; 8]);
    }
}
