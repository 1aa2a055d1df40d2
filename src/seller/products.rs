//! The seller's products: list, create, edit, preview, publish / unpublish, delete (soft).
//! Every query carries the logged-in seller's id, so another seller's product id is a 404.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;

use super::onboarding::NoFields;
use crate::auth::Seller;
use crate::auth::csrf::CsrfForm;
use crate::db::products::{self, Product, ProductFields};
use crate::db::{self};
use crate::domain::product::{self, PRODUCT_CURRENCIES, ProductInput};
use crate::domain::{Currency, ProductId};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::forms::FieldErrors;
use crate::web::page::Page;
use crate::web::uploads::{self, ImageUpload};
use crate::web::{flash, render_with_status, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/seller/products", web::get().to(list))
        .service(
            web::resource("/seller/products/new")
                .route(web::get().to(new_form))
                .route(web::post().to(create)),
        )
        .route("/seller/products/{id}", web::get().to(preview))
        .service(
            web::resource("/seller/products/{id}/edit")
                .route(web::get().to(edit_form))
                .route(web::post().to(update)),
        )
        .route("/seller/products/{id}/publish", web::post().to(publish))
        .route("/seller/products/{id}/unpublish", web::post().to(unpublish))
        .route("/seller/products/{id}/delete", web::post().to(delete));
}

/// The seller's own product or a 404 (another seller's id, a deleted one, a malformed id).
async fn owned(
    state: &AppState,
    seller: &crate::db::users::User,
    id: &str,
) -> Result<Product, AppError> {
    products::find_owned(&state.db, &seller.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/products.html")]
struct ListPage {
    page: Page,
    products: Vec<Product>,
    can_sell: bool,
}

async fn list(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
) -> Result<ListPage, AppError> {
    let profile = super::profile(&state, &seller).await?;
    Ok(ListPage {
        page,
        products: products::list_owned(&state.db, &seller.id).await?,
        can_sell: profile.charges_enabled
            && profile.disconnected_at.is_none()
            && profile.suspended_at.is_none(),
    })
}

#[derive(Template)]
#[template(path = "seller/product_form.html")]
struct FormPage {
    page: Page,
    /// None when creating.
    product: Option<Product>,
    input: ProductInput,
    errors: FieldErrors,
    currencies: Vec<(&'static str, String)>,
}

fn currencies() -> Vec<(&'static str, String)> {
    PRODUCT_CURRENCIES
        .iter()
        .map(|c| (c.code(), c.to_string()))
        .collect()
}

impl FormPage {
    fn action(&self) -> String {
        match &self.product {
            Some(p) => format!("/seller/products/{}/edit", p.id),
            None => "/seller/products/new".into(),
        }
    }
}

async fn new_form(page: Page, Seller(_seller): Seller) -> Result<HttpResponse, AppError> {
    render_with_status(
        StatusCode::OK,
        &FormPage {
            page,
            product: None,
            input: ProductInput {
                currency: Currency::Usd.code().into(),
                stock: "1".into(),
                ..ProductInput::default()
            },
            errors: FieldErrors::default(),
            currencies: currencies(),
        },
    )
}

async fn edit_form(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let product = owned(&state, &seller, &path).await?;
    let input = ProductInput {
        title: product.title.clone(),
        description: product.description.clone(),
        price: price_text(&product),
        currency: product.price.currency.code().into(),
        stock: product.stock.to_string(),
    };
    render_with_status(
        StatusCode::OK,
        &FormPage {
            page,
            product: Some(product),
            input,
            errors: FieldErrors::default(),
            currencies: currencies(),
        },
    )
}

/// The price as the seller would type it (`25.50`, `1500`).
fn price_text(p: &Product) -> String {
    let exp = p.price.currency.exponent();
    if exp == 0 {
        p.price.minor.to_string()
    } else {
        let scale = 10_i64.pow(exp);
        format!(
            "{}.{:0w$}",
            p.price.minor / scale,
            p.price.minor % scale,
            w = exp as usize
        )
    }
}

/// Reads and checks the form; `Err` is the page to show again with every field error.
async fn checked(
    req: &HttpRequest,
    payload: Multipart,
    session: &Session,
    product: Option<Product>,
) -> Result<Result<(product::ValidProduct, ImageUpload), HttpResponse>, AppError> {
    let form = uploads::read_form(payload, session).await?;
    let input = ProductInput {
        title: form.text("title"),
        description: form.text("description"),
        price: form.text("price"),
        currency: form.text("currency"),
        stock: form.text("stock"),
    };
    let mut errors = FieldErrors::default();
    let valid = match product::validate(&input) {
        Ok(v) => Some(v),
        Err(list) => {
            for (field, message) in list {
                errors.add(field, message);
            }
            None
        }
    };
    match &form.image {
        ImageUpload::TooLarge => errors.add(
            "image",
            "The image is larger than 2 MB. Choose a smaller one.",
        ),
        ImageUpload::NotAnImage => errors.add(
            "image",
            "That file is not a PNG, JPEG or WebP image. Choose a photo in one of those formats.",
        ),
        ImageUpload::None | ImageUpload::Ok { .. } => {}
    }
    match valid {
        Some(v) if errors.is_empty() => Ok(Ok((v, form.image))),
        _ => {
            let page = Page::load(req).await?;
            let res = render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FormPage {
                    page,
                    product,
                    input,
                    errors,
                    currencies: currencies(),
                },
            )?;
            Ok(Err(res))
        }
    }
}

async fn create(
    req: HttpRequest,
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let (valid, image) = match checked(&req, payload, &session, None).await? {
        Ok(ok) => ok,
        Err(page) => return Ok(page),
    };
    let stored = match image {
        ImageUpload::Ok { kind, bytes } => Some((
            uploads::store_image(&state.settings.data_dir, kind, bytes).await?,
            kind,
        )),
        _ => None,
    };
    let fields = ProductFields {
        title: &valid.title,
        description: &valid.description,
        price: valid.price,
        stock: valid.stock,
    };
    let inserted = products::insert(
        &state.db,
        &seller.id,
        &fields,
        stored.as_ref().map(|(f, k)| (f.as_str(), k.content_type())),
        db::now_unix(),
    )
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) => {
            // No row, so no file either.
            if let Some((file, _)) = &stored {
                uploads::remove_image(&state.settings.data_dir, file).await;
            }
            return Err(e.into());
        }
    };
    flash::success(
        &session,
        "Product saved as a draft. Publish it when you are ready.",
    )?;
    Ok(see_other(&format!("/seller/products/{id}")))
}

async fn update(
    req: HttpRequest,
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let product = owned(&state, &seller, &path).await?;
    let (valid, image) = match checked(&req, payload, &session, Some(product.clone())).await? {
        Ok(ok) => ok,
        Err(page) => return Ok(page),
    };
    let stored = match image {
        ImageUpload::Ok { kind, bytes } => Some((
            uploads::store_image(&state.settings.data_dir, kind, bytes).await?,
            kind,
        )),
        _ => None,
    };
    let fields = ProductFields {
        title: &valid.title,
        description: &valid.description,
        price: valid.price,
        stock: valid.stock,
    };
    let updated = products::update_owned(
        &state.db,
        &seller.id,
        &product.id,
        &fields,
        stored.as_ref().map(|(f, k)| (f.as_str(), k.content_type())),
        db::now_unix(),
    )
    .await;
    match updated {
        Ok(true) => {
            // The old image is no longer referenced.
            if let (Some(_), Some(old)) = (&stored, &product.image_file) {
                uploads::remove_image(&state.settings.data_dir, old).await;
            }
        }
        Ok(false) | Err(_) => {
            if let Some((file, _)) = &stored {
                uploads::remove_image(&state.settings.data_dir, file).await;
            }
            updated?;
            return Err(AppError::NotFound);
        }
    }
    flash::success(&session, "Changes saved.")?;
    Ok(see_other(&format!("/seller/products/{}", product.id)))
}

#[derive(Template, WebTemplate)]
#[template(path = "seller/product.html")]
struct PreviewPage {
    page: Page,
    product: Product,
    paragraphs: Vec<String>,
    sellable: bool,
}

async fn preview(
    page: Page,
    Seller(seller): Seller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<PreviewPage, AppError> {
    let product = owned(&state, &seller, &path).await?;
    Ok(PreviewPage {
        page,
        paragraphs: product::paragraphs(&product.description),
        sellable: products::is_sellable(&state.db, &product.id).await?,
        product,
    })
}

async fn set_published(
    seller: &crate::db::users::User,
    state: &AppState,
    session: &Session,
    id: &str,
    published: bool,
) -> Result<HttpResponse, AppError> {
    // A shop goes public only once its owner's address is confirmed (unpublishing is always fine).
    if published && !seller.email_verified() {
        return Err(AppError::EmailNotVerified);
    }
    let product = owned(state, seller, id).await?;
    products::set_published(
        &state.db,
        &seller.id,
        &product.id,
        published,
        db::now_unix(),
    )
    .await?;
    let profile = super::profile(state, seller).await?;
    let message = match (
        published,
        profile.charges_enabled && profile.disconnected_at.is_none(),
    ) {
        (true, true) => "Published: buyers can see and buy it now.",
        (true, false) => "Published. Buyers will see it once your Stripe account is active.",
        (false, _) => "Unpublished: buyers no longer see it.",
    };
    flash::success(session, message)?;
    Ok(see_other(&format!("/seller/products/{}", product.id)))
}

async fn publish(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    set_published(&seller, &state, &session, &path, true).await
}

async fn unpublish(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    set_published(&seller, &state, &session, &path, false).await
}

/// Soft delete: the row stays for any order that points at it (and so does its image).
async fn delete(
    Seller(seller): Seller,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let product = owned(&state, &seller, &path).await?;
    let id: ProductId = product.id.clone();
    products::soft_delete(&state.db, &seller.id, &id, db::now_unix()).await?;
    flash::success(&session, format!("“{}” was deleted.", product.title))?;
    Ok(see_other("/seller/products"))
}
