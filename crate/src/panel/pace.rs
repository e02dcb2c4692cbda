//! When the panel draws: at once, except in a burst of changes (many jobs starting and
//! ending), when it draws a few times a second. Each draw costs the page a frame whose
//! price grows with the notebook (JupyterLab observes every cell): with 1,000 jobs side by
//! side, drawing at every change kept the page busy (see docs/architecture.md).
//! Pure: it takes the clock and says when; the caller owns the timer.

/// This many draws…
const BURST: usize = 4;
/// …within this long (ms) make a burst.
const BURST_MS: f64 = 100.0;
/// In a burst, a draw waits until this long after the last one (ms).
pub const PACE_MS: f64 = 200.0;

/// When to draw changes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Draw {
    /// Now.
    Now,
    /// At this time (ms, the caller's clock); later changes join that draw.
    At(f64),
}

/// The panel's draw pace.
#[derive(Debug)]
pub struct Pace {
    /// When the last `BURST` draws were made, oldest first.
    recent: [f64; BURST],
    /// A burst was seen and changes keep coming closer than `pace_ms`.
    pacing: bool,
    /// The wait in a burst; 0 draws at every change.
    pace_ms: f64,
}

impl Default for Pace {
    fn default() -> Self {
        Pace::new(PACE_MS)
    }
}

impl Pace {
    /// A pace that waits `pace_ms` between draws in a burst (0: never waits).
    pub fn new(pace_ms: f64) -> Pace {
        Pace {
            recent: [f64::NEG_INFINITY; BURST],
            pacing: false,
            pace_ms: pace_ms.max(0.0),
        }
    }

    /// There are changes to draw at `now`: when?
    pub fn ask(&mut self, now: f64) -> Draw {
        let last = self.recent[BURST - 1];
        if self.pace_ms == 0.0 {
            return Draw::Now;
        }
        self.pacing = (self.pacing && now - last < self.pace_ms) || now - self.recent[0] < BURST_MS;
        if self.pacing {
            Draw::At(last + self.pace_ms)
        } else {
            Draw::Now
        }
    }

    /// The changes were drawn at `now`.
    pub fn drew(&mut self, now: f64) {
        self.recent.rotate_left(1);
        self.recent[BURST - 1] = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_changes_draw_at_once() {
        let mut pace = Pace::default();
        for t in [0.0, 10.0, 20.0] {
            assert_eq!(pace.ask(t), Draw::Now);
            pace.drew(t);
        }
    }

    #[test]
    fn a_burst_draws_a_few_times_a_second_until_it_ends() {
        let mut pace = Pace::default();
        for t in [0.0, 5.0, 10.0, 15.0] {
            assert_eq!(pace.ask(t), Draw::Now);
            pace.drew(t);
        }
        // The fifth change within 100 ms waits for 200 ms after the last draw.
        assert_eq!(pace.ask(20.0), Draw::At(215.0));
        pace.drew(215.0);
        // Changes still come: the pace holds, though the last 4 draws span 200 ms.
        assert_eq!(pace.ask(230.0), Draw::At(415.0));
        pace.drew(415.0);
        // A pause as long as the pace ends it.
        assert_eq!(pace.ask(700.0), Draw::Now);
    }

    #[test]
    fn a_pace_of_zero_always_draws_at_once() {
        let mut pace = Pace::new(0.0);
        for t in 0..10 {
            assert_eq!(pace.ask(f64::from(t)), Draw::Now);
            pace.drew(f64::from(t));
        }
    }
}
