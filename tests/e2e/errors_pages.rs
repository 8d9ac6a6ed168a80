//! Traefik's `errors`, served by the bundled `errors` plugin: a response-side subrequest
//! (`outbound-http`, granted for the configured service only) fetches the error page, which
//! replaces the upstream's body while the client keeps the status.

use crate::forward_auth::roomy;
use crate::support::{AuthServer, Client, Config, Gateway};

#[tokio::test]
async fn a_503_from_the_upstream_is_replaced_by_the_error_services_page() {
    // One server plays both parts: `/unavailable` answers 503, `/{code}.html` serves pages.
    let server = AuthServer::start().await;
    let yaml = roomy(
        Config::new()
            .route_through("r", "PathPrefix(`/`)", "app", "pages")
            .service("app", &server.url(""))
            .service("error-pages", &server.url(""))
            .middlewares(
                "    pages:\n      errors:\n        status: [\"500-599\"]\n        service: error-pages\n        query: \"/{status}.html\"\n",
            ),
    );
    let yaml = format!(
        "{yaml}accessLog:\n  filePath: access.json\n  format: json\n  fields:\n    headers: {{ defaultMode: keep }}\n"
    );
    let gw = Gateway::start(&yaml, &[]);
    let client = Client::http1();

    let failed = client
        .get(&gw.url("/unavailable"), "", &[("accept", "text/html")])
        .await;
    assert_eq!(
        failed.status, 503,
        "the client still sees the upstream's status"
    );
    assert_eq!(failed.text(), "<h1>error 503</h1>");
    assert_eq!(failed.header("content-type"), Some("text/html"));
    let asked = server.last();
    assert_eq!(asked.path_and_query, "/503.html");
    assert_eq!(
        asked.header("accept"),
        Some("text/html"),
        "the client's headers"
    );

    let fine = client.get(&gw.url("/allow"), "", &[]).await;
    assert_eq!((fine.status.as_u16(), fine.text().as_str()), (200, "ok"));
    assert_eq!(server.requests().len(), 3, "no page fetched for a 200");

    // The access log: the upstream's status and declared size (`upstream down`, 13 bytes),
    // the page's size sent, and their ratio, as Traefik logs a replaced body.
    let log = gw.config_path().with_file_name("access.json");
    let lines = crate::observability::read_lines(&log, 2);
    let replaced: serde_json::Value = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .find(|v| v["RequestPath"] == "/unavailable")
        .expect("a line for /unavailable");
    assert_eq!(replaced["OriginStatus"], 503, "{replaced}");
    assert_eq!(replaced["DownstreamStatus"], 503, "{replaced}");
    assert_eq!(replaced["OriginContentSize"], 13, "{replaced}");
    assert_eq!(replaced["DownstreamContentSize"], 18, "{replaced}");
    assert_eq!(
        replaced["GzipRatio"].as_f64(),
        Some(13.0 / 18.0),
        "{replaced}"
    );
    // The upstream's head as it came, the page's as the client got it.
    assert_eq!(replaced["origin_Content-Length"], "13", "{replaced}");
    assert_eq!(
        replaced["downstream_Content-Type"], "text/html",
        "{replaced}"
    );
}
