//! The mock over TLS (`rcload mock --tls-cert FILE --tls-key FILE [--client-ca FILE]`):
//! rustls with the same provider as rcload's client, HTTP/2 and HTTP/1.1 by ALPN, and client
//! certificates required when a client CA is given (mTLS). Certificates and keys are PEM.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// Why a TLS configuration could not be built; each names the file's role.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("--tls-cert: no PEM certificate in it")]
    NoCertificate,
    #[error("--tls-cert: {0}")]
    Certificate(String),
    #[error("--tls-key: no PEM private key in it ({0})")]
    Key(String),
    #[error("--client-ca: {0}")]
    ClientCa(String),
    #[error("the certificate and key do not go together, or are not usable: {0}")]
    Config(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// A server configuration from PEM text: the certificate chain, its private key and, for
/// mTLS, the CA bundle that client certificates must chain to.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> Result<rustls::ServerConfig, TlsSetupError> {
    let chain = certificates(cert_pem).map_err(TlsSetupError::Certificate)?;
    if chain.is_empty() {
        return Err(TlsSetupError::NoCertificate);
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsSetupError::Key(e.to_string()))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    let builder = match client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            let cas = certificates(pem).map_err(TlsSetupError::ClientCa)?;
            if cas.is_empty() {
                return Err(TlsSetupError::ClientCa("no PEM certificate in it".into()));
            }
            for ca in cas {
                roots
                    .add(ca)
                    .map_err(|e| TlsSetupError::ClientCa(e.to_string()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| TlsSetupError::ClientCa(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
