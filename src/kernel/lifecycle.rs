//! The process's life under a supervisor: the listening socket handed over by systemd (socket
//! activation, so the port stays open while the process restarts) or bound here, and the
//! readiness and stopping notices systemd waits for with `Type=notify`, and the signals that
//! end it: SIGTERM or SIGINT stop it gracefully; SIGHUP never does.

use std::net::SocketAddr;

use sd_notify::NotifyState;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The socket systemd passed as fd 3 (`LISTEN_FDS`/`LISTEN_PID`), or a new one bound to `bind`.
pub fn listener(bind: SocketAddr) -> std::io::Result<TcpListener> {
    let mut fds = listenfd::ListenFd::from_env();
    if let Some(inherited) = fds.take_tcp_listener(0)? {
        inherited.set_nonblocking(true)?;
        tracing::info!(event = "socket_inherited", "serving on the socket passed by the supervisor");
        return TcpListener::from_std(inherited);
    }
    let socket = std::net::TcpListener::bind(bind)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket)
}

/// Tells systemd the app serves now (a no-op without `NOTIFY_SOCKET`).
pub fn notify_ready() {
    notify(NotifyState::Ready);
}

/// Tells systemd the app is shutting down on purpose.
pub fn notify_stopping() {
    notify(NotifyState::Stopping);
}

fn notify(state: NotifyState<'_>) {
    if let Err(err) = sd_notify::notify(&[state]) {
        tracing::warn!(error = %err, "could not notify the service manager");
    }
}

/// The signals that matter to a serving process, caught from the moment this is created: until
/// then SIGHUP and SIGTERM would kill it outright (mid-migration, say) instead of being handled.
pub struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for SIGTERM or SIGINT. SIGHUP (a closing terminal, `kill -HUP`, a reload) is logged
    /// and ignored: settings are read once at boot, so only a restart applies new ones.
    pub async fn terminated(mut self) {
        loop {
            tokio::select! {
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
                _ = self.hup.recv() => {
                    tracing::info!(event = "sighup_ignored", "SIGHUP ignored: restart to apply settings");
                }
            }
        }
    }
}
