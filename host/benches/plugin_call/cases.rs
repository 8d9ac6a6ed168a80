//! What the microbenchmark measures: the middlewares (one Traefik dynamic config, read by the
//! gateway's own config layer so plugins get exactly the JSON and budget a real config gives
//! them), the requests sent through them, and the rows of the table.

use std::net::SocketAddr;

use crate::auth::{DigestClient, basic};

/// Every middleware measured, as a Traefik user writes them. `headers` is the typical route
/// config the benchmark always had; `floor` is the same plugin with as little to do as a called
/// middleware can have: `on-request` removes a header the request does not carry (one host
/// call). (A `headers: {}` declares no hook through `hook-needs`, so the chain never calls it
/// and a `per-request` row of it would instantiate nothing.)
pub const CONFIG: &str = r#"
entryPoints:
  web: { address: "127.0.0.1:0" }
http:
  middlewares:
    headers:
      headers:
        customRequestHeaders: { X-Script-Name: "bench", X-Remove-Me: "" }
        customResponseHeaders: { X-Custom-Response: "yes" }
    floor:
      headers:
        customRequestHeaders: { X-Floor-Absent: "" }
    headers-cors-security:
      headers:
        accessControlAllowMethods: [GET, OPTIONS, PUT]
        accessControlAllowHeaders: [Content-Type, Authorization]
        accessControlAllowOriginList: ["https://app.example.com"]
        accessControlMaxAge: 100
        addVaryHeader: true
        stsSeconds: 31536000
        stsIncludeSubdomains: true
        stsPreload: true
        forceSTSHeader: true
        frameDeny: true
        contentTypeNosniff: true
        browserXssFilter: true
        referrerPolicy: "strict-origin-when-cross-origin"
        contentSecurityPolicy: "default-src 'self'"
    add-prefix:
      addPrefix: { prefix: "/v2" }
    strip-prefix:
      stripPrefix: { prefixes: ["/api"] }
    strip-prefix-regex:
      stripPrefixRegex: { regex: ["^/api/v[0-9]+"] }
    replace-path:
      replacePath: { path: "/internal/users" }
    replace-path-regex:
      replacePathRegex: { regex: "^/api/v1/(.*)", replacement: "/internal/$1" }
    redirect-scheme:
      redirectScheme: { scheme: https, permanent: true }
    redirect-regex:
      redirectRegex:
        regex: "^http://old\\.example\\.com/(.*)"
        replacement: "https://api.example.com/${1}"
        permanent: true
    basic-auth:
      basicAuth:
        # `htpasswd -nbB alice s3cret-b` (cost 5)
        users: ["alice:$2y$05$ZzeWa.HILIuIrOcdETjZDeZVplQrJ.Edims7tOZWEAd4k577gXn7e"]
        realm: bench
    digest-auth:
      digestAuth:
        # `htdigest file traefik carol` (password digest-pw)
        users: ["carol:traefik:3f9220f5ccb299c92bf498b9b67930ec"]
    ip-allow-list:
      ipAllowList: { sourceRange: ["10.0.0.0/8", "192.168.0.0/16"] }
    # A limit far above the offered load (the policy scenario's): every request takes a token.
    rate-limit:
      rateLimit: { average: 1000000000, burst: 1000000000 }
    in-flight-req:
      inFlightReq: { amount: 1000000 }
    # Never trips here (every request forwarded): the standby path, on-complete included.
    circuit-breaker:
      circuitBreaker: { expression: "NetworkErrorRatio() > 0.5" }
    # The auth server's answer is made up by the bench (200 with X-Auth-User): the row is the
    # plugin's own cost, both request-side hook calls, without the network exchange.
    forward-auth:
      forwardAuth: { address: "http://auth.example:9000/verify", authResponseHeaders: [X-Auth-User] }
    # A gRPC-Web call from an allowed origin (the host's codec then streams the bodies; not timed
    # here) and, on the `pass` row, an ordinary request through the same middleware.
    grpc-web:
      grpcWeb: { allowOrigins: ["https://app.example.com"] }
"#;

/// Password of `alice` in [`CONFIG`]'s `basic-auth`.
pub const ALICE: (&str, &str) = ("alice", "s3cret-b");

/// The request a row sends; every variant also carries the same 10 ordinary headers.
#[derive(Clone, Copy)]
pub enum Req {
    /// `GET http://api.example.com/api/v1/users?page=2` from 10.0.0.1.
    Plain,
    /// The same over TLS.
    Tls,
    /// The same from 203.0.113.7 (outside the allow list).
    Outsider,
    /// The same to host `old.example.com`.
    OldHost,
    /// With `Origin: https://app.example.com`.
    Cors,
    /// With alice's `Authorization: Basic`.
    Basic,
    /// With alice's Basic credentials and an allowed `Origin`.
    BasicCors,
    /// With carol's `Authorization: Digest`, a new nonce count each time.
    Digest,
    /// With alice's `x-api-key` (the guard example of every language).
    ApiKey,
    /// A gRPC-Web call (`content-type: application/grpc-web+proto`) with an allowed `Origin`.
    GrpcWeb,
}

/// What a request must come back with (checked on every sample, so a row measures the path
/// it names).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Expect {
    Forward,
    Respond(u16),
}

/// One row of the table.
pub struct Row {
    pub label: &'static str,
    pub middlewares: &'static [&'static str],
    pub req: Req,
    pub expect: Expect,
    pub per_request: bool,
    /// Keep what the plugin declares for the chain to do natively (`fixed-edits`: edits applied
    /// with no hook call; `pre-take`: the take made before the hook, which is then not called
    /// for an admitted request; `verdict-memo`: a remembered `continue` replayed, the hook
    /// called once per credential); otherwise its hooks are called, as every row measured
    /// before those declarations.
    pub declared: bool,
}

const fn row(
    label: &'static str,
    middlewares: &'static [&'static str],
    req: Req,
    expect: Expect,
) -> Row {
    Row {
        label,
        middlewares,
        req,
        expect,
        per_request: false,
        declared: false,
    }
}

const fn declared(mut r: Row) -> Row {
    r.declared = true;
    r
}

const fn per_request(mut r: Row) -> Row {
    r.per_request = true;
    r
}

const FWD: Expect = Expect::Forward;

/// The chain the issue sets a target for: `headers` + `basicAuth` (cache warm) + `stripPrefix`.
pub const CHAIN: &[&str] = &["headers", "basic-auth", "strip-prefix"];
/// The same with the CORS + security `headers` config.
pub const CHAIN_CORS: &[&str] = &["headers-cors-security", "basic-auth", "strip-prefix"];

/// Every warm row, in table order. Labels are `name[:variant]/isolation`.
pub const ROWS: &[Row] = &[
    row("headers/pooled", &["headers"], Req::Plain, FWD),
    per_request(row("headers/per-request", &["headers"], Req::Plain, FWD)),
    declared(row("headers:fixed/pooled", &["headers"], Req::Plain, FWD)),
    row("floor/pooled", &["floor"], Req::Plain, FWD),
    per_request(row("floor/per-request", &["floor"], Req::Plain, FWD)),
    row("add-prefix/pooled", &["add-prefix"], Req::Plain, FWD),
    row("strip-prefix/pooled", &["strip-prefix"], Req::Plain, FWD),
    row(
        "strip-prefix-regex/pooled",
        &["strip-prefix-regex"],
        Req::Plain,
        FWD,
    ),
    row("replace-path/pooled", &["replace-path"], Req::Plain, FWD),
    row(
        "replace-path-regex/pooled",
        &["replace-path-regex"],
        Req::Plain,
        FWD,
    ),
    row(
        "redirect-scheme:pass/pooled",
        &["redirect-scheme"],
        Req::Tls,
        FWD,
    ),
    row(
        "redirect-scheme:redirect/pooled",
        &["redirect-scheme"],
        Req::Plain,
        Expect::Respond(301),
    ),
    row(
        "redirect-regex:pass/pooled",
        &["redirect-regex"],
        Req::Plain,
        FWD,
    ),
    row(
        "redirect-regex:redirect/pooled",
        &["redirect-regex"],
        Req::OldHost,
        Expect::Respond(301),
    ),
    row(
        "headers:cors+security/pooled",
        &["headers-cors-security"],
        Req::Cors,
        FWD,
    ),
    row("basic-auth:warm/pooled", &["basic-auth"], Req::Basic, FWD),
    declared(row(
        "basic-auth:memo/pooled",
        &["basic-auth"],
        Req::Basic,
        FWD,
    )),
    row("digest-auth/pooled", &["digest-auth"], Req::Digest, FWD),
    row(
        "ip-allow-list:allow/pooled",
        &["ip-allow-list"],
        Req::Plain,
        FWD,
    ),
    row(
        "ip-allow-list:reject/pooled",
        &["ip-allow-list"],
        Req::Outsider,
        Expect::Respond(403),
    ),
    row("rate-limit/pooled", &["rate-limit"], Req::Plain, FWD),
    declared(row(
        "rate-limit:pre-take/pooled",
        &["rate-limit"],
        Req::Plain,
        FWD,
    )),
    row("in-flight-req/pooled", &["in-flight-req"], Req::Plain, FWD),
    row(
        "circuit-breaker/pooled",
        &["circuit-breaker"],
        Req::Plain,
        FWD,
    ),
    row("forward-auth/pooled", &["forward-auth"], Req::Plain, FWD),
    row("grpc-web:pass/pooled", &["grpc-web"], Req::Plain, FWD),
    row("grpc-web:call/pooled", &["grpc-web"], Req::GrpcWeb, FWD),
    row("chain/pooled", CHAIN, Req::Basic, FWD),
    declared(row("chain:fixed/pooled", CHAIN, Req::Basic, FWD)),
    row(
        "chain:cors+security/pooled",
        CHAIN_CORS,
        Req::BasicCors,
        FWD,
    ),
    per_request(row(
        "strip-prefix/per-request",
        &["strip-prefix"],
        Req::Plain,
        FWD,
    )),
    per_request(row(
        "strip-prefix-regex/per-request",
        &["strip-prefix-regex"],
        Req::Plain,
        FWD,
    )),
    per_request(row(
        "ip-allow-list:allow/per-request",
        &["ip-allow-list"],
        Req::Plain,
        FWD,
    )),
];

/// The parts of a request head a [`Req`] decides, built before each sample (not timed).
pub struct RequestParts {
    pub host: &'static str,
    pub tls: bool,
    pub client: SocketAddr,
    pub extra: Vec<(&'static str, String)>,
}

/// Per-row request state: Digest nonce counts must grow.
pub struct RequestMaker {
    req: Req,
    digest: Option<DigestClient>,
}

impl RequestMaker {
    pub fn new(req: Req, digest: Option<DigestClient>) -> Self {
        RequestMaker { req, digest }
    }

    pub fn next(&mut self) -> RequestParts {
        let mut parts = RequestParts {
            host: "api.example.com",
            tls: false,
            client: SocketAddr::from(([10, 0, 0, 1], 50000)),
            extra: Vec::new(),
        };
        let origin = ("origin", "https://app.example.com".to_string());
        match self.req {
            Req::Plain => {}
            Req::Tls => parts.tls = true,
            Req::Outsider => parts.client = SocketAddr::from(([203, 0, 113, 7], 50000)),
            Req::OldHost => parts.host = "old.example.com",
            Req::Cors => parts.extra.push(origin),
            Req::Basic => parts.extra.push(("authorization", basic(ALICE.0, ALICE.1))),
            Req::BasicCors => {
                parts.extra.push(("authorization", basic(ALICE.0, ALICE.1)));
                parts.extra.push(origin);
            }
            Req::Digest => {
                if let Some(d) = self.digest.as_mut() {
                    parts.extra.push(("authorization", d.next()));
                }
            }
            Req::ApiKey => parts
                .extra
                .push(("x-api-key", "alice-secret-key".to_string())),
            Req::GrpcWeb => {
                parts
                    .extra
                    .push(("content-type", "application/grpc-web+proto".to_string()));
                parts.extra.push(origin);
            }
        }
        parts
    }
}
