//! `--max-connections-per-host N`: at most N requests to one host (`host:port`) at a time,
//! and at most N idle connections kept for it. Over HTTP/1.1 a request in flight holds a
//! connection of its own, so no more than N connections carry requests to the host at once.
//! A console's event channel (SSE, WebSocket, polling) has its own connection besides, as
//! each console in the field does.
//!
//! A request that finds every connection busy waits for one. The wait is the generator
//! holding the load back, as the in-flight cap does: it is counted, and the engine reports
//! each one as `throttled`, which makes the verdict invalid (the target did not get the
//! schedule).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The per-host limit and its waits, shared by every request of one target.
#[derive(Debug)]
pub struct ConnectionCap {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    waits: AtomicU64,
    longest_wait_us: AtomicU64,
}

impl ConnectionCap {
    /// A cap of `per_host` (at least 1) connections per host.
    pub fn new(per_host: usize) -> Self {
        ConnectionCap {
            per_host: per_host.clamp(1, Semaphore::MAX_PERMITS),
            hosts: Mutex::default(),
            waits: AtomicU64::new(0),
            longest_wait_us: AtomicU64::new(0),
        }
    }

    /// The cap of `transport`, when it has one (one per target: its requests and token
    /// fetches share it).
    pub fn of(transport: &super::transport::Transport) -> Option<Arc<Self>> {
        transport.max_per_host.map(|n| Arc::new(Self::new(n)))
    }

    fn semaphore(&self, url: &str) -> Arc<Semaphore> {
        let key = super::transport::host_port(url)
            .map(|(h, p)| format!("{h}:{p}"))
            .unwrap_or_default();
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone()
    }

    /// A connection to `url`'s host: at once when one is free, else after a counted wait.
    /// Hold it until the answer is read. `None` only if the host's semaphore were closed,
    /// which nothing does: the request then goes without a slot rather than fail.
    pub async fn slot(&self, url: &str) -> Option<OwnedSemaphorePermit> {
        self.slot_on(self.semaphore(url)).await
    }

    /// The connections of `url`'s host, found once for many requests (see [`HostSlots`]).
    pub fn host(self: &Arc<Self>, url: &str) -> HostSlots {
        HostSlots {
            sem: self.semaphore(url),
            cap: self.clone(),
        }
    }

    async fn slot_on(&self, sem: Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = sem.clone().try_acquire_owned() {
            return Some(p);
        }
        let from = std::time::Instant::now();
        let permit = sem.acquire_owned().await.ok();
        let us = u64::try_from(from.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.longest_wait_us.fetch_max(us, Ordering::Relaxed);
        permit
    }

    /// Requests that waited for a connection so far.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    /// The longest wait so far, µs.
    pub fn longest_wait_us(&self) -> u64 {
        self.longest_wait_us.load(Ordering::Relaxed)
    }
}

/// The cap of one host, its URL parsed once: what a client of a single host holds, so that a
/// request does not parse the URL and look the host up again.
#[derive(Debug, Clone)]
pub struct HostSlots {
    cap: Arc<ConnectionCap>,
    sem: Arc<Semaphore>,
}

impl HostSlots {
    /// As [`ConnectionCap::slot`], for this host.
    pub async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.cap.slot_on(self.sem.clone()).await
    }
}

/// A connection slot if there is a cap (`None`: no cap, no wait).
pub async fn slot(cap: &Option<Arc<ConnectionCap>>, url: &str) -> Option<OwnedSemaphorePermit> {
    match cap {
        Some(c) => c.slot(url).await,
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_gets_at_most_its_cap_and_a_wait_is_counted() {
        let cap = Arc::new(ConnectionCap::new(2));
        let a = cap.slot("http://gw.test:8080/v1/x").await;
        let b = cap.slot("http://GW.test:8080/v1/y").await;
        // Another host has its own connections.
        let _other = cap.slot("http://gw.test:8081/v1/x").await;
        assert_eq!(cap.waits(), 0);
        let c = {
            let cap = cap.clone();
            tokio::spawn(async move { cap.slot("http://gw.test:8080/v1/z").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        assert!(!c.is_finished(), "a third request to the host went through");
        drop(a);
        let _c = c.await.expect("joined");
        assert_eq!(cap.waits(), 1);
        // A host found once shares the same connections and counts its waits in the cap.
        let host = cap.host("http://gw.test:8080/v1/w");
        let waiting = tokio::spawn(async move { host.slot().await });
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        assert!(
            !waiting.is_finished(),
            "a third request to the host went through"
        );
        drop(b);
        let _d = waiting.await.expect("joined");
        assert_eq!(cap.waits(), 2);
        assert!(cap.longest_wait_us() >= 30_000, "{}", cap.longest_wait_us());
    }
}
