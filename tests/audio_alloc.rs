//! Real-time safety: the exact function every cpal output callback runs
//! ([`DeviceCallback::process`]: denormal flush, renderer slot, chunked rendering, conversion,
//! timing and stats) must not allocate, for every sample format and channel layout, including
//! device buffers larger than the engine block.

use assert_no_alloc::{assert_no_alloc, AllocDisabler};
use ttymix::audio::{Data, DeviceCallback, DeviceSample, RenderCallback, I24, U24};

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

/// A sine-ish test signal with state, like an engine.
struct Signal {
    phase: f32,
}

impl RenderCallback for Signal {
    fn render(&mut self, out: &mut [f32]) {
        for frame in out.chunks_exact_mut(2) {
            self.phase += 0.01;
            if self.phase > 1.0 {
                self.phase -= 2.0;
            }
            frame[0] = self.phase;
            frame[1] = -self.phase * 0.5;
        }
    }
}

const MAX_BLOCK: usize = 256;

fn drive<T: DeviceSample + PartialEq>() {
    for channels in [1usize, 2, 3, 6] {
        // smaller than, equal to and much larger than the engine block
        for frames in [100usize, MAX_BLOCK, 1000] {
            let mut cb = DeviceCallback::standalone(
                Box::new(Signal { phase: 0.0 }),
                MAX_BLOCK,
                channels,
                48_000,
            );
            let mut buf = vec![T::SILENCE; frames * channels];
            let mut data =
                unsafe { Data::from_parts(buf.as_mut_ptr() as *mut (), buf.len(), T::FORMAT) };
            assert_no_alloc(|| {
                for _ in 0..20 {
                    cb.process(&mut data);
                }
            });
            // the callback really ran: counted, and wrote non-silence on channel 0
            assert_eq!(cb.stats().callbacks(), 20, "{:?}", T::FORMAT);
            assert_eq!(cb.stats().frames(), 20 * frames as u64);
            assert!(
                buf.iter().step_by(channels).any(|s| *s != T::SILENCE),
                "{:?} {channels} ch: output is silent",
                T::FORMAT
            );
            if channels > 2 {
                assert!(
                    buf.chunks_exact(channels)
                        .all(|f| f[2..].iter().all(|s| *s == T::SILENCE)),
                    "{:?}: extra channels silent",
                    T::FORMAT
                );
            }
        }
    }
}

#[test]
fn device_callback_never_allocates_for_any_format() {
    drive::<i8>();
    drive::<i16>();
    drive::<I24>();
    drive::<i32>();
    drive::<i64>();
    drive::<u8>();
    drive::<u16>();
    drive::<U24>();
    drive::<u32>();
    drive::<u64>();
    drive::<f32>();
    drive::<f64>();
}
