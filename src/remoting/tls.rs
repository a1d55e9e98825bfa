//! TLS on the remoting connections (rustls, the ring provider; no OpenSSL), as the Java
//! client's `useTLS` / the servers' `tls.server.mode=enforcing` speak it: a TLS session under
//! the same frames.
//!
//! RocketMQ clusters run on private certificates, so a client trusts what `--tls-ca` names
//! (PEM), not the system's roots, or, with `--tls-insecure`,
//! anything (what the Java client's default `tls.client.authServer=false` does). `--tls-cert` /
//! `--tls-key` present a client certificate (mutual TLS). The server side (`mqtui cluster
//! --tls`) serves a given certificate, or one it makes for 127.0.0.1 / localhost.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// What a client is told to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificates to trust (a CA, or the server's own self-signed certificate).
    pub ca: Option<PathBuf>,
    /// A client certificate chain and its key (PEM), for servers that ask for one.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Accept any server certificate (the Java client's default, `tls.client.authServer=false`).
    pub insecure: bool,
    /// Certificates given in memory (the embedded demo cluster's own), trusted beside `ca`.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let f = crate::bounds::read_limited(path, crate::bounds::MAX_PEM_FILE, "certificate file")?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut BufReader::new(&f[..]))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let f = crate::bounds::read_limited(path, crate::bounds::MAX_PEM_FILE, "key file")?;
    rustls_pemfile::private_key(&mut BufReader::new(&f[..]))
        .map_err(|e| format!("{}: not a PEM key: {e}", path.display()))?
        .ok_or_else(|| format!("{}: no PEM private key in it (PKCS#8, PKCS#1 or SEC1)", path.display()))
}

/// Trusts any certificate, as a Java client with `tls.client.authServer=false`; signatures are
/// still checked, so the session is a real TLS session with the server that holds the key.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The usual WebPKI checks against the trusted certificates, and besides them a server whose
/// certificate *is* one of the trusted ones (a self-signed certificate given as `--tls-ca`, as
/// `openssl req -x509` makes them: marked CA, which WebPKI refuses as a server's own). Its name
/// must still match.
#[derive(Debug)]
struct Pinned {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(e) if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) => {
                // The trusted certificate itself: check the name it was issued for.
                let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| e.clone())?;
                let name = server_name.to_owned();
                match cert.verify_is_valid_for_subject_name(&name) {
                    Ok(()) => Ok(ServerCertVerified::assertion()),
                    Err(_) => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)),
                }
            }
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A client's TLS: connects TLS sessions over TCP streams.
#[derive(Clone)]
pub struct TlsClient {
    connector: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient")
    }
}

impl TlsClient {
    /// Reads the files `opts` names; an error says which file and why.
    pub fn new(opts: &TlsOptions) -> Result<TlsClient, String> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if opts.insecure {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            let mut certs = opts.extra_roots.clone();
            match &opts.ca {
                Some(ca) => certs.extend(read_certs(ca)?),
                None if certs.is_empty() => {
                    return Err("--tls needs --tls-ca FILE (the cluster's CA or certificate, PEM) or --tls-insecure \
                                (trust any certificate, as the Java client does by default)"
                        .into())
                }
                None => {}
            }
            for c in &certs {
                roots.add(c.clone()).map_err(|e| format!("--tls-ca: {e}"))?;
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("--tls-ca: {e}"))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Pinned { webpki, pinned: certs }))
        };
        let config = match (&opts.cert, &opts.key) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
                .map_err(|e| format!("--tls-cert / --tls-key: {e}"))?,
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        Ok(TlsClient { connector: tokio_rustls::TlsConnector::from(Arc::new(config)) })
    }

    /// A TLS session over `stream` to `addr` (`host:port`; the host names the certificate).
    pub async fn connect(
        &self,
        addr: &str,
        stream: tokio::net::TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{addr}: {e}"))?;
        self.connector.connect(name, stream).await.map_err(|e| tls_error(addr, &e))
    }
}

/// "TLS with 127.0.0.1:10911 failed: …" in words an operator can act on.
fn tls_error(addr: &str, e: &std::io::Error) -> String {
    let why = e.to_string();
    let hint = if why.contains("UnknownIssuer") || why.contains("BadSignature") || why.contains("CaUsedAsEndEntity") {
        " (its certificate is not signed by --tls-ca)"
    } else if why.contains("NotValidForName") || why.contains("NotValidForNameContext") {
        " (its certificate does not name this address)"
    } else if why.contains("InvalidContentType") || why.contains("corrupt message") {
        " (it does not speak TLS: a plain server?)"
    } else if why.contains("unexpected EOF") || why.contains("reset") {
        " (it closed the connection during the handshake)"
    } else {
        ""
    };
    format!("TLS with {addr} failed: {why}{hint}")
}

/// A server's TLS: a certificate and its key.
#[derive(Clone)]
pub struct TlsServer {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// The certificate served, PEM (for clients' `--tls-ca`).
    pub cert_pem: String,
    /// The same, DER (to trust in process).
    pub cert_der: CertificateDer<'static>,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsServer")
    }
}

impl TlsServer {
    fn with(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_pem: String,
    ) -> Result<TlsServer, String> {
        let cert_der = certs[0].clone();
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("--tls-cert / --tls-key: {e}"))?;
        Ok(TlsServer { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), cert_pem, cert_der })
    }

    /// Serves the certificate chain and key in these PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<TlsServer, String> {
        let pem = crate::bounds::read_text_limited(cert, crate::bounds::MAX_PEM_FILE, "certificate file")?;
        TlsServer::with(read_certs(cert)?, read_key(key)?, pem)
    }

    /// A self-signed certificate for 127.0.0.1, ::1, localhost and `extra` names, made now.
    pub fn self_signed(extra: &[String]) -> Result<TlsServer, String> {
        let mut names = vec!["127.0.0.1".to_string(), "::1".to_string(), "localhost".to_string()];
        names.extend(extra.iter().filter(|n| !n.is_empty()).cloned());
        names.dedup();
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params = rcgen::CertificateParams::new(names).map_err(|e| e.to_string())?;
        params.distinguished_name.push(rcgen::DnType::CommonName, "mqtui demo cluster");
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        let der = CertificateDer::from(cert.der().to_vec());
        let key_der = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| e.to_string())?;
        TlsServer::with(vec![der], key_der, cert.pem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_needs_something_to_trust_and_says_which_file_is_wrong() {
        let e = TlsClient::new(&TlsOptions::default()).unwrap_err();
        assert!(e.contains("--tls-ca") && e.contains("--tls-insecure"), "{e}");
        let e =
            TlsClient::new(&TlsOptions { ca: Some("/nonexistent/ca.pem".into()), ..Default::default() }).unwrap_err();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        let dir = std::env::temp_dir().join(format!("mqtui-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("junk.pem"), "not a certificate").unwrap();
        let e = TlsClient::new(&TlsOptions { ca: Some(dir.join("junk.pem")), ..Default::default() }).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
        let s = TlsServer::self_signed(&[]).unwrap();
        std::fs::write(dir.join("ca.pem"), &s.cert_pem).unwrap();
        assert!(TlsClient::new(&TlsOptions { ca: Some(dir.join("ca.pem")), ..Default::default() }).is_ok());
        let e = TlsClient::new(&TlsOptions { insecure: true, cert: Some(dir.join("ca.pem")), ..Default::default() })
            .unwrap_err();
        assert!(e.contains("go together"), "{e}");
        assert!(TlsClient::new(&TlsOptions { insecure: true, ..Default::default() }).is_ok());
    }
}
