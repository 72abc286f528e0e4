//! Login throttling: repeated failures for one account or from one client address lock further
//! attempts out for a while. The lockout ends by itself.
//!
//! Counters live in this process. Behind a load balancer each instance counts on its own, so
//! an attacker gets at most this limit per instance.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures for one account within `window` that lock it.
    pub per_account: usize,
    /// Failures from one address within `window` that lock it.
    pub per_address: usize,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Keys that are tracked at most; the oldest are dropped beyond this, so memory stays bounded.
const MAX_TRACKED: usize = 100_000;

#[derive(Default)]
struct Failures {
    by_key: HashMap<String, VecDeque<Instant>>,
}

impl Failures {
    fn prune(&mut self, key: &str, window: Duration, now: Instant) -> usize {
        let Some(times) = self.by_key.get_mut(key) else {
            return 0;
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            times.pop_front();
        }
        let count = times.len();
        if count == 0 {
            self.by_key.remove(key);
        }
        count
    }

    /// When the key unlocks, if it is locked at `limit` failures.
    fn locked_until(
        &mut self,
        key: &str,
        limit: usize,
        window: Duration,
        now: Instant,
    ) -> Option<Duration> {
        if self.prune(key, window, now) < limit {
            return None;
        }
        let times = &self.by_key[key];
        let oldest_that_counts = times[times.len() - limit];
        Some(
            window
                .saturating_sub(now.duration_since(oldest_that_counts))
                .max(Duration::from_secs(1)),
        )
    }

    fn add(&mut self, key: String, now: Instant) {
        if self.by_key.len() >= MAX_TRACKED && !self.by_key.contains_key(&key) {
            self.by_key.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
            });
        }
        self.by_key.entry(key).or_default().push_back(now);
    }
}

/// Counts failed logins.
pub struct LoginThrottle {
    settings: ThrottleSettings,
    failures: Mutex<Failures>,
}

fn account_key(email_key: &str) -> String {
    format!("account:{email_key}")
}

fn address_key(address: IpAddr) -> String {
    format!("address:{address}")
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            failures: Mutex::new(Failures::default()),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, Failures> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long the caller must wait, if the account or the address is locked.
    pub fn check(&self, email_key: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let s = self.settings;
        let mut failures = self.failures();
        let account = failures.locked_until(&account_key(email_key), s.per_account, s.window, now);
        let by_address = address
            .and_then(|a| failures.locked_until(&address_key(a), s.per_address, s.window, now));
        account.into_iter().chain(by_address).max()
    }

    /// Counts a failure; returns the account's failures within the window, this one included.
    pub fn record_failure(&self, email_key: &str, address: Option<IpAddr>) -> u64 {
        let now = Instant::now();
        let mut failures = self.failures();
        let account = account_key(email_key);
        failures.add(account.clone(), now);
        if let Some(address) = address {
            failures.add(address_key(address), now);
        }
        failures.prune(&account, self.settings.window, now) as u64
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn record_success(&self, email_key: &str) {
        self.failures().by_key.remove(&account_key(email_key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_the_limit_and_unlocks_after_the_window() {
        let window = Duration::from_millis(200);
        let throttle = LoginThrottle::new(ThrottleSettings {
            per_account: 3,
            per_address: 100,
            window,
        });
        for _ in 0..2 {
            throttle.record_failure("a@example.com", None);
        }
        assert_eq!(throttle.check("a@example.com", None), None);
        throttle.record_failure("a@example.com", None);
        let wait = throttle.check("a@example.com", None).expect("locked");
        assert!(wait <= Duration::from_secs(1));
        assert_eq!(
            throttle.check("b@example.com", None),
            None,
            "other accounts are not locked"
        );
        std::thread::sleep(window);
        assert_eq!(throttle.check("a@example.com", None), None);
    }

    #[test]
    fn locks_an_address_across_accounts() {
        let throttle = LoginThrottle::new(ThrottleSettings {
            per_account: 100,
            per_address: 2,
            window: Duration::from_secs(60),
        });
        let address: IpAddr = "127.0.0.1".parse().unwrap();
        throttle.record_failure("a@example.com", Some(address));
        throttle.record_failure("b@example.com", Some(address));
        assert!(throttle.check("c@example.com", Some(address)).is_some());
        assert!(throttle.check("c@example.com", None).is_none());
    }

    #[test]
    fn success_clears_the_account() {
        let throttle = LoginThrottle::new(ThrottleSettings {
            per_account: 1,
            per_address: 100,
            window: Duration::from_secs(60),
        });
        throttle.record_failure("a@example.com", None);
        assert!(throttle.check("a@example.com", None).is_some());
        throttle.record_success("a@example.com");
        assert!(throttle.check("a@example.com", None).is_none());
    }
}
