//! `GET /metrics`: Prometheus text format, for the monitoring system only. Anyone whose TCP peer
//! address is outside `METRICS_ALLOW` (loopback by default), and any request that came through
//! a proxy, gets the same 404 page as a path that does not exist.

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::AppError;
use crate::state::AppState;
use crate::telemetry::metrics;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape));
}

async fn scrape(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let peer = req.peer_addr().map(|a| a.ip());
    if !may_read(peer, proxied(&req), &state.settings.metrics_allow) {
        return Err(AppError::NotFound);
    }
    match crate::db::jobs::counts_by_kind(&state.db, crate::db::now_unix()).await {
        Ok(counts) => metrics::set_job_counts(&counts),
        // The other metrics are still worth having; the job gauges keep their last values.
        Err(e) => tracing::warn!(error = %e, "cannot count jobs for /metrics"),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(metrics::render()))
}

/// A reverse proxy on the same host connects from loopback; the forwarding headers it adds show
/// that the request really comes from somewhere else.
fn proxied(req: &HttpRequest) -> bool {
    let h = req.headers();
    h.contains_key(header::FORWARDED)
        || h.contains_key("x-forwarded-for")
        || h.contains_key("x-real-ip")
}

fn may_read(peer: Option<IpAddr>, proxied: bool, allow: &[ipnet::IpNet]) -> bool {
    let Some(peer) = peer else {
        return false;
    };
    // An IPv4 client of a server bound to [::] shows up as ::ffff:a.b.c.d.
    let peer = peer.to_canonical();
    !proxied && allow.iter().any(|net| net.contains(&peer))
}

#[cfg(test)]
mod tests {
    use super::may_read;
    use crate::config::{DEFAULT_METRICS_ALLOW, parse_allow_list};

    #[test]
    fn only_allowed_direct_peers_may_read() {
        let loopback = parse_allow_list(DEFAULT_METRICS_ALLOW).unwrap();
        let ip = |s: &str| Some(s.parse().unwrap());
        assert!(may_read(ip("127.0.0.1"), false, &loopback));
        assert!(may_read(ip("::1"), false, &loopback));
        assert!(may_read(ip("::ffff:127.0.0.1"), false, &loopback));
        assert!(
            !may_read(ip("127.0.0.1"), true, &loopback),
            "through a proxy"
        );
        assert!(!may_read(ip("10.0.0.7"), false, &loopback));
        assert!(!may_read(None, false, &loopback));
        let office = parse_allow_list("10.0.0.0/8").unwrap();
        assert!(may_read(ip("10.0.0.7"), false, &office));
        assert!(!may_read(ip("127.0.0.1"), false, &office));
    }
}
