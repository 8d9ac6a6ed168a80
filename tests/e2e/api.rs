//! Traefik's API, dashboard and ping (issue 15, item 4), served by the gateway itself:
//! `api.insecure` on the `traefik` entry point, `api@internal` behind a user's router with
//! basicAuth, Traefik's JSON shapes, paging and filters, live server health, secrets redacted.

use serde_json::Value;

use crate::support::{Client, Gateway, Upstream, check_config, free_port};

/// `bob:s3cret-m` (`htpasswd -nbm bob s3cret-m`).
const BOB_HASH: &str = "bob:$apr1$ehJ3QxtF$mwOXxqW6kyPP63QyvznES1";
const BOB: &str = "Basic Ym9iOnMzY3JldC1t";

/// 3 routers of the user's (plus the internal ones), 2 services (one whose only server is
/// down), 4 middlewares.
fn config(up: &str, dead: &str, traefik_port: u16) -> String {
    format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:{traefik_port}"
api:
  insecure: true
ping: {{}}
http:
  routers:
    app:
      rule: "PathPrefix(`/app`)"
      entryPoints: [web]
      service: app
      middlewares: [tag, strip]
    gone:
      rule: "PathPrefix(`/gone`)"
      entryPoints: [web]
      service: dead
    admin:
      rule: "Host(`admin.test`)"
      entryPoints: [web]
      service: api@internal
      middlewares: [admin-auth@file]
  services:
    app:
      loadBalancer:
        servers: [{{ url: "{up}" }}]
    dead:
      loadBalancer:
        servers: [{{ url: "{dead}" }}]
        healthCheck: {{ path: /health, interval: 50ms, timeout: 50ms }}
  middlewares:
    admin-auth:
      basicAuth:
        users: ["{BOB_HASH}"]
    tag:
      headers:
        customRequestHeaders: {{ X-Tag: "a" }}
    strip:
      stripPrefix:
        prefixes: [/app]
    both:
      chain:
        middlewares: [tag, strip]
"#
    )
}

async fn json(c: &Client, url: &str) -> (u16, Value, Option<String>) {
    let r = c.get(url, "gw.test", &[]).await;
    let value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (
        r.status.as_u16(),
        value,
        r.header("x-next-page").map(String::from),
    )
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|items| items.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_with_traefiks_shapes_pages_filters_and_redacts() {
    let up = Upstream::start("app").await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let port = free_port();
    let gw = Gateway::start(&config(&up.url(), &dead, port), &[]);
    let api = |path: &str| format!("http://127.0.0.1:{port}/api/{path}");
    let c = Client::http1();

    // The user's routers still route.
    let r = c.get(&gw.url("/app/x"), "gw.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().header("x-tag"), Some("a"));

    let (status, routers, next) = json(&c, &api("http/routers")).await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&routers),
        [
            "admin@file",
            "api@internal",
            "app@file",
            "dashboard@internal",
            "gone@file",
            "ping@internal"
        ]
    );
    assert_eq!(next.as_deref(), Some("1"));
    let app = &routers[2];
    assert_eq!(app["rule"], "PathPrefix(`/app`)");
    assert_eq!(app["service"], "app@file");
    assert_eq!(
        app["middlewares"],
        serde_json::json!(["tag@file", "strip@file"])
    );
    assert_eq!(app["entryPoints"], serde_json::json!(["web"]));
    assert_eq!(app["priority"], 18);
    assert_eq!(
        (app["status"].as_str(), app["provider"].as_str()),
        (Some("enabled"), Some("file"))
    );

    // One router by name; an unknown one is 404 with Traefik's message.
    let (status, one, _) = json(&c, &api("http/routers/app@file")).await;
    assert_eq!((status, one["name"].as_str()), (200, Some("app@file")));
    let (status, missing, _) = json(&c, &api("http/routers/nope@file")).await;
    assert_eq!(
        (status, missing["message"].as_str()),
        (404, Some("router not found"))
    );

    // Paging and filters.
    let (_, page, next) = json(&c, &api("http/routers?per_page=2&page=2")).await;
    assert_eq!(names(&page), ["app@file", "dashboard@internal"]);
    assert_eq!(next.as_deref(), Some("3"));
    let (status, _, _) = json(&c, &api("http/routers?per_page=2&page=9")).await;
    assert_eq!(status, 400);
    let (_, found, _) = json(&c, &api("http/routers?search=GONE")).await;
    assert_eq!(names(&found), ["gone@file"]);
    let (_, by_service, _) = json(&c, &api("http/routers?serviceName=api@internal")).await;
    assert_eq!(names(&by_service), ["admin@file", "api@internal"]);
    let (_, by_middleware, _) = json(&c, &api("http/routers?middlewareName=strip@file")).await;
    assert_eq!(names(&by_middleware), ["app@file"]);

    // Services: the dead server goes DOWN once its health check fails (awaited, not timed).
    let mut dead_status = String::new();
    for _ in 0..200 {
        let (_, service, _) = json(&c, &api("http/services/dead@file")).await;
        dead_status = service["serverStatus"][&dead]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if dead_status == "DOWN" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(dead_status, "DOWN");
    let (_, services, _) = json(&c, &api("http/services")).await;
    assert_eq!(names(&services), ["app@file", "dead@file"]);
    let app_service = &services[0];
    assert_eq!(app_service["type"], "loadbalancer");
    assert_eq!(app_service["usedBy"], serde_json::json!(["app@file"]));
    assert_eq!(app_service["serverStatus"][up.url().as_str()], "UP");
    assert_eq!(
        app_service["loadBalancer"]["servers"][0]["url"],
        up.url().as_str()
    );

    // Middlewares: types, users, and no secret in the output.
    let (_, middlewares, _) = json(&c, &api("http/middlewares")).await;
    assert_eq!(
        names(&middlewares),
        ["admin-auth@file", "both@file", "strip@file", "tag@file"]
    );
    let auth = &middlewares[0];
    assert_eq!(auth["type"], "basicauth");
    assert_eq!(auth["usedBy"], serde_json::json!(["admin@file"]));
    assert_eq!(
        auth["basicAuth"]["users"],
        serde_json::json!(["bob:redacted"])
    );
    assert_eq!(
        middlewares[1]["chain"]["middlewares"],
        serde_json::json!(["tag@file", "strip@file"])
    );
    let raw = c.get(&api("rawdata"), "gw.test", &[]).await.text();
    assert!(!raw.contains("$apr1$"), "no password hash anywhere: {raw}");
    let rawdata: Value = serde_json::from_str(&raw).expect("rawdata is JSON");
    assert_eq!(rawdata["routers"]["app@file"]["service"], "app@file");
    assert_eq!(
        rawdata["services"]["dead@file"]["serverStatus"][&dead],
        "DOWN"
    );

    // Overview, entry points, version.
    let (_, overview, _) = json(&c, &api("overview")).await;
    assert_eq!(overview["http"]["routers"]["total"], 6);
    assert_eq!(overview["http"]["services"]["total"], 2);
    assert_eq!(overview["http"]["middlewares"]["total"], 4);
    assert_eq!(overview["providers"], serde_json::json!(["File"]));
    let (_, entry_points, _) = json(&c, &api("entrypoints")).await;
    assert_eq!(names(&entry_points), ["traefik", "web"]);
    let (_, version, _) = json(&c, &api("version")).await;
    assert!(version["Version"].is_string() && version["startDate"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_dashboard_and_api_behind_a_users_router_with_basic_auth() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let gw = Gateway::start(&config(&up.url(), "http://127.0.0.1:1", port), &[]);
    let traefik = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let c = Client::http1();

    let ping = c.get(&traefik("/ping"), "gw.test", &[]).await;
    assert_eq!((ping.status.as_u16(), ping.text().as_str()), (200, "OK"));

    let root = c.get(&traefik("/"), "gw.test", &[]).await;
    assert_eq!(root.status, 302);
    assert_eq!(root.header("location"), Some("/dashboard/"));
    let page = c.get(&traefik("/dashboard/"), "gw.test", &[]).await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(page.text().contains("wasmgate dashboard"));

    // The user's own router to api@internal: basicAuth first, then the API.
    let denied = c.get(&gw.url("/api/overview"), "admin.test", &[]).await;
    assert_eq!(denied.status, 401);
    let allowed = c
        .get(
            &gw.url("/api/http/services"),
            "admin.test",
            &[("authorization", BOB)],
        )
        .await;
    assert_eq!(allowed.status, 200);
    let services: Value = serde_json::from_slice(&allowed.body).expect("JSON");
    assert_eq!(names(&services), ["app@file", "dead@file"]);
    // Writing is not an API operation.
    let post = c
        .send(
            http::Request::post(gw.url("/api/overview"))
                .header("host", "admin.test")
                .header("authorization", BOB)
                .body(crate::support::client::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(post.status, 405);
}

#[test]
fn internal_services_need_their_static_section() {
    let yaml = r#"entryPoints:
  web:
    address: "127.0.0.1:0"
http:
  routers:
    dash:
      rule: "Host(`admin.test`)"
      service: api@internal
    health:
      rule: "Path(`/health`)"
      service: ping@internal
    redirect:
      rule: "Host(`old.test`)"
      service: noop@internal
"#;
    let (ok, _, stderr) = check_config(yaml, &[]);
    assert!(!ok);
    assert!(
        stderr.contains("gateway.yml:8: http.routers.dash.service: service \"api@internal\" is not defined: Traefik's internal service exists only when the static section `api` is configured"),
        "{stderr}"
    );
    assert!(
        stderr.contains("http.routers.health.service: service \"ping@internal\" is not defined"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("noop@internal"),
        "noop@internal always exists: {stderr}"
    );

    let insecure_without_entry_point =
        "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\napi:\n  insecure: true\n";
    let (ok, _, stderr) = check_config(insecure_without_entry_point, &[]);
    assert!(!ok);
    assert!(
        stderr
            .contains("api.insecure: serves the API and dashboard on the entry point \"traefik\""),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_and_reload_views_show_versions_users_refused_files_and_refused_reloads() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let yaml = crate::support::Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "tag")
        .service("app", &up.url())
        .middlewares("    tag:\n      plugin: { name: tag }\n")
        .yaml()
        .replacen(
            "entryPoints:\n",
            &format!("entryPoints:\n  traefik:\n    address: \"127.0.0.1:{port}\"\n"),
            1,
        )
        + "api:\n  insecure: true\n";
    let gw = Gateway::start(
        &yaml,
        &[("tag", crate::support::fixture_wasm("fixture_tag_v1"))],
    );
    let api = |path: &str| format!("http://127.0.0.1:{port}/api/{path}");
    let c = Client::http1();

    for _ in 0..5 {
        assert_eq!(c.get(&gw.url("/x"), "app.test", &[]).await.status, 200);
    }
    let (status, plugins, _) = json(&c, &api("plugins")).await;
    assert_eq!(status, 200);
    let find = |name: &str| {
        plugins
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} listed: {plugins}"))
    };
    let tag = find("tag");
    assert_eq!(tag["status"], "loaded");
    // Live figures of the middleware running it (the API alone keeps them, no metrics on).
    let live = &tag["middlewares"][0];
    assert_eq!(live["calls"]["on-request"], 5, "{tag}");
    assert_eq!(live["failures"], serde_json::json!({}), "{tag}");
    let p50 = live["durationSeconds"]["on-request"]["p50"].as_f64();
    let p99 = live["durationSeconds"]["on-request"]["p99"].as_f64();
    assert!(
        matches!((p50, p99), (Some(a), Some(b)) if a > 0.0 && a <= b),
        "{tag}"
    );
    assert_eq!(live["durationSeconds"]["on-request"]["count"], 5, "{tag}");
    let instances = &live["instances"];
    assert!(
        instances["live"].as_u64() >= Some(1) && instances["idle"] == instances["live"],
        "{tag}"
    );
    assert_eq!(tag["usedBy"], serde_json::json!(["tag@file"]));
    assert!(
        tag["source"]
            .as_str()
            .unwrap_or_default()
            .ends_with("tag.wasm"),
        "{tag}"
    );
    assert_eq!(tag["hash"].as_str().map(str::len), Some(64));
    assert!(
        tag["world"].is_string() && tag["size"].as_u64() > Some(0),
        "{tag}"
    );
    let headers = find("headers");
    assert_eq!(
        (headers["source"].as_str(), headers["status"].as_str()),
        (Some("bundled"), Some("unused"))
    );

    let (_, reloads, _) = json(&c, &api("reloads")).await;
    assert_eq!(reloads[0]["trigger"], "start-up");
    assert_eq!(reloads[0]["accepted"], true);

    // A new version of a plugin in use that is not a component: refused, listed with its
    // reason, and the good version stays.
    std::fs::write(gw.plugin_dir().join(".tag.tmp"), b"not a component").expect("write");
    std::fs::rename(
        gw.plugin_dir().join(".tag.tmp"),
        gw.plugin_dir().join("tag.wasm"),
    )
    .expect("rename");
    assert!(gw.wait_for_log("plugin rejected"), "{}", gw.log());
    let mut refused = Value::Null;
    for _ in 0..400 {
        let (_, plugins, _) = json(&c, &api("plugins")).await;
        if let Some(found) = plugins
            .as_array()
            .and_then(|all| all.iter().find(|p| p["status"] == "refused"))
        {
            refused = found.clone();
            assert!(
                plugins.as_array().is_some_and(|all| all
                    .iter()
                    .any(|p| p["name"] == "tag" && p["status"] == "loaded")),
                "the good version is still listed: {plugins}"
            );
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(refused["name"], "tag", "a refused entry appeared");
    assert!(
        refused["reason"].is_string() && refused["at"].is_string(),
        "{refused}"
    );

    // A refused reload is listed first, with its located error.
    let before = gw.log_count("reload rejected");
    std::fs::write(gw.config_path(), format!("{yaml}bogus: 1\n")).expect("write config");
    let within = std::time::Duration::from_secs(10);
    let rejected = gw
        .await_log_count("reload rejected", before + 1, within)
        .await;
    assert!(rejected, "the bogus config was not refused:\n{}", gw.log());
    let (_, reloads, _) = json(&c, &api("reloads")).await;
    assert_eq!(reloads[0]["accepted"], false, "{reloads}");
    let error = reloads[0]["errors"][0].as_str().unwrap_or_default();
    assert!(
        error.contains("gateway.yml:") && error.contains("bogus"),
        "{reloads}"
    );
}

/// Runs headless Chromium (Debian `chromium`, installed by scripts/setup.sh) on `url` with
/// `mode` (`--dump-dom`, or `--screenshot=FILE`); virtual time lets the page's fetches and
/// rendering finish before the DOM is dumped. Returns what Chromium printed.
fn chromium(url: &str, mode: &str) -> String {
    let profile = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1280,1500",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium could not run ({e}); scripts/setup.sh installs it (Debian chromium)")
        });
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_lists_the_configured_objects_in_a_real_browser() {
    let up = Upstream::start("app").await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let port = free_port();
    let gw = Gateway::start(&config(&up.url(), &dead, port), &[]);
    // The dead server is DOWN before the page is read, so the page shows both states.
    let c = Client::http1();
    let service = format!("http://127.0.0.1:{port}/api/http/services/dead@file");
    for _ in 0..400 {
        let (_, doc, _) = json(&c, &service).await;
        if doc["serverStatus"][&dead] == "DOWN" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // Traffic through the bundled `tag` and `strip` plugins, for the live figures.
    for _ in 0..7 {
        assert_eq!(c.get(&gw.url("/app/x"), "app.test", &[]).await.status, 200);
    }
    let page = format!("http://127.0.0.1:{port}/dashboard/");
    let dom = tokio::task::spawn_blocking({
        let page = page.clone();
        move || chromium(&page, "--dump-dom")
    })
    .await
    .expect("chromium task");
    for shown in [
        "app@file",
        "gone@file",
        "admin@file",
        "api@internal",
        "PathPrefix(`/app`)",
        "dead@file",
        "admin-auth@file",
        "basicauth",
        "UP",
        "DOWN",
        "start-up",
        "<span class=\"calls\">7</span> calls",
        "live /",
    ] {
        assert!(
            dom.contains(shown),
            "the dashboard shows {shown:?}; DOM:\n{dom}"
        );
    }
    assert!(
        !dom.contains("HTTP 4") && !dom.contains("HTTP 5"),
        "no API call failed: {dom}"
    );
    // A screenshot for people to look at (kept in the test's output directory).
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    tokio::task::spawn_blocking(move || chromium(&page, &arg))
        .await
        .expect("chromium task");
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot was written to {}",
        shot.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_turns_503_during_the_accept_grace_of_a_graceful_shutdown() {
    let port = free_port();
    let yaml = format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:{port}"
    transport:
      lifeCycle:
        requestAcceptGraceTimeout: 8s
ping:
  terminatingStatusCode: 503
"#
    );
    let mut gw = Gateway::start(&yaml, &[]);
    let ping = format!("http://127.0.0.1:{port}/ping");
    // A fresh connection per probe, as a load balancer's health check makes. The grace is long
    // enough that a loaded machine still sees ping answer during it.
    let probe = || async {
        let c = Client::http1();
        c.get(&ping, "lb.test", &[]).await.status.as_u16()
    };
    assert_eq!(probe().await, 200);
    gw.signal("TERM");
    let mut seen = Vec::new();
    for _ in 0..200 {
        let status = probe().await;
        seen.push(status);
        if status == 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        seen.last(),
        Some(&503),
        "ping went 503 while still accepting: {seen:?}"
    );
    assert!(
        gw.wait_exit(std::time::Duration::from_secs(30)).is_some(),
        "the gateway stops after the accept grace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_routers_services_and_middlewares_are_listed_in_traefiks_shapes() {
    let port = free_port();
    let yaml = format!(
        r#"entryPoints:
  web:
    address: "127.0.0.1:0"
  db:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:{port}"
api:
  insecure: true
tcp:
  routers:
    pg:
      entryPoints: [db]
      rule: "HostSNI(`*`)"
      service: pg
      middlewares: [office]
  services:
    pg:
      loadBalancer:
        servers: [{{ address: "127.0.0.1:5432" }}]
        proxyProtocol: {{ version: 2 }}
  middlewares:
    office:
      ipAllowList:
        sourceRange: ["10.0.0.0/8"]
"#
    );
    let _gw = Gateway::start(&yaml, &[]);
    let api = |path: &str| format!("http://127.0.0.1:{port}/api/{path}");
    let c = Client::http1();
    let (status, routers, _) = json(&c, &api("tcp/routers")).await;
    assert_eq!(status, 200);
    assert_eq!(names(&routers), ["pg@file"]);
    assert_eq!(routers[0]["rule"], "HostSNI(`*`)");
    assert_eq!(routers[0]["service"], "pg@file");
    assert_eq!(
        routers[0]["middlewares"],
        serde_json::json!(["office@file"])
    );
    let (_, service, _) = json(&c, &api("tcp/services/pg@file")).await;
    assert_eq!(
        service["loadBalancer"]["servers"][0]["address"],
        "127.0.0.1:5432"
    );
    assert_eq!(service["loadBalancer"]["proxyProtocol"]["version"], 2);
    assert_eq!(service["usedBy"], serde_json::json!(["pg@file"]));
    let (_, middlewares, _) = json(&c, &api("tcp/middlewares")).await;
    assert_eq!(middlewares[0]["type"], "ipallowlist");
    assert_eq!(
        middlewares[0]["ipAllowList"]["sourceRange"],
        serde_json::json!(["10.0.0.0/8"])
    );
    let (_, overview, _) = json(&c, &api("overview")).await;
    assert_eq!(overview["tcp"]["routers"]["total"], 1);
    let (_, rawdata, _) = json(&c, &api("rawdata")).await;
    assert_eq!(rawdata["tcpServices"]["pg@file"]["type"], "loadbalancer");
}
