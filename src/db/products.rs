//! Products. Seller-facing queries take the seller's id and use it in every
//! WHERE, so another seller's product id answers "not found".

/// The one rule for "can be bought now", as a SQL condition over `products p`
/// joined with `sellers s ON s.user_id = p.seller_id`: published, not deleted,
/// and a seller whose Stripe account takes charges and who is neither
/// disconnected nor suspended. The storefront lists and checkout re-checks with
/// it, so a stale page can never sell what is no longer for sale.
pub const SELLABLE: &str = "p.published = 1 AND p.deleted_at IS NULL \
     AND s.charges_enabled = 1 AND s.disconnected_at IS NULL AND s.suspended_at IS NULL";
