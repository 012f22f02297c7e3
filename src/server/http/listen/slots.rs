//! The caps on open HTTP connections: in total and per client address, taken at accept, before a
//! byte of the request is read (so before authentication).
//!
//! IPv6 clients are counted per /64, the block one host or household usually holds: counting single
//! addresses would let one client use 2^64 of them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections, in total and by client.
#[derive(Debug)]
pub(crate) struct Slots {
    total: usize,
    per_client: usize,
    open: Mutex<Open>,
    refused: AtomicU64,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// Why a connection was refused; the text is the body of the 503 it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Full,
    ClientFull,
}

impl Refusal {
    /// A complete HTTP/1.1 response, small enough to leave in one non-blocking write.
    pub(crate) fn response(self) -> &'static [u8] {
        match self {
            Refusal::Full => {
                b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 51\r\n\r\nserver is at its HTTP connection limit; retry soon\n"
            }
            Refusal::ClientFull => {
                b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 57\r\n\r\ntoo many connections from your address; close some first\n"
            }
        }
    }
}

/// One open connection's place under the caps, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    client: IpAddr,
}

impl Slots {
    pub(crate) fn new(total: usize, per_client: usize) -> Slots {
        Slots {
            total,
            per_client,
            open: Mutex::new(Open::default()),
            refused: AtomicU64::new(0),
        }
    }

    /// A slot for a connection from `ip`, unless a cap is reached.
    pub(crate) fn take(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let client = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let refusal = if open.total >= self.total {
            Some(Refusal::Full)
        } else if open.by_client.get(&client).copied().unwrap_or(0) >= self.per_client {
            Some(Refusal::ClientFull)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(refusal);
        }
        open.total += 1;
        *open.by_client.entry(client).or_insert(0) += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            client,
        })
    }

    /// Connections open right now.
    pub(crate) fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    /// Connections refused at a cap since start.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total -= 1;
        if let Some(count) = open.by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                // The map holds only clients with connections open, so it cannot grow without bound.
                open.by_client.remove(&self.client);
            }
        }
    }
}

/// The address a client is counted under: IPv4 as is (also when mapped into IPv6), IPv6 by /64.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_capped_before_the_total_and_gets_its_slots_back() {
        let slots = Arc::new(Slots::new(3, 2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        assert_eq!(slots.take(a).unwrap_err(), Refusal::ClientFull);
        let _third = slots.take(b).unwrap();
        assert_eq!(slots.take(b).unwrap_err(), Refusal::Full);
        drop(first);
        assert!(slots.take(a).is_ok());
        assert_eq!(slots.refused(), 2);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let slots = Arc::new(Slots::new(10, 1));
        let _one = slots.take("2001:db8::1".parse().unwrap()).unwrap();
        assert!(slots.take("2001:db8::2".parse().unwrap()).is_err());
        assert!(slots.take("2001:db8:0:1::1".parse().unwrap()).is_ok());
        let _v4 = slots.take("192.0.2.1".parse().unwrap()).unwrap();
        assert!(slots.take("::ffff:192.0.2.1".parse().unwrap()).is_err());
    }

    #[test]
    fn the_refusals_are_complete_responses() {
        for refusal in [Refusal::Full, Refusal::ClientFull] {
            let text = std::str::from_utf8(refusal.response()).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(body.len(), length, "{text}");
        }
    }
}
