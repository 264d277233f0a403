//! The session lists a page at a time (SPEC "Limits and edges"): `limit`,
//! `after` and `Link: <…>; rel="next"` on `GET /api/admin/sessions` and
//! `GET /api/me/sessions`, filters kept, cursors bound to their list, and
//! paging stable while sessions start and end.
//!
//! Many sessions are started through `sessions::start`, the code a sign-in
//! runs once the password is checked (the same row, audit entry and
//! transaction), without a password hash each: 2,000 hashes would take
//! minutes and test nothing of paging.

use std::collections::{HashMap, HashSet};

use reqwest::StatusCode;
use serde_json::{json, Value};
use vigil_server::sessions::start::{start_in, Proof, SignIn};

use crate::helpers::{Session, TestApp};

/// Starts `n` sessions of `email` (demo account), `per_second` to a
/// second of the manual clock (so many share a sign-in time and only the
/// id orders them); returns their ids.
pub async fn sign_ins(app: &TestApp, email: &str, n: usize, per_second: usize) -> Vec<String> {
    let account = app
        .scalar("SELECT id FROM accounts WHERE slug = 'demo'")
        .await;
    let person = vigil_server::store::accounts::find_user(&app.state.store, account, email)
        .await
        .unwrap()
        .unwrap()
        .view;
    let mut ids = Vec::with_capacity(n);
    let mut tx = app.state.store.begin().await.unwrap();
    for i in 0..n {
        if i > 0 && i % per_second == 0 {
            app.advance(1);
        }
        if i > 0 && i % 250 == 0 {
            tx.commit().await.unwrap();
            tx = app.state.store.begin().await.unwrap();
        }
        let started = start_in(
            &mut tx,
            SignIn {
                account_id: account,
                person: person.clone(),
                remember_me: false,
                ip: "192.0.2.7",
                user_agent: Some("paging test".into()),
                proof: Proof::Password { break_glass: false },
            },
            app.state.clock.now(),
        )
        .await
        .unwrap();
        ids.push(started.view.session_id);
    }
    tx.commit().await.unwrap();
    ids
}

/// The path and query of a `Link: <…>; rel="next"` header, if any.
fn next_link(res: &reqwest::Response) -> Option<String> {
    let link = res.headers().get("link")?.to_str().unwrap().to_owned();
    let target = link
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .unwrap_or_else(|| panic!("not a next link: {link}"));
    assert!(target.starts_with("/api/"), "a relative URL: {target}");
    Some(target.to_owned())
}

/// Follows `first` and its `Link`s to the end: the pages' session ids and
/// the links followed.
async fn page_through(
    app: &TestApp,
    first: &str,
    who: &Session,
) -> (Vec<Vec<String>>, Vec<String>) {
    let (mut pages, mut links) = (Vec::new(), Vec::new());
    let mut path = first.to_owned();
    loop {
        let res = app.get(&path, who).await;
        if res.status() != StatusCode::OK {
            panic!("{path}: {} {}", res.status(), res.text().await.unwrap());
        }
        let next = next_link(&res);
        let page: Vec<Value> = res.json().await.unwrap();
        pages.push(
            page.iter()
                .map(|s| s["session_id"].as_str().unwrap().to_owned())
                .collect(),
        );
        match next {
            Some(n) => {
                links.push(n.clone());
                path = n;
            }
            None => return (pages, links),
        }
        assert!(pages.len() < 1000, "paging does not end");
    }
}

fn sizes(pages: &[Vec<String>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

/// Every id once, in the pages' order.
fn once_each(pages: &[Vec<String>]) -> Vec<String> {
    let all: Vec<String> = pages.concat();
    let mut seen = HashSet::new();
    for id in &all {
        assert!(seen.insert(id), "{id} on two pages");
    }
    all
}

#[tokio::test]
async fn two_thousand_sign_ins_page_out_once_each_with_a_link_exactly_while_more_remain() {
    let app = crate::helpers::spawn_app().await;
    let requester = app.login("requester@demo.test").await;
    let mut expected: HashSet<String> = sign_ins(&app, "requester@demo.test", 1_999, 7)
        .await
        .into_iter()
        .collect();
    expected.insert(app.session_id(&requester).await);
    assert_eq!(expected.len(), 2_000);
    let admin = app.login("admin@demo.test").await;
    let _agent = app.login("agent1@demo.test").await;

    // The requester's own list.
    let (pages, links) = page_through(&app, "/api/me/sessions?limit=1000", &requester).await;
    assert_eq!(
        sizes(&pages),
        [1000, 1000],
        "two full pages, no empty third"
    );
    assert!(links.iter().all(|l| l.contains("limit=1000")), "{links:?}");
    let all = once_each(&pages);
    assert_eq!(all.iter().cloned().collect::<HashSet<_>>(), expected);
    let (pages, _) = page_through(&app, "/api/me/sessions?limit=200", &requester).await;
    assert_eq!(sizes(&pages), [200; 10]);
    assert_eq!(once_each(&pages), all, "the same order at any page size");
    let (pages, links) = page_through(&app, "/api/me/sessions", &requester).await;
    assert_eq!(sizes(&pages), [200; 10], "200 by default");
    assert_eq!(links.len(), 9);
    assert_eq!(once_each(&pages), all);

    // Newest first: sign-in times never go up along the list.
    let res = app.get("/api/me/sessions?limit=1000", &requester).await;
    let first: Vec<Value> = res.json().await.unwrap();
    let times: Vec<&str> = first
        .iter()
        .map(|s| s["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(
        first.iter().filter(|s| s["current"] == true).count(),
        0,
        "the requester's own session is the oldest: on the second page"
    );

    // The admin's list, filtered by person and audience: filters kept.
    let (pages, links) = page_through(
        &app,
        "/api/admin/sessions?person=Requester%40demo.test&audience=requesters&limit=200",
        &admin,
    )
    .await;
    assert_eq!(sizes(&pages), [200; 10]);
    assert_eq!(links.len(), 9);
    for l in &links {
        assert!(
            l.contains("person=requester%40demo.test")
                && l.contains("audience=requesters")
                && l.contains("limit=200"),
            "filters kept: {l}"
        );
    }
    assert_eq!(once_each(&pages), all, "the same sessions, the same order");
    // Unfiltered, at 1000: everyone's, the admin's and agent's too.
    let (pages, _) = page_through(&app, "/api/admin/sessions?limit=1000", &admin).await;
    assert_eq!(sizes(&pages), [1000, 1000, 2]);
    assert_eq!(once_each(&pages).len(), 2_002);
    // Agents only: one page, no Link.
    let res = app.get("/api/admin/sessions?audience=agents", &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(next_link(&res).is_none());
    let agents: Vec<Value> = res.json().await.unwrap();
    let who: HashSet<&str> = agents
        .iter()
        .map(|s| s["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(who, HashSet::from(["admin@demo.test", "agent1@demo.test"]));
    // Nobody by that email: nothing, no Link.
    let res = app
        .get("/api/admin/sessions?person=nobody%40demo.test", &admin)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(next_link(&res).is_none());
    assert_eq!(res.json::<Vec<Value>>().await.unwrap().len(), 0);
}

#[tokio::test]
async fn a_page_that_holds_everything_has_no_link() {
    let app = crate::helpers::spawn_app().await;
    let agent = app.login("agent1@demo.test").await;
    sign_ins(&app, "agent1@demo.test", 2, 1).await;
    for (path, pages) in [
        ("/api/me/sessions?limit=3", vec![3]),
        ("/api/me/sessions?limit=2", vec![2, 1]),
        ("/api/me/sessions?limit=1", vec![1, 1, 1]),
        ("/api/me/sessions?limit=4", vec![3]),
    ] {
        let (got, _) = page_through(&app, path, &agent).await;
        assert_eq!(sizes(&got), pages, "{path}");
    }
}

#[tokio::test]
async fn limits_out_of_bounds_and_cursors_not_issued_for_the_list_are_400() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let requester = app.login("requester@demo.test").await;
    sign_ins(&app, "requester@demo.test", 4, 2).await;
    let res = app.get("/api/me/sessions?limit=2", &requester).await;
    let cursor = next_link(&res)
        .unwrap()
        .split("after=")
        .nth(1)
        .unwrap()
        .to_owned();
    let mut forged = cursor.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let made_up = {
        use base64::Engine;
        // The shape of a key (time and id), signed by nobody.
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode([&[0u8, 0, 1, 0x9b, 0, 0, 0, 0][..], &[b'f'; 48][..]].concat())
    };
    let mut bad: Vec<(String, &str)> = vec![];
    for limit in [
        "0",
        "1001",
        "-1",
        "abc",
        "",
        "2.5",
        "%2B5",
        "99999999999999999999",
    ] {
        bad.push((format!("limit={limit}"), "limit"));
    }
    for after in [
        "garbage!",
        "%00",
        "",
        "AAAA",
        forged.as_str(),
        made_up.as_str(),
        &cursor[..cursor.len() - 2],
    ] {
        bad.push((format!("after={after}"), "after"));
    }
    for (query, field) in &bad {
        for path in ["/api/me/sessions", "/api/admin/sessions"] {
            let who = if path.starts_with("/api/me") {
                &requester
            } else {
                &admin
            };
            let res = app.get(&format!("{path}?{query}"), who).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"], "bad_request", "{path}?{query}: {body}");
            if *field != "after" || !query.contains('%') {
                assert_eq!(body["fields"][0]["path"], *field, "{path}?{query}: {body}");
            }
        }
    }
    let long = format!("person={}", "a".repeat(321));
    for query in ["audience=everyone", "audience=", long.as_str()] {
        let res = app
            .get(&format!("/api/admin/sessions?{query}"), &admin)
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    // The real cursor still works.
    let res = app
        .get(
            &format!("/api/me/sessions?limit=2&after={cursor}"),
            &requester,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_cursor_never_leaves_its_list() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    let requester = app.login("requester@demo.test").await;
    let agent = app.login("agent1@demo.test").await;
    sign_ins(&app, "requester@demo.test", 5, 5).await;
    sign_ins(&app, "agent1@demo.test", 5, 5).await;
    let other = crate::admin::other_account(&app).await;
    let cursor_of = |res: &reqwest::Response| {
        next_link(res)
            .unwrap()
            .split("after=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned()
    };
    let mine = cursor_of(&app.get("/api/me/sessions?limit=2", &requester).await);
    let by_person = cursor_of(
        &app.get(
            "/api/admin/sessions?limit=2&person=requester%40demo.test",
            &admin,
        )
        .await,
    );
    let everyone = cursor_of(&app.get("/api/admin/sessions?limit=2", &admin).await);
    let cases: Vec<(&Session, String, &str)> = vec![
        (
            &agent,
            format!("/api/me/sessions?after={mine}"),
            "another person's own list",
        ),
        (
            &admin,
            format!("/api/me/sessions?after={mine}"),
            "the admin's own list",
        ),
        (
            &other,
            format!("/api/me/sessions?after={mine}"),
            "another account's person",
        ),
        (
            &other,
            format!("/api/admin/sessions?after={everyone}"),
            "another account's admin",
        ),
        (
            &other,
            format!("/api/admin/sessions?after={by_person}&person=requester%40demo.test"),
            "another account's admin, same filter",
        ),
        (
            &admin,
            format!("/api/admin/sessions?after={mine}"),
            "a person's list in the admin's",
        ),
        (
            &admin,
            format!("/api/admin/sessions?after={by_person}"),
            "without the filter",
        ),
        (
            &admin,
            format!("/api/admin/sessions?after={by_person}&person=agent1%40demo.test"),
            "another person's filter",
        ),
        (
            &admin,
            format!("/api/admin/sessions?after={everyone}&audience=agents"),
            "with a filter added",
        ),
        (
            &admin,
            format!("/api/admin/sessions?after={mine}&person=requester%40demo.test"),
            "the person's own list's cursor in the admin's filtered list",
        ),
    ];
    for (who, path, case) in cases {
        let res = app.get(&path, who).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}: {path}");
    }
    // Each in its own list, it continues.
    for (who, path) in [
        (&requester, format!("/api/me/sessions?limit=2&after={mine}")),
        (
            &admin,
            format!("/api/admin/sessions?limit=2&after={by_person}&person=requester%40demo.test"),
        ),
        (
            &admin,
            format!("/api/admin/sessions?limit=2&after={everyone}"),
        ),
    ] {
        let res = app.get(&path, who).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    // The other account's admin sees none of demo's sessions on any page.
    let (pages, _) = page_through(&app, "/api/admin/sessions?limit=1", &other).await;
    assert_eq!(sizes(&pages), [1], "only their own session");
}

/// Pages through the requester's list (as the person, or as an admin
/// filtering by them) at `limit` while other tasks start sessions and end
/// some of those that existed before: no id twice, every session that
/// stayed live throughout seen, nothing of anyone else's.
async fn page_while_sessions_start_and_end(app: &TestApp, as_admin: bool, limit: usize) {
    let requester = app.login("requester@demo.test").await;
    let admin = app.login("admin@demo.test").await;
    let _agent = app.login("agent1@demo.test").await;
    let before = sign_ins(app, "requester@demo.test", 400, 40).await;
    // Every third ends, from the newest to the oldest: endings land both
    // behind and ahead of the page being read.
    let (to_end, stay): (Vec<(usize, &String)>, Vec<_>) =
        before.iter().enumerate().partition(|(i, _)| i % 3 == 0);
    let to_end: Vec<&String> = to_end.into_iter().rev().map(|(_, id)| id).collect();
    let stay: HashSet<String> = stay
        .into_iter()
        .map(|(_, id)| id.clone())
        .chain([app.session_id(&requester).await])
        .collect();
    let starting = async {
        let mut all = Vec::new();
        for _ in 0..20 {
            all.extend(sign_ins(app, "requester@demo.test", 10, 10).await);
            tokio::task::yield_now().await;
        }
        all
    };
    let ending = async {
        for id in to_end {
            let res = app
                .delete(&format!("/api/me/sessions/{id}"), &requester)
                .await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "{id}");
        }
    };
    let (path, who) = if as_admin {
        (
            format!("/api/admin/sessions?person=requester%40demo.test&limit={limit}"),
            &admin,
        )
    } else {
        (format!("/api/me/sessions?limit={limit}"), &requester)
    };
    let ((pages, _), new, ()) = tokio::join!(page_through(app, &path, who), starting, ending);
    let seen: HashSet<String> = once_each(&pages).into_iter().collect();
    let missing: Vec<&String> = stay.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "skipped though live throughout: {missing:?}"
    );
    let known: HashSet<&String> = before.iter().chain(&new).chain(&stay).collect();
    let strangers: Vec<&String> = seen.iter().filter(|id| !known.contains(id)).collect();
    assert!(strangers.is_empty(), "not the requester's: {strangers:?}");
    assert!(pages.iter().all(|p| p.len() <= limit));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paging_while_sessions_start_and_end_repeats_none_and_skips_none_that_stayed() {
    // Repeated, each on a fresh database; both lists; small pages so the
    // changes land between many of them.
    let mut tally: HashMap<bool, usize> = HashMap::new();
    for round in 0..6 {
        let app = crate::helpers::spawn_app().await;
        let as_admin = round % 2 == 1;
        page_while_sessions_start_and_end(&app, as_admin, [7, 25, 60][round / 2]).await;
        *tally.entry(as_admin).or_default() += 1;
    }
    assert_eq!(tally[&true], 3);
    assert_eq!(tally[&false], 3);
}

#[tokio::test]
async fn the_openapi_document_states_the_bounds_and_the_link() {
    let app = crate::helpers::spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/api/admin/sessions", "/api/me/sessions"] {
        let op = &doc["paths"][path]["get"];
        let params = op["parameters"].as_array().unwrap();
        let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(limit["schema"]["minimum"], json!(1), "{path}");
        assert_eq!(limit["schema"]["maximum"], json!(1000), "{path}");
        assert_eq!(limit["schema"]["default"], json!(200), "{path}");
        assert!(params.iter().any(|p| p["name"] == "after"), "{path}");
        assert!(
            op["responses"]["200"]["headers"]["Link"].is_object(),
            "{path}"
        );
        assert!(op["responses"]["400"].is_object(), "{path}");
    }
    let admin = &doc["paths"]["/api/admin/sessions"]["get"]["parameters"];
    for name in ["person", "audience"] {
        assert!(
            admin.as_array().unwrap().iter().any(|p| p["name"] == name),
            "{name}"
        );
    }
}

/// A NUL character (`%00`) in a filter or a path is no text any row holds:
/// PostgreSQL refuses it in a text parameter, which made these a 500 there.
/// On both databases such a query is a 400 and such a path a 404 (no such
/// resource), with an error body, changing nothing; the same filters
/// without it still answer. The document states both for every route
/// that takes a query or a path parameter.
#[tokio::test]
async fn a_nul_in_a_query_is_a_400_and_in_a_path_a_404_on_both_databases() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.login("admin@demo.test").await;
    for (path, status, error) in [
        (
            "/api/admin/sessions?person=a%00b@demo.test",
            400,
            "bad_request",
        ),
        ("/api/admin/sessions?limit=5&person=%00", 400, "bad_request"),
        (
            "/api/admin/audit?person=a%00b@demo.test",
            400,
            "bad_request",
        ),
        ("/api/admin/audit?actor=a%00b", 400, "bad_request"),
        (
            "/api/admin/audit.csv?person=a%00b@demo.test",
            400,
            "bad_request",
        ),
        (
            "/api/auth/sso/0123456789abcdef/start?audience=agents&next=/desk%00",
            400,
            "bad_request",
        ),
        (
            "/api/auth/sso/0123456789abcdef%00/start?audience=agents",
            404,
            "not_found",
        ),
    ] {
        let res = app.get(path, &admin).await;
        assert_eq!(res.status().as_u16(), status, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], error, "{path}: {body}");
    }
    let res = app.delete("/api/admin/tokens/ab%00", &admin).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let doc: Value = app.get_json("/api/openapi.json", &admin).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for (place, status) in [("query", "400"), ("path", "404")] {
                if params.iter().any(|p| p["in"] == place) {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path} takes a {place} parameter but does not state {status}"
                    );
                }
            }
        }
    }
    for path in [
        "/api/admin/sessions?person=agent1@demo.test",
        "/api/admin/audit?actor=admin@demo.test",
    ] {
        assert_eq!(
            app.get(path, &admin).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    app.session_view(&admin).await;
}
