//! Events, webhook endpoints and signed deliveries, disputes and early fraud warnings through
//! async-stripe's typed requests; deliveries are verified with async-stripe-webhook's
//! `Webhook::construct_event`, exactly as the marketplace's receiver does.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Ctx, api_error, run, typed};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stripe::{AccountId, ApiErrorsType, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_core::dispute::{
    CloseDispute, ListDispute, RetrieveDispute, UpdateDispute, UpdateDisputeEvidence,
};
use stripe_core::event::{ListEvent, RetrieveEvent};
use stripe_core::payment_intent::CreatePaymentIntent;
use stripe_fraud::radar_early_fraud_warning::{
    ListRadarEarlyFraudWarning, RetrieveRadarEarlyFraudWarning,
};
use stripe_misc::webhook_endpoint::{CreateWebhookEndpoint, CreateWebhookEndpointEnabledEvents};
use stripe_shared::{DisputeStatus, PaymentIntentAllowedPaymentMethodTypes, PaymentIntentStatus};
use stripe_types::Currency;
use stripe_webhook::{EventObject, Webhook, WebhookError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc};

/// One webhook delivery as received on the wire.
#[derive(Debug, Clone)]
struct Delivery {
    signature: String,
    body: String,
    /// What the receiver answered.
    status: u16,
}

impl Delivery {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("delivery body is JSON")
    }
}

/// Every delivery an endpoint received so far, in arrival order.
struct Inbox {
    rx: mpsc::UnboundedReceiver<Delivery>,
    history: Vec<Delivery>,
}

impl Inbox {
    /// Receives until `done(history)` holds; bounded so a missing delivery fails the test
    /// instead of hanging it.
    async fn until(&mut self, what: &str, done: impl Fn(&[Delivery]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(&self.history) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(d)) => self.history.push(d),
                _ => panic!("{what}: not received within 20 s; got {:?}", self.types()),
            }
        }
    }

    /// The first delivery of `event_type`.
    async fn of_type(&mut self, event_type: &str) -> Delivery {
        let is = |d: &Delivery| d.json()["type"] == event_type;
        self.until(event_type, |h| h.iter().any(is)).await;
        self.history
            .iter()
            .find(|d| is(d))
            .cloned()
            .expect("found above")
    }

    fn types(&self) -> Vec<String> {
        self.history
            .iter()
            .map(|d| format!("{} {}", d.json()["type"], d.status))
            .collect()
    }
}

/// A minimal HTTP/1.1 receiver: records each POST and answers with the next status of
/// `statuses` (200 once they run out), so retries can be provoked.
async fn receiver(statuses: Vec<u16>) -> (String, Inbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::unbounded_channel();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            let statuses = statuses.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head_end, content_length) = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                        let len = header(&head, "content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        break (pos + 4, len);
                    }
                };
                while buf.len() < head_end + content_length {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                let status = statuses.lock().await.next().unwrap_or(200);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let signature = header(&head, "stripe-signature").unwrap_or_default();
                let _ = tx.send(Delivery {
                    signature,
                    body,
                    status,
                });
            });
        }
    });
    (
        url,
        Inbox {
            rx,
            history: Vec::new(),
        },
    )
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

fn sign(secret: &str, t: i64, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(format!("{t}.{payload}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn charge_on(
    ctx: &Ctx,
    acct: &AccountId,
    pm: &str,
    idem: &str,
) -> stripe_shared::PaymentIntent {
    typed(
        CreatePaymentIntent::new(4_000, Currency::USD)
            .allowed_payment_method_types(vec![PaymentIntentAllowedPaymentMethodTypes::Card])
            .application_fee_amount(400)
            .payment_method(pm)
            .confirm(true)
            .customize()
            .account_id(acct.clone())
            .request_strategy(RequestStrategy::Idempotent(
                IdempotencyKey::new(idem).expect("key"),
            ))
            .send(&ctx.client)
            .await,
        "charge",
    )
}

#[test]
fn events_are_listed_and_retrieved_per_account() {
    run(|| async {
        let ctx = Ctx::start("events").await;
        let platform_cus = typed(
            CreateCustomer::new().send(&ctx.client).await,
            "platform customer",
        );
        let acct = ctx.onboarded_account().await;
        let pi = charge_on(&ctx, &acct, "pm_card_visa", "evt-order-1").await;
        assert_eq!(pi.status, PaymentIntentStatus::Succeeded);

        let platform_events = typed(
            ListEvent::new()
                .type_("customer.created")
                .send(&ctx.client)
                .await,
            "platform customer.created events",
        );
        assert!(
            platform_events
                .data
                .iter()
                .all(|e| e.type_.as_str() == "customer.created")
        );
        // The typed Event keeps data.object as an untyped value; find ours in the raw list.
        let raw = ctx
            .raw(
                reqwest::Method::GET,
                "/v1/events",
                &[("type", "customer.created")],
                None,
            )
            .await;
        let raw_ev = raw.body["data"]
            .as_array()
            .and_then(|evs| {
                evs.iter()
                    .find(|e| e["data"]["object"]["id"] == platform_cus.id.as_str())
            })
            .expect("customer.created for the platform customer");
        let ev = platform_events
            .data
            .iter()
            .find(|e| raw_ev["id"] == e.id.as_str())
            .expect("typed and raw lists agree");
        assert!(ev.account.is_none(), "platform events carry no account");

        let connected = typed(
            ListEvent::new()
                .types(vec![
                    "payment_intent.succeeded".to_string(),
                    "charge.succeeded".to_string(),
                ])
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "connected events",
        );
        let succeeded = connected
            .data
            .iter()
            .find(|e| e.type_.as_str() == "payment_intent.succeeded")
            .expect("payment_intent.succeeded on the connected account");
        assert_eq!(succeeded.account.as_deref(), Some(acct.as_str()));
        assert!(
            connected
                .data
                .iter()
                .any(|e| e.type_.as_str() == "charge.succeeded")
        );
        assert!(
            connected.data.iter().all(|e| matches!(
                e.type_.as_str(),
                "payment_intent.succeeded" | "charge.succeeded"
            )),
            "the types[] filter holds"
        );
        // Newest first.
        assert!(
            connected
                .data
                .windows(2)
                .all(|w| w[0].created >= w[1].created)
        );

        let one = typed(
            RetrieveEvent::new(succeeded.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve event",
        );
        assert_eq!(one.id, succeeded.id);
        let (_, status) = api_error(
            RetrieveEvent::new(succeeded.id.clone())
                .send(&ctx.client)
                .await,
            "event from the platform",
        );
        assert_eq!(status, 404);

        // The raw event parses with async-stripe-webhook too (its data.object typed by event type),
        // once signed the way Stripe signs deliveries.
        let raw = ctx
            .raw_get(&format!("/v1/events/{}", succeeded.id), Some(acct.as_str()))
            .await;
        assert_eq!(raw.status, 200);
        let payload = raw.body.to_string();
        let secret = "whsec_test_conformance";
        let sig = sign(secret, now(), &payload);
        let parsed = Webhook::construct_event(&payload, &sig, secret).expect("construct_event");
        match parsed.data.object {
            EventObject::PaymentIntentSucceeded(p) => assert_eq!(p.id, pi.id),
            other => panic!("unexpected event object {other:?}"),
        }
        assert!(matches!(
            Webhook::construct_event(&payload, &sig, "whsec_other"),
            Err(WebhookError::BadSignature)
        ));
        ctx.stop().await;
    });
}

#[test]
fn webhook_endpoints_receive_signed_deliveries_and_retries() {
    run(|| async {
        let ctx = Ctx::start("hooks").await;
        // The connect endpoint refuses its first delivery so the emulator has to retry.
        let (connect_url, mut connect_inbox) = receiver(vec![500]).await;
        let (platform_url, mut platform_inbox) = receiver(vec![]).await;

        let connect_ep = typed(
            CreateWebhookEndpoint::new(
                vec![CreateWebhookEndpointEnabledEvents::All],
                connect_url.as_str(),
            )
            .connect(true)
            .send(&ctx.client)
            .await,
            "create connect webhook endpoint",
        );
        let connect_secret = connect_ep
            .secret
            .clone()
            .expect("secret returned on creation");
        assert!(connect_secret.starts_with("whsec_"));
        assert_eq!(connect_ep.url, connect_url);
        assert_eq!(connect_ep.status, "enabled");
        let platform_ep = typed(
            CreateWebhookEndpoint::new(
                vec![
                    CreateWebhookEndpointEnabledEvents::CustomerCreated,
                    CreateWebhookEndpointEnabledEvents::ApplicationFeeCreated,
                ],
                platform_url.as_str(),
            )
            .send(&ctx.client)
            .await,
            "create platform webhook endpoint",
        );
        let platform_secret = platform_ep.secret.clone().expect("secret");
        assert_ne!(platform_secret, connect_secret);
        assert_eq!(
            platform_ep.enabled_events,
            vec!["customer.created", "application_fee.created"]
        );

        let acct = ctx.onboarded_account().await;
        let pi = charge_on(&ctx, &acct, "pm_card_visa", "hook-order-1").await;

        let first = connect_inbox.of_type("payment_intent.succeeded").await;
        let event = Webhook::construct_event(&first.body, &first.signature, &connect_secret)
            .expect("connect delivery verifies with the endpoint secret");
        assert_eq!(event.account.as_deref(), Some(acct.as_str()));
        match &event.data.object {
            EventObject::PaymentIntentSucceeded(p) => assert_eq!(p.id, pi.id),
            other => panic!("unexpected object {other:?}"),
        }
        assert!(Webhook::construct_event(&first.body, &first.signature, &platform_secret).is_err());

        // The application fee lands on the platform, which has its own endpoint.
        let fee = platform_inbox.of_type("application_fee.created").await;
        let fee_event = Webhook::construct_event(&fee.body, &fee.signature, &platform_secret)
            .expect("platform delivery verifies");
        assert!(fee_event.account.is_none());
        assert!(matches!(
            fee_event.data.object,
            EventObject::ApplicationFeeCreated(_)
        ));

        // The first delivery to the connect endpoint got a 500; it is retried with the same
        // event id, and every delivery verifies.
        connect_inbox
            .until("a retry of the rejected delivery", |h| {
                h.first().is_some_and(|rejected| {
                    h.iter()
                        .skip(1)
                        .any(|d| d.json()["id"] == rejected.json()["id"])
                })
            })
            .await;
        assert_eq!(connect_inbox.history[0].status, 500);
        for d in &connect_inbox.history {
            Webhook::construct_event(&d.body, &d.signature, &connect_secret)
                .expect("every delivery verifies");
        }
        ctx.stop().await;
    });
}

#[test]
fn disputes_retrieve_update_evidence_and_close() {
    run(|| async {
        let ctx = Ctx::start("disputes").await;
        let acct = ctx.onboarded_account().await;
        let pi = charge_on(&ctx, &acct, "pm_card_createDispute", "dispute-order-1").await;
        assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
        let charge = pi
            .latest_charge
            .as_ref()
            .expect("charge")
            .id()
            .as_str()
            .to_string();

        // The dispute follows the charge; give the emulator a bounded number of polls.
        let mut dispute = None;
        for _ in 0..50 {
            let list = typed(
                ListDispute::new()
                    .charge(charge.as_str())
                    .customize()
                    .account_id(acct.clone())
                    .send(&ctx.client)
                    .await,
                "list disputes",
            );
            if let Some(d) = list.data.into_iter().next() {
                dispute = Some(d);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let dispute = dispute.expect("pm_card_createDispute produces a dispute");
        assert_eq!(dispute.amount, 4_000);
        assert_eq!(dispute.status, DisputeStatus::NeedsResponse);
        assert_eq!(dispute.charge.id().as_str(), charge);

        let fetched = typed(
            RetrieveDispute::new(dispute.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve dispute",
        );
        assert_eq!(fetched.id, dispute.id);
        let _: stripe_shared::Dispute = ctx
            .assert_shape(&format!("/v1/disputes/{}", dispute.id), Some(acct.as_str()))
            .await;

        let mut evidence = UpdateDisputeEvidence::new();
        evidence.product_description = Some("A hand-made mug".into());
        evidence.uncategorized_text = Some("Delivered with tracking".into());
        let updated = typed(
            UpdateDispute::new(dispute.id.clone())
                .evidence(evidence)
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "update evidence",
        );
        assert_eq!(
            updated.evidence.product_description.as_deref(),
            Some("A hand-made mug")
        );
        assert_eq!(
            updated.status,
            DisputeStatus::NeedsResponse,
            "evidence saved, not submitted"
        );

        let closed = typed(
            CloseDispute::new(dispute.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "close dispute",
        );
        assert_eq!(closed.status, DisputeStatus::Lost);
        let (err, status) = api_error(
            UpdateDispute::new(dispute.id.clone())
                .submit(true)
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "update a closed dispute",
        );
        assert_eq!(status, 400);
        assert_eq!(err.type_, ApiErrorsType::InvalidRequestError);

        let warned = charge_on(&ctx, &acct, "pm_card_visa", "efw-order-1").await;
        let warned_charge = warned
            .latest_charge
            .as_ref()
            .expect("charge")
            .id()
            .as_str()
            .to_string();
        let helper = ctx
            .raw_post(
                &format!("/v1/test_helpers/charges/{warned_charge}/early_fraud_warning"),
                &[("fraud_type", "made_with_stolen_card")],
                Some(acct.as_str()),
            )
            .await;
        assert_eq!(helper.status, 200, "{}", helper.body);
        let efw = typed(
            ListRadarEarlyFraudWarning::new()
                .charge(warned_charge.as_str())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "list early fraud warnings",
        );
        assert_eq!(efw.data.len(), 1);
        assert!(efw.url.contains("early_fraud_warnings"), "{}", efw.url);
        let warning = &efw.data[0];
        assert_eq!(warning.fraud_type, "made_with_stolen_card");
        assert_eq!(warning.charge.id().as_str(), warned_charge);
        let one = typed(
            RetrieveRadarEarlyFraudWarning::new(warning.id.clone())
                .customize()
                .account_id(acct.clone())
                .send(&ctx.client)
                .await,
            "retrieve early fraud warning",
        );
        assert_eq!(one.id, warning.id);
        ctx.stop().await;
    });
}

/// Every event the marketplace's flows produce, on the platform and on a connected account,
/// parses with async-stripe-webhook into its typed object once signed like a delivery.
#[test]
fn every_event_of_the_flows_parses_with_async_stripe_webhook() {
    run(|| async {
        let ctx = Ctx::start("allevents").await;
        let acct = ctx.onboarded_account().await;
        let a = Some(acct.as_str());
        let post = |path: &'static str,
                    form: Vec<(&'static str, String)>,
                    account: Option<&str>| {
            let account = account.map(str::to_string);
            let ctx = &ctx;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let r = ctx.raw_post(path, &form, account.as_deref()).await;
                assert_eq!(r.status, 200, "{path}: {}", r.body);
                r.body
            }
        };
        let s = |v: &str| v.to_string();

        // Platform: customer lifecycle and a saved card.
        let cus = post("/v1/customers", vec![("email", s("p@example.com"))], None).await;
        let cus_id = cus["id"].as_str().unwrap_or_default().to_string();
        post(
            "/v1/setup_intents",
            vec![
                ("customer", cus_id.clone()),
                ("payment_method", s("pm_card_visa")),
                ("confirm", s("true")),
            ],
            None,
        )
        .await;

        // Connected account: successful charge with fee, partial refund with fee refund.
        let charge = |pm: &'static str, extra: Vec<(&'static str, String)>| {
            let mut form = vec![
                ("amount", s("5000")),
                ("currency", s("usd")),
                ("payment_method_types[]", s("card")),
                ("payment_method", s(pm)),
                ("application_fee_amount", s("500")),
                ("confirm", s("true")),
                ("return_url", s("http://localhost/return")),
            ];
            form.extend(extra);
            form
        };
        let paid = post(
            "/v1/payment_intents",
            charge("pm_card_bypassPending", vec![]),
            a,
        )
        .await;
        let paid_id = paid["id"].as_str().unwrap_or_default().to_string();
        post(
            "/v1/refunds",
            vec![
                ("payment_intent", paid_id),
                ("amount", s("1000")),
                ("refund_application_fee", s("true")),
            ],
            a,
        )
        .await;
        // A payout that gets paid, before the dispute withdraws funds.
        let payout = post(
            "/v1/payouts",
            vec![("amount", s("500")), ("currency", s("usd"))],
            a,
        )
        .await;
        let paid_out = ctx
            .raw_post(
                &format!(
                    "/v1/test_helpers/payouts/{}/pay",
                    payout["id"].as_str().unwrap_or_default()
                ),
                &[],
                a,
            )
            .await;
        assert_eq!(paid_out.status, 200, "{}", paid_out.body);

        // Manual capture, cancel, 3-D Secure pending, dispute, early fraud warning.
        let held = post(
            "/v1/payment_intents",
            charge("pm_card_visa", vec![("capture_method", s("manual"))]),
            a,
        )
        .await;
        post_path_capture(&ctx, held["id"].as_str().unwrap_or_default(), &acct).await;
        let held2 = post(
            "/v1/payment_intents",
            charge("pm_card_visa", vec![("capture_method", s("manual"))]),
            a,
        )
        .await;
        let cancel = ctx
            .raw_post(
                &format!(
                    "/v1/payment_intents/{}/cancel",
                    held2["id"].as_str().unwrap_or_default()
                ),
                &[],
                a,
            )
            .await;
        assert_eq!(cancel.status, 200, "{}", cancel.body);
        post(
            "/v1/payment_intents",
            charge("pm_card_authenticationRequired", vec![]),
            a,
        )
        .await;
        let disputed = post(
            "/v1/payment_intents",
            charge("pm_card_createDispute", vec![]),
            a,
        )
        .await;
        let efw = ctx
            .raw_post(
                &format!(
                    "/v1/test_helpers/charges/{}/early_fraud_warning",
                    disputed["latest_charge"].as_str().unwrap_or_default()
                ),
                &[],
                a,
            )
            .await;
        assert_eq!(efw.status, 200, "{}", efw.body);
        // A declined attempt.
        let declined = ctx
            .raw_post(
                "/v1/payment_intents",
                &[
                    ("amount", "1000"),
                    ("currency", "usd"),
                    ("payment_method_types[]", "card"),
                    ("payment_method", "pm_card_chargeDeclined"),
                    ("confirm", "true"),
                ],
                a,
            )
            .await;
        assert_eq!(declined.status, 402, "{}", declined.body);
        let mut types = std::collections::BTreeSet::new();
        let secret = "whsec_every_event";
        for account in [None, a] {
            let mut starting_after: Option<String> = None;
            let mut seen = std::collections::HashSet::new();
            loop {
                let mut q = vec![("limit", "100".to_string())];
                if let Some(cursor) = &starting_after {
                    q.push(("starting_after", cursor.clone()));
                }
                let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let page = ctx
                    .raw(reqwest::Method::GET, "/v1/events", &q, account)
                    .await;
                assert_eq!(page.status, 200, "{}", page.body);
                let events = page.body["data"].as_array().cloned().unwrap_or_default();
                for ev in &events {
                    let id = ev["id"].as_str().unwrap_or_default().to_string();
                    assert!(
                        seen.insert(id.clone()),
                        "pagination repeats {id} on {account:?} (after {starting_after:?}; page of {} has_more={})",
                        events.len(),
                        page.body["has_more"]
                    );
                }
                for ev in &events {
                    let payload = ev.to_string();
                    let sig = sign(secret, now(), &payload);
                    let parsed =
                        Webhook::construct_event(&payload, &sig, secret).unwrap_or_else(|e| {
                            panic!("{} does not parse: {e}\n{payload}", ev["type"])
                        });
                    assert!(
                        !matches!(parsed.data.object, EventObject::Unknown(_)),
                        "{} parsed as Unknown",
                        ev["type"]
                    );
                    assert_eq!(parsed.account.as_deref(), account, "{}", ev["type"]);
                    types.insert(ev["type"].as_str().unwrap_or_default().to_string());
                }
                if page.body["has_more"] != true {
                    break;
                }
                starting_after = events
                    .last()
                    .and_then(|e| e["id"].as_str())
                    .map(str::to_string);
            }
        }
        for expected in [
            "account.updated",
            "customer.created",
            "setup_intent.succeeded",
            "payment_method.attached",
            "payment_intent.created",
            "payment_intent.succeeded",
            "payment_intent.amount_capturable_updated",
            "payment_intent.canceled",
            "payment_intent.requires_action",
            "payment_intent.payment_failed",
            "charge.succeeded",
            "charge.captured",
            "charge.refunded",
            "charge.failed",
            "charge.dispute.created",
            "refund.created",
            "application_fee.created",
            "application_fee.refunded",
            "radar.early_fraud_warning.created",
            "payout.created",
            "payout.paid",
        ] {
            assert!(
                types.contains(expected),
                "no {expected} event; got {types:?}"
            );
        }
        ctx.stop().await;
    });
}

async fn post_path_capture(ctx: &Ctx, pi: &str, acct: &AccountId) {
    let r = ctx
        .raw_post(
            &format!("/v1/payment_intents/{pi}/capture"),
            &[("amount_to_capture", "2000")],
            Some(acct.as_str()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
