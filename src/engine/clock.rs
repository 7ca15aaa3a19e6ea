//! The dispatch loop's wait for an action's intended time.
//!
//! tokio's timer works in whole milliseconds: a sleep ends at the first millisecond tick after
//! its deadline, and its park rounds up again, which adds up to about two milliseconds of
//! generator lateness to an action (p99 1.3-1.7 ms at 5,000 and 10,000 actions/s on this
//! project's machine). On Linux every wait is a timerfd instead, armed to the nanosecond and
//! read through the runtime's own event loop: the worker that waits is woken by the kernel's
//! high-resolution timer, with no thread of our own and no spinning.
//!
//! Each wake costs CPU, and a wake per action costs the most: at 5,000 actions/s on one core of
//! this project's (virtual) machine, a timerfd per action cost 1.2-1.8x the CPU per action (twice
//! through reqwest; a wake for the send and another for its answer, where a shared wake finds the
//! earlier answers already in). So the wait has a *resolution* (`--dispatch-resolution`, default
//! 750 µs): an action that is that far away or further is waited for to its microsecond, and a
//! nearer one is sent at the next multiple of the resolution from the run's t=0, together with the
//! other actions due by then. Wakes are thus at most about two per resolution, whatever the rate,
//! and lateness stays under the resolution plus the machine's own delay. Measured at 5,000 and
//! 10,000 status/s (`scripts/bench-dispatch.sh`, docs/performance.md): 750 µs gives lateness p99
//! 0.77-0.78 ms against tokio's 1.3-1.7; `0s` times every action alone (p99 0.05-0.08 ms) at
//! 1.2-1.8x the CPU per action. Elsewhere than Linux, or when a timerfd cannot be had, every wait
//! is tokio's.

use std::time::{Duration, Instant};

/// Waits until an instant, as precisely as the platform allows.
pub(super) struct Clock {
    #[cfg(target_os = "linux")]
    timer: Option<linux::TimerFd>,
    /// The run's t=0, from which the grid of wakes is counted.
    epoch: Instant,
    /// Nearer waits end at the next multiple of this from `epoch` (zero: none do).
    resolution: Duration,
}

impl Clock {
    /// A clock for the calling task's runtime (must be called within one), for a run whose
    /// t=0 is `epoch`, with the given resolution (see above).
    pub(super) fn new(epoch: Instant, resolution: Duration) -> Self {
        Clock {
            #[cfg(target_os = "linux")]
            timer: linux::TimerFd::new().ok(),
            epoch,
            resolution,
        }
    }

    /// Is the wait finer than tokio's millisecond?
    #[cfg(test)]
    pub(super) fn precise(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.timer.is_some();
        #[cfg(not(target_os = "linux"))]
        return false;
    }

    /// Returns at `until` or just after it (never before): to the microsecond when it is the
    /// resolution or more away, else at the next point of the grid (see above).
    pub(super) async fn sleep_until(&self, until: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(t) = &self.timer
            && t.sleep_until(self.wake_at(until, Instant::now()))
                .await
                .is_ok()
        {
            return;
        }
        tokio::time::sleep_until(until.into()).await;
    }

    /// When to wake, at `now`, for an action intended at `until`: `until` itself when it is
    /// the resolution or more away, else the first point of the grid at or after it.
    fn wake_at(&self, until: Instant, now: Instant) -> Instant {
        let wait = until.saturating_duration_since(now);
        if wait.is_zero() || self.resolution.is_zero() || wait >= self.resolution {
            return until;
        }
        let res = self.resolution.as_nanos();
        let since = until.saturating_duration_since(self.epoch).as_nanos();
        let slots = since.div_ceil(res);
        let at = u64::try_from(slots.saturating_mul(res)).unwrap_or(u64::MAX);
        (self.epoch + Duration::from_nanos(at)).max(until)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::time::{
        Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
        timerfd_settime,
    };
    use std::io;
    use std::os::fd::OwnedFd;
    use std::time::Instant;
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// A monotonic timerfd, read through the runtime's reactor.
    pub(super) struct TimerFd {
        fd: AsyncFd<OwnedFd>,
    }

    impl TimerFd {
        pub(super) fn new() -> io::Result<Self> {
            let fd = timerfd_create(
                TimerfdClockId::Monotonic,
                TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
            )?;
            // SAFETY: an `OwnedFd` is a valid, open descriptor whose `as_raw_fd` is always that
            // one; the `AsyncFd` owns it, and nothing here closes or replaces it while it is
            // registered (it is closed when the `AsyncFd` is dropped).
            let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                .map_err(|e| io::Error::other(e.to_string()))?;
            Ok(TimerFd { fd })
        }

        /// Arms the timer for `until` (both on the monotonic clock, which `Instant` reads) and
        /// waits for it. An expiry left from an earlier, abandoned wait is read and ignored:
        /// it returns only once `until` has passed.
        pub(super) async fn sleep_until(&self, until: Instant) -> io::Result<()> {
            let now = Instant::now();
            if until <= now {
                return Ok(());
            }
            let d = until - now;
            let spec = Itimerspec {
                it_interval: Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: Timespec {
                    tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: i64::from(d.subsec_nanos()),
                },
            };
            timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
            loop {
                let mut ready = self.fd.readable().await?;
                let mut expiries = [0u8; 8];
                // A read takes every expiry: the timer is not readable again until it is next
                // armed and expires, so the readiness is cleared without a read that fails.
                match rustix::io::read(self.fd.get_ref(), &mut expiries) {
                    Ok(_) => {
                        ready.clear_ready();
                        if Instant::now() >= until {
                            return Ok(());
                        }
                    }
                    Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_action_wakes_on_the_grid_and_a_far_one_at_its_own_time() {
        let t0 = Instant::now();
        let us = |n: u64| t0 + Duration::from_micros(n);
        let clock = Clock {
            #[cfg(target_os = "linux")]
            timer: None,
            epoch: t0,
            resolution: Duration::from_micros(750),
        };
        // (now, intended, woken): nearer than 750 µs goes to the next multiple of 750 µs.
        for (now, until, want) in [
            (0, 100, 750),
            (0, 749, 750),
            (0, 750, 750),
            (700, 751, 1_500),
            (1_400, 1_500, 1_500),
            (1_000, 1_749, 2_250),
            // 750 µs or more away: its own time, to the microsecond.
            (0, 751, 751),
            (1_000, 5_123, 5_123),
            // Already due: at once.
            (2_000, 1_900, 1_900),
        ] {
            assert_eq!(clock.wake_at(us(until), us(now)), us(want), "{now} {until}");
        }
        let exact = Clock {
            resolution: Duration::ZERO,
            ..clock
        };
        assert_eq!(exact.wake_at(us(123), us(100)), us(123));
    }

    #[tokio::test]
    async fn a_wait_ends_after_its_deadline_and_again_after_an_abandoned_one() {
        let clock = Clock::new(Instant::now(), Duration::from_micros(750));
        #[cfg(target_os = "linux")]
        assert!(clock.precise(), "a timerfd on Linux");
        // An abandoned wait leaves its timer armed: the next wait must not end at its expiry.
        let abandoned = Instant::now() + Duration::from_millis(2);
        let _ = tokio::time::timeout(
            Duration::from_micros(100),
            clock.sleep_until(abandoned + Duration::from_secs(3600)),
        )
        .await;
        let _ =
            tokio::time::timeout(Duration::from_micros(100), clock.sleep_until(abandoned)).await;
        for ms in [3u64, 1, 0] {
            let until = Instant::now() + Duration::from_millis(ms);
            clock.sleep_until(until).await;
            assert!(Instant::now() >= until, "{ms} ms");
        }
        let past = Instant::now()
            .checked_sub(Duration::from_millis(5))
            .unwrap_or_else(Instant::now);
        clock.sleep_until(past).await;
    }
}
