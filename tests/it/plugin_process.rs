//! The provider process itself: run by hand, AutoMTLS refusing strangers, and exiting on its
//! own when Terraform dies without a goodbye.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::tf::PROVIDER_BIN;

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

fn plugin_command() -> Command {
    let mut cmd = Command::new(PROVIDER_BIN);
    cmd.env_clear()
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000");
    cmd
}

#[test]
fn run_by_hand_explains_and_exits_1() {
    let out = Command::new(PROVIDER_BIN).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plugin for Terraform") && err.contains("not meant to be run by hand"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn refuses_protocol_6_only() {
    let out = plugin_command()
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 5"));
}

/// A client certificate like Terraform's: self-signed P-521 CA for `localhost`.
fn terraform_like_cert() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).unwrap();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.pem(), cert.der().clone(), der)
}

struct Plugin {
    child: Child,
    addr: String,
    server_cert: CertificateDer<'static>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads and checks the plugin's handshake line: `1|5|tcp|ADDR|grpc|CERT`.
fn handshake_fields(child: &mut Child) -> Vec<String> {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let fields: Vec<String> = line.trim().split('|').map(str::to_owned).collect();
    assert_eq!(fields.len(), 6, "handshake line: {line:?}");
    assert_eq!(&fields[..3], ["1", "5", "tcp"]);
    assert_eq!(fields[4], "grpc");
    fields
}

fn start_plugin(client_pem: &str) -> Plugin {
    let mut child = plugin_command()
        .env("PLUGIN_CLIENT_CERT", client_pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fields = handshake_fields(&mut child);
    let port: u16 = fields[3].rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        (10000..=25000).contains(&port),
        "port {port} outside the range"
    );
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&fields[5])
        .unwrap();
    Plugin {
        child,
        addr: fields[3].to_owned(),
        server_cert: CertificateDer::from(der),
    }
}

/// Trusts exactly the certificate the plugin advertised, as go-plugin does.
#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>, Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "not the advertised certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.1.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.1.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.1.signature_verification_algorithms.supported_schemes()
    }
}

/// Connects, sends the HTTP/2 preface and reports whether the server answered with SETTINGS.
async fn h2_accepted(
    plugin: &Plugin,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> bool {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer(
            plugin.server_cert.clone(),
            provider,
        )));
    let mut config = match client {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(&plugin.addr).await.unwrap();
    let Ok(mut tls) = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
    else {
        return false;
    };
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS frame
    if tls.write_all(&hello).await.is_err() {
        return false;
    }
    let mut header = [0u8; 9];
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_exact(&mut header)).await;
    matches!(read, Ok(Ok(_))) && header[3] == 4
}

#[test]
fn mtls_accepts_only_terraforms_certificate() {
    let (pem, cert, key) = terraform_like_cert();
    let (_, other_cert, other_key) = terraform_like_cert();
    let plugin = start_plugin(&pem);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert!(
            h2_accepted(&plugin, Some((cert, key))).await,
            "Terraform's certificate refused"
        );
        assert!(
            !h2_accepted(&plugin, Some((other_cert, other_key))).await,
            "a stranger's certificate was accepted"
        );
        assert!(
            !h2_accepted(&plugin, None).await,
            "a client without certificate was accepted"
        );
    });
}

fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie has exited; only its parent's reaping is missing.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z')),
    }
}

#[test]
fn exits_when_terraform_is_killed() {
    let (pem, _, _) = terraform_like_cert();
    // A stand-in for Terraform: a shell that starts the plugin, then dies by SIGKILL.
    let mut parent = plugin_command()
        .env("PLUGIN_CLIENT_CERT", pem)
        .env("PATH", "/usr/bin:/bin")
        .arg0_shell(PROVIDER_BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(parent.stdout.take().unwrap()).lines();
    let mut pid = None;
    let mut handshake = false;
    while pid.is_none() || !handshake {
        let line = lines.next().unwrap().unwrap();
        if let Some(p) = line.strip_prefix("pid=") {
            pid = Some(p.parse::<u32>().unwrap());
        } else if line.starts_with("1|5|tcp|") {
            handshake = true;
        }
    }
    let pid = pid.unwrap();
    parent.kill().unwrap();
    parent.wait().unwrap();
    let start = Instant::now();
    while !process_gone(pid) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "plugin exited {:?} after its parent was killed",
        start.elapsed()
    );
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        process_gone(pid),
        "plugin {pid} still running 10 s after its parent died: {stat}"
    );
}

trait ShellParent {
    fn arg0_shell(&mut self, bin: &str) -> &mut Self;
}

impl ShellParent for Command {
    /// Turns the command into `sh -c 'BIN & echo pid=$!; wait'` with the same environment.
    fn arg0_shell(&mut self, bin: &str) -> &mut Self {
        let mut cmd = Command::new("/bin/sh");
        cmd.env_clear();
        for (k, v) in self.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.arg("-c").arg(format!("'{bin}' & echo pid=$!; wait"));
        *self = cmd;
        self
    }
}

/// `--debug` serves without TLS and prints a `TF_REATTACH_PROVIDERS` value Terraform can use.
#[test]
fn debug_mode_reattaches() {
    let mut child = Command::new(PROVIDER_BIN)
        .arg("--debug")
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reattach = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(v) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS=") {
            reattach = Some(v.trim_matches('\'').to_owned());
            break;
        }
    }
    let reattach = reattach.expect("no TF_REATTACH_PROVIDERS line");
    let v: serde_json::Value = serde_json::from_str(&reattach).unwrap();
    assert_eq!(v[tfprovider::PROVIDER_ADDRESS]["ProtocolVersion"], 5);

    let mut tf = crate::tf::Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{\n  region = \"cn-hangzhou\"\n}}\nresource \"alicloud_vpc_flow_log_activation\" \"x\" {{\n  flow_log_id = \"fl-abc\"\n}}\n",
        crate::tf::header()
    ));
    tf.set_env("TF_REATTACH_PROVIDERS", &reattach);
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    let _ = child.kill();
    let _ = child.wait();
    r.assert_ok();
    assert!(r.stdout.contains("1 to add"), "{}", r.stdout);
}

/// Health service `plugin` answers SERVING, and `GRPCController/Shutdown` ends the process at
/// once (without it go-plugin would wait 2 s and kill it, on every provider start).
#[test]
fn health_serving_and_shutdown_exits_promptly() {
    // Without PLUGIN_CLIENT_CERT (Terraform's plugin TLS disabled) the plugin serves plaintext.
    let mut child = plugin_command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fields = handshake_fields(&mut child);
    assert_eq!(fields[5], "", "no certificate without TLS: {fields:?}");
    let url = format!("http://{}", fields[3]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let asked = rt.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "plugin".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let path = "/plugin.GRPCController/Shutdown".parse().unwrap();
        let asked = Instant::now();
        grpc.unary(
            tonic::Request::new(()),
            path,
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await
        .unwrap();
        asked
    });
    drop(rt); // closes the connection, as go-plugin does after Shutdown
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "still running 5 s after Shutdown"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{status:?}");
    eprintln!("plugin exited {:?} after Shutdown", asked.elapsed());
}
