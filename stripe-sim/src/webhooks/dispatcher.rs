//! Delivers events to webhook endpoints over HTTP, off the request path.
//!
//! Deliveries run on a background thread with its own Tokio runtime, so they neither block API
//! requests nor depend on which runtime (an actix worker, a `#[tokio::test]`, the app) happened
//! to emit the event, and they stop with the emulator.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use super::signing;

/// How long Stripe waits for an endpoint before counting the attempt as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One event to one endpoint. The payload is serialized once, so every attempt sends the same
/// bytes (a fresh timestamp and signature are computed per attempt, as Stripe does).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub endpoint_id: String,
    pub url: String,
    pub secret: String,
    pub payload: String,
}

/// What happened to one attempt; reported to the [`DeliveryObserver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 2xx: the event is delivered to this endpoint.
    Delivered { status: u16 },
    /// Non-2xx, connection failure or timeout; `will_retry` says whether another attempt follows.
    Failed {
        status: Option<u16>,
        will_retry: bool,
    },
}

/// Receives the outcome of every attempt (to count down `pending_webhooks`, keep a log…).
pub trait DeliveryObserver: Send + Sync + 'static {
    fn attempt_finished(&self, delivery: &Delivery, attempt: usize, outcome: &AttemptOutcome);
}

/// Handle to the background delivery worker. Cheap to clone; enqueueing never blocks.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::UnboundedSender<Delivery>,
    shutdown: Arc<parking_lot::Mutex<Option<oneshot::Sender<()>>>>,
}

impl Dispatcher {
    /// Starts the worker thread. `retry_delays[i]` is the wait before attempt `i + 2`; its length
    /// is the number of retries after the first attempt.
    pub fn start(
        retry_delays: Vec<Duration>,
        observer: Arc<dyn DeliveryObserver>,
    ) -> std::io::Result<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Delivery>();
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            // Stripe treats a redirect as a failed delivery instead of following it.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Stripe/1.0 (+https://stripe.com/docs/webhooks)")
            .build()
            .map_err(std::io::Error::other)?;
        let delays: Arc<[Duration]> = retry_delays.into();
        std::thread::Builder::new()
            .name("stripe-sim-webhooks".into())
            .spawn(move || {
                runtime.block_on(async move {
                    loop {
                        tokio::select! {
                            _ = &mut stop_rx => break,
                            next = rx.recv() => match next {
                                Some(delivery) => {
                                    tokio::spawn(deliver(
                                        client.clone(),
                                        delivery,
                                        delays.clone(),
                                        observer.clone(),
                                    ));
                                }
                                None => break,
                            },
                        }
                    }
                });
                // Dropping the runtime here cancels retries still waiting: the emulator stopped.
            })?;
        Ok(Dispatcher {
            tx,
            shutdown: Arc::new(parking_lot::Mutex::new(Some(stop_tx))),
        })
    }

    pub fn enqueue(&self, delivery: Delivery) {
        // After shutdown the receiver is gone; dropping the delivery is the right outcome.
        let _ = self.tx.send(delivery);
    }

    pub fn is_shut_down(&self) -> bool {
        self.shutdown.lock().is_none()
    }

    /// Stops delivering; attempts in flight or waiting for a retry are abandoned.
    pub fn shutdown(&self) {
        if let Some(stop) = self.shutdown.lock().take() {
            let _ = stop.send(());
        }
    }
}

async fn deliver(
    client: reqwest::Client,
    delivery: Delivery,
    delays: Arc<[Duration]>,
    observer: Arc<dyn DeliveryObserver>,
) {
    let attempts = delays.len() + 1;
    for attempt in 1..=attempts {
        let status = attempt_once(&client, &delivery).await;
        let outcome = match status {
            Some(s) if (200..300).contains(&s) => AttemptOutcome::Delivered { status: s },
            other => AttemptOutcome::Failed {
                status: other,
                will_retry: attempt < attempts,
            },
        };
        observer.attempt_finished(&delivery, attempt, &outcome);
        match outcome {
            AttemptOutcome::Delivered { .. } => return,
            AttemptOutcome::Failed { .. } => {
                if let Some(delay) = delays.get(attempt - 1) {
                    tokio::time::sleep(*delay).await;
                }
            }
        }
    }
}

/// One POST; `None` when no HTTP status came back (refused, reset, timeout).
async fn attempt_once(client: &reqwest::Client, delivery: &Delivery) -> Option<u16> {
    // Wall-clock time, not the emulator's (possibly advanced) clock: receivers check the
    // timestamp against their own clock.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let signature = signing::header(&delivery.secret, now, &delivery.payload);
    let response = client
        .post(&delivery.url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("Cache-Control", "no-cache")
        .header("Accept", "*/*; q=0.5, text/xml")
        .header("Stripe-Signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await;
    match response {
        Ok(r) => {
            let status = r.status().as_u16();
            // Drain the body so the connection can be reused; its content is irrelevant.
            let _ = r.bytes().await;
            Some(status)
        }
        Err(e) => {
            tracing::debug!(url = %delivery.url, error = %e, "webhook delivery attempt failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Answers each request with the next status of `statuses` (the last one repeats) and
    /// forwards (signature header, body) of every request.
    async fn receiver(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<(String, String)>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let status = statuses[n.min(statuses.len() - 1)];
                n += 1;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, len) = loop {
                    let read = sock.read(&mut chunk).await.expect("read");
                    assert!(read > 0, "client closed early");
                    buf.extend_from_slice(&chunk[..read]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (pos + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let read = sock.read(&mut chunk).await.expect("read body");
                    buf.extend_from_slice(&chunk[..read]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let sig = head
                    .lines()
                    .find_map(|l| {
                        l.to_lowercase()
                            .starts_with("stripe-signature:")
                            .then(|| l["stripe-signature:".len()..].trim().to_string())
                    })
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
                let _ = tx.send((sig, body));
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        (url, rx)
    }

    struct Recorder(mpsc::UnboundedSender<(usize, AttemptOutcome)>);
    impl DeliveryObserver for Recorder {
        fn attempt_finished(&self, _: &Delivery, attempt: usize, outcome: &AttemptOutcome) {
            let _ = self.0.send((attempt, outcome.clone()));
        }
    }

    fn delivery(url: String) -> Delivery {
        Delivery {
            event_id: "evt_1".into(),
            endpoint_id: "we_1".into(),
            url,
            secret: "whsec_abc".into(),
            payload: r#"{"id":"evt_1","object":"event"}"#.into(),
        }
    }

    #[tokio::test]
    async fn retries_after_failure_and_signs_every_attempt() {
        let (url, mut requests) = receiver(vec![500, 200]).await;
        let (otx, mut outcomes) = mpsc::unbounded_channel();
        let d = Dispatcher::start(vec![Duration::from_millis(5); 3], Arc::new(Recorder(otx)))
            .expect("start");
        d.enqueue(delivery(url));
        assert_eq!(
            outcomes.recv().await,
            Some((
                1,
                AttemptOutcome::Failed {
                    status: Some(500),
                    will_retry: true
                }
            ))
        );
        assert_eq!(
            outcomes.recv().await,
            Some((2, AttemptOutcome::Delivered { status: 200 }))
        );
        for _ in 0..2 {
            let (sig, body) = requests.recv().await.expect("request");
            assert_eq!(body, r#"{"id":"evt_1","object":"event"}"#);
            let t: i64 = sig
                .strip_prefix("t=")
                .and_then(|s| s.split(',').next())
                .and_then(|s| s.parse().ok())
                .expect("timestamp");
            assert!(
                signing::verify("whsec_abc", &sig, &body, t, 0),
                "bad signature {sig}"
            );
        }
        d.shutdown();
    }

    #[tokio::test]
    async fn gives_up_after_the_last_retry() {
        let (url, _requests) = receiver(vec![503]).await;
        let (otx, mut outcomes) = mpsc::unbounded_channel();
        let d = Dispatcher::start(vec![Duration::from_millis(1); 2], Arc::new(Recorder(otx)))
            .expect("start");
        d.enqueue(delivery(url));
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(outcomes.recv().await.expect("outcome"));
        }
        assert_eq!(
            seen.last(),
            Some(&(
                3,
                AttemptOutcome::Failed {
                    status: Some(503),
                    will_retry: false
                }
            ))
        );
        d.shutdown();
        assert_eq!(
            outcomes.recv().await,
            None,
            "no attempt after the last retry"
        );
    }

    #[tokio::test]
    async fn unreachable_endpoint_counts_as_failure() {
        // Bind then drop: the port is very likely closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let (otx, mut outcomes) = mpsc::unbounded_channel();
        let d = Dispatcher::start(vec![], Arc::new(Recorder(otx))).expect("start");
        d.enqueue(delivery(format!("http://127.0.0.1:{port}/")));
        assert_eq!(
            outcomes.recv().await,
            Some((
                1,
                AttemptOutcome::Failed {
                    status: None,
                    will_retry: false
                }
            ))
        );
        d.shutdown();
    }
}
