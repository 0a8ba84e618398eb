//! AutoMTLS: the server certificate we advertise in the handshake and a client verifier that
//! accepts exactly the certificate Terraform pinned in `PLUGIN_CLIENT_CERT`.
//!
//! Terraform's client certificate is a self-signed P-521 CA certificate, which webpki's stock
//! verifier rejects (`CaUsedAsEndEntity`) and ring cannot verify at all. Pinning the exact DER
//! and checking the handshake signature (ring for the usual schemes, the pure-Rust `p521`
//! crate for ECDSA P-521 with SHA-512) authenticates Terraform without either. ring rather
//! than aws-lc-rs: the same TLS for about 1.5 MB less binary.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer, PrivatePkcs8KeyDer,
    SignatureVerificationAlgorithm, UnixTime, alg_id,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCertificate,
    #[error("PLUGIN_CLIENT_CERT is not valid PEM: {0}")]
    BadPem(#[source] std::io::Error),
    #[error("could not generate the server certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Config(#[from] rustls::Error),
}

/// The plugin's TLS provider: ring, as for the HTTPS clients (`alicloud::rpc::http`).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// ECDSA over P-521 with SHA-512: the scheme Terraform's P-521 client key signs with, which
/// ring does not verify.
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }

    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier as _;
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let sig = p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &sig).map_err(|_| InvalidSignature)
    }
}

static P521_SHA512: EcdsaP521Sha512 = EcdsaP521Sha512;
static P521_ONLY: &[&dyn SignatureVerificationAlgorithm] = &[&P521_SHA512];

/// `base` plus ECDSA P-521/SHA-512. Built once per process: the slices must be `'static`.
fn with_p521(base: WebPkiSupportedAlgorithms) -> WebPkiSupportedAlgorithms {
    static ALGORITHMS: OnceLock<WebPkiSupportedAlgorithms> = OnceLock::new();
    *ALGORITHMS.get_or_init(|| {
        let mut all = base.all.to_vec();
        all.extend_from_slice(P521_ONLY);
        let mut mapping = base.mapping.to_vec();
        mapping.push((SignatureScheme::ECDSA_NISTP521_SHA512, P521_ONLY));
        WebPkiSupportedAlgorithms {
            all: Box::leak(all.into_boxed_slice()),
            mapping: Box::leak(mapping.into_boxed_slice()),
        }
    })
}

/// A freshly generated server identity: key and self-signed certificate for `localhost`.
pub struct ServerIdentity {
    pub cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    pub fn generate() -> Result<Self, TlsError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.distinguished_name.push(
            rcgen::DnType::OrganizationName,
            "terraform-provider-alicloud",
        );
        // go-plugin puts the advertised certificate in its root pool: it must be a CA that may
        // also serve as a server leaf, like the one go-plugin itself generates.
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::days(365 * 30);
        let cert = params.self_signed(&key)?;
        Ok(ServerIdentity {
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The handshake line's last field: DER, standard base64 without padding.
    pub fn cert_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&self.cert_der)
    }
}

/// Parses the first certificate of `PLUGIN_CLIENT_CERT`.
pub fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    let mut reader = pem.as_bytes();
    match rustls_pemfile::certs(&mut reader).next() {
        Some(Ok(c)) => Ok(c),
        Some(Err(e)) => Err(TlsError::BadPem(e)),
        None => Err(TlsError::NoClientCertificate),
    }
}

/// Accepts one exact client certificate and checks the handshake was signed by its key.
#[derive(Debug)]
pub struct PinnedClientVerifier {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientVerifier {
    pub fn new(pinned: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        PinnedClientVerifier {
            pinned,
            algorithms: with_p521(provider.signature_verification_algorithms),
        }
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The server side of AutoMTLS: our identity, Terraform's pinned certificate, ALPN `h2`.
pub fn server_config(
    identity: &ServerIdentity,
    client_cert: CertificateDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let verifier = Arc::new(PinnedClientVerifier::new(client_cert, &provider));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![identity.cert_der.clone()],
            PrivateKeyDer::Pkcs8(identity.key_der.clone_key()),
        )?;
    // Terraform 1.12+ and OpenTofu refuse a TLS connection that does not negotiate h2.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use p521::ecdsa::signature::Signer as _;
    use rustls::SignatureScheme;
    use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm};
    use rustls::server::danger::ClientCertVerifier as _;

    use crate::plugin::tls::{
        P521_SHA512, PinnedClientVerifier, TlsError, parse_client_cert, provider,
    };

    /// A fixed scalar below the group order (its top byte must be 0 or 1).
    fn signing_key(byte: u8) -> p521::ecdsa::SigningKey {
        let mut scalar = [byte; 66];
        scalar[0] = 0;
        p521::ecdsa::SigningKey::from_slice(&scalar).unwrap()
    }

    fn sec1(key: &p521::ecdsa::SigningKey) -> Vec<u8> {
        key.verifying_key().to_sec1_point(false).as_bytes().to_vec()
    }

    #[test]
    fn p521_sha512_signatures_verify_and_forgeries_do_not() {
        let key = signing_key(1);
        let sig: p521::ecdsa::Signature = key.sign(b"handshake transcript");
        let der = sig.to_der();
        let public = sec1(&key);
        assert!(
            P521_SHA512
                .verify_signature(&public, b"handshake transcript", der.as_bytes())
                .is_ok()
        );
        assert!(
            P521_SHA512
                .verify_signature(&public, b"handshake transcripT", der.as_bytes())
                .is_err()
        );
        let other = sec1(&signing_key(2));
        assert!(
            P521_SHA512
                .verify_signature(&other, b"handshake transcript", der.as_bytes())
                .is_err()
        );
        assert!(
            P521_SHA512
                .verify_signature(&public, b"handshake transcript", &der.as_bytes()[1..])
                .is_err()
        );
        assert!(
            P521_SHA512
                .verify_signature(&public[1..], b"handshake transcript", der.as_bytes())
                .is_err()
        );
    }

    #[test]
    fn the_client_verifier_offers_p521_besides_rings_schemes() {
        let verifier = PinnedClientVerifier::new(CertificateDer::from(vec![1, 2, 3]), &provider());
        let schemes = verifier.supported_verify_schemes();
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
        assert!(schemes.contains(&SignatureScheme::ED25519));
    }

    #[test]
    fn a_bad_pem_keeps_the_parsers_error_as_its_source() {
        let pem = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n";
        let e = parse_client_cert(pem).unwrap_err();
        assert!(matches!(e, TlsError::BadPem(_)), "{e:?}");
        let source = std::error::Error::source(&e).expect("a source");
        assert!(
            source.downcast_ref::<std::io::Error>().is_some(),
            "{source:?}"
        );
        assert!(
            e.to_string()
                .starts_with("PLUGIN_CLIENT_CERT is not valid PEM: "),
            "{e}"
        );
        assert!(matches!(
            parse_client_cert("no PEM here"),
            Err(TlsError::NoClientCertificate)
        ));
    }
}
