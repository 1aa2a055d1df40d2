//! The admin panel: who may open it, the audit log every action writes, and the
//! seller actions (fee override, suspend, restore).

mod common;

use common::admin::{
    audit_count, insert_seller, open_shop, sellable_products, seller_columns, user_id,
};
use common::{TestApp, csrf_from, location, spawn_app};
use marketplace::db::audit::{self, NewEntry};
use marketplace::db::seller_admin::{self, Actor, Outcome};
use marketplace::db::seller_fees;
use marketplace::domain::audit::AuditAction;
use marketplace::domain::seller_fee::FeeOverride;
use marketplace::domain::{PlatformFee, Role, UserId};
use reqwest::StatusCode;
use serde_json::json;

enum Method {
    Get,
    Post(&'static [(&'static str, &'static str)]),
}

/// Every admin route, with a seller id filled in. `every_admin_route_is_in_the_matrix`
/// keeps this list in step with the router.
fn admin_routes(seller: &UserId) -> Vec<(String, Method)> {
    let s = seller.as_str();
    vec![
        ("/admin".into(), Method::Get),
        ("/admin/sellers".into(), Method::Get),
        ("/admin/sellers?state=active".into(), Method::Get),
        (format!("/admin/sellers/{s}"), Method::Get),
        ("/admin/audit".into(), Method::Get),
        ("/admin/mail".into(), Method::Get),
        ("/admin?days=7".into(), Method::Get),
        ("/admin/events".into(), Method::Get),
        ("/admin/ledger".into(), Method::Get),
        ("/admin/fees".into(), Method::Get),
        ("/admin/fees.csv".into(), Method::Get),
        (
            format!("/admin/sellers/{s}/fee"),
            Method::Post(&[("fee_bps", "250"), ("fee_fixed_minor", "10")]),
        ),
        (
            format!("/admin/sellers/{s}/suspend"),
            Method::Post(&[("reason", "Counterfeit goods reported")]),
        ),
        (
            format!("/admin/sellers/{s}/restore"),
            Method::Post(&[("reason", "Seller proved the goods are genuine")]),
        ),
    ]
}

const ROUTE_PATTERNS: &[&str] = &[
    "/admin",
    "/admin/sellers",
    "/admin/sellers/{id}",
    "/admin/audit",
    // One message's page is opened by tests/email.rs with a real outbox file name.
    "/admin/mail",
    "/admin/mail/{name}",
    "/admin/sellers/{id}/fee",
    "/admin/sellers/{id}/suspend",
    "/admin/sellers/{id}/restore",
    // Events, reconciliation runs and replays need real ids: tests/admin_ops.rs covers them.
    "/admin/events",
    "/admin/events/{id}",
    "/admin/events/{id}/replay",
    "/admin/reconcile",
    "/admin/reconcile/{id}",
    "/admin/ledger",
    "/admin/fees",
    "/admin/fees.csv",
    // Opened with a real order by tests/refunds.rs and tests/disputes.rs.
    "/admin/orders",
    "/admin/orders/{id}",
    "/admin/orders/{id}/refunds",
    "/admin/disputes",
];

#[test]
fn every_admin_route_is_in_the_matrix() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/admin");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in text.split(".route(\"").skip(1) {
            found.push(part[..part.find('"').unwrap()].to_string());
        }
    }
    found.sort();
    let mut listed: Vec<String> = ROUTE_PATTERNS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "add new admin routes to admin_routes()");
}

async fn request(app: &TestApp, path: &str, method: &Method) -> reqwest::Response {
    match method {
        Method::Get => app.get(path).await,
        Method::Post(fields) => app.post_form(path, fields).await,
    }
}

#[tokio::test]
async fn only_admins_open_admin_routes_and_every_post_needs_csrf() {
    let app = spawn_app().await;
    let target = app.login_as(Role::Seller).await;
    let seller = user_id(&app.db, &target.email).await;
    let routes = admin_routes(&seller);

    // The seller themself: 403 everywhere, nothing changes.
    for (path, method) in &routes {
        let res = request(&app, path, method).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "seller {path}");
    }
    app.logout().await;

    app.login_as(Role::Buyer).await;
    for (path, method) in &routes {
        let res = request(&app, path, method).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "buyer {path}");
    }
    app.logout().await;

    for (path, method) in &routes {
        let res = request(&app, path, method).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "anonymous {path}");
        assert_eq!(location(&res), "/login", "anonymous {path}");
    }
    assert_eq!(audit_count(&app.db).await, 0);
    assert_eq!(seller_columns(&app.db, &seller).await, (None, None, None));

    app.login_as(Role::Admin).await;
    // Without a token, or with a wrong one, no POST does anything.
    for (path, method) in &routes {
        if let Method::Post(fields) = method {
            let res = app.post_raw(path, fields).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "no token {path}");
            let mut wrong = fields.to_vec();
            wrong.push(("csrf_token", "not-the-token"));
            let res = app.post_raw(path, &wrong).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "wrong token {path}");
        }
    }
    assert_eq!(audit_count(&app.db).await, 0);
    assert_eq!(seller_columns(&app.db, &seller).await, (None, None, None));

    // The admin: pages open, each action redirects and writes exactly one entry.
    for (path, method) in &routes {
        let before = audit_count(&app.db).await;
        let res = request(&app, path, method).await;
        match method {
            Method::Get => {
                assert_eq!(res.status(), StatusCode::OK, "admin {path}");
                assert_eq!(
                    audit_count(&app.db).await,
                    before,
                    "GET {path} logs nothing"
                );
            }
            Method::Post(_) => {
                assert_eq!(res.status(), StatusCode::SEE_OTHER, "admin {path}");
                assert_eq!(location(&res), format!("/admin/sellers/{seller}"));
                assert_eq!(
                    audit_count(&app.db).await,
                    before + 1,
                    "one entry for {path}"
                );
            }
        }
    }
    assert_eq!(
        seller_columns(&app.db, &seller).await,
        (None, Some(250), Some(10))
    );
}

#[tokio::test]
async fn unknown_sellers_and_bad_filters_are_clear_4xx() {
    let app = spawn_app().await;
    app.login_as(Role::Admin).await;
    for path in [
        "/admin/sellers/usr_doesnotexist",
        "/admin/sellers/not-an-id",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let res = app
        .post_form(
            "/admin/sellers/usr_doesnotexist/suspend",
            &[("reason", "x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for path in [
        "/admin/sellers?state=bogus",
        "/admin/sellers?after=garbage",
        "/admin/audit?action=seller.delete",
        "/admin/audit?before=12.usr_abc",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    assert_eq!(audit_count(&app.db).await, 0);
}

#[tokio::test]
async fn suspending_a_seller_takes_their_products_off_sale_until_restored() {
    let app = spawn_app().await;
    let seller = insert_seller(&app.db, "Pottery Barn Owl", "active", 1_800_000_000).await;
    let products = open_shop(&app.db, &seller, 3).await;
    let other = insert_seller(&app.db, "Someone Else", "active", 1_800_000_001).await;
    let others = open_shop(&app.db, &other, 1).await;
    assert_eq!(sellable_products(&app.db, &seller).await.len(), 3);
    let admin = app.login_as(Role::Admin).await;
    let page = format!("/admin/sellers/{seller}");

    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("3 for sale now"), "{html}");

    // A reason is required: the form comes back with the error, nothing happens.
    let res = app
        .post_from_page(&page, &format!("{page}/suspend"), &[("reason", "   ")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Write down why"), "{html}");
    assert_eq!(sellable_products(&app.db, &seller).await.len(), 3);
    assert_eq!(audit_count(&app.db).await, 0);

    let res = app
        .post_from_page(
            &page,
            &format!("{page}/suspend"),
            &[("reason", "Chargebacks <b>piling up</b>")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(sellable_products(&app.db, &seller).await.is_empty());
    assert_eq!(
        sellable_products(&app.db, &other).await,
        vec![others[0].to_string()],
        "other sellers are untouched"
    );
    let entries = audit::page(&app.db, None, None, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.action, AuditAction::SellerSuspend);
    assert_eq!(e.actor_email, admin.email);
    assert_eq!(e.subject_id, seller.as_str());
    assert_eq!(e.reason.as_deref(), Some("Chargebacks <b>piling up</b>"));
    let suspended_at = seller_columns(&app.db, &seller).await.0.expect("suspended");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&e.before_json).unwrap(),
        json!({ "suspended_at": null })
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&e.after_json).unwrap(),
        json!({ "suspended_at": suspended_at })
    );

    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("is suspended"), "flash shown");
    assert!(html.contains("0 for sale now"));
    assert!(
        html.contains("Chargebacks &#60;b&#62;piling up&#60;/b&#62;")
            || html.contains("Chargebacks &lt;b&gt;")
    );
    assert!(!html.contains("<b>piling up</b>"), "the reason is escaped");
    assert!(html.contains("Restore seller"));

    // Suspending again changes nothing and logs nothing.
    let res = app
        .post_from_page(&page, &format!("{page}/suspend"), &[("reason", "again")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&app.db).await, 1);

    let res = app
        .post_from_page(
            &page,
            &format!("{page}/restore"),
            &[("reason", "Resolved with the bank")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut back = sellable_products(&app.db, &seller).await;
    back.sort();
    let mut all: Vec<String> = products.iter().map(|p| p.to_string()).collect();
    all.sort();
    assert_eq!(back, all);
    let entries = audit::page(&app.db, None, None, 10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].action, AuditAction::SellerRestore);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&entries[0].before_json).unwrap(),
        json!({ "suspended_at": suspended_at })
    );
    // Restoring a seller who is not suspended logs nothing.
    app.post_from_page(&page, &format!("{page}/restore"), &[("reason", "again")])
        .await;
    assert_eq!(audit_count(&app.db).await, 2);
}

#[tokio::test]
async fn fee_override_is_validated_saved_logged_and_cleared() {
    let app = spawn_app().await;
    let seller = insert_seller(&app.db, "Fee Shop", "active", 1_800_000_000).await;
    app.login_as(Role::Admin).await;
    let platform = PlatformFee {
        bps: app.settings.platform_fee_bps,
        fixed_minor: app.settings.platform_fee_fixed,
    };
    let page = format!("/admin/sellers/{seller}");
    let action = format!("{page}/fee");
    assert_eq!(
        seller_fees::fee_for(app.db.reader(), &seller, platform)
            .await
            .unwrap(),
        Some(platform)
    );

    for (bps, fixed, bad_field) in [
        ("10001", "0", "fee_bps-error"),
        ("-5", "", "fee_bps-error"),
        ("2.5", "", "fee_bps-error"),
        ("250", "1000001", "fee_fixed_minor-error"),
        ("", "ten", "fee_fixed_minor-error"),
    ] {
        let res = app
            .post_from_page(
                &page,
                &action,
                &[("fee_bps", bps), ("fee_fixed_minor", fixed)],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bps}/{fixed}"
        );
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"{bad_field}\"")),
            "{bps}/{fixed}"
        );
        assert!(
            html.contains(&format!("value=\"{bps}\"")),
            "typed value kept"
        );
        assert!(csrf_from(&html).is_some());
        assert_eq!(seller_columns(&app.db, &seller).await, (None, None, None));
    }
    assert_eq!(audit_count(&app.db).await, 0);

    let res = app
        .post_from_page(
            &page,
            &action,
            &[("fee_bps", "250"), ("fee_fixed_minor", "0")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let custom = PlatformFee {
        bps: 250,
        fixed_minor: 0,
    };
    assert_eq!(
        seller_fees::fee_for(app.db.reader(), &seller, platform)
            .await
            .unwrap(),
        Some(custom)
    );
    // Inside a transaction too, as checkout calls it.
    let mut tx = app.db.begin().await.unwrap();
    assert_eq!(
        seller_fees::fee_for(&mut *tx, &seller, platform)
            .await
            .unwrap(),
        Some(custom)
    );
    tx.rollback().await.unwrap();
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("now pays 2.5% per order"), "{html}");
    assert!(html.contains("<strong>2.5%</strong> per order (this seller"));

    // Only the rate overridden: the fixed part is the platform's.
    app.post_from_page(
        &page,
        &action,
        &[("fee_bps", "100"), ("fee_fixed_minor", "")],
    )
    .await;
    assert_eq!(
        seller_fees::fee_for(app.db.reader(), &seller, platform)
            .await
            .unwrap(),
        Some(PlatformFee {
            bps: 100,
            fixed_minor: platform.fixed_minor
        })
    );

    // "Use the platform fee" clears the override.
    let res = app
        .post_from_page(
            &page,
            &action,
            &[("fee_bps", "100"), ("fee_fixed_minor", ""), ("clear", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(seller_columns(&app.db, &seller).await, (None, None, None));
    assert_eq!(
        seller_fees::fee_for(app.db.reader(), &seller, platform)
            .await
            .unwrap(),
        Some(platform)
    );

    let entries = audit::page(&app.db, Some(AuditAction::SellerFeeChange), None, 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 3, "one entry per change");
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    assert_eq!(
        json(&entries[2].before_json),
        json!({ "fee_bps": null, "fee_fixed_minor": null })
    );
    assert_eq!(
        json(&entries[2].after_json),
        json!({ "fee_bps": 250, "fee_fixed_minor": 0 })
    );
    assert_eq!(json(&entries[0].before_json), json(&entries[1].after_json));
    assert_eq!(
        json(&entries[0].after_json),
        json!({ "fee_bps": null, "fee_fixed_minor": null })
    );

    // Saving the same values again changes nothing and logs nothing.
    let res = app
        .post_from_page(&page, &action, &[("fee_bps", ""), ("fee_fixed_minor", "")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&app.db).await, 3);
    let unknown = UserId::generate();
    assert_eq!(
        seller_fees::fee_for(app.db.reader(), &unknown, platform)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn two_admins_suspending_at_once_change_and_log_it_once() {
    let app = spawn_app().await;
    let seller = insert_seller(&app.db, "Busy Shop", "active", 1_800_000_000).await;
    let admin = app.login_as(Role::Admin).await;
    let admin = user_id(&app.db, &admin.email).await;
    let actor = Actor {
        id: &admin,
        email: "admin@example.com",
    };
    let (a, b) = tokio::join!(
        seller_admin::suspend(&app.db, &seller, &actor, "first", 1_900_000_000),
        seller_admin::suspend(&app.db, &seller, &actor, "second", 1_900_000_001),
    );
    let mut outcomes = vec![a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, vec![Outcome::Changed, Outcome::Unchanged]);
    assert_eq!(audit_count(&app.db).await, 1);

    let (a, b) = tokio::join!(
        seller_admin::set_fee_override(
            &app.db,
            &seller,
            &actor,
            FeeOverride {
                bps: Some(300),
                fixed_minor: Some(5)
            },
            1_900_000_002
        ),
        seller_admin::set_fee_override(
            &app.db,
            &seller,
            &actor,
            FeeOverride {
                bps: Some(400),
                fixed_minor: None
            },
            1_900_000_002
        ),
    );
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (Outcome::Changed, Outcome::Changed)
    );
    // Serialised: the second entry's "before" is the first entry's "after".
    let entries = audit::page(&app.db, Some(AuditAction::SellerFeeChange), None, 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    let all_null = r#"{"fee_bps":null,"fee_fixed_minor":null}"#;
    let (first, second) = if entries[0].before_json == all_null {
        (&entries[0], &entries[1])
    } else {
        (&entries[1], &entries[0])
    };
    assert_eq!(first.before_json, all_null);
    assert_eq!(second.before_json, first.after_json);

    assert_eq!(
        seller_admin::suspend(&app.db, &UserId::generate(), &actor, "x", 1)
            .await
            .unwrap(),
        Outcome::NotFound
    );
    assert_eq!(audit_count(&app.db).await, 3);
}

#[tokio::test]
async fn audit_log_pages_newest_first_and_filters_by_action() {
    let app = spawn_app().await;
    let admin = app.login_as(Role::Admin).await;
    let admin_id = user_id(&app.db, &admin.email).await;
    // 60 fee changes and 5 suspensions, one a second, oldest first.
    let mut conn = app.db.acquire().await.unwrap();
    for i in 0..65_i64 {
        let action = if i % 13 == 0 {
            AuditAction::SellerSuspend
        } else {
            AuditAction::SellerFeeChange
        };
        audit::record(
            &mut conn,
            &NewEntry {
                actor_id: &admin_id,
                actor_email: &admin.email,
                action,
                subject_kind: "seller",
                subject_id: &format!("usr_subject{i:03}"),
                reason: None,
                before: json!({ "n": i }),
                after: json!({ "n": i + 1 }),
            },
            // pairs share a second (the id breaks the tie); 14 and 15 do not
            1_900_000_000 + (i + 1) / 2,
        )
        .await
        .unwrap();
    }
    drop(conn);

    let (status, html) = app.get_html("/admin/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("class=\"audit-entry\"").count(), 50);
    let first = html.find("usr_subject064").expect("newest on page one");
    assert!(first < html.find("usr_subject062").unwrap());
    assert!(!html.contains("usr_subject014"), "older ones on page two");
    let next = html
        .split("href=\"/admin/audit?before=")
        .nth(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .expect("a link to older entries");
    let (_, page2) = app.get_html(&format!("/admin/audit?before={next}")).await;
    assert_eq!(page2.matches("class=\"audit-entry\"").count(), 15);
    for i in 0..15 {
        assert!(
            page2.contains(&format!("usr_subject{i:03}")),
            "{i} on page two"
        );
    }
    assert!(!page2.contains("Older entries"));

    // Both pages together hold every entry exactly once.
    let mut seen = std::collections::HashSet::new();
    for body in [&html, &page2] {
        for part in body.split("usr_subject").skip(1) {
            seen.insert(part[..3].to_string());
        }
    }
    assert_eq!(seen.len(), 65);

    let (_, filtered) = app.get_html("/admin/audit?action=seller.suspend").await;
    assert_eq!(filtered.matches("class=\"audit-entry\"").count(), 5);
    assert!(!filtered.contains("Seller fee changed</strong>"));
    assert!(filtered.contains("<option value=\"seller.suspend\" selected>"));
}

#[tokio::test]
async fn seller_list_shows_onboarding_in_words_filters_and_pages() {
    let app = spawn_app().await;
    for i in 0..55_i64 {
        let state = if i % 5 == 0 {
            "requirements_due"
        } else {
            "active"
        };
        insert_seller(&app.db, &format!("Shop{i:02}"), state, 1_800_000_000 + i).await;
    }
    let due = insert_seller(&app.db, "NeedsBank", "requirements_due", 1_800_001_000).await;
    sqlx::query(
        "UPDATE sellers SET requirements = $1, stripe_account_id = 'acct_NeedsBank',
                details_submitted = 1, account_read_at = 1800000000 WHERE user_id = $2",
    )
        .bind(r#"{"currently_due":["external_account"],"eventually_due":[],"past_due":[],"pending_verification":[],"disabled_reason":"requirements.past_due"}"#)
        .bind(due.as_str())
        .execute(app.db.writer())
        .await
        .unwrap();
    marketplace::db::catalog::invalidate();
    app.login_as(Role::Admin).await;

    let (status, html) = app.get_html("/admin/sellers").await;
    assert_eq!(status, StatusCode::OK);
    // In the sellers' own words (domain::seller_state), from the stored snapshot.
    assert!(
        html.contains("Due now: A bank account for your payouts"),
        "{html}"
    );
    assert!(
        html.contains("not provided in time"),
        "disabled reason in words"
    );
    assert!(html.contains("Restricted</span>"));
    assert!(html.contains("Information needed (12)"));
    assert!(html.contains("NeedsBank") && html.contains("Shop54"));
    let next = html
        .split("href=\"/admin/sellers?after=")
        .nth(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .expect("older sellers link");
    let (_, page2) = app.get_html(&format!("/admin/sellers?after={next}")).await;
    assert!(html.contains("Shop06") && !html.contains("Shop05"));
    for i in 0..6 {
        assert!(
            page2.contains(&format!("Shop{i:02}")),
            "Shop{i:02} on page two"
        );
    }
    assert!(!page2.contains("Shop06") && !page2.contains("NeedsBank"));

    let (_, due_only) = app.get_html("/admin/sellers?state=requirements_due").await;
    assert_eq!(due_only.matches("data-label=\"Seller\"").count(), 12);
    assert!(!due_only.contains("Shop01"));

    sqlx::query("UPDATE sellers SET suspended_at = 1 WHERE user_id = $1")
        .bind(due.as_str())
        .execute(app.db.writer())
        .await
        .unwrap();
    marketplace::db::catalog::invalidate();
    let (_, suspended) = app.get_html("/admin/sellers?state=suspended").await;
    assert_eq!(suspended.matches("data-label=\"Seller\"").count(), 1);
    assert!(suspended.contains("NeedsBank"));
}

/// The audit log is append-only: no code path may change or remove an entry.
#[test]
fn no_code_updates_or_deletes_the_audit_log() {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "sql") {
                out.push((
                    path.display().to_string(),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    assert!(files.len() > 10, "found the sources");
    for (path, text) in &files {
        // Whitespace and case do not hide a statement.
        let flat = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        for banned in [
            "update audit_log",
            "delete from audit_log",
            "truncate audit_log",
            "alter table audit_log",
            "drop table audit_log",
        ] {
            assert!(!flat.contains(banned), "{path} contains `{banned}`");
        }
        if flat.contains("insert into audit_log") {
            assert!(
                path.ends_with("src/db/audit.rs"),
                "{path} writes the audit log"
            );
        }
    }
}
