//! TLS for the suites: certificates made at test time (rcgen: a CA and the leaves it signs),
//! written to PEM files, and a real rustls client (tokio-rustls) that reports what the gateway
//! served (certificate, protocol version, ALPN) and sends HTTP/1.1 or HTTP/2 over it (hyper).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, ProtocolVersion, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        TestCa::from_params(params)
    }

    /// A self-signed CA with these parameters (made a CA here), for tests that need to know
    /// its serial number, validity or name.
    pub fn from_params(mut params: CertificateParams) -> TestCa {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("ca key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("ca cert"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA's own certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A leaf made from `params`, signed by this CA.
    pub fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    /// A leaf for `names` (server or client), signed by this CA.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_with_uri(names, None)
    }

    /// A leaf for `names` that also names `uri` in its subjectAltName (SPIFFE-style identities).
    pub fn leaf_with_uri(&self, names: &[&str], uri: Option<&str>) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        if let Some(uri) = uri {
            let uri = rcgen::string::Ia5String::try_from(uri).expect("ascii uri");
            params.subject_alt_names.push(rcgen::SanType::URI(uri));
        }
        self.sign(params)
    }
}

/// A certificate and its key, as PEM, and the certificate's DER (to tell which one was served).
#[derive(Clone)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: CertificateDer<'static>,
}

impl Leaf {
    /// Writes `<stem>.pem` and `<stem>.key` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&cert, &self.cert_pem).expect("write cert");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }

    /// `- { certFile: ..., keyFile: ... }` for `tls.certificates`, with the files in `dir`.
    pub fn entry(&self, dir: &Path, stem: &str) -> String {
        let (cert, key) = self.write(dir, stem);
        format!(
            "    - {{ certFile: \"{}\", keyFile: \"{}\" }}\n",
            cert.display(),
            key.display()
        )
    }
}

/// What a client asks for in its handshake.
#[derive(Clone, Default)]
pub struct Hello {
    /// Server name sent (SNI); `None`: an IP address is dialled and no SNI is sent.
    pub sni: Option<String>,
    /// Only this version; `None`: TLS 1.2 and 1.3.
    pub version: Option<ProtocolVersion>,
    pub alpn: Vec<&'static str>,
    /// A client certificate to present.
    pub client_cert: Option<Leaf>,
    /// Certificates sent after the client certificate (its chain).
    pub client_chain: Vec<CertificateDer<'static>>,
}

impl Hello {
    pub fn sni(name: &str) -> Hello {
        Hello {
            sni: Some(name.to_string()),
            ..Hello::default()
        }
    }
}

/// A handshaken connection and what was negotiated.
pub struct Handshaken {
    pub stream: TlsStream<TcpStream>,
    pub served: CertificateDer<'static>,
    pub version: Option<ProtocolVersion>,
    pub alpn: Option<Vec<u8>>,
}

/// Connects and handshakes. The server certificate is not verified (tests compare it with the
/// one expected instead), but the server must prove it holds its key.
pub async fn connect(addr: SocketAddr, hello: &Hello) -> std::io::Result<Handshaken> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match hello.version {
        Some(ProtocolVersion::TLSv1_2) => vec![&rustls::version::TLS12],
        Some(ProtocolVersion::TLSv1_3) => vec![&rustls::version::TLS13],
        _ => vec![&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider)));
    let mut config = match &hello.client_cert {
        Some(leaf) => {
            let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("client key");
            builder
                .with_client_auth_cert(
                    std::iter::once(leaf.der.clone())
                        .chain(hello.client_chain.iter().cloned())
                        .collect(),
                    key,
                )
                .expect("client cert")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = hello.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let name = match &hello.sni {
        Some(sni) => ServerName::try_from(sni.clone()).expect("server name"),
        None => ServerName::IpAddress(addr.ip().into()),
    };
    let tcp = TcpStream::connect(addr).await?;
    let stream = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    let (_, session) = stream.get_ref();
    let served = session
        .peer_certificates()
        .and_then(|c| c.first())
        .cloned()
        .ok_or_else(|| std::io::Error::other("no server certificate"))?;
    Ok(Handshaken {
        served,
        version: session.protocol_version(),
        alpn: session.alpn_protocol().map(<[u8]>::to_vec),
        stream,
    })
}

/// The certificate served for `sni`, or the handshake error.
pub async fn served_cert(addr: SocketAddr, sni: &str) -> std::io::Result<CertificateDer<'static>> {
    connect(addr, &Hello::sni(sni)).await.map(|h| h.served)
}

/// One GET over a handshaken connection (HTTP/2 when ALPN chose `h2`); status and
/// `x-upstream` / body of the answer.
pub async fn get(conn: Handshaken, host: &str, path: &str) -> Result<(u16, String), String> {
    get_with(conn, host, path, &[]).await
}

/// [`get`] with these request headers.
pub async fn get_with(
    conn: Handshaken,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String), String> {
    let h2 = conn.alpn.as_deref() == Some(b"h2");
    let io = TokioIo::new(conn.stream);
    let mut req = http::Request::get(path);
    if h2 {
        req = req.uri(format!("https://{host}{path}"));
    } else {
        req = req.header("host", host);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    let resp = if h2 {
        let (mut send, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        send.send_request(req).await.map_err(|e| e.to_string())?
    } else {
        let (mut send, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        send.send_request(req).await.map_err(|e| e.to_string())?
    };
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// An HTTP/2 connection over a handshaken stream (ALPN must have chosen `h2`), kept open for
/// several requests.
pub async fn h2_sender(conn: Handshaken) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    assert_eq!(
        conn.alpn.as_deref(),
        Some(&b"h2"[..]),
        "ALPN did not choose h2"
    );
    let (send, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(conn.stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    send
}

/// One GET on a kept HTTP/2 connection; its status.
pub async fn h2_get(
    send: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    host: &str,
    path: &str,
) -> Result<u16, String> {
    let req = http::Request::get(format!("https://{host}{path}"))
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
    Ok(resp.status().as_u16())
}

/// Accepts any server certificate; handshake signatures are still verified.
#[derive(Debug)]
struct AnyServerCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A real HTTPS upstream (hyper over tokio-rustls, HTTP/1.1 and HTTP/2 by ALPN) answering 200
/// with body `https <version>`; with `client_ca` it requires a client certificate from it.
pub struct TlsUpstream {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsUpstream {
    pub async fn start(leaf: &Leaf, client_ca: Option<&TestCa>) -> TlsUpstream {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.issuer.der().clone()).expect("client ca");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("key");
        let mut config = builder
            .with_single_cert(vec![leaf.der.clone()], key)
            .expect("server cert");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        |req: hyper::Request<hyper::body::Incoming>| async move {
                            let body = format!("https {:?}", req.version());
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(Bytes::from(body)),
                            ))
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TlsUpstream { addr, task }
    }
}

impl Drop for TlsUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
