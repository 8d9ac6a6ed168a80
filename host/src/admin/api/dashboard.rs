//! `dashboard@internal`: one self-contained page (HTML, CSS and script embedded in the binary,
//! no network fetch but the API's own) that lists entry points, routers, services with their
//! servers' health, and middlewares with their plugins, refreshed every few seconds.

use http::StatusCode;

use super::InternalReply;

const PAGE: &str = include_str!("dashboard.html");

/// Answers `<basePath>`, `<basePath>dashboard` (redirects) and `<basePath>dashboard/...` (the
/// page); anything else under the base path is 404.
pub fn answer(base_path: &str, path: &str) -> InternalReply {
    let Some(rest) = path.strip_prefix(base_path) else {
        return InternalReply::not_found("page");
    };
    match rest {
        "" | "dashboard" => InternalReply::redirect(format!("{base_path}dashboard/")),
        _ if rest.starts_with("dashboard/") => {
            InternalReply::new(StatusCode::OK, "text/html; charset=utf-8", PAGE)
        }
        _ => InternalReply::not_found("page"),
    }
}
