//! When the panel draws: at once, except in a burst of changes (many jobs starting and
//! ending), when it draws once a second. Each draw costs the page a frame whose
//! price grows with the notebook (JupyterLab observes every cell): with 1,000 jobs side by
//! side, drawing at every change kept the page busy (see docs/architecture.md).
//! Pure: it keeps what changed, takes the clock and says when; the caller owns the timer.

use crate::ids::IdSet;

/// Rows of this many jobs changing…
const BURST_JOBS: usize = 16;
/// …within this long (ms) make a burst. (One job run after another, even back to back,
/// changes a few rows a second: it draws at once.)
const BURST_MS: f64 = 100.0;
/// In a burst, a draw waits until this long after the last one (ms). A timer lag p95 counts
/// the worst 5% of a burst: at one draw a second those frames stay under it (200 ms did not).
pub const PACE_MS: f64 = 1000.0;

/// When to draw changes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Draw {
    /// Now.
    Now,
    /// At this time (ms, the caller's clock): set a timer.
    At(f64),
    /// With the draw already due.
    Due,
}

/// The panel's draw pace.
#[derive(Debug)]
pub struct Pace {
    /// The jobs whose rows changed since the last draw.
    pending: IdSet,
    /// How many jobs there were at the last [`Pace::jobs`].
    jobs: usize,
    /// A draw is set for later.
    due: bool,
    /// The jobs whose rows changed since `window_start` (at most `BURST_JOBS`)…
    window: IdSet,
    /// …and how many jobs were added since.
    window_added: usize,
    window_start: f64,
    /// A burst was seen and changes keep coming closer than `pace_ms`.
    pacing: bool,
    /// When the panel last drew.
    last: f64,
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
            pending: IdSet::default(),
            jobs: 0,
            due: false,
            window: IdSet::default(),
            window_added: 0,
            window_start: f64::NEG_INFINITY,
            pacing: false,
            last: f64::NEG_INFINITY,
            pace_ms: pace_ms.max(0.0),
        }
    }

    /// Wait `pace_ms` between draws in a burst from now on (0: never wait).
    pub fn set_pace_ms(&mut self, pace_ms: f64) {
        self.pace_ms = pace_ms.max(0.0);
    }

    /// Job `job_id`'s row changed at `now`.
    pub fn changed(&mut self, job_id: &str, now: f64) {
        self.window_at(now);
        // A streaming job changes its row at every output batch: copy its id only once.
        if self.window.len() < BURST_JOBS && !self.window.contains(job_id) {
            self.window.insert(job_id.to_owned());
        }
        if !self.pending.contains(job_id) {
            self.pending.insert(job_id.to_owned());
        }
    }

    /// There are `count` jobs at `now`: those added count towards a burst (new jobs have
    /// no changed row: the panel draws the oldest undrawn jobs).
    pub fn jobs(&mut self, count: usize, now: f64) {
        self.window_at(now);
        let added = count.saturating_sub(self.jobs);
        self.window_added = self.window_added.saturating_add(added);
        self.jobs = count;
    }

    fn window_at(&mut self, now: f64) {
        if now - self.window_start >= BURST_MS {
            self.window_start = now;
            self.window.clear();
            self.window_added = 0;
        }
    }

    /// There are changes to draw at `now`: when?
    pub fn ask(&mut self, now: f64) -> Draw {
        if self.due {
            return Draw::Due;
        }
        if self.pace_ms == 0.0 {
            return Draw::Now;
        }
        let burst = now - self.window_start < BURST_MS
            && self.window.len() + self.window_added >= BURST_JOBS;
        self.pacing = (self.pacing && now - self.last < self.pace_ms) || burst;
        self.due = self.pacing;
        if self.pacing {
            Draw::At(self.last + self.pace_ms)
        } else {
            Draw::Now
        }
    }

    /// The panel draws at `now`: the jobs whose rows changed (emptied).
    pub fn draw(&mut self, now: f64) -> &mut IdSet {
        self.last = now;
        self.due = false;
        &mut self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Job `job`'s row changes at `t`; draw if the pace says now.
    fn change(pace: &mut Pace, job: usize, t: f64) -> Draw {
        pace.changed(&format!("job-{job}"), t);
        let draw = pace.ask(t);
        if draw == Draw::Now {
            pace.draw(t).clear();
        }
        draw
    }

    #[test]
    fn jobs_one_after_another_draw_at_once_even_back_to_back() {
        let mut pace = Pace::default();
        // A job every 20 ms, each changing its row 4 times (submitted, queued, started,
        // finished): 5 jobs and 20 changes every 100 ms.
        for job in 0..50 {
            for step in 0..4 {
                let t = f64::from(job as u32) * 20.0 + f64::from(step) * 5.0;
                assert_eq!(
                    change(&mut pace, job, t),
                    Draw::Now,
                    "job {job} step {step}"
                );
            }
        }
    }

    #[test]
    fn many_jobs_at_once_draw_once_a_second_until_they_stop() {
        let mut pace = Pace::default();
        for job in 0..15 {
            assert_eq!(change(&mut pace, job, 10.0), Draw::Now);
        }
        // The 16th job within 100 ms: a burst; the draw waits a pace after the last.
        let first = 10.0 + PACE_MS;
        assert_eq!(change(&mut pace, 15, 20.0), Draw::At(first));
        assert_eq!(change(&mut pace, 16, 30.0), Draw::Due);
        assert_eq!(pace.draw(first).len(), 2, "both jobs drawn at once");
        // Changes keep coming, even of few jobs: the pace holds.
        assert_eq!(
            change(&mut pace, 1, first + 40.0),
            Draw::At(first + PACE_MS)
        );
        pace.draw(first + PACE_MS).clear();
        // A pause as long as the pace ends it.
        assert_eq!(
            change(&mut pace, 2, first + 2.0 * PACE_MS + 90.0),
            Draw::Now
        );
    }

    #[test]
    fn many_jobs_added_at_once_are_a_burst_too() {
        let mut pace = Pace::default();
        for n in 1..16 {
            pace.jobs(n, f64::from(n as u32));
            assert_eq!(pace.ask(f64::from(n as u32)), Draw::Now);
            pace.draw(f64::from(n as u32));
        }
        pace.jobs(16, 16.0);
        assert_eq!(pace.ask(16.0), Draw::At(15.0 + PACE_MS));
    }

    #[test]
    fn a_pace_of_zero_always_draws_at_once() {
        let mut pace = Pace::new(0.0);
        for job in 0..100 {
            assert_eq!(change(&mut pace, job, 1.0), Draw::Now);
        }
    }
}
