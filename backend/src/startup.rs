//! Building and running the server: [`Application::build`] connects,
//! migrates, binds (port 0 picks a free port, which tests use) and starts
//! the background tasks; [`Application::run_until_stopped`] serves until a
//! signal, then flushes held activity.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Dialect;
use crate::web::{content_security_policy, edge, Edge};
use crate::{routes, sweeper};

/// A bound, ready-to-run server: the public listener and the management
/// listener.
pub struct Application {
    port: u16,
    server: Server,
    management_port: u16,
    management: Server,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Builds the server on `config` with `clock` as the time source.
    pub async fn build(config: Config, clock: SharedClock) -> anyhow::Result<Application> {
        let state = AppState::build(config, clock).await?;
        let listener = TcpListener::bind(state.config.listen)
            .with_context(|| format!("cannot listen on {}", state.config.listen))?;
        let port = listener.local_addr()?.port();
        let management_listener =
            TcpListener::bind(state.config.management_listen).with_context(|| {
                format!(
                    "cannot listen on {} (VIGIL_MANAGEMENT_LISTEN)",
                    state.config.management_listen
                )
            })?;
        let management_port = management_listener.local_addr()?.port();
        let server = serve(listener, state.clone())?;
        let management = serve_management(management_listener, state.clone())?;
        Ok(Application {
            port,
            server,
            management_port,
            management,
            state,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The management listener's port.
    pub fn management_port(&self) -> u16 {
        self.management_port
    }

    /// A handle to stop the server (tests stop replicas with it).
    pub fn handle(&self) -> StopHandle {
        StopHandle {
            server: self.server.handle(),
            state: self.state.clone(),
        }
    }

    /// The shared state (tests use it to drive the sweeper and clock).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until the server stops (SIGINT/SIGTERM, or a stop handle:
    /// both drain first, see [`AppState::begin_draining`]),
    /// running the sweeper, the activity flusher and (on PostgreSQL) the
    /// listener for other replicas' changes meanwhile. On the way out, held
    /// activity is written so a restart loses none.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let mut tasks: Vec<JoinHandle<()>> = vec![
            tokio::spawn(sweeper::run(
                self.state.sessions.clone(),
                self.state.config.sweep_interval(),
            )),
            tokio::spawn(sweeper::run_flusher(self.state.sessions.clone())),
            tokio::spawn(crate::webhooks::dispatcher::run(
                crate::webhooks::dispatcher::Dispatcher {
                    store: self.state.store.clone(),
                    outbound: self.state.outbound.clone(),
                    clock: self.state.clock.clone(),
                    caep: Default::default(),
                },
            )),
        ];
        if self.state.store.dialect() == Dialect::Postgres {
            tasks.push(tokio::spawn(crate::sessions::listener::run(
                self.state.sessions.clone(),
                self.state.config.listen_url().clone(),
                self.state.config.listener_silence,
            )));
            tasks.push(tokio::spawn(crate::sessions::listener::heartbeat(
                self.state.sessions.clone(),
                self.state.config.listen_url().clone(),
            )));
        }
        let stop = self.handle();
        tasks.push(tokio::spawn(async move {
            let signal = shutdown_signal().await;
            tracing::info!(
                signal,
                "shutting down: not ready, finishing requests in flight"
            );
            stop.stop(true).await;
        }));
        let management = self.management.handle();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = self.management.await {
                tracing::error!(error = %e, "management listener failed");
            }
        }));
        let result = self.server.await;
        management.stop(true).await;
        for t in &tasks {
            t.abort();
        }
        self.state.store.close().await;
        // The pool's connections may belong to the stopped workers'
        // runtimes: held activity goes out through a new one.
        let sessions = self.state.sessions.with_store(
            self.state
                .store
                .reconnected(&self.state.config.database_url)
                .await?,
        );
        let now = self.state.clock.now();
        let flushed = sessions.flush_activity(now, true).await?;
        tracing::info!(flushed, "server stopped");
        sessions.store.close().await;
        result.context("server failed")
    }
}

/// Stops a running server: drains first (not ready, live channels closed),
/// then stops the listener, gracefully or not.
#[derive(Clone)]
pub struct StopHandle {
    server: actix_web::dev::ServerHandle,
    state: AppState,
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle").finish_non_exhaustive()
    }
}

impl StopHandle {
    /// Drains at once; the returned future completes when the server stopped.
    pub fn stop(&self, graceful: bool) -> impl std::future::Future<Output = ()> {
        self.state.begin_draining();
        self.server.stop(graceful)
    }
}

/// Waits for SIGTERM or SIGINT; names the one that came.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

fn serve_management(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let sessions = web::Data::new(state.sessions.clone());
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(sessions.clone())
            .wrap(from_fn(edge))
            .configure(routes::configure_management)
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(10)
    .disable_signals()
    .run())
}

fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let static_dir = state.config.static_dir();
    let index_html = std::fs::read_to_string(static_dir.join("index.html")).ok();
    // The console's files, read once: each request is served from memory.
    let console = web::Data::new(crate::assets::Console::load(&static_dir));
    if index_html.is_none() {
        tracing::warn!(dir = %static_dir.display(), "no built console found; serving the API only");
    }
    let edge_settings = web::Data::new(Edge {
        https: state
            .config
            .public_origin
            .as_deref()
            .is_some_and(|o| o.starts_with("https://")),
        public_origin: state.config.public_origin.clone(),
        csp: content_security_policy(index_html.as_deref()),
    });
    let sessions = web::Data::new(state.sessions.clone());
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(sessions.clone())
            .app_data(edge_settings.clone())
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::bad_request(format!("The query string is not valid: {e}.")).into()
            }))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError::NotFound("no such resource").into()),
            )
            .app_data(console.clone())
            .wrap(from_fn(edge))
            .configure(routes::configure)
            .default_service(web::to(crate::assets::serve))
    })
    .listen(listener)?
    .shutdown_timeout(10)
    // Signals are ours: the server drains before it stops (see
    // `shutdown_signal`).
    .disable_signals()
    .run();
    Ok(server)
}
