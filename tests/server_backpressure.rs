//! A viewer that reads too slowly is told exactly what it missed, and slows down neither the app
//! nor the other viewers.

#![cfg(feature = "server")]

mod support;

use std::time::Duration;

use support::*;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vg::server::GatewayConfig;
use vg::wire::{Gap, GapReason, ServerMessage};
use vg::{Level, LogEntry};

const TOTAL: u64 = 1600;
/// Large entries fill the socket buffers quickly: TOTAL of them are far more than the kernel holds.
const MESSAGE_BYTES: usize = 16 * 1024;
const LIVE_BUFFER: usize = 32;
/// Must divide TOTAL.
const CHUNK: u64 = 16;

/// A client whose socket takes little at a time (a 4 KiB receive buffer).
async fn slow_client(server: &TestServer) -> Ws {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = within("tcp connect", socket.connect(server.addr))
        .await
        .unwrap();
    let request = server.ws_url("").into_client_request().unwrap();
    within(
        "handshake",
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream)),
    )
    .await
    .unwrap()
    .0
}

/// Reads entries and gaps until seq `TOTAL` arrives, publishing the newest seq seen.
async fn read_all(mut ws: Ws, progress: watch::Sender<u64>) -> (Vec<u64>, Vec<Gap>) {
    let mut seqs = Vec::new();
    let mut gaps = Vec::new();
    while seqs.last() != Some(&TOTAL) {
        match next_message(&mut ws).await {
            ServerMessage::Entries { entries } => {
                seqs.extend(entries.iter().map(|e| e.seq.unwrap()));
                progress.send_replace(*seqs.last().unwrap());
            }
            ServerMessage::Gap(gap) => gaps.push(gap),
            other => panic!("{other:?}"),
        }
    }
    (seqs, gaps)
}

#[tokio::test]
async fn a_slow_reader_gets_an_exact_gap_while_a_fast_one_misses_nothing() {
    let server = TestServer::start(
        emitter_config().live_buffer(LIVE_BUFFER),
        GatewayConfig::default(),
    )
    .await;
    let mut slow = slow_client(&server).await;
    expect_hello(&mut slow).await;
    until_live(&mut slow).await;
    let (mut fast, _) = server.connect("").await;
    until_live(&mut fast).await;
    let (progress, mut seen) = watch::channel(0);
    let fast_reader = tokio::spawn(read_all(fast, progress));

    // The slow client reads nothing meanwhile. The fast one is waited for after each chunk, which
    // is smaller than the live buffer, so it can never be the one that lags.
    let payload = "x".repeat(MESSAGE_BYTES);
    for chunk_end in (CHUNK..=TOTAL).step_by(CHUNK as usize) {
        for seq in chunk_end - CHUNK + 1..=chunk_end {
            let emitted = server.emitter.emit(LogEntry::new(
                Level::Info,
                "load",
                format!("{seq} {payload}"),
            ));
            assert_eq!(emitted, seq);
        }
        within("fast reader keeps up", seen.wait_for(|&s| s >= chunk_end))
            .await
            .unwrap();
    }
    let (fast_seqs, fast_gaps) = within("fast reader", fast_reader).await.unwrap();
    assert!(fast_gaps.is_empty(), "{fast_gaps:?}");
    assert_eq!(fast_seqs, (1..=TOTAL).collect::<Vec<_>>());

    let (slow_progress, _) = watch::channel(0);
    let (slow_seqs, slow_gaps) = read_all(slow, slow_progress).await;
    assert!(
        !slow_gaps.is_empty(),
        "the slow reader must have fallen behind"
    );
    // Every seq is accounted for exactly once: received, or inside a gap that counts it.
    let mut accounted: Vec<u64> = slow_seqs.clone();
    for gap in &slow_gaps {
        assert_eq!(gap.reason, GapReason::Lagged);
        let (from, to) = (gap.from_seq.unwrap(), gap.to_seq.unwrap());
        assert_eq!(gap.missed, to - from + 1);
        accounted.extend(from..=to);
    }
    accounted.sort_unstable();
    assert_eq!(accounted, (1..=TOTAL).collect::<Vec<_>>());
    let missed: u64 = slow_gaps.iter().map(|g| g.missed).sum();
    assert_eq!(missed + slow_seqs.len() as u64, TOTAL);
    // After the gap it continues with the newest entries.
    assert_eq!(slow_seqs.last(), Some(&TOTAL));
    server.stop().await;
}

#[tokio::test]
async fn a_silent_peer_is_dropped_while_a_reading_one_is_pinged() {
    let config =
        GatewayConfig::default().keepalive(Duration::from_millis(50), Duration::from_millis(300));
    let server = TestServer::start(emitter_config(), config).await;
    let (mut reading, _) = server.connect("").await;
    until_live(&mut reading).await;
    let (mut silent, _) = server.connect("").await;
    until_live(&mut silent).await;
    assert_eq!(server.gateway.viewers(), 2);
    // The reading client answers pings by reading (tungstenite replies with a pong), so it stays.
    let mut pings = 0;
    let mut polls = 0;
    while server.gateway.viewers() > 1 {
        polls += 1;
        assert!(polls < 400, "the silent peer was never dropped");
        if let Ok(Some(Ok(message))) = tokio::time::timeout(
            Duration::from_millis(25),
            futures_util::StreamExt::next(&mut reading),
        )
        .await
        {
            pings += usize::from(message.is_ping());
        }
    }
    assert!(pings > 0);
    server.emitter.log(Level::Info, "api", "still here");
    let (got, _) = until_entry(&mut reading, |_| true).await;
    assert_eq!(messages(&got), ["still here"]);
    drop(silent);
    server.stop().await;
}
