//! The scheduler's clock: the system's, or one that runs faster for tests and demonstrations
//! (`MILLRACE_CLOCK_SPEED=60`: a minute of schedule time passes in a real second, starting
//! from the real time when the clock was made).

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

/// The fastest a clock runs.
const MAX_SPEED: f64 = 1_000_000.0;

/// What time it is, as the scheduler sees it.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Schedule time at `started`.
    origin: Timestamp,
    started: Instant,
    /// Schedule seconds per real second.
    speed: f64,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock::faster(1.0)
    }

    /// A clock that starts now and runs `speed` times faster than the system's (from 1 to a
    /// million: a million is eleven days a second).
    pub fn faster(speed: f64) -> Clock {
        Clock {
            origin: Timestamp::now(),
            started: Instant::now(),
            speed: if speed.is_finite() {
                speed.clamp(1.0, MAX_SPEED)
            } else {
                1.0
            },
        }
    }

    /// From `MILLRACE_CLOCK_SPEED` when set to a number above 1, else the system's.
    pub fn from_environment() -> Clock {
        match std::env::var("MILLRACE_CLOCK_SPEED")
            .ok()
            .and_then(|speed| speed.parse::<f64>().ok())
        {
            Some(speed) if speed > 1.0 => Clock::faster(speed),
            _ => Clock::system(),
        }
    }

    /// How many times faster than the system's it runs.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed().as_secs_f64() * self.speed;
        SignedDuration::try_from_secs_f64(elapsed)
            .ok()
            .and_then(|elapsed| self.origin.saturating_add(elapsed).ok())
            .unwrap_or(self.origin)
    }

    /// The real time until `when` (zero when it has come).
    pub fn until(&self, when: Timestamp) -> Duration {
        let ahead = when.duration_since(self.now()).as_secs_f64();
        if ahead <= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(ahead / self.speed).unwrap_or(Duration::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_faster_clock_runs_ahead_and_shortens_waits() {
        let clock = Clock::faster(3600.0);
        let start = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        let later = clock.now();
        // 20 ms of real time is at least 72 s here.
        assert!(later.duration_since(start).as_secs_f64() >= 72.0);
        let in_an_hour = later.checked_add(SignedDuration::from_hours(1)).unwrap();
        assert!(clock.until(in_an_hour) <= Duration::from_secs(1));
        assert_eq!(clock.until(start), Duration::ZERO);
    }

    #[test]
    fn an_absurd_speed_is_bounded_and_never_panics() {
        for speed in [f64::INFINITY, f64::NAN, 1e300, -5.0] {
            let clock = Clock::faster(speed);
            assert!((1.0..=MAX_SPEED).contains(&clock.speed()), "{speed}");
            let _ = clock.now();
        }
    }
}
