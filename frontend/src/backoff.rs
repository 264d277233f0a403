//! `Backoff`: how long a retry loop waits before each try. Every retry
//! loop of the console (polling while the live channel is down, asking the
//! server after a deadline, retrying a sign-out) takes its delays from one.
//! Plain arithmetic, so its tests run natively.

/// The delays of a retry loop: the first try waits the first step, each
/// later try the next, and the last step repeats for as long as it takes.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    steps: &'static [u32],
    next: usize,
}

impl Backoff {
    /// A loop that waits `steps` milliseconds in turn.
    pub const fn new(steps: &'static [u32]) -> Self {
        Self { steps, next: 0 }
    }

    /// The wait before the next try, in milliseconds (0 without steps).
    pub fn next_ms(&mut self) -> u32 {
        let Some(&delay) = self.steps.get(self.next).or(self.steps.last()) else {
            return 0;
        };
        self.next = (self.next + 1).min(self.steps.len() - 1);
        delay
    }

    /// Starts again from the first step (the loop succeeded).
    pub fn reset(&mut self) {
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;

    fn first(backoff: &mut Backoff, n: usize) -> Vec<u32> {
        (0..n).map(|_| backoff.next_ms()).collect()
    }

    #[test]
    fn steps_come_in_turn_and_the_last_repeats() {
        let mut b = Backoff::new(&[5_000, 10_000, 20_000, 40_000, 60_000]);
        assert_eq!(
            first(&mut b, 7),
            [5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000],
            "polling: 5 s doubling to 60 s"
        );
        let mut b = Backoff::new(&[0, 1_000, 2_000, 5_000, 10_000]);
        assert_eq!(
            first(&mut b, 6),
            [0, 1_000, 2_000, 5_000, 10_000, 10_000],
            "confirming a deadline: at once, then 1, 2, 5, every 10 s"
        );
    }

    #[test]
    fn reset_starts_from_the_first_step_again() {
        let mut b = Backoff::new(&[2_000, 5_000, 10_000]);
        assert_eq!(first(&mut b, 4), [2_000, 5_000, 10_000, 10_000]);
        b.reset();
        assert_eq!(first(&mut b, 2), [2_000, 5_000]);
    }

    #[test]
    fn a_copy_keeps_its_own_place() {
        let mut a = Backoff::new(&[1, 2, 3]);
        a.next_ms();
        let mut b = a;
        assert_eq!((a.next_ms(), a.next_ms()), (2, 3));
        assert_eq!(b.next_ms(), 2, "the copy goes on from where it was made");
    }

    #[test]
    fn without_steps_there_is_no_wait() {
        let mut b = Backoff::new(&[]);
        assert_eq!(first(&mut b, 2), [0, 0]);
    }
}
