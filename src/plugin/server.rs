//! The plugin process: listener in Terraform's port range, TLS accept loop with TCP_NODELAY,
//! gRPC services (provider, health `plugin`, controller), and the ways the process ends.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;

use super::controller::{Controller, ControllerServer};
use super::handshake;
use super::tls;
use crate::protocol::ProviderService;

/// What the process needs to serve; built by `main` from the environment.
pub struct ServeOptions {
    pub port_range: Option<RangeInclusive<u16>>,
    /// Terraform's certificate (PEM); `None` serves plaintext (TLS disabled, or `--debug`).
    pub client_cert_pem: Option<String>,
    pub debug: bool,
    /// Our parent's PID as read first thing at start ([`parent_pid`]): we exit on our own once
    /// we are no longer its child (Terraform died without saying goodbye). `None` disables the
    /// check; it is always off on Windows.
    pub parent_pid: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not listen on 127.0.0.1 in ports {0}: {1}")]
    Listen(String, #[source] io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
}

/// Why serving ended; `main` turns it into the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Terraform said goodbye (`GRPCController/Shutdown`).
    Shutdown,
    /// Ctrl-C in debug mode, where no Terraform is in charge.
    Interrupted,
    /// Terraform went away without shutting us down.
    ParentGone,
}

impl Ended {
    /// Whether the process should report failure.
    pub fn is_failure(self) -> bool {
        self == Ended::ParentGone
    }
}

/// Serves `provider` until Terraform asks us to shut down (or, in debug mode, until Ctrl-C),
/// and says why it stopped.
pub async fn serve(provider: ProviderService, opts: ServeOptions) -> Result<Ended, ServeError> {
    let listener = bind(opts.port_range.clone()).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Listen("?".into(), e))?;

    let (acceptor, cert_b64) = match &opts.client_cert_pem {
        Some(pem) if !opts.debug => {
            let identity = tls::ServerIdentity::generate()?;
            let client = tls::parse_client_cert(pem)?;
            let config = tls::server_config(&identity, client)?;
            (
                Some(TlsAcceptor::from(config)),
                Some(identity.cert_base64()),
            )
        }
        _ => (None, None),
    };

    let shutdown = CancellationToken::new();
    if opts.debug {
        print_reattach(addr);
    } else {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{}",
            handshake::handshake_line(addr, cert_b64.as_deref())
        );
        let _ = out.flush();
    }
    tracing::debug!(%addr, tls = acceptor.is_some(), "plugin serving");

    let (end_tx, mut ended) = mpsc::channel::<Ended>(2);
    ignore_interrupts(opts.debug, end_tx.clone());
    if let Some(parent) = opts.parent_pid.filter(|_| !opts.debug) {
        watch_parent(parent, end_tx);
    }

    let (tx, rx) = mpsc::channel::<Result<Conn, io::Error>>(16);
    tokio::spawn(accept_loop(listener, acceptor, tx));

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let controller = ControllerServer::new(Controller::new(shutdown.clone(), opts.debug));
    let incoming = tokio_stream::wrappers::ReceiverStream::new(rx);
    let signal = {
        let shutdown = shutdown.clone();
        async move { shutdown.cancelled().await }
    };
    let server = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(health)
        .add_service(controller)
        .add_service(provider)
        .serve_with_incoming_shutdown(incoming, signal);
    // Give in-flight answers (the Shutdown reply itself) a moment to leave, then stop for good
    // even if a connection lingers: go-plugin waits for our exit.
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::select! {
        r = server => r.map(|()| Ended::Shutdown).map_err(ServeError::from),
        () = grace => Ok(Ended::Shutdown),
        Some(reason) = ended.recv() => Ok(reason),
    }
}

async fn bind(range: Option<RangeInclusive<u16>>) -> Result<TcpListener, ServeError> {
    let Some(range) = range else {
        return TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| ServeError::Listen("any".into(), e));
    };
    // Start at a random port so hundreds of plugins started together (Terragrunt) do not all
    // probe the same ports in the same order.
    let (lo, hi) = (*range.start() as u32, *range.end() as u32);
    let span = hi - lo + 1;
    let start = rand::random::<u32>() % span;
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free port");
    for i in 0..span {
        let port = (lo + (start + i) % span) as u16;
        match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
            Ok(l) => return Ok(l),
            Err(e) => last = e,
        }
    }
    Err(ServeError::Listen(format!("{lo}-{hi}"), last))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    tx: mpsc::Sender<Result<Conn, io::Error>>,
) {
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Without it every RPC waits ~40 ms on Nagle versus delayed ACKs.
        let _ = sock.set_nodelay(true);
        match acceptor.clone() {
            None => {
                if tx.send(Ok(Conn::Plain(sock))).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(sock)).await
                    {
                        Ok(Ok(tls)) => {
                            let _ = tx.send(Ok(Conn::Tls(Box::new(tls)))).await;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(%peer, error = %e, "refused a TLS client");
                        }
                        Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

/// Our parent's PID, read now; `main` reads it first thing, before Terraform can die.
///
/// Unix: `std::os::unix::process::parent_id`.
#[cfg(unix)]
pub fn parent_pid() -> Option<u32> {
    Some(std::os::unix::process::parent_id())
}

/// Our parent's PID, read now; `main` reads it first thing, before Terraform can die.
///
/// Windows: always `None`, so the provider does not watch its parent there. The standard
/// library has no `parent_id` on Windows, and finding and waiting on the parent would take
/// `unsafe` Win32 calls (the crate forbids `unsafe`). A Windows provider whose Terraform was
/// killed without calling `Shutdown` lingers until its listener is closed or it is killed.
#[cfg(windows)]
pub fn parent_pid() -> Option<u32> {
    None
}

/// Terraform forwards Ctrl-C as the `Stop` RPC; the signal itself must not kill us mid-apply.
/// In debug mode there is no Terraform in charge, so Ctrl-C ends the process.
///
/// Unix: SIGINT.
#[cfg(unix)]
fn ignore_interrupts(debug: bool, ended: mpsc::Sender<Ended>) {
    use tokio::signal::unix::{SignalKind, signal};
    if let Ok(mut sigint) = signal(SignalKind::interrupt()) {
        tokio::spawn(async move {
            while sigint.recv().await.is_some() {
                if debug {
                    let _ = ended.send(Ended::Interrupted).await;
                    return;
                }
                tracing::debug!("ignoring SIGINT; waiting for Terraform's Stop");
            }
        });
    }
}

/// Terraform forwards Ctrl-C as the `Stop` RPC; the signal itself must not kill us mid-apply.
/// In debug mode there is no Terraform in charge, so Ctrl-C ends the process.
///
/// Windows: the console's CTRL_C_EVENT (while a listener exists, tokio's handler tells
/// Windows it was handled, so the process is not terminated).
#[cfg(windows)]
fn ignore_interrupts(debug: bool, ended: mpsc::Sender<Ended>) {
    if let Ok(mut ctrl_c) = tokio::signal::windows::ctrl_c() {
        tokio::spawn(async move {
            while ctrl_c.recv().await.is_some() {
                if debug {
                    let _ = ended.send(Ended::Interrupted).await;
                    return;
                }
                tracing::debug!("ignoring Ctrl-C; waiting for Terraform's Stop");
            }
        });
    }
}

/// Terraform killed with -9 never calls Shutdown; once we are re-parented, nobody will.
///
/// Unix: polls `parent_id` every 200 ms and ends with `Ended::ParentGone` once it changed.
#[cfg(unix)]
fn watch_parent(parent: u32, ended: mpsc::Sender<Ended>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            if std::os::unix::process::parent_id() != parent {
                tracing::warn!("Terraform went away without shutting us down; exiting");
                let _ = ended.send(Ended::ParentGone).await;
                return;
            }
        }
    });
}

/// Terraform killed with -9 never calls Shutdown; once we are re-parented, nobody will.
///
/// Windows: not supported (see [`parent_pid`], which is `None` there): never ends serving.
#[cfg(windows)]
fn watch_parent(parent: u32, ended: mpsc::Sender<Ended>) {
    let _ = ended;
    tracing::debug!(parent, "parent watching is not supported on Windows");
}

fn print_reattach(addr: SocketAddr) {
    let mut value = serde_json::Map::new();
    value.insert(
        crate::PROVIDER_ADDRESS.to_owned(),
        serde_json::json!({
            "Protocol": "grpc",
            "ProtocolVersion": handshake::APP_PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": {"Network": "tcp", "String": addr.to_string()},
        }),
    );
    let value = serde_json::Value::Object(value);
    // Never `println!`: a closed stdout (the reader went away) must not kill the provider.
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Provider started in debug mode. To attach Terraform, set in its environment:\n\n\tTF_REATTACH_PROVIDERS='{value}'\n\nCtrl-C stops the provider."
    );
    let _ = out.flush();
}

/// An accepted connection, plain or TLS, as one type for tonic's incoming stream.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}
