//! `session-baseline ADDR REDIS_URL`: a minimal idle-timeout session check
//! on actix-session's Redis store. `POST /login` starts a session; `GET
//! /session` checks the idle timeout and records activity (a Redis write, as
//! actix-session renews the state on every change); `GET /healthz` is the
//! floor.

use actix_session::storage::RedisSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::{get, post, App, HttpResponse, HttpServer};

const IDLE_SECS: i64 = 8 * 3600;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[post("/login")]
async fn login(session: Session) -> actix_web::Result<HttpResponse> {
    session.renew();
    session.insert("user_id", 1_i64)?;
    session.insert("last", now())?;
    Ok(HttpResponse::Ok().finish())
}

#[get("/session")]
async fn check(session: Session) -> actix_web::Result<HttpResponse> {
    let (Some(user), Some(last)) = (session.get::<i64>("user_id")?, session.get::<i64>("last")?) else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let now = now();
    if now - last >= IDLE_SECS {
        session.purge();
        return Ok(HttpResponse::Unauthorized().finish());
    }
    session.insert("last", now)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"user_id": user, "idle_expires_at": now + IDLE_SECS})))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let redis = args.next().unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let store = RedisSessionStore::new(redis).await.map_err(std::io::Error::other)?;
    let key = Key::generate();
    HttpServer::new(move || {
        App::new()
            .wrap(SessionMiddleware::new(store.clone(), key.clone()))
            .service(healthz)
            .service(login)
            .service(check)
    })
    .bind(addr)?
    .run()
    .await
}
