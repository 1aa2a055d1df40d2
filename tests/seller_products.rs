//! Products: create with an image, validation with every field error and nothing saved,
//! images served safely, publish / unpublish / delete, the sellable rule after deauthorization.

mod common;

use common::sellers::{
    ProductForm, Upload, active_seller, create_product, published_product, signup_seller, tiny_png,
};
use common::{location, spawn_app, spawn_app_with};
use marketplace::db;
use marketplace::seller::accounts::mark_disconnected;
use reqwest::StatusCode;

fn uploads_in(app: &common::TestApp) -> Vec<String> {
    match std::fs::read_dir(app.test_db.data_dir.join("uploads")) {
        Ok(dir) => dir
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn a_product_with_an_image_is_created_previewed_and_published() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    let id = create_product(&seller, &ProductForm::new("Blue <b>mug</b>", "25.5", "usd")).await;

    let (status, html) = seller.get_html(&format!("/seller/products/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Blue &#60;b&#62;mug&#60;/b&#62;")
            || html.contains("Blue &lt;b&gt;mug&lt;/b&gt;")
    );
    assert!(html.contains("$25.50"));
    assert!(html.contains("<p class=\"description\">Hand made.</p>"));
    assert!(html.contains("<p class=\"description\">Ships in a week.</p>"));
    assert!(html.contains("Draft — not visible to buyers"));

    // The image: our content type, nosniff, long cache.
    let src = html
        .split("src=\"/media/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("image on the preview")
        .to_string();
    let res = seller.get(&format!("/media/{src}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), tiny_png());
    assert_eq!(uploads_in(&app), vec![src.clone()]);

    let res = seller
        .post_form(&format!("/seller/products/{id}/publish"), &[])
        .await;
    assert_eq!(location(&res), format!("/seller/products/{id}"));
    let (_, html) = seller.get_html(&format!("/seller/products/{id}")).await;
    assert!(html.contains("Published: buyers can see and buy it now."));
    assert!(html.contains("On sale"));
    let pid = marketplace::domain::ProductId::try_from(id.clone()).unwrap();
    assert!(db::products::is_sellable(&app.db, &pid).await.unwrap());

    let (_, list) = seller.get_html("/seller/products").await;
    assert!(list.contains("Published"));

    seller
        .post_form(&format!("/seller/products/{id}/unpublish"), &[])
        .await;
    assert!(!db::products::is_sellable(&app.db, &pid).await.unwrap());
}

#[tokio::test]
async fn bad_input_gets_a_field_error_each_and_nothing_is_saved() {
    let app = spawn_app().await;
    let seller = signup_seller(&app).await;
    let cases: Vec<(&str, ProductForm, Option<Upload>, &str)> = vec![
        (
            "title",
            ProductForm::new("", "5", "usd"),
            None,
            "Give the product a title.",
        ),
        (
            "title",
            ProductForm::new(&"x".repeat(121), "5", "usd"),
            None,
            "Keep the title to 120 characters",
        ),
        (
            "price",
            ProductForm::new("Mug", "-5", "usd"),
            None,
            "The price must be more than zero.",
        ),
        (
            "price",
            ProductForm::new("Mug", "12,5.x", "usd"),
            None,
            "Enter a price like 25, 25.5 or 25.50.",
        ),
        (
            "price",
            ProductForm::new("Mug", "0", "usd"),
            None,
            "The price must be more than zero.",
        ),
        (
            "price",
            ProductForm::new("Mug", "1000000", "usd"),
            None,
            "The price can be at most $999,999.99.",
        ),
        (
            "currency",
            ProductForm::new("Mug", "5", "xyz"),
            None,
            "Choose USD, EUR, GBP or JPY.",
        ),
        (
            "stock",
            ProductForm {
                stock: "1000001".into(),
                ..ProductForm::new("Mug", "5", "usd")
            },
            None,
            "a whole number from 0 to 1,000,000",
        ),
        (
            "stock",
            ProductForm {
                stock: "-1".into(),
                ..ProductForm::new("Mug", "5", "usd")
            },
            None,
            "a whole number from 0 to 1,000,000",
        ),
        (
            "image",
            ProductForm::new("Mug", "5", "usd"),
            Some(Upload::image("big.png", "image/png", {
                let mut b = tiny_png();
                b.resize(3 * 1024 * 1024, 0);
                b
            })),
            "The image is larger than 2 MB.",
        ),
        (
            "image",
            ProductForm::new("Mug", "5", "usd"),
            Some(Upload::image(
                "photo.png",
                "image/png",
                b"just some text, honestly".to_vec(),
            )),
            "not a PNG, JPEG or WebP image",
        ),
    ];
    for (field, form, upload, message) in cases {
        let res = seller
            .post_multipart("/seller/products/new", &form.fields(), upload.as_ref())
            .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {message}"
        );
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{field}: expected {message:?}");
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field} marked"
        );
        // Values kept.
        if field != "title" {
            assert!(html.contains("value=\"Mug\""), "{field}: title kept");
        }
    }
    assert!(
        db::products::list_owned(&app.db, &seller.user_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(uploads_in(&app).is_empty(), "no orphan files");

    // A valid form with a bad image saves nothing either, but every other error shows at once.
    let res = seller
        .post_multipart(
            "/seller/products/new",
            &ProductForm::new("", "0", "usd").fields(),
            Some(&Upload::image("x.png", "image/png", b"nope".to_vec())),
        )
        .await;
    let html = res.text().await.unwrap();
    for f in ["title", "price", "image"] {
        assert!(html.contains(&format!("id=\"{f}-error\"")), "{f}");
    }
}

#[tokio::test]
async fn a_jpy_price_is_whole_yen_and_edits_keep_or_replace_the_image() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    let id = create_product(&seller, &ProductForm::new("Tea bowl", "1500", "jpy")).await;
    let (_, html) = seller.get_html(&format!("/seller/products/{id}")).await;
    assert!(html.contains("¥1,500"));
    let before = uploads_in(&app);

    // Edit without a new file keeps the image.
    let (_, form) = seller
        .get_html(&format!("/seller/products/{id}/edit"))
        .await;
    assert!(form.contains("value=\"1500\""));
    let res = seller
        .post_multipart(
            &format!("/seller/products/{id}/edit"),
            &ProductForm::new("Tea bowl, large", "1800", "jpy").fields(),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = seller.get_html(&format!("/seller/products/{id}")).await;
    assert!(html.contains("Tea bowl, large") && html.contains("¥1,800"));
    assert_eq!(uploads_in(&app), before);

    // A new image replaces the old file.
    let jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 0xFF, 0xD9,
    ];
    seller
        .post_multipart(
            &format!("/seller/products/{id}/edit"),
            &ProductForm::new("Tea bowl, large", "1800", "jpy").fields(),
            Some(&Upload::image("bowl.webp", "image/webp", jpeg)),
        )
        .await;
    let after = uploads_in(&app);
    assert_eq!(after.len(), 1);
    assert_ne!(after, before);
    assert!(
        after[0].ends_with(".jpg"),
        "type from the bytes, not the name: {after:?}"
    );
    let res = seller.get(&format!("/media/{}", after[0])).await;
    assert_eq!(res.headers()["content-type"], "image/jpeg");
}

#[tokio::test]
async fn deleted_products_disappear_and_deauthorization_hides_the_shop() {
    let app = spawn_app().await;
    let seller = active_seller(&app).await;
    let keep = published_product(&seller, "Kept", "10", "eur").await;
    let gone = published_product(&seller, "Gone", "10", "gbp").await;
    let keep_id = marketplace::domain::ProductId::try_from(keep.clone()).unwrap();
    let gone_id = marketplace::domain::ProductId::try_from(gone.clone()).unwrap();
    assert!(db::products::is_sellable(&app.db, &keep_id).await.unwrap());

    let res = seller
        .post_form(&format!("/seller/products/{gone}/delete"), &[])
        .await;
    assert_eq!(location(&res), "/seller/products");
    assert_eq!(
        seller
            .get(&format!("/seller/products/{gone}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert!(!db::products::is_sellable(&app.db, &gone_id).await.unwrap());
    let (_, list) = seller.get_html("/seller/products").await;
    assert!(list.contains("Kept") && !list.contains(">Gone<"));

    mark_disconnected(
        &app.db,
        seller.account(),
        db::now_unix(),
        &app.settings.base_url,
    )
    .await
    .unwrap();
    assert!(
        !db::products::is_sellable(&app.db, &keep_id).await.unwrap(),
        "hidden after deauthorization"
    );
    let (_, html) = seller.get_html(&format!("/seller/products/{keep}")).await;
    assert!(html.contains("hidden until your Stripe account is active"));
}

#[tokio::test]
async fn a_multipart_form_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let seller = signup_seller(&app).await;
    let (ct, body) = common::sellers::multipart_body(
        &ProductForm::new("Mug", "5", "usd").fields(),
        Some(&Upload::png()),
    );
    let res = seller
        .client
        .post(seller.url("/seller/products/new"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(uploads_in(&app).is_empty());
}

/// The storefront reuses what it read for CATALOG_CACHE_MS (see `storefront::cache`): a
/// change made through this instance shows at once, one made elsewhere (another instance;
/// here direct SQL) within that time, and nothing unsellable is ever put in a cart from it.
#[tokio::test]
async fn the_storefront_shows_a_sellers_edit_at_once_and_other_changes_within_the_cache_time() {
    let ttl = std::time::Duration::from_millis(1500);
    let app = spawn_app_with(&[("CATALOG_CACHE_MS", "1500")]).await;
    let seller = active_seller(&app).await;
    let id = published_product(&seller, "Linen apron", "32", "usd").await;
    let page = format!("/products/{id}");
    let (status, html) = app.get_html(&page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Linen apron"));

    // An edit through the seller pages: the next visitor sees it.
    let res = seller
        .post_multipart(
            &format!("/seller/products/{id}/edit"),
            &ProductForm::new("Linen apron, long", "34", "usd").fields(),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cached_at = std::time::Instant::now();
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("Linen apron, long") && html.contains("$34.00"));
    let (_, home) = app.get_html("/").await;
    assert!(home.contains("Linen apron, long"));

    // A change this instance did not make (another instance's): seen once the entry expires.
    sqlx::query("UPDATE products SET title = 'Linen apron, dyed' WHERE id = $1")
        .bind(&id)
        .execute(app.db.writer())
        .await
        .unwrap();
    let (_, html) = app.get_html(&page).await;
    if cached_at.elapsed() < ttl {
        assert!(html.contains("Linen apron, long"), "served from the cache");
    }
    tokio::time::sleep(ttl).await;
    let (_, html) = app.get_html(&page).await;
    assert!(html.contains("Linen apron, dyed"));

    // Unpublished through the seller pages: gone at once, from the page and the home page.
    seller
        .post_form(&format!("/seller/products/{id}/unpublish"), &[])
        .await;
    assert_eq!(app.get(&page).await.status(), StatusCode::NOT_FOUND);
    let (_, home) = app.get_html("/").await;
    assert!(!home.contains("Linen apron"));
}
