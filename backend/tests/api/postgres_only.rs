//! Behaviour that needs a PostgreSQL server whatever the suite's database:
//! readiness while the server is unreachable. A TCP proxy between Vigil and
//! PostgreSQL is cut and restored, as a network failure or a database
//! restart would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{fresh_postgres_database, spawn_app_with, Options};

/// Forwards a local port to PostgreSQL until cut.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, links2) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // refused: dropped at once
                }
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links2.lock().unwrap().push(link);
            }
        });
        Proxy { port, up, links }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn readiness_fails_while_postgres_is_unreachable_and_recovers_without_a_restart() {
    let direct = fresh_postgres_database().await;
    let (head, rest) = direct.split_once('@').unwrap();
    let (host, db) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host.to_owned()).await;
    let via_proxy = format!("{head}@127.0.0.1:{}/{db}", proxy.port);
    let app = spawn_app_with(Options {
        database_url: Some(via_proxy),
        ..Options::default()
    })
    .await;
    let ready = || async {
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready().await, StatusCode::OK);

    proxy.cut();
    let mut status = ready().await;
    for _ in 0..20 {
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = ready().await;
    }
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "database gone: not ready"
    );
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    proxy.restore();
    let mut status = ready().await;
    for _ in 0..50 {
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = ready().await;
    }
    assert_eq!(status, StatusCode::OK, "back without a restart");
}
