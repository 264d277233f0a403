//! Single sign-on against a real OpenID provider (npm's oidc-provider,
//! started by the fixture in `oidc_provider/`): connections, the round
//! trip, the same policy as a password session, back-channel logout, and
//! everything forged or misplaced refused with nothing changed.

use reqwest::header::{COOKIE, LOCATION};
use reqwest::StatusCode;
use serde_json::{json, Value};
use vigil_server::clock::{Clock, ManualClock, SystemClock};

use crate::helpers::{named_cookie, spawn_app_with, Options, Session, TestApp};
use crate::oidc_provider::fixture::{
    OidcProvider, ProviderAccount, ProviderClient, ProviderConfig, SigningKey,
};
use crate::oidc_provider::CookieJarClient;

const SECRET: &str = "a-client-secret-of-some-length";

/// A server, the provider Vigil is registered with, and an admin (the
/// re-authentication tests use it too).
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) provider: OidcProvider,
    pub(crate) admin: Session,
}

impl World {
    pub(crate) async fn new() -> World {
        let app = spawn_app_with(Options {
            // The provider's tokens carry real times.
            clock: Some(ManualClock::new(SystemClock.now())),
            outbound_allow: Some("127.0.0.0/8".into()),
            ..Options::default()
        })
        .await;
        let provider = OidcProvider::start(ProviderConfig::new(
            vec![
                ProviderClient::new("vigil", SECRET, &app.url("/api/auth/sso/callback"))
                    .backchannel_logout_uri(&app.url("/api/auth/sso/backchannel-logout")),
            ],
            ["agent1", "agent2", "admin", "requester", "newcomer"]
                .iter()
                .map(|who| ProviderAccount::new(who, &format!("{who}@demo.test")))
                .collect(),
        ))
        .await;
        let admin = app.login("admin@demo.test").await;
        World {
            app,
            provider,
            admin,
        }
    }

    pub(crate) fn connection(&self) -> Value {
        json!({
            "name": "Acme SSO",
            "issuer": self.provider.issuer(),
            "client_id": "vigil",
            "client_secret": SECRET,
            "audiences": ["agents", "requesters"],
            "password_sign_in": {"agents": true, "requesters": true},
            "jit_requesters": false,
        })
    }

    /// Connects the provider with `body`; returns the connection.
    pub(crate) async fn connect(&self, body: Value) -> Value {
        let res = self.app.post("/api/admin/sso", &self.admin, body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// Connects the provider as usual; returns the connection's id.
    pub(crate) async fn connected(&self) -> String {
        let c = self.connect(self.connection()).await;
        c["id"].as_str().unwrap().to_owned()
    }

    /// Starts a sign-in (`query` for `…/start`) and signs in at the
    /// provider as `who`: the callback URL the provider sends the browser
    /// to, and the browser's `__Host-vigil-sso` cookie.
    async fn through_provider(&self, id: &str, query: &str, who: &str) -> (String, String) {
        self.through_provider_from(id, query, who, None).await
    }

    /// [`through_provider`](Self::through_provider) from a browser that
    /// holds `session` (a re-authentication starts that way).
    pub(crate) async fn through_provider_from(
        &self,
        id: &str,
        query: &str,
        who: &str,
        session: Option<&Session>,
    ) -> (String, String) {
        let mut start = self
            .app
            .client
            .get(self.app.url(&format!("/api/auth/sso/{id}/start?{query}")));
        if let Some(s) = session {
            start = start.header(COOKIE, s.cookie());
        }
        let res = start.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        let cookie = named_cookie(&res, "__Host-vigil-sso").expect("the sign-in cookie");
        let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(flag), "{set}");
        }
        let to = res.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(to.starts_with(self.provider.issuer()), "{to}");
        for part in [
            "code_challenge_method=S256",
            "state=",
            "nonce=",
            "response_type=code",
        ] {
            assert!(to.contains(part), "{part} in {to}");
        }
        let mut browser = CookieJarClient::stopping_at(&self.app.url("/api/auth/sso/callback"));
        let login = browser.follow(to).await.unwrap();
        let callback = match browser
            .submit(
                &login,
                &[("prompt", "login"), ("login", who), ("password", "any")],
            )
            .await
        {
            Ok(consent) => browser
                .submit(&consent, &[("prompt", "consent")])
                .await
                .unwrap_err(),
            Err(callback) => callback,
        };
        (callback, cookie)
    }

    /// The callback as the browser sends it.
    async fn callback(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.app.client.get(url);
        if let Some(c) = cookie {
            req = req.header(COOKIE, format!("__Host-vigil-sso={c}"));
        }
        req.send().await.unwrap()
    }

    /// Signs in as `who` through connection `id`: the session and where
    /// the browser was sent.
    pub(crate) async fn sign_in(&self, id: &str, query: &str, who: &str) -> (Session, String) {
        let (callback, cookie) = self.through_provider(id, query, who).await;
        let res = self.callback(&callback, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = res.headers()[LOCATION].to_str().unwrap().to_owned();
        let token = named_cookie(&res, "__Host-vigil")
            .unwrap_or_else(|| panic!("no session: sent to {to}"));
        assert!(named_cookie(&res, "__Host-vigil-device").is_some());
        (Session { token }, to)
    }

    /// A failed sign-in: sent back to the login page, no session.
    async fn refused(&self, res: reqwest::Response, page: &str) {
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()[LOCATION],
            format!("{page}?error=sso_failed").as_str()
        );
        assert_eq!(named_cookie(&res, "__Host-vigil"), None);
    }

    pub(crate) async fn live_sessions(&self) -> i64 {
        self.app
            .scalar("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL")
            .await
    }

    async fn backchannel(&self, token: &str) -> reqwest::Response {
        // The provider's server calls it: a form, no CSRF header, no cookie.
        self.app
            .client
            .post(self.app.url("/api/auth/sso/backchannel-logout"))
            .form(&[("logout_token", token)])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_agent_signs_in_through_the_provider_under_the_same_policy() {
    let w = World::new().await;
    let c = w.connect(w.connection()).await;
    assert_eq!(c["client_secret_set"], true);
    assert_eq!(c.get("client_secret"), None, "never returned");
    assert_eq!(c["redirect_uri"], w.app.url("/api/auth/sso/callback"));
    assert_eq!(
        c["backchannel_logout_uri"],
        w.app.url("/api/auth/sso/backchannel-logout")
    );
    let listed: Value = w.app.get_json("/api/admin/sso", &w.admin).await;
    assert_eq!(listed, json!([c.clone()]));
    let id = c["id"].as_str().unwrap();
    let options = w.app.login_options().await;
    assert_eq!(
        options["agents"]["sso"],
        json!([{"id": id, "name": "Acme SSO"}])
    );
    assert_eq!(options["agents"]["password"], true);

    let (agent, to) = w
        .sign_in(id, "audience=agents&remember_me=true", "agent1")
        .await;
    assert_eq!(to, "/desk", "an agent lands on the desk");
    let view = w.app.session_view(&agent).await;
    assert_eq!(view["method"], "sso");
    assert_eq!(view["user"]["email"], "agent1@demo.test");
    assert_eq!(view["persistent"], true, "remember-me as the policy offers");
    let sessions: Value = w.app.get_json("/api/admin/sessions", &w.admin).await;
    let row = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == view["session_id"])
        .unwrap();
    assert_eq!(row["method"], "sso");
    assert_eq!(row["sso_connection"], "Acme SSO");
    let audit: Value = w
        .app
        .get_json("/api/admin/audit?action=session.login", &w.admin)
        .await;
    assert_eq!(audit[0]["details"]["method"], "sso");
    assert_eq!(audit[0]["details"]["connection"]["name"], "Acme SSO");
    let everything =
        serde_json::to_string(&w.app.get_json::<Value>("/api/admin/audit", &w.admin).await)
            .unwrap();
    assert!(!everything.contains(SECRET), "the secret is never audited");

    // The idle limit (8 h by default) ends it like any session.
    w.app.advance(8 * 3600 + 1);
    w.app.assert_signed_out(&agent, "idle_timeout").await;
}

#[tokio::test]
async fn next_holds_across_the_round_trip_and_only_for_the_role() {
    let w = World::new().await;
    let id = w.connected().await;
    let (_, to) = w
        .sign_in(&id, "audience=agents&next=%2Fme%2Fsessions", "agent1")
        .await;
    assert_eq!(to, "/me/sessions");
    let (_, to) = w
        .sign_in(&id, "audience=agents&next=%2Fportal", "agent2")
        .await;
    assert_eq!(to, "/desk", "a page of another role is not followed");
    let (_, to) = w
        .sign_in(&id, "audience=agents&next=%2F%2Fevil.test%2F", "admin")
        .await;
    assert_eq!(to, "/admin/security", "never another origin");
}

#[tokio::test]
async fn the_provider_ends_sessions_by_back_channel_logout() {
    let w = World::new().await;
    let id = w.connected().await;
    let (agent, _) = w.sign_in(&id, "audience=agents", "agent1").await;
    let (other, _) = w.sign_in(&id, "audience=agents", "agent2").await;
    let mut events = w.app.events(&agent).await;
    let _ = events.next_event(std::time::Duration::from_secs(5)).await;

    let sessions = w.provider.sessions().await;
    let agent1 = sessions.iter().find(|s| s.sub == "agent1").unwrap();
    let sid = agent1.sids["vigil"].clone();
    w.provider
        .trigger_backchannel_logout("vigil", "agent1", &sid)
        .await
        .unwrap();
    w.app.assert_signed_out(&agent, "revoked").await;
    w.app.session_view(&other).await;
    let ended = events
        .next_event(std::time::Duration::from_secs(1))
        .await
        .expect("the open tab hears of it within a second");
    assert_eq!(ended.event, "ended");
    let audit: Value = w
        .app
        .get_json("/api/admin/audit?action=session.revoked", &w.admin)
        .await;
    assert_eq!(audit[0]["actor"], "identity provider Acme SSO");
    let agents: Value = w.app.get_json("/api/admin/agents", &w.admin).await;
    let agent1 = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "agent1@demo.test")
        .unwrap();
    assert_eq!(
        agent1["available"], false,
        "unavailable, like any revocation"
    );

    // Without sid: every session of the subject.
    let (again, _) = w.sign_in(&id, "audience=agents", "agent1").await;
    let mut claims = w.provider.logout_claims("vigil", "agent1", None);
    claims.as_object_mut().unwrap().remove("sid");
    let token = w.provider.sign(&claims, &json!({"typ": "logout+jwt"}));
    assert_eq!(w.backchannel(&token).await.status(), StatusCode::OK);
    w.app.assert_signed_out(&again, "revoked").await;
    // A token is accepted once.
    let res = w.backchannel(&token).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_logout_token");
}

#[tokio::test]
async fn forged_logout_tokens_end_nothing() {
    // Made first: a key takes seconds in a debug build, longer than the
    // server keeps an idle connection open for the client to reuse.
    let stranger = SigningKey::generate();
    let w = World::new().await;
    let id = w.connected().await;
    let (agent, _) = w.sign_in(&id, "audience=agents", "agent1").await;
    let sid = w.provider.sessions().await[0].sids["vigil"].clone();
    let good = w.provider.logout_claims("vigil", "agent1", Some(&sid));
    let now = SystemClock.now().unix_timestamp();
    let typ = json!({"typ": "logout+jwt"});
    // Good claims with some set and some removed, signed by the provider's key.
    let edited: [(&str, Value, &[&str]); 7] = [
        ("wrong iss", json!({"iss": "https://evil.test"}), &[]),
        ("wrong aud", json!({"aud": "someone-else"}), &[]),
        (
            "stale iat",
            json!({"iat": now - 3600, "exp": now + 60}),
            &[],
        ),
        ("no events", json!({}), &["events"]),
        ("a nonce", json!({"nonce": "n"}), &[]),
        ("neither sub nor sid", json!({}), &["sub", "sid"]),
        ("no jti", json!({}), &["jti"]),
    ];
    let mut cases: Vec<(&str, String)> = edited
        .iter()
        .map(|(what, set, remove)| {
            let mut c = good.clone();
            let claims = c.as_object_mut().unwrap();
            claims.extend(set.as_object().unwrap().clone());
            for r in *remove {
                claims.remove(*r);
            }
            (*what, w.provider.sign(&c, &typ))
        })
        .collect();
    cases.extend([
        (
            "signed by another key with the same kid",
            stranger.sign(
                &good,
                &json!({"typ": "logout+jwt", "kid": w.provider.key().kid()}),
            ),
        ),
        ("signed by an unknown key", stranger.sign(&good, &typ)),
        ("alg none", {
            let t = w
                .provider
                .sign(&good, &json!({"typ": "logout+jwt", "alg": "none"}));
            let (input, _) = t.rsplit_once('.').unwrap();
            format!("{input}.")
        }),
        ("not a JWT", "hello".to_owned()),
    ]);
    for (what, token) in cases {
        let res = w.backchannel(&token).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_logout_token", "{what}");
        assert_eq!(
            w.live_sessions().await,
            2,
            "{what}: nothing ended (admin + agent)"
        );
    }
    let res = w
        .app
        .client
        .post(w.app.url("/api/auth/sso/backchannel-logout"))
        .form(&[("something", "else")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    w.app.session_view(&agent).await;
}

#[tokio::test]
async fn password_sign_in_is_refused_where_sso_is_required_except_break_glass() {
    let w = World::new().await;
    let mut body = w.connection();
    body["password_sign_in"]["agents"] = json!(false);
    w.connect(body).await;
    let options = w.app.login_options().await;
    assert_eq!(options["agents"]["password"], false);
    assert_eq!(options["requesters"]["password"], true);

    let res = w
        .app
        .post_login(json!({"account": "demo", "email": "agent1@demo.test", "password": crate::helpers::PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(named_cookie(&res, "__Host-vigil"), None);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "sso_required");
    // A wrong password still gets the one answer for everything wrong.
    let res = w
        .app
        .post_login(json!({"account": "demo", "email": "agent1@demo.test", "password": "wrong"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // People who manage security keep a password: break-glass, audited.
    w.app.login("admin@demo.test").await;
    let audit: Value = w
        .app
        .get_json("/api/admin/audit?action=session.login", &w.admin)
        .await;
    assert_eq!(audit[0]["details"]["break_glass"], true);
    w.app.login("requester@demo.test").await;
}

#[tokio::test]
async fn a_tampered_state_or_another_browser_gets_no_session() {
    let w = World::new().await;
    let id = w.connected().await;
    let before = w.live_sessions().await;

    // The callback in a browser that did not start the sign-in.
    let (callback, cookie) = w.through_provider(&id, "audience=agents", "agent1").await;
    w.refused(w.callback(&callback, None).await, "/login").await;
    w.refused(w.callback(&callback, Some("0123abcd")).await, "/login")
        .await;
    // The right browser, a tampered state: refused, and the sign-in is spent.
    let tampered = callback.replace("state=", "state=x");
    w.refused(w.callback(&tampered, Some(&cookie)).await, "/login")
        .await;
    w.refused(w.callback(&callback, Some(&cookie)).await, "/login")
        .await;
    // A code the provider refused, on the requesters' page.
    let (callback, cookie) = w
        .through_provider(&id, "audience=requesters", "requester")
        .await;
    let code_gone = callback.replace("code=", "code=x");
    w.refused(w.callback(&code_gone, Some(&cookie)).await, "/portal/login")
        .await;
    assert_eq!(w.live_sessions().await, before);
    let failed: Value = w
        .app
        .get_json("/api/admin/audit?action=login.failed", &w.admin)
        .await;
    let reasons: Vec<&str> = failed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["token_exchange_failed", "state_mismatch"]);
}

#[tokio::test]
async fn people_are_matched_within_the_account_and_login_page() {
    let w = World::new().await;
    let c = w.connect(w.connection()).await;
    let id = c["id"].as_str().unwrap();
    // An agent on the requesters' page, and a stranger, get nothing.
    let (callback, cookie) = w
        .through_provider(id, "audience=requesters", "agent1")
        .await;
    w.refused(w.callback(&callback, Some(&cookie)).await, "/portal/login")
        .await;
    let (callback, cookie) = w
        .through_provider(id, "audience=requesters", "newcomer")
        .await;
    w.refused(w.callback(&callback, Some(&cookie)).await, "/portal/login")
        .await;
    // With jit_requesters, a requester is created on first sign-in.
    let mut body = w.connection();
    body["jit_requesters"] = json!(true);
    body.as_object_mut().unwrap().remove("client_secret");
    let res = w
        .app
        .put(&format!("/api/admin/sso/{id}"), &w.admin, body)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "an absent secret keeps the stored one"
    );
    let (requester, to) = w.sign_in(id, "audience=requesters", "newcomer").await;
    assert_eq!(to, "/portal");
    let view = w.app.session_view(&requester).await;
    assert_eq!(view["user"]["email"], "newcomer@demo.test");
    assert_eq!(view["user"]["role"], "requester");
    // Its password is one nobody knows.
    let res = w
        .app
        .post_login(json!({"account": "demo", "email": "newcomer@demo.test", "password": ""}))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn connections_are_checked_and_removable() {
    let w = World::new().await;
    // Bad input: every field named, nothing stored.
    let res = w
        .app
        .post(
            "/api/admin/sso",
            &w.admin,
            json!({"name": "", "issuer": "ftp://x", "client_id": "", "audiences": []}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "validation");
    assert_eq!(body["fields"].as_array().unwrap().len(), 5, "{body}");

    // A provider that is not there, or not answering: a clear error, soon.
    let closed = crate::helpers::free_port();
    let mut body = w.connection();
    body["issuer"] = json!(format!("http://127.0.0.1:{closed}"));
    let res = w.app.post("/api/admin/sso", &w.admin, body.clone()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "issuer_unreachable");
    assert!(
        err["message"].as_str().unwrap().contains("discovery"),
        "{err}"
    );

    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    body["issuer"] = json!(format!("http://{}", silent.local_addr().unwrap()));
    let started = std::time::Instant::now();
    let res = w.app.post("/api/admin/sso", &w.admin, body.clone()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["message"].as_str().unwrap().contains("did not answer"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));

    // The issuer must be exactly what the provider says.
    body["issuer"] = json!(format!("{}/", w.provider.issuer()));
    let res = w.app.post("/api/admin/sso", &w.admin, body).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        w.app.get_json::<Value>("/api/admin/sso", &w.admin).await,
        json!([])
    );

    let c = w.connect(w.connection()).await;
    let id = c["id"].as_str().unwrap();
    let res = w.app.post("/api/admin/sso", &w.admin, w.connection()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "names are unique");
    assert_eq!(
        w.app
            .delete(&format!("/api/admin/sso/{id}"), &w.admin)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.app
            .delete(&format!("/api/admin/sso/{id}"), &w.admin)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(w.app.login_options().await["agents"]["sso"], json!([]));
    let res = w
        .app
        .get_anonymous(&format!("/api/auth/sso/{id}/start?audience=agents"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Agents may not manage connections.
    let agent = w.app.login("agent1@demo.test").await;
    assert_eq!(
        w.app.get("/api/admin/sso", &agent).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_internal_issuer_is_refused_unless_ops_allow_it() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    for issuer in [
        "http://127.0.0.1:9",
        "https://127.0.0.1:9",
        "https://169.254.169.254",
        "https://10.0.0.1",
        "https://localhost",
    ] {
        let res = app
            .post(
                "/api/admin/sso",
                &admin,
                json!({"name": "x", "issuer": issuer, "client_id": "c", "client_secret": "s", "audiences": ["agents"]}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{issuer}");
    }
    assert_eq!(
        app.get_json::<Value>("/api/admin/sso", &admin).await,
        json!([])
    );
}

#[tokio::test]
async fn one_sign_in_cookie_makes_one_session_however_often_it_is_sent() {
    let w = World::new().await;
    let id = w.connected().await;
    for _ in 0..3 {
        let (callback, cookie) = w.through_provider(&id, "audience=agents", "agent1").await;
        let before = w.live_sessions().await;
        let tries = (0..6).map(|_| w.callback(&callback, Some(&cookie)));
        let results = futures_util::future::join_all(tries).await;
        let signed_in = results
            .iter()
            .filter(|r| named_cookie(r, "__Host-vigil").is_some_and(|c| !c.is_empty()))
            .count();
        assert_eq!(signed_in, 1);
        assert_eq!(w.live_sessions().await, before + 1);
    }
}

#[tokio::test]
async fn one_logout_token_is_accepted_once_however_often_it_is_sent() {
    let w = World::new().await;
    let id = w.connected().await;
    for _ in 0..3 {
        w.sign_in(&id, "audience=agents", "agent1").await;
        let token = w.provider.sign(
            &w.provider.logout_claims("vigil", "agent1", None),
            &json!({"typ": "logout+jwt"}),
        );
        let sent = (0..6).map(|_| w.backchannel(&token));
        let results = futures_util::future::join_all(sent).await;
        let accepted = results
            .iter()
            .filter(|r| r.status() == StatusCode::OK)
            .count();
        assert_eq!(accepted, 1);
        assert!(results
            .iter()
            .all(|r| r.status() == StatusCode::OK || r.status() == StatusCode::BAD_REQUEST));
    }
}

#[tokio::test]
async fn a_sign_in_left_at_the_provider_lapses_after_ten_minutes() {
    let w = World::new().await;
    let id = w.connected().await;
    let (callback, cookie) = w.through_provider(&id, "audience=agents", "agent1").await;
    assert_eq!(w.app.scalar("SELECT COUNT(*) FROM sso_logins").await, 1);
    w.app.advance(10 * 60 + 1);
    w.app.sweep().await;
    assert_eq!(
        w.app.scalar("SELECT COUNT(*) FROM sso_logins").await,
        0,
        "the sweeper forgets it"
    );
    w.refused(w.callback(&callback, Some(&cookie)).await, "/login")
        .await;
}

#[tokio::test]
async fn a_deactivated_person_is_refused_at_the_callback_until_reactivated() {
    let w = World::new().await;
    let c = w.connect(w.connection()).await;
    let id = c["id"].as_str().unwrap();
    let (agent, _) = w.sign_in(id, "audience=agents", "agent1").await;
    let agent1 = w.app.user_id("agent1@demo.test").await;
    let res = w
        .app
        .post(
            &format!("/api/admin/users/{agent1}/deactivate"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    w.app.assert_signed_out(&agent, "revoked").await;

    let (callback, cookie) = w.through_provider(id, "audience=agents", "agent1").await;
    w.refused(w.callback(&callback, Some(&cookie)).await, "/login")
        .await;
    assert_eq!(w.live_sessions().await, 1, "only the admin's");
    let failed: Value = w
        .app
        .get_json("/api/admin/audit?action=login.failed", &w.admin)
        .await;
    assert_eq!(failed[0]["details"]["reason"], "deactivated");

    let res = w
        .app
        .post(
            &format!("/api/admin/users/{agent1}/reactivate"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    w.sign_in(id, "audience=agents", "agent1").await;
}

#[tokio::test]
async fn connections_created_at_once_under_one_name_make_one() {
    let w = World::new().await;
    for round in 0..4 {
        let mut body = w.connection();
        body["name"] = json!(format!("Acme {round}"));
        let tries = (0..6).map(|_| w.app.post("/api/admin/sso", &w.admin, body.clone()));
        let statuses: Vec<u16> = futures_util::future::join_all(tries)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "round {round}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 400),
            "round {round}: {statuses:?}"
        );
    }
    let listed: Value = w.app.get_json("/api/admin/sso", &w.admin).await;
    assert_eq!(listed.as_array().unwrap().len(), 4);
}

/// Starting a sign-in writes the pending sign-in; a database too busy to
/// take that write (SQLite's "database is locked" past its busy timeout)
/// is a moment's overload like any other: 503 with Retry-After, never a
/// 500, and no sign-in cookie. Anyone can call this route, so junk
/// sign-ins on a loaded server reach it. (PostgreSQL has no busy timeout:
/// the write waits.)
#[tokio::test]
async fn starting_a_sign_in_on_a_database_too_busy_to_write_is_503_with_retry_after() {
    if crate::helpers::test_db() != crate::helpers::TestDb::Sqlite {
        return;
    }
    let w = World::new().await;
    let id = w.connected().await;
    let start = format!("/api/auth/sso/{id}/start?audience=agents");
    let lock = w.app.hold_sqlite_write_lock().await;
    let res = w.app.get_anonymous(&start).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("retry-after").is_some(), "Retry-After");
    assert!(named_cookie(&res, "__Host-vigil-sso").is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unavailable", "{body}");

    lock.release().await;
    let res = w.app.get_anonymous(&start).await;
    assert_eq!(res.status(), StatusCode::FOUND, "the lock gone, it starts");
}

/// A connection's name, issuer, client id and secret hold no control
/// characters (a client id and secret are visible ASCII, RFC 6749): a 400
/// naming each field, nothing stored. A NUL among them was a 500 on
/// PostgreSQL, which refuses it in text.
#[tokio::test]
async fn control_characters_in_a_connection_are_400_naming_the_field() {
    let w = World::new().await;
    for field in ["name", "issuer", "client_id", "client_secret"] {
        for bad in ["\u{0}", "\u{7}", "\n"] {
            let mut body = w.connection();
            let good = body[field].as_str().unwrap().to_owned();
            body[field] = json!(format!("{good}{bad}x"));
            let res = w.app.post("/api/admin/sso", &w.admin, body).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field} {bad:?}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["fields"][0]["path"], field, "{field} {bad:?}: {body}");
        }
    }
    let listed: Value = w.app.get_json("/api/admin/sso", &w.admin).await;
    assert_eq!(listed, json!([]));
}

/// A logout token signed with a key Vigil has not stored yet makes it
/// fetch the provider's keys and store them. When that write fails
/// (SQLite's "database is locked" past its busy timeout; on PostgreSQL a
/// row lock and the waiting statement cancelled), the fault is Vigil's,
/// not the token's: 503 with Retry-After, nothing ended, so the provider
/// may send it again, and sent again once the database answers it ends
/// the session. (It was a 400 `invalid_logout_token`, which tells the
/// provider not to retry: the logout was lost.)
#[tokio::test]
async fn a_database_failure_while_refreshing_keys_is_503_and_the_token_works_when_sent_again() {
    use sqlx::{Connection, Executor, Row};
    let w = World::new().await;
    let id = w.connected().await;
    let (agent, _) = w.sign_in(&id, "audience=agents", "agent1").await;
    let sid = w.provider.sessions().await[0].sids["vigil"].clone();
    // The provider rotated its key since Vigil stored the keys, a minute
    // and more ago.
    w.app
        .execute("UPDATE sso_connections SET jwks = '{\"keys\":[]}'")
        .await;
    w.app.advance(61);
    let claims = w.provider.logout_claims("vigil", "agent1", Some(&sid));
    let token = w.provider.sign(&claims, &json!({"typ": "logout+jwt"}));

    let res = match crate::helpers::test_db() {
        crate::helpers::TestDb::Sqlite => {
            let lock = w.app.hold_sqlite_write_lock().await;
            let res = w.backchannel(&token).await;
            lock.release().await;
            res
        }
        crate::helpers::TestDb::Postgres => {
            let mut other = sqlx::PgConnection::connect(&w.app.database_url)
                .await
                .unwrap();
            other.execute("BEGIN").await.unwrap();
            other
                .execute("SELECT id FROM sso_connections FOR UPDATE")
                .await
                .unwrap();
            let mut watcher = sqlx::PgConnection::connect(&w.app.database_url)
                .await
                .unwrap();
            let sent = w.backchannel(&token);
            let cancel = async {
                // The keys' write waits for the row: cancel it, as a
                // statement timeout would.
                for _ in 0..200 {
                    let waiting = sqlx::query(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                         AND wait_event_type = 'Lock' AND query LIKE 'UPDATE sso_connections%'",
                    )
                    .fetch_optional(&mut watcher)
                    .await
                    .unwrap();
                    if let Some(row) = waiting {
                        let pid: i32 = row.try_get(0).unwrap();
                        sqlx::query("SELECT pg_cancel_backend($1)")
                            .bind(pid)
                            .execute(&mut watcher)
                            .await
                            .unwrap();
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                panic!("the keys' write never waited for the lock");
            };
            let (res, ()) = tokio::join!(sent, cancel);
            other.execute("ROLLBACK").await.unwrap();
            res
        }
    };
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("retry-after").is_some(), "Retry-After");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unavailable", "{body}");
    w.app.session_view(&agent).await;

    let res = w.backchannel(&token).await;
    assert_eq!(res.status(), StatusCode::OK, "sent again, it works");
    w.app.assert_signed_out(&agent, "revoked").await;
}
