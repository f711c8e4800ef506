//! Rate limits (GCRA, from `governor`): per API key for every
//! authenticated request, and per client address (an IPv6 client by its
//! /64) for registration and for public API reads made without a key.
//! Every
//! answer carries `X-RateLimit-*` headers; an exceeded limit is `429
//! rate_limited` with `Retry-After`.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use hyper::header::{HeaderName, HeaderValue};
use hyper::StatusCode;
use serde_json::json;

use crate::error::ApiError;

/// How fast one key may go: per second, burst.
pub fn per_second(rate: NonZeroU32, burst: NonZeroU32) -> Quota {
    Quota::per_second(rate).allow_burst(burst)
}

/// `n` per minute, all of them allowed at once.
pub fn per_minute(n: NonZeroU32) -> Quota {
    Quota::per_minute(n)
}

/// The client a per-address limit counts `ip` as: an IPv4 address as it
/// is (also when it arrives IPv4-mapped on an IPv6 socket), an IPv6
/// address by its /64, the smallest network a site is given, so that one
/// client cannot step past the limit by rotating through its addresses.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// What a request may know of its limit.
#[derive(Copy, Clone, Debug)]
pub struct Allowance {
    /// Requests allowed at once (the burst).
    pub limit: u32,
    /// Requests left in the burst now.
    pub remaining: u32,
    /// Seconds until the burst is whole again.
    pub reset_seconds: u64,
}

impl Allowance {
    /// The `X-RateLimit-*` headers.
    pub fn headers(&self) -> [(HeaderName, HeaderValue); 3] {
        const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
        const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
        const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
        [
            (LIMIT, self.limit.into()),
            (REMAINING, self.remaining.into()),
            (RESET, self.reset_seconds.into()),
        ]
    }
}

/// A limit per key of type `K`.
pub struct Limiter<K: Hash + Eq + Clone> {
    quota: Quota,
    inner: RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter allowing `quota` per key.
    pub fn new(quota: Quota) -> Self {
        Limiter {
            quota,
            inner: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    /// Seconds until `missing` requests are replenished.
    fn seconds_for(&self, missing: u32) -> u64 {
        let d = self.quota.replenish_interval() * missing;
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }

    /// Takes one request from `key`'s allowance, or says when to retry.
    pub fn check(&self, key: &K) -> Result<Allowance, (ApiError, Allowance)> {
        let limit = self.quota.burst_size().get();
        match self.inner.check_key(key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Ok(Allowance {
                    limit,
                    remaining,
                    reset_seconds: self.seconds_for(limit - remaining.min(limit)),
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let retry_after = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
                let allowance = Allowance {
                    limit,
                    remaining: 0,
                    reset_seconds: self.seconds_for(limit),
                };
                let error = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("Too many requests; retry after {retry_after} s."),
                )
                .with_details(json!({ "retry_after_seconds": retry_after }));
                Err((error, allowance))
            }
        }
    }

    /// Forgets keys that are back to a full allowance (call now and then).
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_by_ipv4_address_or_ipv6_slash_64() {
        let net = |s: &str| client_network(s.parse().unwrap()).to_string();
        assert_eq!(net("203.0.113.7"), "203.0.113.7");
        assert_eq!(net("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(net("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff::9"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("::1"), "::");
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_retry_time() {
        let limiter = Limiter::new(per_second(
            NonZeroU32::new(1).unwrap(),
            NonZeroU32::new(3).unwrap(),
        ));
        let remaining: Vec<u32> = (0..3)
            .map(|_| limiter.check(&7u64).unwrap().remaining)
            .collect();
        assert_eq!(remaining, vec![2, 1, 0]);
        let (error, allowance) = limiter.check(&7u64).unwrap_err();
        assert_eq!(error.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.details["retry_after_seconds"], 1);
        assert_eq!(allowance.remaining, 0);
        // Another key has its own allowance.
        assert_eq!(limiter.check(&8u64).unwrap().remaining, 2);
    }
}
