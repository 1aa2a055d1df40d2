//! From recorded events to signed HTTP deliveries.
//!
//! `events::emit` queues each new event id in `State::pending_events`. After a request has
//! released the store, [`take_deliveries`] turns those ids into one [`Delivery`] per matching
//! endpoint (setting the event's `pending_webhooks`), and the [`Dispatcher`] sends them; each
//! successful delivery counts `pending_webhooks` down again through [`PendingCounter`].

pub mod dispatcher;
pub mod event_types;
pub mod signing;

use std::sync::Arc;

use serde_json::{Value, json};

pub use dispatcher::{AttemptOutcome, Delivery, DeliveryObserver, Dispatcher};

use crate::resources::webhook_endpoints;
use crate::store::{Obj, State};

fn endpoint_accepts(ep: &Obj, event_type: &str) -> bool {
    ep.json["status"] == "enabled"
        && ep.json["enabled_events"]
            .as_array()
            .is_some_and(|evs| evs.iter().any(|e| e == "*" || e == event_type))
}

fn is_connect(ep: &Obj) -> bool {
    ep.internal
        .get("connect")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The endpoints an event on `account` goes to: the account's own non-Connect endpoints, and,
/// for a connected account, its platform's `connect: true` endpoints.
fn matching_endpoints<'a>(st: &'a State, account: &str, event_type: &str) -> Vec<&'a Obj> {
    let own = st
        .ids_of(account, webhook_endpoints::KIND)
        .iter()
        .filter_map(|id| st.get(id))
        .filter(|ep| !is_connect(ep));
    let mut out: Vec<&Obj> = own.collect();
    if st.is_connected_account(account)
        && let Some(platform) = st.platform_of(account)
    {
        out.extend(
            st.ids_of(&platform, webhook_endpoints::KIND)
                .iter()
                .filter_map(|id| st.get(id))
                .filter(|ep| is_connect(ep)),
        );
    }
    out.retain(|ep| endpoint_accepts(ep, event_type));
    out
}

/// Drains the queue of new events into deliveries and sets each event's `pending_webhooks`.
pub fn take_deliveries(st: &mut State) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    while let Some(event_id) = st.pending_events.pop_front() {
        let Some(event) = st.get(&event_id) else {
            continue;
        };
        let account = event.owner.clone();
        let event_type = event.json["type"].as_str().unwrap_or_default().to_string();
        let targets: Vec<(String, String, String)> = matching_endpoints(st, &account, &event_type)
            .into_iter()
            .map(|ep| {
                let secret = ep
                    .internal
                    .get("secret")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                (
                    ep.id.clone(),
                    ep.json["url"].as_str().unwrap_or_default().to_string(),
                    secret.to_string(),
                )
            })
            .collect();
        let Some(event) = st.get_mut(&event_id) else {
            continue;
        };
        event.json["pending_webhooks"] = json!(targets.len());
        let ids: Vec<&str> = targets.iter().map(|t| t.0.as_str()).collect();
        event.internal.insert(RETRYING.into(), json!(ids));
        let payload = match serde_json::to_string_pretty(&event.json) {
            Ok(p) => p,
            Err(_) => continue,
        };
        for (endpoint_id, url, secret) in targets {
            deliveries.push(Delivery {
                event_id: event_id.clone(),
                endpoint_id,
                url,
                secret,
                payload: payload.clone(),
            });
        }
    }
    deliveries
}

/// Private field of an event: endpoints it is still being delivered to, so that a restarted
/// emulator resumes those deliveries.
const RETRYING: &str = "webhook_retrying";

fn stop_retrying(st: &mut State, event_id: &str, endpoint_id: &str) -> bool {
    let Some(event) = st.get_mut(event_id) else {
        return false;
    };
    let Some(Value::Array(ids)) = event.internal.get_mut(RETRYING) else {
        return false;
    };
    let before = ids.len();
    ids.retain(|id| id != endpoint_id);
    ids.len() < before
}

/// Counts `pending_webhooks` down on a successful delivery.
pub fn mark_delivered(st: &mut State, event_id: &str, endpoint_id: &str) {
    if !stop_retrying(st, event_id, endpoint_id) {
        // Already counted (a resumed delivery raced the original).
        return;
    }
    if let Some(event) = st.get_mut(event_id) {
        let left = event.json["pending_webhooks"].as_i64().unwrap_or(0);
        event.json["pending_webhooks"] = json!((left - 1).max(0));
    }
}

/// Deliveries that were still being retried when the emulator stopped, to resume at start.
/// Endpoints deleted or disabled since then are dropped.
pub fn resume_deliveries(st: &State) -> Vec<Delivery> {
    let mut out = Vec::new();
    for event in st.scan("event") {
        let Some(Value::Array(ids)) = event.internal.get(RETRYING) else {
            continue;
        };
        if ids.is_empty() {
            continue;
        }
        let Ok(payload) = serde_json::to_string_pretty(&event.json) else {
            continue;
        };
        for ep in ids
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|id| st.get(id))
        {
            if ep.kind != webhook_endpoints::KIND || ep.json["status"] != "enabled" {
                continue;
            }
            out.push(Delivery {
                event_id: event.id.clone(),
                endpoint_id: ep.id.clone(),
                url: ep.json["url"].as_str().unwrap_or_default().to_string(),
                secret: ep
                    .internal
                    .get("secret")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                payload: payload.clone(),
            });
        }
    }
    out
}

/// Applies delivery outcomes to the store. `with_state` runs a closure with the store locked
/// and the snapshot marked dirty; it is how this module stays independent of the server's
/// locking.
pub struct PendingCounter<F>
where
    F: Fn(&mut dyn FnMut(&mut State)) + Send + Sync + 'static,
{
    pub with_state: F,
}

impl<F> DeliveryObserver for PendingCounter<F>
where
    F: Fn(&mut dyn FnMut(&mut State)) + Send + Sync + 'static,
{
    fn attempt_finished(&self, delivery: &Delivery, attempt: usize, outcome: &AttemptOutcome) {
        match outcome {
            AttemptOutcome::Delivered { .. } => {
                (self.with_state)(&mut |st: &mut State| {
                    mark_delivered(st, &delivery.event_id, &delivery.endpoint_id)
                });
            }
            AttemptOutcome::Failed { status, will_retry } => {
                if !will_retry {
                    // Given up, as Stripe does after its last retry: still pending, not resumed.
                    (self.with_state)(&mut |st: &mut State| {
                        stop_retrying(st, &delivery.event_id, &delivery.endpoint_id);
                    });
                }
                tracing::debug!(
                    event = %delivery.event_id,
                    endpoint = %delivery.endpoint_id,
                    attempt,
                    ?status,
                    will_retry,
                    "webhook delivery failed"
                );
            }
        }
    }
}

/// Convenience for the server: a dispatcher whose observer updates the shared store.
pub fn start_dispatcher<F>(
    retry_delays: Vec<std::time::Duration>,
    with_state: F,
) -> std::io::Result<Dispatcher>
where
    F: Fn(&mut dyn FnMut(&mut State)) + Send + Sync + 'static,
{
    Dispatcher::start(retry_delays, Arc::new(PendingCounter { with_state }))
}

/// Starts the delivery worker of a running emulator. The observer holds the emulator weakly so
/// a stopped emulator is not kept alive by deliveries still retrying.
pub fn attach(sim: &crate::server::SharedSim) -> std::io::Result<()> {
    let weak = Arc::downgrade(sim);
    let dispatcher = start_dispatcher(
        sim.config.webhook_retry_delays.clone(),
        move |apply: &mut dyn FnMut(&mut State)| {
            if let Some(sim) = weak.upgrade() {
                apply(&mut sim.state.lock());
                crate::persistence::mark_dirty(&sim);
            }
        },
    )?;
    let resumed = resume_deliveries(&sim.state.lock());
    for d in resumed {
        dispatcher.enqueue(d);
    }
    // A second attach (not done by `start`) keeps the first worker.
    let _ = sim.dispatcher.set(dispatcher);
    tokio::spawn(forward_background_events(Arc::downgrade(sim)));
    Ok(())
}

/// Events recorded outside a request (clock-driven work) are announced on `events_notify`;
/// the periodic wake-up also covers any that were not. Ends soon after the emulator stops.
async fn forward_background_events(weak: std::sync::Weak<crate::server::Sim>) {
    loop {
        let Some(sim) = weak.upgrade() else { return };
        if sim.dispatcher.get().is_none_or(Dispatcher::is_shut_down) {
            return;
        }
        tokio::select! {
            _ = sim.events_notify.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
        let mut st = sim.state.lock();
        dispatch_pending(&sim, &mut st);
    }
}

/// Hands the events recorded by a request to the delivery worker. Runs with the store locked,
/// so `pending_webhooks` is already set when the client sees the response.
pub fn dispatch_pending(sim: &crate::server::Sim, st: &mut State) {
    if st.pending_events.is_empty() {
        return;
    }
    let deliveries = take_deliveries(st);
    if let Some(d) = sim.dispatcher.get() {
        for delivery in deliveries {
            d.enqueue(delivery);
        }
    }
}

/// Stops deliveries (retries waiting are abandoned, as the emulator is going away).
pub fn detach(sim: &crate::server::Sim) {
    if let Some(d) = sim.dispatcher.get() {
        d.shutdown();
    }
}
