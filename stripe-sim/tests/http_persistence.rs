//! `--data FILE`: every object, id, secret and idempotency record survives a restart.

mod http_support;

use http_support::*;
use stripe_sim::SimConfig;

fn with_file(path: &std::path::Path) -> SimConfig {
    SimConfig {
        data_file: Some(path.to_path_buf()),
        ..fast_config()
    }
}

#[test]
fn restart_keeps_objects_ids_and_idempotency() {
    run(|| async {
        let path = temp_data_file("restart");
        let sim = start_sim(with_file(&path)).await;
        let mut api = Api::new(&sim.base_url);
        let acct = api.onboarded_account().await;
        let Sent::Answered(created) = api
            .send(
                reqwest::Method::POST,
                "/v1/customers",
                &[("email", "keep@example.com")],
                Some(&acct),
                Some("buyer-1:customer"),
            )
            .await
        else {
            panic!("create customer");
        };
        let cus = created.ok("customer");
        let cus_id = cus["id"].as_str().expect("id").to_string();
        let rx = Receiver::start(&[]);
        let (_, secret) = api
            .webhook_endpoint(&rx.url, &["customer.updated"], true)
            .await;
        sim.stop().await;
        assert!(path.exists(), "stop writes the snapshot");

        let sim = start_sim(with_file(&path)).await;
        api.base = sim.base_url.clone();
        let again = api
            .get_on(&acct, &format!("/v1/customers/{cus_id}"), &[])
            .await
            .ok("customer after restart");
        assert_eq!(again, cus, "the object is unchanged");
        let Sent::Answered(replay) = api
            .send(
                reqwest::Method::POST,
                "/v1/customers",
                &[("email", "keep@example.com")],
                Some(&acct),
                Some("buyer-1:customer"),
            )
            .await
        else {
            panic!("replay");
        };
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        assert_eq!(replay.body["id"], cus_id.as_str());
        let listed = api.get_on(&acct, "/v1/customers", &[]).await.ok("list");
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));

        // The endpoint and its secret survived too: deliveries still verify.
        api.post_on(
            &acct,
            &format!("/v1/customers/{cus_id}"),
            &[("name", "After restart")],
        )
        .await
        .ok("update");
        let got = rx.wait_for_type("customer.updated").await;
        stripe_webhook::Webhook::construct_event(&got.body, &got.signature, &secret)
            .expect("verifies with the old secret");
        rx.stop().await;
        sim.stop().await;
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    });
}

#[test]
fn changes_are_saved_without_waiting_for_stop() {
    run(|| async {
        let path = temp_data_file("debounce");
        let sim = start_sim(with_file(&path)).await;
        let api = Api::new(&sim.base_url);
        let cus = api
            .post("/v1/customers", &[("name", "Saved early")])
            .await
            .ok("customer");
        let id = cus["id"].as_str().expect("id").to_string();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let saved = std::fs::read_to_string(&path).unwrap_or_default();
            if saved.contains(&id) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "snapshot never contained {id}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let dir = path.parent().expect("dir");
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n != "state.json")
            .collect();
        assert!(
            leftovers.is_empty(),
            "temp files left behind: {leftovers:?}"
        );
        sim.stop().await;
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn a_corrupt_snapshot_refuses_to_start() {
    run(|| async {
        let path = temp_data_file("corrupt");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, b"{ not json").expect("write");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let result = stripe_sim::start(listener, with_file(&path)).await;
        assert!(
            result.is_err(),
            "starting over a corrupt snapshot would silently lose state"
        );
        let kept = std::fs::read(&path).expect("still there");
        assert_eq!(
            kept, b"{ not json",
            "the file is left for a human to inspect"
        );
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    });
}

#[test]
fn deliveries_still_being_retried_resume_after_a_restart() {
    run(|| async {
        let path = temp_data_file("resume");
        // A retry far in the future: the restart happens while the delivery waits for it.
        let slow = SimConfig {
            webhook_retry_delays: vec![std::time::Duration::from_secs(3600)],
            ..with_file(&path)
        };
        let sim = start_sim(slow).await;
        let mut api = Api::new(&sim.base_url);
        let rx = Receiver::start(&[500]);
        let (_, secret) = api
            .webhook_endpoint(&rx.url, &["customer.created"], false)
            .await;
        api.post("/v1/customers", &[("name", "Resumed")])
            .await
            .ok("customer");
        let failed = rx.wait_for_type("customer.created").await;
        let id = failed.json["id"].as_str().expect("event id").to_string();
        sim.stop().await;

        let sim = start_sim(with_file(&path)).await;
        api.base = sim.base_url.clone();
        let ev = api
            .wait_for(None, &format!("/v1/events/{id}"), |e| {
                e["pending_webhooks"] == 0
            })
            .await;
        assert_eq!(ev["id"], id.as_str());
        let attempts: Vec<_> = rx
            .received()
            .into_iter()
            .filter(|r| r.json["id"] == id.as_str())
            .collect();
        assert_eq!(
            attempts.len(),
            2,
            "the failed attempt, then the resumed one"
        );
        stripe_webhook::Webhook::construct_event(
            &attempts[1].body,
            &attempts[1].signature,
            &secret,
        )
        .expect("the resumed delivery is signed");
        rx.stop().await;
        sim.stop().await;
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    });
}

/// Reads the snapshot file until `pred` holds for its JSON.
async fn saved_state(path: &std::path::Path, pred: impl Fn(&serde_json::Value) -> bool) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(bytes) = std::fs::read(path)
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && pred(&v)
        {
            return bytes;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the snapshot never reached the expected state"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[test]
fn saves_between_restarts_carry_updates_and_deletions() {
    run(|| async {
        let path = temp_data_file("incremental");
        let sim = start_sim(with_file(&path)).await;
        let mut api = Api::new(&sim.base_url);
        let keep = api
            .post("/v1/customers", &[("name", "Before")])
            .await
            .ok("customer");
        let drop = api
            .post(
                "/v1/webhook_endpoints",
                &[
                    ("url", "http://127.0.0.1:9/doomed"),
                    ("enabled_events[]", "*"),
                ],
            )
            .await
            .ok("endpoint");
        let keep_id = keep["id"].as_str().expect("id").to_string();
        let drop_id = drop["id"].as_str().expect("id").to_string();
        saved_state(&path, |v| v["objects"].get(&drop_id).is_some()).await;

        api.post(&format!("/v1/customers/{keep_id}"), &[("name", "After")])
            .await
            .ok("update");
        api.delete(&format!("/v1/webhook_endpoints/{drop_id}"))
            .await
            .ok("delete");
        let bytes = saved_state(&path, |v| {
            v["objects"][&keep_id]["json"]["name"] == "After"
                && v["objects"].get(&drop_id).is_none()
        })
        .await;

        // A crash: the emulator is not stopped; a new one starts from what was saved so far.
        let crashed = temp_data_file("incremental-copy");
        std::fs::create_dir_all(crashed.parent().expect("dir")).expect("mkdir");
        std::fs::write(&crashed, &bytes).expect("copy");
        let second = start_sim(with_file(&crashed)).await;
        api.base = second.base_url.clone();
        let kept = api
            .get(&format!("/v1/customers/{keep_id}"), &[])
            .await
            .ok("kept");
        assert_eq!(kept["name"], "After");
        let gone = api
            .get(&format!("/v1/webhook_endpoints/{drop_id}"), &[])
            .await;
        assert_eq!(gone.status, 404, "{}", gone.body);
        second.stop().await;
        sim.stop().await;
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
        let _ = std::fs::remove_dir_all(crashed.parent().expect("dir"));
    });
}
