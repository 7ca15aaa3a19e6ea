//! The dispatch loop's wait for an action's intended time, to the microsecond.
//!
//! tokio's timer works in whole milliseconds: a sleep ends at the first millisecond tick after
//! its deadline, which adds up to a millisecond of generator lateness to an action (half a
//! millisecond on average). On Linux a wait of a millisecond or more is a timerfd instead,
//! armed for the deadline and read through the runtime's own event loop: the worker that waits
//! is woken by the kernel's high-resolution timer, with no thread of our own and no spinning.
//!
//! A shorter wait stays on tokio's timer, on purpose. Waking costs the same either way, but a
//! precise wake is one wake per action, where tokio's tick wakes once for all the actions of
//! its millisecond: at 5,000 actions/s on one core of this project's (virtual) machine a
//! timerfd per action cost 2.5x the CPU per action (about 100 µs against 35 µs; a thread of
//! our own that sleeps to each deadline cost as much). So a schedule whose actions are a
//! millisecond or more apart (up to about 1,000/s) is dispatched to the microsecond at no
//! extra cost, and a denser one as tokio's tick allows (docs/performance.md). Elsewhere than
//! Linux, or when a timerfd cannot be had, every wait is tokio's.

#[cfg(target_os = "linux")]
use std::time::Duration;
use std::time::Instant;

/// Waits this long or longer are timed to the microsecond (shorter ones share tokio's tick).
#[cfg(target_os = "linux")]
const PRECISE_FROM: Duration = Duration::from_millis(1);

/// Waits until an instant, as precisely as the platform allows.
pub(super) struct Clock {
    #[cfg(target_os = "linux")]
    timer: Option<linux::TimerFd>,
}

impl Clock {
    /// A clock for the calling task's runtime (must be called within one).
    pub(super) fn new() -> Self {
        Clock {
            #[cfg(target_os = "linux")]
            timer: linux::TimerFd::new().ok(),
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

    /// Returns at `until` or just after it (never before): to the microsecond when it is a
    /// millisecond or more away, else at tokio's next millisecond tick (see above).
    pub(super) async fn sleep_until(&self, until: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(t) = &self.timer
            && until.saturating_duration_since(Instant::now()) >= PRECISE_FROM
            && t.sleep_until(until).await.is_ok()
        {
            return;
        }
        tokio::time::sleep_until(until.into()).await;
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
                match rustix::io::read(self.fd.get_ref(), &mut expiries) {
                    Ok(_) if Instant::now() >= until => return Ok(()),
                    Ok(_) => continue,
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
    use std::time::Duration;

    #[tokio::test]
    async fn a_wait_ends_after_its_deadline_and_again_after_an_abandoned_one() {
        let clock = Clock::new();
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
